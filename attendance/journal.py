"""Appending to and verifying the signature ledger in the database (one chain per session)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, Update, bindparam, insert, select, update
from sqlalchemy.sql.dml import ReturningInsert

from attendance import ledger, projection
from attendance.models import SessionParticipant, Signature, TrainingSession
from core.db import new_id
from core.errors import Conflict
from core.extensions import connection as statements_connection
from core.extensions import db

SESSIONS = cast(Table, TrainingSession.__table__)
SIGNATURES = cast(Table, Signature.__table__)
INSERT = insert(SIGNATURES)
# Built once: building a statement and its cache key costs more than running it.
BUMP = (  # takes the session's row lock and reads the head (and the status) under it
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("session_id"))
    .values(chain_length=SESSIONS.c.chain_length + 1)
    .returning(SESSIONS.c.chain_length, SESSIONS.c.chain_head, SESSIONS.c.status)
)
SET_HEAD = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("session_id"))
    .values(chain_head=bindparam("head"))
)


def _swap_head(open_only: bool) -> Update:
    """Compare-and-set: moves the head only if nobody appended since it was read (and, for
    `open_only`, only while the session is open)."""
    statement = update(SESSIONS).where(
        SESSIONS.c.id == bindparam("session_id"),
        SESSIONS.c.chain_length == bindparam("expected"),
    )
    if open_only:
        statement = statement.where(SESSIONS.c.status == "open")
    return statement.values(chain_length=bindparam("seq"), chain_head=bindparam("head"))


def _swap_and_insert(swap: Update) -> ReturningInsert[tuple[int]]:
    """PostgreSQL: the compare-and-set and the insert in one statement (one round trip),
    atomic as one: the entry is stored only if the head moved, and a duplicate (the unique
    index) undoes the move with it. The entry's values are bound as `entry_<column>`: a
    parameter named like a column of training_session would join the UPDATE's SET clause."""
    moved = swap.returning(SESSIONS.c.id, SESSIONS.c.chain_length).cte("moved")
    from_moved = {"session_id": moved.c.id, "seq": moved.c.chain_length}
    values = [
        from_moved.get(column.key, bindparam(f"entry_{column.key}", type_=column.type))
        for column in SIGNATURES.columns
    ]
    return INSERT.from_select(
        [column.key for column in SIGNATURES.columns], select(*values)
    ).returning(SIGNATURES.c.seq)  # a row when stored: rowcount is not kept for INSERT … SELECT


SWAP_HEAD = {open_only: _swap_head(open_only) for open_only in (False, True)}
SWAP_AND_INSERT = {open_only: _swap_and_insert(SWAP_HEAD[open_only]) for open_only in SWAP_HEAD}


E = TypeVar("E", bound="Signature | NewEntry")  # an entry to chain: either kind, stored alike


class HeadMoved(Exception):  # noqa: N818 - a signal to retry, not an error
    """The compare-and-set lost (another entry came first, or the session closed) on a
    connection in autocommit, where only the one-statement fast path is atomic: run the use
    case again in a transaction (attendance.web.once does)."""


def append(
    session_id: str,
    entry: E,
    head: tuple[int, str] | None = None,
    *,
    require_open: bool = False,
) -> E:
    """Chain `entry` after the session's head and store it; `entry` stays a plain object.

    Fast path, when the caller read the head (`head` = chain length and hash): one
    compare-and-set UPDATE moves the session's head, which also takes its row lock, then the
    INSERT (on PostgreSQL both in one statement, SWAP_AND_INSERT). If another append came in
    between, or no head was given, the locked path: an
    UPDATE that bumps the length takes the row lock (PostgreSQL) or the write lock (SQLite)
    and returns the head under it. Either way appends to one session queue on its row and
    appends to different sessions never wait for each other (docs/ledger.md).
    `require_open` refuses (409) a session closed since the caller read it.

    On a connection in autocommit (PostgreSQL, `once(..., single_statement=True)`), only the
    fast path may run: it is one statement, hence atomic; otherwise HeadMoved is raised.
    """
    connection = statements_connection()
    if head is not None:
        length, prev = head
        _seal(entry, session_id, length + 1, prev)
        params = {
            "session_id": session_id,
            "expected": length,
            "seq": entry.seq,
            "head": entry.hash,
        }
        if connection.dialect.name == "postgresql":
            values = {f"entry_{key}": value for key, value in row_of(entry).items()}
            stored = connection.execute(SWAP_AND_INSERT[require_open], params | values).first()
            if stored is not None:
                return entry
            if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
                raise HeadMoved()  # the locked path takes three statements: a transaction
        elif connection.execute(SWAP_HEAD[require_open], params).rowcount == 1:
            connection.execute(INSERT, row_of(entry))
            return entry
    seq, prev, status = connection.execute(BUMP, {"session_id": session_id}).one()
    if require_open and status != "open":
        raise Conflict(
            "La séance vient d'être close : l'émargement est fermé.", code="session_not_open"
        )
    _seal(entry, session_id, seq, prev)
    connection.execute(INSERT, row_of(entry))
    connection.execute(SET_HEAD, {"session_id": session_id, "head": entry.hash})
    return entry


