"""Bulk issue: every certificate of an order for a month in one ZIP, from the command line
(over several processes) with a progress bar."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from certificates.models import Certificate
from core.extensions import db
from tests.attendance.support import rows
from tests.certificates.certificate_support import MONTH, held_month, ok, pdf_text
from training.models import Order


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def read_zip(path) -> dict[str, bytes]:  # noqa: ANN001
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def issue_month(runner, order_ref: str, workers: int, target) -> str:  # noqa: ANN001
    """Run the command; answer what it printed."""
    args = ["certificates", "issue", "--order", order_ref, "--month", MONTH]
    args += ["--workers", str(workers), "--output", str(target)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("workers", [1, 2])
def test_the_command_issues_every_certificate_of_the_month_in_one_zip(
    app, client, runner, month, tmp_path, workers
):
    order = db.session.get(Order, month.tenant.order_id)
    target = tmp_path / "lot.zip"
    output = issue_month(runner, order.number, workers, target)
    assert "Certificats" in output  # the progress bar's label
    assert f"4 certificats dans {target} : 4 émis, 0 inchangés (déjà émis), 0 sans séance" in (
        output
    )
    files = read_zip(target)
    certificates = db.session.query(Certificate).all()
    assert len(files) == len(certificates) == 4
    for person in (month.tenant.trainee, month.bruno.trainee):
        who = f"{person.last_name.upper()}-{person.first_name}_"
        assert sum(n.startswith(f"attestation-assiduite_{MONTH}_{who}") for n in files) == 1
        assert sum(n.startswith(f"certificat-realisation_{who}") for n in files) == 1
    for certificate in certificates:
        (data,) = [data for name, data in files.items() if certificate.short_id in name]
        assert hashlib.sha256(data).hexdigest() == certificate.sha256
        assert f"Certificat n° {certificate.short_id}" in pdf_text(data)
    # each certificate is recorded once in each of its sessions' chains; the ledger verifies
    assert len([r for r in rows() if r["kind"] == "certificate"]) == 4 * 2
    verified = runner.invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0, verified.output

    again = issue_month(runner, order.id, workers, target)
    assert "4 certificats" in again
    assert "0 émis, 4 inchangés" in again
    assert read_zip(target) == files


def test_an_unknown_order_or_a_bad_month_is_refused(runner, month, tmp_path):
    result = runner.invoke(args=["certificates", "issue", "--order", "nope", "--month", MONTH])
    assert result.exit_code != 0
    assert "Bon de commande introuvable" in result.output
    result = runner.invoke(args=["certificates", "issue", "--order", "nope", "--month", "03-2026"])
    assert result.exit_code != 0
    assert "AAAA-MM" in result.output


def certificate_entries() -> int:
    return len([r for r in rows() if r["kind"] == "certificate"])


def test_a_failure_in_one_trainees_certificate_keeps_the_others_and_a_rerun_issues_it_once(
    app, runner, month, tmp_path, monkeypatch
):
    """R17, exactly once: a group's certificates are issued together; one that cannot be
    drawn is reported, the others are committed and recorded; the command run again issues
    only the missing ones (none twice) and the ledger verifies."""
    from certificates import pdf

    drawn = pdf.render

    def render(doc):  # noqa: ANN001, ANN202
        if "Bruno" in doc.trainee:
            raise OSError("disque plein")
        return drawn(doc)

    monkeypatch.setattr(pdf, "render", render)
    order = db.session.get(Order, month.tenant.order_id)
    args = ["certificates", "issue", "--order", order.number, "--month", MONTH]
    failed = runner.invoke(args=[*args, "--workers", "1", "--output", str(tmp_path / "a.zip")])
    assert failed.exit_code != 0
    assert "2 certificat(s) sur 4 n'ont pas pu être émis (les autres le sont)" in failed.output
    assert "OSError: disque plein" in failed.output
    assert "Relancez la commande" in failed.output
    kept = db.session.query(Certificate).all()
    assert {c.trainee_id for c in kept} == {month.tenant.trainee.id}
    assert len(kept) == 2
    assert certificate_entries() == 2 * 2  # each of Amina's two in each of her two sessions

    monkeypatch.setattr(pdf, "render", drawn)
    again = issue_month(runner, order.number, 1, tmp_path / "b.zip")
    assert "4 certificats" in again
    assert "2 émis, 2 inchangés" in again
    assert db.session.query(Certificate).count() == 4
    assert certificate_entries() == 4 * 2
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_a_bulk_issue_after_a_correction_supersedes_only_the_corrected_certificates(
    client, runner, month, tmp_path
):
    """R17: the month issued again after a correction of Bruno's presence: his certificates
    are new ones that supersede the old (which verify as superseded), Amina's are unchanged."""
    order = db.session.get(Order, month.tenant.order_id)
    issue_month(runner, order.number, 1, tmp_path / "a.zip")
    before = {c.id: (c.trainee_id, c.short_id) for c in db.session.query(Certificate)}
    correction = {"trainee_id": month.bruno.id, "action": "mark_present", "reason": "Feuille"}
    ok(
        client.post(
            f"/api/v1/sessions/{month.tutorat_id}/corrections",
            json=correction,
            headers=month.admin_h,
        )
    )
    again = issue_month(runner, order.number, 1, tmp_path / "b.zip")
    assert "2 émis, 2 inchangés" in again
    db.session.expire_all()
    for certificate in db.session.query(Certificate):
        if certificate.id not in before:
            assert certificate.trainee_id == month.bruno.id
            assert certificate.generation == 2
            continue
        answer = client.get(f"/api/v1/certificates/{certificate.short_id}/verify").get_json()
        assert answer["valid"] is True
        assert answer["superseded"] is (certificate.trainee_id == month.bruno.id)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_two_processes_issue_disjoint_batches_each_once(app, month, monkeypatch, threads):
    """Two worker processes, each taking whole batches (here each trainee's certificates as
    one): every certificate issued once, recorded once in each of its sessions' chains;
    the workers forked from a process that runs no other thread (the command line), spawned
    from one that does (a page's background thread)."""
    from certificates import bulk, services
    from core.db import utcnow

    monkeypatch.setattr(bulk.threading, "active_count", lambda: threads)

    order = db.session.get(Order, month.tenant.order_id)
    planned = [
        bulk.Target(t.enrolment_id, t.kind, t.month, t.enrolment_id)  # a batch per trainee
        for t in bulk.targets(order, MONTH)
    ]
    outcomes = bulk.run(app, planned, services.OPERATOR, utcnow(), workers=2)
    assert [o.target for o in outcomes] == planned
    assert all(o.created and o.certificate_id for o in outcomes)
    db.session.expire_all()
    assert db.session.query(Certificate).count() == 4
    assert certificate_entries() == 4 * 2
    places = [tuple(place) for c in db.session.query(Certificate) for place in c.entries]
    assert len(set(places)) == len(places)  # no two certificates in one place of a chain
