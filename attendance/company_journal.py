"""The chains of the company periods (R2): appending, replaying, verifying, and the hours they
count (read by the certificates and the realisation export).

Each company period holds one chain of the ledger, exactly as a session does
(docs/ledger.md): its entries are hashed by `attendance.ledger` with the period in the place
of the session, its head and length are kept on its row, appends queue on that row, and the
seals cover it beside the sessions' chains (`attendance.sealing`). Hours in a company are
computed only from these chains (`company_rules.replay`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Select, Table, insert, select, update

from attendance import company_rules, ledger
from attendance.models import CompanyEntry, CompanyHours, CompanyPeriod
from core.db import new_id
from core.extensions import db

PERIODS = cast(Table, CompanyPeriod.__table__)
ENTRIES = cast(Table, CompanyEntry.__table__)
BUMP = (  # takes the period's row lock and reads the head under it
    update(PERIODS)
    .values(chain_length=PERIODS.c.chain_length + 1)
    .returning(PERIODS.c.chain_length, PERIODS.c.chain_head)
)
COLUMNS = tuple(column.key for column in ENTRIES.columns)
CHANNEL = "company"


def hashed(entry: Mapping[Any, Any]) -> dict[str, Any]:
    """An entry in the ledger's vocabulary: the period is the chain (`session_id`); the fields a
    session's entry has and a period's has not are constant."""
    return {
        **entry,
        "session_id": entry["period_id"],
        "half_day": "",
        "channel": CHANNEL,
        "action": None,
        "justified": None,
        "reason": None,
    }


def append(period_id: str, entry: CompanyEntry) -> CompanyEntry:
    """Chain `entry` after the period's head and store it, under the period's row lock (an
    UPDATE that bumps the length takes it): appends to one period queue, others never wait."""
    seq, prev = db.session.execute(BUMP.where(PERIODS.c.id == period_id)).one()
    entry.id = entry.id or new_id()
    entry.period_id, entry.seq, entry.v = period_id, seq, ledger.VERSION
    entry.device = entry.device or {}
    if entry.device:
        entry.salt = secrets.token_hex(16)
        entry.commitment = ledger.commitment(entry.salt, ledger.personal(hashed(row_of(entry))))
    entry.prev_hash = prev or ledger.genesis(period_id)
    entry.hash = ledger.entry_hash(entry.prev_hash, hashed(row_of(entry)))
    db.session.execute(insert(ENTRIES), row_of(entry))
    db.session.execute(
        update(PERIODS).where(PERIODS.c.id == period_id).values(chain_head=entry.hash)
    )
    return entry


def row_of(entry: CompanyEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in COLUMNS}


def new_entry(
    period: CompanyPeriod,
    kind: str,
    signer: tuple[str, str],
    at: datetime,
    facts: dict[str, Any] | None = None,
    *,
    hours_id: str | None = None,
    method: str = "",
    author_id: str | None = None,
    device: dict[str, Any] | None = None,
) -> CompanyEntry:
    """An entry of the period's chain; `signer` is (signer kind, signer id)."""
    return CompanyEntry(
        organisation_id=period.organisation_id,
        kind=kind,
        signer_kind=signer[0],
        signer_id=signer[1],
        hours_id=hours_id,
        at=at,
        method=method or kind,
        author_id=author_id,
        facts=facts,
        device=device or {},
    )