LOCK_HEADS = (  # the sessions' row locks, taken in id order (no deadlock between two callers)
    select(SESSIONS.c.id, SESSIONS.c.chain_length, SESSIONS.c.chain_head)
    .where(SESSIONS.c.id.in_(bindparam("session_ids", expanding=True)))
    .order_by(SESSIONS.c.id)
    .with_for_update()
)
MOVE_HEAD = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("session_id"))
    .values(chain_length=bindparam("seq"), chain_head=bindparam("head"))
)


def append_many(entries: Mapping[str, Sequence[Signature | NewEntry]]) -> None:
    """Chain entries to several sessions (session id → its new entries, in the order they are
    to follow each other) and store them; each entry gets its place (`seq`). PostgreSQL: three
    round trips whatever the number of sessions and entries: their row locks taken in id order
    (two callers never deadlock) and their heads read under them, every entry inserted in one
    statement, the heads moved in one batch; elsewhere one `append` each, sessions in id
    order. A bulk issue records a whole group's certificates so (certificates.services)."""
    wanted = {session_id: chained for session_id, chained in entries.items() if chained}
    if not wanted:
        return
    connection = statements_connection()
    if connection.dialect.name != "postgresql":
        for session_id in sorted(wanted):
            for entry in wanted[session_id]:
                append(session_id, entry)
        return
    heads = connection.execute(LOCK_HEADS, {"session_ids": sorted(wanted)}).all()
    if len(heads) != len(wanted):
        raise LookupError("a session to append to is missing")
    rows, moved = [], []
    for session_id, length, head in heads:
        for entry in wanted[session_id]:
            length += 1
            rows.append(_seal(entry, session_id, length, head))
            head = entry.hash
        moved.append({"session_id": session_id, "seq": length, "head": head})
    connection.execute(INSERT, rows)
    connection.execute(MOVE_HEAD, moved)


def session_entry(
    session: TrainingSession,
    author_id: str,
    kind: str,
    at: datetime,
    facts: dict[str, Any] | None = None,
) -> Signature:
    """An entry of the session itself: its plan or an edit (with `facts`), its opening, its
    close. The author signs it; it names no trainee and no half-day."""
    return Signature(**_session_fields(session, author_id, kind, at, facts))


@dataclass(slots=True)
class NewEntry:
    """An entry to chain, as a plain object: the same columns as Signature (each one is
    hashed and stored), without the ORM's bookkeeping, which costs more than hashing it. A
    bulk issue chains thousands (certificates.services.record); append and append_many store
    them with a Core insert, as they store Signatures."""

    organisation_id: str
    kind: str
    signer_kind: str
    signer_id: str
    half_day: str
    at: datetime
    method: str
    channel: str
    device: dict[str, Any] = field(default_factory=dict)
    author_id: str | None = None
    action: str | None = None
    reason: str | None = None
    justified: bool | None = None
    facts: dict[str, Any] | None = None
    id: str = ""
    session_id: str = ""
    seq: int = 0
    v: int = ledger.VERSION
    salt: str | None = None
    commitment: str | None = None
    prev_hash: str = ""
    hash: str = ""


def new_session_entry(
    session: TrainingSession,
    author_id: str,
    kind: str,
    at: datetime,
    facts: dict[str, Any] | None = None,
) -> NewEntry:
    """session_entry's entry as a plain NewEntry (the same fields, hence the same hash)."""
    return NewEntry(**_session_fields(session, author_id, kind, at, facts))


def _session_fields(
    session: TrainingSession,
    author_id: str,
    kind: str,
    at: datetime,
    facts: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "organisation_id": session.organisation_id,
        "kind": kind,
        "signer_kind": "session",
        "signer_id": author_id,
        "half_day": "",
        "at": at,
        "method": kind,
        "channel": "",
        "device": {},
        "author_id": author_id,
        "facts": facts,
    }


def _seal(entry: Signature | NewEntry, session_id: str, seq: int, prev: str) -> dict[str, Any]:
    """Give the entry its place in the chain, its commitment and its hash; answers its row
    (every column, row_of)."""
    entry.id = entry.id or new_id()  # the id is hashed: draw it now
    entry.session_id, entry.seq = session_id, seq
    entry.v = ledger.VERSION
    entry.device = entry.device or {}
    if entry.device or entry.reason is not None:
        entry.salt = secrets.token_hex(16)
        entry.commitment = ledger.commitment(entry.salt, ledger.personal(fields(entry)))
    entry.prev_hash = prev or ledger.genesis(session_id)
    row = fields(entry)  # the hash is not one of the fields it covers
    entry.hash = row["hash"] = ledger.entry_hash(entry.prev_hash, row)
    return row


