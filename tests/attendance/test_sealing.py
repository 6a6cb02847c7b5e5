"""Seals of the ledger in the service: `flask ledger seal`, the export outside the database,
and the tamperings a seal catches that a chain alone cannot (issue 8): whoever holds the
database rewrites entries and hashes them again, or cuts a chain and moves its head back."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, select, update

from attendance import ledger, seals
from attendance.models import LedgerSeal, TrainingSession
from core.extensions import db
from tests.attendance.support import (
    SIGNATURES,
    Built,
    forge,
    rows,
    run_sql,
    shift_seqs,
    verify,
)
from tests.attendance.test_seals import offline_check
from tests.conftest import bearer
from tests.page_support import eventually

SESSIONS = cast(Table, TrainingSession.__table__)
ROOT = Path(__file__).resolve().parents[2]


def seal(runner) -> str:  # noqa: ANN001
    result = runner.invoke(args=["ledger", "seal"])
    assert result.exit_code == 0, result.output
    return result.output


def export_file(app) -> Path:  # noqa: ANN001
    return Path(app.config["LEDGER_SEAL_DIR"]) / "seals.jsonl"


@pytest.fixture
def sealed(app, client, tenant_a, built: Built, runner) -> Built:
    """The seven-entry session of test_ledger, sealed once."""
    output = seal(runner)
    assert output.startswith("Sceau n° 1 : ")
    return built


def rechain(session_id: str) -> None:
    """What a database holder with the code does after editing entries: hash the chain again
    from the start and move the session's head to match."""
    prev = ledger.genesis(session_id)
    stored = rows(session_id)
    for row in stored:
        new = ledger.entry_hash(prev, row)
        run_sql(
            update(SIGNATURES).where(SIGNATURES.c.id == row["id"]).values(prev_hash=prev, hash=new)
        )
        prev = new
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == session_id)
        .values(chain_length=len(stored), chain_head=prev)
    )


def audit(app, client, region) -> dict[str, Any]:  # noqa: ANN001
    return verify(client, bearer(app, region))


def assert_caught(
    app,  # noqa: ANN001
    client,  # noqa: ANN001
    region,  # noqa: ANN001
    runner,  # noqa: ANN001
    reason: str,
    seq: int | None = None,
    offline: str | None = None,
) -> dict:
    """The API and the CLI both refuse the ledger, naming the entry or seal; with `offline`,
    the auditor's command refuses the exported entries against the exported seals too."""
    answer = audit(app, client, region)
    assert answer["ok"] is False, answer
    bad = answer["first_bad"]
    assert reason in bad["reason"], bad
    if seq is not None:
        assert bad["seq"] == seq, bad
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1, result.output
    assert reason in result.output
    if offline is not None:
        checked = check_offline(app, runner)
        assert checked.returncode == 1, checked.stdout
        assert offline in checked.stderr, checked.stderr
    return bad


def check_offline(app, runner) -> subprocess.CompletedProcess:  # noqa: ANN001
    """What an auditor runs with the export of the seals, the entries and the public key."""
    folder = Path(app.config["LEDGER_SEAL_DIR"])
    entries = runner.invoke(args=["ledger", "export"])
    assert entries.exit_code == 0, entries.output
    (folder / "entries.jsonl").write_text(entries.output, encoding="utf-8")
    (folder / "public-key.pem").write_text(runner.invoke(args=["ledger", "public-key"]).output)
    return offline_check(
        export_file(app), folder / "public-key.pem", "--entries", str(folder / "entries.jsonl")
    )


def test_a_seal_covers_every_entry_and_is_exported_outside_the_database(
    app, client, region, sealed, runner
):
    answer = audit(app, client, region)
    assert (answer["ok"], answer["length"], answer["sealed"], answer["unsealed"]) == (
        True,
        11,
        11,
        0,
    )
    assert (answer["seals"], answer["seals_checked"]) == (1, True)
    (line,) = export_file(app).read_text().splitlines()
    exported = json.loads(line)
    assert [sealed.session_id, 10, sealed.rows[-1]["hash"]] in exported["sessions"]
    assert len(exported["sessions"]) == 2
    stored = db.session.scalar(select(LedgerSeal))
    assert (stored.seq, stored.hash) == (1, exported["hash"])
    assert "Rien à sceller" in seal(runner)  # nothing changed since
    assert len(export_file(app).read_text().splitlines()) == 1


def test_entries_after_the_seal_are_reported_unsealed_then_sealed(
    app, client, tenant_a, region, sealed, runner
):
    corrected = client.post(
        f"/api/v1/sessions/{sealed.session_id}/corrections",
        json={"trainee_id": sealed.people["Amina"], "action": "mark_absent", "reason": "Erreur"},
        headers=bearer(app, tenant_a.admin),
    )
    assert corrected.status_code == 201
    answer = audit(app, client, region)
    assert (answer["ok"], answer["sealed"], answer["unsealed"]) == (True, 11, 1)
    assert seal(runner).startswith("Sceau n° 2 : 1 séances")
    assert audit(app, client, region)["unsealed"] == 0
    lines = [json.loads(line) for line in export_file(app).read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2]
    assert lines[1]["previous"] == lines[0]["hash"]


