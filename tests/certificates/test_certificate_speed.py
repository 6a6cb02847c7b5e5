"""What was made faster for the benchmark (issue 9, item 10) still says the same: the QR code
drawn as squares is the verification URL's code, a font subset made once is the one
reportlab makes, and a bulk issue takes a group's certificates together (the hours themselves
are checked by test_certificates.py, reading the PDFs back)."""

from __future__ import annotations

import io
import re

import segno
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from certificates import bulk, pdf, rules

URL = "https://emargement.competences-plus.fr/verifier/ABCDEFGHJK"


def test_the_qr_code_drawn_is_the_verify_urls_code_module_for_module() -> None:
    """Item 3: the squares drawn are exactly segno's dark modules, in a 2-module quiet zone."""
    out = io.BytesIO()
    canvas = Canvas(out, pageCompression=0)
    code = pdf.QrCode(URL, 26 * mm)
    code.drawOn(canvas, 0, 0)
    canvas.save()
    matrix = segno.make_qr(URL, error="m", mask=3, boost_error=False).matrix
    unit = 26 * mm / (len(matrix) + 4)
    drawn = set()
    for x, y, w, _ in re.findall(rb"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re", out.getvalue()):
        row = round((26 * mm - float(y)) / unit) - 2 - 1
        first = round(float(x) / unit) - 2
        drawn |= {(row, first + k) for k in range(round(float(w) / unit))}
    dark = {(r, c) for r, line in enumerate(matrix) for c, on in enumerate(line) if on}
    assert drawn == dark


def test_a_font_subset_is_made_and_compressed_once_and_is_reportlabs_own() -> None:
    regular, _ = pdf.fonts()
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFontFace

    face = pdfmetrics.getFont(regular).face
    subset = [0, *range(32, 128), ord("é")]
    made = face.makeSubset(subset)
    assert face.makeSubset(list(subset)) is made  # once
    assert made == TTFontFace(face.filename).makeSubset(subset)  # the same bytes
    assert pdf._Face.FLATE.encode(made) is pdf._Face.FLATE.encode(bytes(made))


def test_bulk_issues_a_groups_certificates_together_each_group_in_one_process() -> None:
    """A group's certificates are one batch (its chains read once, one commit): a batch is
    what one worker takes, so two workers never wait on the same group's sessions (when
    there are enough groups for every worker: `balanced`)."""
    planned = [
        bulk.Target(f"{g}{t}", kind, "2026-11" if kind == rules.ATTENDANCE else "", g)
        for g in "abc"
        for t in range(2)
        for kind in (rules.ATTENDANCE, rules.REALISATION)
    ]
    batches = bulk.by_group(planned)
    assert [target for batch in batches for target in batch] == planned  # every target, once
    assert [{t.group_id for t in batch} for batch in batches] == [{"a"}, {"b"}, {"c"}]
    assert bulk.balanced(planned * 3, 1) == bulk.by_group(planned * 3)


def test_too_few_groups_for_the_workers_are_cut_into_parts_of_whole_trainees() -> None:
    """5 groups for 2 processes: whole groups would split 3 against 2 (one process idle a
    fifth of the time); cut in two, 5 parts each. A trainee's two certificates stay in one
    part (they share its lines); the processes take different groups first."""
    planned = [
        bulk.Target(f"{g}{t}", kind, "2026-11" if kind == rules.ATTENDANCE else "", g)
        for g in "abcde"
        for t in range(20)
        for kind in (rules.ATTENDANCE, rules.REALISATION)
    ]
    batches = bulk.balanced(planned, 2)
    assert len(batches) == 10
    issued = [t for batch in batches for t in batch]
    assert len(issued) == len(set(issued)) == len(planned)  # each target once
    assert set(issued) == set(planned)
    assert all(len({t.group_id for t in batch}) == 1 for batch in batches)
    assert all(len(batch) == 20 for batch in batches)
    for trainee in {t.enrolment_id for t in planned}:
        assert sum(any(t.enrolment_id == trainee for t in batch) for batch in batches) == 1
    assert [batch[0].group_id for batch in batches[:5]] == list("abcde")
    eight = [bulk.Target(t.enrolment_id, t.kind, t.month, t.enrolment_id[:2]) for t in planned]
    assert bulk.balanced(eight, 2) == bulk.by_group(eight)  # 50 groups: whole ones


def test_the_fingerprint_reads_the_lines_as_asdict_did() -> None:
    """R17: a certificate's fingerprint decides whether it is issued again; read without
    dataclasses.asdict's copies, the same facts must give the same SHA-256 as before (the
    stored certificates' fingerprints were computed that way)."""
    import hashlib
    import json
    from dataclasses import asdict
    from datetime import UTC, date, datetime

    from attendance.company_rules import CompanyLine

    moment = datetime(2026, 11, 3, 8, tzinfo=UTC)
    lines = [
        rules.Line("s1", date(2026, 11, 3), moment, moment, "tutorat", "Maths", "present", 120),
        rules.Line(
            "s2", date(2026, 11, 4), moment, moment, "tutorat", "Maths", "absent", 0,
            (("Rendez-vous", True), (None, None)),
        ),
    ]  # fmt: skip
    company = [CompanyLine("p1", "h1", "Garage", date(2026, 11, 2), date(2026, 11, 6), 600)]
    before = {
        "kind": rules.ATTENDANCE,
        "month": "2026-11",
        "company": 600,
        "lines": [rules._canonical(asdict(line)) for line in lines],
        "company_lines": [rules._canonical(asdict(line)) for line in company],
    }
    expected = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()
    assert rules.fingerprint(rules.ATTENDANCE, "2026-11", lines, company) == expected


def test_r17_a_certificate_entry_as_a_plain_object_is_the_row_and_hash_of_a_signature() -> None:
    """A bulk issue chains its certificate entries as journal.NewEntry (no ORM object each):
    every column of a Signature, the same row stored and the same hash (the ledger's
    verification recomputes it from the stored row)."""
    from dataclasses import fields
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from attendance import journal, ledger

    assert {f.name for f in fields(journal.NewEntry)} == set(journal.COLUMNS)
    session = SimpleNamespace(organisation_id="org")
    at = datetime(2026, 12, 4, 10, tzinfo=UTC)
    stated = {"certificate_id": "c1", "sha256": "ab" * 32, "issued_at": at.isoformat()}
    orm = journal.session_entry(session, "author", "certificate", at, dict(stated))  # type: ignore[arg-type]
    plain = journal.new_session_entry(session, "author", "certificate", at, dict(stated))  # type: ignore[arg-type]
    orm.id = plain.id = "e1"
    rows = [journal._seal(entry, "s1", 7, "f" * 64) for entry in (orm, plain)]
    assert rows[0] == rows[1]
    assert plain.hash == orm.hash == ledger.entry_hash("f" * 64, rows[1])
