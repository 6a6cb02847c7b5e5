"""The bench's ledger entries (bench/entries.py) are the service's: same fields, same chaining,
so that `ledger verify` passes on the bench database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from attendance import journal, ledger, projection
from attendance.models import TrainingSession
from bench import entries

STARTS = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _session() -> TrainingSession:
    return TrainingSession(
        id="0190aaaaaaaabbbbbbbbcccc",
        organisation_id="0190aaaaaaaabbbbbbbbdddd",
        kind="tutorat",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=8),
        site_id=None,
        regroupement_reason=None,
        whole_group=True,
        lead_trainer_id="0190aaaaaaaabbbbbbbbeeee",
    )


def test_a_session_entry_is_chained_as_the_service_chains_it() -> None:
    session, author = _session(), "0190aaaaaaaabbbbbbbbeeee"
    row = entries.plan_row(session, author, STARTS - timedelta(days=7))
    row["id"] = "0190aaaaaaaabbbbbbbb0001"
    [chained], length, head = entries.chain(session.id, [row])

    facts = row["facts"]
    served = journal.session_entry(session, author, "planned", row["at"], facts)
    served.id = "0190aaaaaaaabbbbbbbb0001"
    journal._seal(served, session.id, 1, "")
    assert journal.fields(served) == {k: chained[k] for k in journal.COLUMNS}
    assert (length, head) == (1, served.hash)


def test_a_bench_chain_verifies_and_replays_to_the_sessions_columns() -> None:
    session, trainer = _session(), "0190aaaaaaaabbbbbbbbeeee"
    opened, closed = STARTS - timedelta(minutes=10), STARTS + timedelta(hours=8, minutes=5)
    device = {"ua": "Mozilla/5.0", "ip": "10.0.0.1"}
    rows = [
        entries.plan_row(session, trainer, STARTS - timedelta(days=7)),
        entries.session_row(session, trainer, "opened", opened),
        entries.row(
            organisation_id=session.organisation_id,
            kind="sign_in",
            signer_kind="trainee",
            signer_id="0190aaaaaaaabbbbbbbbffff",
            half_day="am",
            at=STARTS,
            method="qr",
            channel="home",
            device=device,
        ),
        entries.session_row(session, trainer, "closed", closed),
        entries.row(
            organisation_id=session.organisation_id,
            kind="absence",
            signer_kind="trainee",
            signer_id="0190aaaaaaaabbbbbbbb9999",
            half_day="am",
            at=closed,
            method="trainer",
            channel="home",
            author_id=trainer,
            reason="Arrêt de travail",
            justified=True,
        ),
    ]
    chained, length, head = entries.chain(session.id, rows)

    assert ledger.verify_chain(session.id, chained, length, head).fault is None
    assert chained[0]["salt"] is None  # a session's own entry holds nothing personal
    assert chained[2]["salt"]  # the phone's facts, committed
    assert chained[4]["salt"]  # the reason, committed
    state = projection.replay(chained)
    stored = {
        "kind": "tutorat",
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "site_id": None,
        "regroupement_reason": None,
        "participants": None,
        "lead_trainer_id": trainer,
        "status": "closed",
        "opened_at": opened,
        "opened_by_id": trainer,
        "closed_at": closed,
        "closed_by_id": trainer,
    }
    assert projection.differences(state, stored) == []
    # the values COPY writes: JSON as text, naive UTC times
    values = dict(zip(entries.COLUMNS, entries.copy_values(chained[2]), strict=True))
    assert values["device"] == '{"ua":"Mozilla/5.0","ip":"10.0.0.1"}'
    assert values["at"] == STARTS.replace(tzinfo=None)


def test_a_row_refuses_a_column_the_table_lacks() -> None:
    with pytest.raises(ValueError, match="created_at"):  # dropped by the format 2 migration
        entries.row(created_at=STARTS)
