"""Appending to and verifying the signature ledger in the database (one chain per session)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select, update

from attendance import ledger
from attendance.models import Signature, TrainingSession
from core.db import new_id
from core.extensions import db

SESSIONS = cast(Table, TrainingSession.__table__)
# Built once: building a statement and its cache key costs more than running it.
BUMP = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("session_id"))
    .values(chain_length=SESSIONS.c.chain_length + 1)
    .returning(SESSIONS.c.chain_length, SESSIONS.c.chain_head)
)
INSERT = insert(cast(Table, Signature.__table__))
SET_HEAD = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("session_id"))
    .values(chain_head=bindparam("head"))
)


def append(session_id: str, entry: Signature) -> Signature:
    """Chain `entry` after the session's head and store it; `entry` stays a plain object.

    The first statement bumps the session's chain length, which takes that session's row lock
    (PostgreSQL) or the write lock (SQLite) before the head is read: concurrent appends to one
    session queue there, appends to different sessions do not wait for each other. Core
    statements on the request's connection: this is the sign-in hot path.
    """
    connection = db.session.connection()
    seq, head = connection.execute(BUMP, {"session_id": session_id}).one()
    entry.id = entry.id or new_id()  # the id is hashed: draw it now
    entry.session_id, entry.seq = session_id, seq
    entry.created_at = entry.created_at or entry.at
    entry.device = entry.device or {}
    entry.prev_hash = head or ledger.genesis(session_id)
    entry.hash = ledger.entry_hash(entry.prev_hash, fields(entry))
    connection.execute(INSERT, row_of(entry))
    connection.execute(SET_HEAD, {"session_id": session_id, "head": entry.hash})
    return entry


def row_of(entry: Signature) -> dict[str, Any]:
    """Every column of the entry, for a Core insert."""
    return {column.key: getattr(entry, column.key) for column in Signature.__table__.columns}


def fields(entry: Signature) -> dict[str, Any]:
    """The covered fields of an entry, as the ledger hashes them."""
    return {name: getattr(entry, name) for name in ledger.FIELDS} | {
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@dataclass(frozen=True)
class Verification:
    ok: bool
    length: int
    head: str
    sessions: int
    fault: ledger.Fault | None


def verify(sessions: Select) -> Verification:
    """Recompute the chain of every session selected, in one streamed pass over the entries;
    stop at the first bad entry."""
    rows = db.session.execute(
        sessions.with_only_columns(
            TrainingSession.id, TrainingSession.chain_length, TrainingSession.chain_head
        ).order_by(TrainingSession.id)
    ).all()
    known = sessions.with_only_columns(TrainingSession.id)
    stream = db.session.scalars(
        select(Signature)
        .where(Signature.session_id.in_(known))
        .order_by(Signature.session_id, Signature.seq)
        .execution_options(yield_per=2000)
    )
    by_session = groupby(stream, key=attrgetter("session_id"))
    pending = next(by_session, None)
    heads, total = [], 0
    for count, (session_id, length, head) in enumerate(rows, start=1):
        entries: Iterable[Signature] = ()
        if pending is not None and pending[0] == session_id:
            entries, pending = pending[1], None
        report = ledger.verify_chain(session_id, (fields(e) for e in entries), length, head)
        if pending is None:
            pending = next(by_session, None)
        total += report.length
        if report.fault:
            return Verification(False, total, report.head, count, report.fault)
        heads.append((session_id, report.head))
    fault = _orphan_entry(sessions)
    if fault:
        return Verification(False, total, "", len(rows), fault)
    return Verification(True, total, ledger.combined_head(heads), len(rows), None)


def _orphan_entry(sessions: Select) -> ledger.Fault | None:
    """An entry whose session is outside every chain checked (inserted with a bad session id)."""
    known = sessions.with_only_columns(TrainingSession.id)
    orgs = sessions.with_only_columns(TrainingSession.organisation_id)
    stray = db.session.scalar(
        select(Signature)
        .where(Signature.organisation_id.in_(orgs), Signature.session_id.not_in(known))
        .limit(1)
    )
    if stray is None:
        return None
    return ledger.Fault(stray.session_id, stray.seq, stray.id, "entry outside any session chain")