# --- tamperings that recompute the chain: only a seal catches them ------------------------------


def test_the_last_entry_deleted_and_the_head_moved_back_is_caught(
    app, client, region, sealed, runner
):
    last, previous = sealed.row(10), sealed.row(9)
    run_sql(delete(SIGNATURES).where(SIGNATURES.c.id == last["id"]))
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == sealed.session_id)
        .values(chain_length=9, chain_head=previous["hash"])
    )
    assert_caught(
        app, client, region, runner, "sealed entries are missing", seq=10, offline="n° 10"
    )


def test_a_forged_sign_in_inserted_and_the_chain_hashed_again_is_caught(
    app, client, region, sealed, runner
):
    seq = sealed.seq(3)  # among the sign-ins
    shift_seqs(sealed.session_id, seq, 1)
    forge(sealed, seq, "")
    rechain(sealed.session_id)
    assert_caught(
        app, client, region, runner, "differ from the sealed chain", seq=10, offline="n° 10"
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda row: {"at": row["at"].replace(minute=row["at"].minute + 40)},
        lambda row: {"signer_id": row["signer_id"][::-1]},
    ],
    ids=["time moved by 40 minutes", "signer changed"],
)
def test_an_entry_edited_and_the_chain_hashed_again_is_caught(
    app, client, region, sealed, runner, change
):
    row = sealed.entry(2)
    run_sql(update(SIGNATURES).where(SIGNATURES.c.id == row["id"]).values(**change(row)))
    rechain(sealed.session_id)
    assert_caught(
        app, client, region, runner, "differ from the sealed chain", seq=10, offline="n° 10"
    )


def test_a_wiped_chain_is_caught(app, client, region, sealed, runner):
    run_sql(delete(SIGNATURES).where(SIGNATURES.c.session_id == sealed.session_id))
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == sealed.session_id)
        .values(chain_length=0, chain_head="")
    )
    assert_caught(app, client, region, runner, "sealed entries are missing", seq=1, offline="n° 1 ")


def test_a_deleted_session_is_caught(app, client, region, sealed, runner):
    from attendance.models import SignInCode

    run_sql(delete(SIGNATURES).where(SIGNATURES.c.session_id == sealed.session_id))
    run_sql(
        delete(SignInCode.__table__).where(SignInCode.__table__.c.session_id == sealed.session_id)
    )
    run_sql(delete(SESSIONS).where(SESSIONS.c.id == sealed.session_id))
    bad = assert_caught(
        app, client, region, runner, "sealed session missing", offline="sealed entries are missing"
    )
    assert bad["session_id"] == sealed.session_id


# --- tamperings of the seals themselves ---------------------------------------------------------


def test_a_seal_deleted_from_the_database_is_caught_by_its_export(
    app, client, region, sealed, runner
):
    run_sql(delete(LedgerSeal.__table__))
    bad = assert_caught(app, client, region, runner, "missing from the database")
    assert bad["seal"] == 1


def test_a_seal_line_deleted_from_the_export_is_caught(
    app, client, tenant_a, region, sealed, runner
):
    client.post(
        f"/api/v1/sessions/{sealed.session_id}/corrections",
        json={"trainee_id": sealed.people["Amina"], "action": "mark_absent", "reason": "Erreur"},
        headers=bearer(app, tenant_a.admin),
    )
    seal(runner)
    lines = export_file(app).read_text().splitlines()
    export_file(app).write_text(lines[1] + "\n")
    bad = assert_caught(
        app, client, region, runner, "missing from its export", offline="expected seal 1"
    )
    assert bad["seal"] == 1


