"""Ledger entries as the service writes them, computed in bulk with the service's own code.

The bench fills its database with direct inserts (ORM bulk insert or COPY), never one request
per entry; so that the database is what the service would have written, each entry is built
like the service builds it (attendance.journal.session_entry and attendance.projection.
plan_facts for a session's own entries; the fields of attendance.signing's and attendance.
register's entries for the others) and chained like attendance.journal._seal chains it: an id
drawn first, format attendance.ledger.VERSION, a salted attendance.ledger.commitment when
there are personal facts, the previous hash (attendance.ledger.genesis for the first) and
attendance.ledger.entry_hash. `ledger verify` (attendance.sealing.audit) passes on the result.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from attendance import journal, ledger, projection
from attendance.models import TrainingSession
from core.db import new_id

COLUMNS = journal.COLUMNS
BLANK: dict[str, Any] = dict.fromkeys(COLUMNS) | {"device": {}}


def session_row(
    session: TrainingSession, author_id: str, kind: str, at: datetime, facts: dict | None = None
) -> dict[str, Any]:
    """A session's own entry (planned, edited, opened, closed), from the service's builder."""
    entry = journal.session_entry(session, author_id, kind, at, facts)
    return BLANK | {k: v for k, v in journal.fields(entry).items() if v is not None}


def plan_row(
    session: TrainingSession, author_id: str, at: datetime, kind: str = "planned"
) -> dict[str, Any]:
    """The `planned` (or `edited`) entry of a session: its plan's facts, as
    attendance.services._chain_plan writes them."""
    facts = projection.plan_facts(
        kind=session.kind,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        site_id=session.site_id,
        regroupement_reason=session.regroupement_reason,
        participants=session.participant_ids,
        lead_trainer_id=session.lead_trainer_id,
    )
    return session_row(session, author_id, kind, at, facts)


def row(**values: Any) -> dict[str, Any]:
    """Any other entry (a signature, sign-out, absence, correction): the columns given, the
    model's defaults for the rest."""
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not a column of signature: {sorted(unknown)}")
    return BLANK | values


def chain(
    session_id: str, rows: Iterable[dict[str, Any]], length: int = 0, head: str = ""
) -> tuple[list[dict[str, Any]], int, str]:
    """Chain `rows` after the session's head (length, head), in place, as
    attendance.journal._seal does; answers the rows and the new (length, head)."""
    prev = head or ledger.genesis(session_id)
    out = []
    for entry in rows:
        length += 1
        entry["id"] = entry["id"] or new_id()
        entry["session_id"], entry["seq"], entry["v"] = session_id, length, ledger.VERSION
        entry["device"] = entry["device"] or {}
        if entry["device"] or entry["reason"] is not None:
            entry["salt"] = secrets.token_hex(16)
            entry["commitment"] = ledger.commitment(entry["salt"], ledger.personal(entry))
        entry["prev_hash"] = prev
        entry["hash"] = prev = ledger.entry_hash(prev, entry)
        out.append(entry)
    return out, length, prev


def copy_values(entry: dict[str, Any]) -> tuple[Any, ...]:
    """One row for `COPY signature (COLUMNS) FROM STDIN`: JSON as text, times as naive UTC
    (what core.db.UTCDateTime stores)."""
    values = []
    for name in COLUMNS:
        value = entry[name]
        if name in ("device", "facts") and value is not None:
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)
        values.append(value)
    return tuple(values)