def entries_of(period_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every entry of these periods' chains, in chain order (one query)."""
    ids = list(period_ids)
    found: dict[str, list[dict[str, Any]]] = {period_id: [] for period_id in ids}
    if not ids:
        return found
    query = select(ENTRIES).where(ENTRIES.c.period_id.in_(ids))
    for row in db.session.execute(query.order_by(ENTRIES.c.period_id, ENTRIES.c.seq)).mappings():
        found[row["period_id"]].append(dict(row))
    return found


def states(period_ids: Iterable[str]) -> dict[str, company_rules.PeriodState]:
    """Each period as its chain tells it."""
    return {
        period_id: company_rules.replay(chain)
        for period_id, chain in entries_of(period_ids).items()
    }


# --- What the periods count (read by certificates) ---


@dataclass
class CompanyFacts:
    lines: list[company_rules.CompanyLine]
    read_lengths: dict[str, int]  # period → chain length read

    @property
    def minutes(self) -> int:
        return sum(line.minutes for line in self.lines)


def counted_for(
    enrolment_ids: list[str], first: date | None = None, last: date | None = None
) -> dict[str, CompanyFacts]:
    """Per path, the company hours both signed (within [first, last] when given), from the
    periods' chains only."""
    periods = list(
        db.session.scalars(
            select(CompanyPeriod).where(CompanyPeriod.enrolment_id.in_(enrolment_ids))
        )
    )
    chains = entries_of(p.id for p in periods)
    found = {enrolment_id: CompanyFacts([], {}) for enrolment_id in enrolment_ids}
    for period in periods:
        state = company_rules.replay(chains[period.id])
        company = str((state.plan or {}).get("company_name", ""))
        facts = found[period.enrolment_id]
        for line in state.counted(first, last):
            facts.lines.append(
                company_rules.CompanyLine(
                    period.id, line.hours_id, company, line.first_day, line.last_day, line.minutes
                )
            )
        if state.counted(first, last):
            facts.read_lengths[period.id] = len(chains[period.id])
    for facts in found.values():
        facts.lines.sort(key=lambda line: (line.first_day, line.hours_id))
    return found


def record_certificate(period_id: str, author_id: str, now: datetime, facts: dict[str, Any]) -> int:
    """A certificate counting the period's hours: a `certificate` entry in its chain (the next
    seal covers the PDF's hash). Answers the entry's place."""
    period = db.session.get_one(CompanyPeriod, period_id)
    entry = new_entry(period, "certificate", ("period", author_id), now, facts, author_id=author_id)
    return append(period_id, entry).seq


def kinds_between(period_id: str, after: int, before: int) -> list[str]:
    """The kinds of the entries chained between two places of a period's chain."""
    query = select(ENTRIES.c.kind).where(
        ENTRIES.c.period_id == period_id,
        ENTRIES.c.seq > after,
        ENTRIES.c.seq < before,
    )
    return list(db.session.scalars(query))


# --- Verification ---


@dataclass(frozen=True)
class Verification:
    length: int
    periods: int
    heads: list[tuple[str, str]]
    fault: ledger.Fault | None


def verify(periods: Select, sealed: Mapping[str, Mapping[int, str]] | None = None) -> Verification:
    """Recompute every selected period's chain (links, hashes, commitments, seals' heads) and
    its rows from its chain (the period's plan, each line and its signatures); stop at the
    first fault, as `journal.verify` does for the sessions."""
    sealed = sealed or {}
    rows = db.session.scalars(periods.order_by(CompanyPeriod.id)).all()
    known = periods.with_only_columns(CompanyPeriod.id)
    stream = db.session.execute(
        select(ENTRIES)
        .where(ENTRIES.c.period_id.in_(known))
        .order_by(ENTRIES.c.period_id, ENTRIES.c.seq)
        .execution_options(yield_per=5000)
    ).mappings()
    chains = {
        key: [hashed(e) for e in group] for key, group in groupby(stream, itemgetter("period_id"))
    }
    lines = _lines(known)
    heads: list[tuple[str, str]] = []
    total = 0
    for period in rows:
        entries = chains.get(period.id, [])
        report = ledger.verify_chain(
            period.id, entries, period.chain_length, period.chain_head, sealed.get(period.id)
        )
        total += report.length
        fault = report.fault or _projection_fault(period, entries, lines.get(period.id, []))
        if fault:
            return Verification(total, len(heads) + 1, heads, fault)
        heads.append((period.id, report.head))
    return Verification(total, len(heads), heads, None)


def _lines(known: Select) -> dict[str, list[CompanyHours]]:
    found: dict[str, list[CompanyHours]] = {}
    for line in db.session.scalars(select(CompanyHours).where(CompanyHours.period_id.in_(known))):
        found.setdefault(line.period_id, []).append(line)
    return found


def _projection_fault(
    period: CompanyPeriod, entries: list[dict[str, Any]], lines: list[CompanyHours]
) -> ledger.Fault | None:
    """The period's rows against its chain: an entry out of turn, then each fact that differs."""
    state = company_rules.PeriodState()
    for entry in entries:
        reason = company_rules.out_of_turn(state, entry)
        if reason:
            return ledger.Fault(period.id, entry["seq"], entry["id"], reason)
        state = company_rules.step(state, entry)
    told = _told(state)
    held = _held(period, lines)
    for name in sorted(set(told) | set(held)):
        if told.get(name) != held.get(name):
            return ledger.Fault(
                period.id,
                len(entries),
                None,
                f"the period's {name} says {held.get(name)}, its chain says {told.get(name)}",
                field=name,
            )
    return None


def _told(state: company_rules.PeriodState) -> dict[str, Any]:
    facts = dict(state.plan or {})
    for line in state.lines.values():
        facts[f"hours {line.hours_id}"] = (
            line.first_day.isoformat(),
            line.last_day.isoformat(),
            line.minutes,
            *(_moment(line.signed.get(signer)) for signer in company_rules.SIGNERS),
            _moment(line.cancelled_at),
        )
    return facts


def _held(period: CompanyPeriod, lines: list[CompanyHours]) -> dict[str, Any]:
    facts = company_rules.plan_facts(
        period.company_name, period.siret, period.start_date, period.end_date, period.planned_hours
    ) | {"enrolment_id": period.enrolment_id, "trainee_id": period.trainee_id}
    for line in lines:
        facts[f"hours {line.id}"] = (
            line.first_day.isoformat(),
            line.last_day.isoformat(),
            line.minutes,
            _moment(line.trainee_signed_at),
            _moment(line.tutor_signed_at),
            _moment(line.cancelled_at),
        )
    return facts


def _moment(value: datetime | None) -> str | None:
    return None if value is None else ledger.exported({"at": value})["at"]