def test_a_seal_forged_with_another_key_is_caught(app, client, region, sealed, runner):
    """The database holder rewrites a chain, then the seal row and the export line, signing
    with a key of their own: the configured public key refuses it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    row = sealed.entry(2)
    run_sql(update(SIGNATURES).where(SIGNATURES.c.id == row["id"]).values(signer_id="intrus"))
    rechain(sealed.session_id)
    head = db.session.scalar(
        select(TrainingSession.chain_head).where(TrainingSession.id == sealed.session_id)
    )
    stored = db.session.scalar(select(LedgerSeal))
    chains = [
        seals.SealedChain(i, n, head if i == sealed.session_id else h)
        for i, n, h in stored.sessions
    ]
    forged = seals.make_seal(1, stored.at, seals.GENESIS, chains, Ed25519PrivateKey.generate())
    db.session.rollback()  # end this test's read: the next request reads what was written
    line = forged.to_json()
    run_sql(
        update(LedgerSeal.__table__).values(
            root=forged.root,
            key_id=forged.key_id,
            signature=forged.signature,
            hash=forged.hash,
            sessions=line["sessions"],
        )
    )
    export_file(app).write_text(json.dumps(line) + "\n")
    bad = assert_caught(
        app, client, region, runner, "signed with another key", offline="signed with another key"
    )
    assert bad["seal"] == 1


# --- who sees which seals; the auditor's offline check; sealing after a close ------------------


def test_an_organisation_sees_only_its_own_sessions_each_proved_against_the_signed_root(
    app, client, tenant_a, tenant_b, region, sealed, runner
):
    everything = client.get("/api/v1/ledger/seals", headers=bearer(app, region)).get_json()
    (item,) = everything["items"]
    public = seals.load_public_key(everything["public_key"])
    assert seals.check_seals([seals.Seal.from_json(item)], public) is None
    own = client.get("/api/v1/ledger/seals", headers=bearer(app, tenant_b.admin)).get_json()
    assert [s[0] for s in own["items"][0]["sessions"]] == [tenant_b.session_id]
    mine = client.get("/api/v1/ledger/seals", headers=bearer(app, tenant_a.admin)).get_json()
    listed = mine["items"][0]["sessions"]
    assert {s[0] for s in listed} == {sealed.session_id, tenant_a.session_id}
    for entry in listed:
        chain = seals.SealedChain(*entry)
        assert seals.proves(chain, mine["items"][0]["proofs"][chain.session_id], item["root"])
    refused = client.get("/api/v1/ledger/seals", headers=bearer(app, tenant_a.trainer))
    assert refused.status_code == 403


def test_the_export_checks_offline_with_the_published_public_key(app, sealed, runner, tmp_path):
    checked = check_offline(app, runner)
    assert checked.returncode == 0, checked.stderr
    assert "entrées conformes aux sceaux" in checked.stdout
    public = tmp_path / "public-key.pem"
    key = runner.invoke(args=["ledger", "public-key"])
    assert key.exit_code == 0
    public.write_text(key.output)
    checked = offline_check(export_file(app), public)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("1 sceaux valides (2 séances)")


def test_closing_a_session_seals_it_soon_after(app, client, tenant_a, built, monkeypatch):
    """`built` closed its session before this test set a delay: nothing sealed yet; a close
    made now is sealed within the delay, with every chain changed since the last seal."""
    from tests.attendance.support import install_clock, open_session, plan

    monkeypatch.setitem(app.config, "LEDGER_SEAL_DELAY_S", 0.05)
    assert db.session.scalar(select(LedgerSeal.seq)) is None
    clock = install_clock(monkeypatch)
    trainer_h = bearer(app, tenant_a.trainer)
    sid = plan(app, client, tenant_a, start=(13, 0), end=(14, 0))
    clock.set(12, 50)
    open_session(client, trainer_h, sid)
    clock.set(13, 30)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200
    stored = eventually(lambda: db.session.scalar(select(LedgerSeal)))
    assert stored is not None, "no seal after the close"
    assert {built.session_id, sid} <= {s[0] for s in stored.sessions}
    # The export is appended right after the commit, from the same thread.
    exported = eventually(
        lambda: export_file(app).exists() and export_file(app).read_text() or None
    )
    assert exported is not None
    assert len(exported.splitlines()) == 1


def other_value(name: str, row: dict[str, Any], sealed: Built, tenant_b: Any) -> Any:
    """A different value for one column of an entry, one the database's constraints accept."""
    special = {
        "id": "x" * 24,
        "organisation_id": tenant_b.org.id,
        "seq": 99,
        "at": row["at"] + timedelta(minutes=40) if row["at"] else None,
        "device": {"ua": "autre", "ip": "203.0.113.9"},
        "justified": not row["justified"],
        "v": 1,
        "facts": {"forged": True},
        "salt": "cd" * 16,
        "commitment": "0" * 64,
    }
    if name in special:
        return special[name]
    return "autre" if name != "half_day" else "pm"


ENTRY_COLUMNS = [
    c.key for c in SIGNATURES.columns if c.key not in ("prev_hash", "hash", "session_id")
]


@pytest.mark.parametrize("name", ENTRY_COLUMNS)
def test_an_edit_of_any_column_of_an_entry_is_caught_by_the_api_the_cli_and_offline(
    app, client, tenant_b, region, sealed, runner, name
):
    """Issue 8, item 5: every stored column of an entry is covered (the personal part through
    its commitment); an edit of one, even without rehashing, names the entry."""
    row = sealed.entry(7)  # the correction: it has a reason, a salt, an author
    run_sql(
        update(SIGNATURES)
        .where(SIGNATURES.c.id == row["id"])
        .values({name: other_value(name, row, sealed, tenant_b)})
    )
    bad = assert_caught(app, client, region, runner, "", offline="ALTÉRÉ")
    assert bad["session_id"] == sealed.session_id
    assert bad["seq"] in (row["seq"], row["seq"] + 1, 99), bad