COLUMNS = tuple(column.key for column in SIGNATURES.columns)


def row_of(entry: Signature | NewEntry) -> dict[str, Any]:
    """Every column of the entry, for a Core insert."""
    return {name: getattr(entry, name) for name in COLUMNS}


def fields(entry: Signature | NewEntry) -> dict[str, Any]:
    """Every stored column of an entry: what the ledger hashes and checks."""
    return {name: getattr(entry, name) for name in COLUMNS}


@dataclass(frozen=True)
class Verification:
    ok: bool
    length: int
    head: str
    sessions: int
    fault: ledger.Fault | None


PROJECTED_COLUMNS = [
    SESSIONS.c[name]
    for name in projection.PROJECTED
    if name != "participants" and name in SESSIONS.c
]


def verify(sessions: Select, sealed: Mapping[str, Mapping[int, str]] | None = None) -> Verification:
    """Recompute the chain of every session selected, in one streamed pass over the entries,
    and the session's columns from its chain; stop at the first fault. `sealed`: for each
    session, the head at each length a seal recorded (every seal's, not only the last's)."""
    sealed = sealed or {}
    rows = db.session.execute(
        sessions.with_only_columns(
            TrainingSession.id,
            TrainingSession.chain_length,
            TrainingSession.chain_head,
            TrainingSession.whole_group,
            *PROJECTED_COLUMNS,
        ).order_by(TrainingSession.id)
    ).mappings()
    known = sessions.with_only_columns(TrainingSession.id)
    listed = _listed_participants(known)
    stream = db.session.execute(
        select(SIGNATURES)
        .where(SIGNATURES.c.session_id.in_(known))
        .order_by(SIGNATURES.c.session_id, SIGNATURES.c.seq)
        .execution_options(yield_per=5000)
    ).mappings()
    by_session = groupby(stream, key=itemgetter("session_id"))
    pending = next(by_session, None)
    heads, total, count = [], 0, 0
    for count, row in enumerate(rows, start=1):  # noqa: B007 - the count is the answer's
        session_id = row["id"]
        entries: list[Mapping[Any, Any]] = []
        if pending is not None and pending[0] == session_id:
            entries, pending = list(pending[1]), None
        report = ledger.verify_chain(
            session_id, entries, row["chain_length"], row["chain_head"], sealed.get(session_id)
        )
        if pending is None:
            pending = next(by_session, None)
        total += report.length
        fault = report.fault or _projection_fault(row, entries, listed.get(session_id, []))
        if fault:
            return Verification(False, total, report.head, count, fault)
        heads.append((session_id, report.head))
    fault = _orphan_entry(sessions)
    if fault:
        return Verification(False, total, "", count, fault)
    return Verification(True, total, ledger.combined_head(heads), count, None)


def _listed_participants(known: Select) -> dict[str, list[str]]:
    listed: dict[str, list[str]] = {}
    for session_id, trainee_id in db.session.execute(
        select(SessionParticipant.session_id, SessionParticipant.trainee_id).where(
            SessionParticipant.session_id.in_(known)
        )
    ):
        listed.setdefault(session_id, []).append(trainee_id)
    return listed


def _projection_fault(
    row: Mapping[Any, Any], entries: list[Mapping[Any, Any]], listed: list[str]
) -> ledger.Fault | None:
    """The session's columns against its chain: an entry out of turn (a signature before the
    opening or after the close…), then each column that the chain contradicts."""
    session_id, state = row["id"], projection.SessionState()
    for entry in entries:
        reason = projection.out_of_turn(state, entry)
        if reason:
            return ledger.Fault(session_id, entry["seq"], entry["id"], reason)
        state = projection.step(state, entry)
    stored = dict(row) | {"participants": None if row["whole_group"] else listed}
    for name, held, told in projection.differences(state, stored):
        return ledger.Fault(
            session_id,
            len(entries),
            None,
            f"the session's {name} says {_shown(held)}, its chain says {_shown(told)}",
            field=name,
        )
    return None


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(value) + "]"
    return "nothing" if value is None else str(value)


def _orphan_entry(sessions: Select) -> ledger.Fault | None:
    """An entry whose session is outside every chain checked (inserted with a bad session id)."""
    orgs = sessions.with_only_columns(TrainingSession.organisation_id)
    # NOT EXISTS, not NOT IN: NOT IN checks the whole id list once per entry as soon as it no
    # longer fits PostgreSQL's hash memory (a region's sessions over years would not).
    chained = sessions.with_only_columns(TrainingSession.id).where(
        TrainingSession.id == Signature.session_id
    )
    stray = db.session.scalar(
        select(Signature).where(Signature.organisation_id.in_(orgs), ~chained.exists()).limit(1)
    )
    if stray is None:
        return None
    return ledger.Fault(stray.session_id, stray.seq, stray.id, "entry outside any session chain")
