"""Billing use cases (R11): a month's group-hours of one order, or of every order the caller
sees, aggregated in SQL from the chained entries (docs/exports.md, "How it is computed").

One statement reads the month: per session, one pass over its chain's own and trainers'
entries with conditional aggregates (the last plan's place, the opening, the close, whether
the trainer signed each half-day), whether any trainee signed, then the facts of that last
plan (kind, times, participants, site, reason), all from two narrow indexes, never from the
trainees' entries themselves (chained_statement). The session's columns only choose which
sessions to read (`starts_at` is indexed); every time and every "held" comes from the
chain, and a session whose chained start falls outside the month is left out.
"""

from __future__ import annotations

import gc
import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    literal_column,
    select,
    text,
    type_coerce,
)
from sqlalchemy import cast as cast_as
from sqlalchemy.dialects.postgresql import JSONB

from attendance import journal, register
from attendance.models import TrainingSession
from attendance.services import french_holidays
from certificates import billing
from core.auth import Principal
from core.clock import local_day
from core.errors import Forbidden
from core.extensions import db
from core.models import Organisation, Role
from sites.models import Site
from training import access
from training.models import Enrolment, Group, Order, RegroupementAuthorisation
from training.services import get_order

READERS = (Role.FINANCE, Role.ORG_ADMIN, Role.REGION)
SESSIONS, SIGNATURES = journal.SESSIONS, journal.SIGNATURES
GROUPS = cast(Table, Group.__table__)
PLAN_KINDS = ("planned", "edited")


def require_reader(actor: Principal) -> None:
    """Finance, the organisation's admin and the Région read billing; nobody else."""
    if not actor.has_role(*READERS):
        raise Forbidden("La facturation est réservée à la finance, au référent et à la Région.")


def order_billing(
    actor: Principal, order_id: str, year: int, month: int, now: datetime
) -> billing.OrderBilling:
    """One visible order's month (404 for an order the caller may not see)."""
    require_reader(actor)
    order = get_order(actor, order_id)
    orders = select(Order.id).where(Order.id == order.id)
    return next(_billings(orders, year, month, now))


def month_billings(
    actor: Principal, year: int, month: int, now: datetime
) -> Iterator[billing.OrderBilling]:
    """Every order the caller sees that runs during the month (the Région: every order of the
    region), one at a time: an export streams them."""
    require_reader(actor)
    first, after = billing.month_bounds(year, month)
    orders = access.visible_orders(actor).where(
        Order.start_date < local_day(after), Order.end_date >= local_day(first)
    )
    return _billings(orders.with_only_columns(Order.id), year, month, now)


def _billings(
    order_ids: Select, year: int, month: int, now: datetime
) -> Iterator[billing.OrderBilling]:
    with _cycles_uncollected():  # what every order's billing reads, read first
        orders = _orders(order_ids)
        if not orders:
            return
        ids = [order.id for order in orders]
        groups = _groups(ids)
        lookups = _Lookups.load([g.id for gs in groups.values() for g in gs], year)
        autoformation = _planned_autoformation(ids)
        sessions = _chained_sessions(order_ids, year, month)
    for order in orders:
        with _cycles_uncollected():
            billed = _order(
                order, groups[order.id], sessions, lookups, autoformation, (year, month), now
            )
        yield billed  # the collector runs again while the caller (an export) consumes it


@contextmanager
def _cycles_uncollected() -> Iterator[None]:
    """Python's cycle collector paused while what the month's billing reads is loaded, and
    while each order's lines are built (never across a `yield`: the caller's code runs with
    the collector as it was), then restored as it was. Reference counting still frees what
    is built here (a cycle, if any, waits for the collector's next pass); but the 100,000
    objects of a Région-wide month that outlive their step made the collector traverse the
    whole process (250,000 objects of the app) three times a month: 0.4 s of the month's
    0.9 s of Python (docs/benchmarks.md). The collector is the process's: another thread's
    cycles wait as long (an order: milliseconds); two such blocks at once leave it enabled
    at the end, whichever ends last."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _order(
    order: billing.OrderInfo,
    groups: list[Group],
    sessions: dict[str, list[billing.ChainedSession]],
    lookups: _Lookups,
    autoformation: dict[str, int],
    period: tuple[int, int],
    now: datetime,
) -> billing.OrderBilling:
    planned = autoformation.get(order.id, 0)
    over_cap = billing.autoformation_cap_flag(order.modality, order.centre_hours, planned)
    billed = []
    for group in groups:
        context = lookups.context(order.modality, group, over_cap)
        counted = lookups.counted(group.id, sessions.get(group.id, []))
        billed.append(
            billing.bill_group(group.id, group.name, group.component, counted, context, now)
        )
    return billing.OrderBilling(
        order=order,
        year=period[0],
        month=period[1],
        groups=tuple(billed),
        flags=(over_cap,) if over_cap else (),
        autoformation_planned_minutes=planned,
    )


def _orders(order_ids: Select) -> list[billing.OrderInfo]:
    """The orders, with their organisation's name, by organisation and number."""
    query = (
        select(Order, Organisation.name)
        .join(Organisation, Organisation.id == Order.organisation_id)
        .where(Order.id.in_(order_ids))
        .order_by(Organisation.name, Order.organisation_id, Order.number, Order.id)
    )
    return [order_info(order, name) for order, name in db.session.execute(query)]


def order_info(order: Order, organisation: str) -> billing.OrderInfo:
    """What the exports say of an order."""
    return billing.OrderInfo(
        id=order.id,
        number=order.number,
        title=order.title,
        modality=order.modality,
        centre_hours=order.centre_hours,
        organisation_id=order.organisation_id,
        organisation=organisation,
    )


def _groups(order_ids: list[str]) -> dict[str, list[Group]]:
    found: dict[str, list[Group]] = defaultdict(list)
    query = select(Group).where(Group.order_id.in_(order_ids)).order_by(Group.name, Group.id)
    for group in db.session.scalars(query):
        found[group.order_id].append(group)
    return found


def chained_statement(order_ids: Select, first: datetime, after: datetime) -> Select:
    """Per session starting in [first, after) in these orders: the chain's facts that
    billing needs and the facts of its last plan (in no order: the caller sorts them into
    their groups).

    Billing never needs a trainee's entry but to know that one signed. So: one `GROUP BY
    session_id` pass over the session's own entries and its trainers' (`signer_kind <>
    'trainee'`, the rows of the partial index ix_signature_session_facts, read from the index
    alone), with conditional aggregates (the last plan's `seq`, the opening, the close,
    whether the trainer signed each half-day); per session, whether a trainee signed, one
    probe of the exactly-once index (which carries `signer_kind`); the last plan's facts, one
    probe of ix_signature_session_facts again (which carries them), then the fields billing
    reads taken from that one document as text (PLAN_FACTS: no JSON decoded in Python);
    whether a `mark_absent`
    correction was recorded, one probe of ix_signature_absent_corrections. The session's
    group and title come from its row as the month's sessions are picked (joining the
    sessions again afterwards made PostgreSQL hash the whole year's). The literals stay
    literals: the planner matches them against the partial indexes' predicates."""
    entry, month = SIGNATURES, MONTH
    signed = entry.c.kind == "sign_in"

    def any_of(condition: Any) -> Any:
        return func.max(case((condition, 1), else_=0))

    def trainer(half: str) -> Any:
        return any_of(and_(signed, entry.c.signer_kind == "trainer", entry.c.half_day == half))

    chained = (
        select(
            entry.c.session_id,
            month.c.group_id,
            month.c.title,
            func.max(case((entry.c.kind.in_(PLAN_KINDS), entry.c.seq))).label("plan_seq"),
            func.max(case((entry.c.kind == "opened", entry.c.at))).label("opened_at"),
            func.max(case((entry.c.kind == "closed", entry.c.at))).label("closed_at"),
            trainer("am").label("trainer_am"),
            trainer("pm").label("trainer_pm"),
        )
        .join(month, month.c.id == entry.c.session_id)
        .where(
            month.c.starts_at >= first,
            month.c.starts_at < after,
            month.c.group_id.in_(select(GROUPS.c.id).where(GROUPS.c.order_id.in_(order_ids))),
            entry.c.signer_kind.op("<>")(TRAINEE),
        )
        # the session's group and title come along (grouped by its key, the session's row
        # is read once, not joined again over every session of the year)
        .group_by(entry.c.session_id, month.c.group_id, month.c.title)
        .subquery("chained")
    )
    planned = (
        select(
            chained.c.group_id,
            chained.c.session_id.label("id"),
            chained.c.title,
            chained.c.opened_at,
            chained.c.closed_at,
            trainee_signed(chained.c.session_id).label("trainee_signed"),
            chained.c.trainer_am,
            chained.c.trainer_pm,
            _plan_document(plan_facts(chained.c.session_id, chained.c.plan_seq)).label("facts"),
            absent_correction(chained.c.session_id).label("corrected"),
        )
        # a fence (PostgreSQL and SQLite flatten no subquery with an OFFSET): each session's
        # plan is probed once, and its facts read below from that one document
        .offset(0)
        .subquery("planned")
    )
    return select(
        planned.c.group_id,
        planned.c.id,
        planned.c.title,
        _raw(planned.c.opened_at).label("opened_at"),
        _raw(planned.c.closed_at).label("closed_at"),
        planned.c.trainee_signed,
        planned.c.trainer_am,
        planned.c.trainer_pm,
        *(planned.c.facts[name].as_string().label(name) for name in PLAN_FACTS),
        planned.c.corrected,
    )


# The facts of the last plan that billing reads, as text (the participants: their JSON list,
# or NULL for the whole group). NULL when the chain has no plan.
PLAN_FACTS = ("kind", "starts_at", "ends_at", "site_id", "regroupement_reason", "participants")


def _plan_document(facts: Any) -> Any:
    """PostgreSQL: the plan's JSON read once into jsonb, whose fields are then looked up
    without parsing the text again for each (SQLite's json_extract parses each time, on the
    embedded service's small months)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast_as(facts, JSONB)
    return facts


def _raw(column: Any) -> Any:
    """The column as the driver gives it (no per-row conversion by SQLAlchemy): a naive UTC
    datetime on PostgreSQL, its text on SQLite (`_Moments` makes either aware)."""
    return type_coerce(column, String)


TRAINEE: Any = literal_column("'trainee'")
# The statement's aliases, made once: each alias's columns cost 40 µs apiece to build (the
# signature table has 22), 12 ms a statement when made anew for each month.
MONTH = SESSIONS.alias("month")
TRAINEE_SIGNATURE = SIGNATURES.alias("trainee_signature")
CORRECTION = SIGNATURES.alias("correction")
PLAN = SIGNATURES.alias("plan")


def trainee_signed(session_id: Any) -> Any:
    """Whether any trainee signed in to the session: one probe of uq_signature_once. A
    `mark_absent` correction may have cancelled that signature since: `_uncancelled` reads
    those few sessions again."""
    signature = TRAINEE_SIGNATURE
    return exists().where(
        signature.c.session_id == session_id,
        signature.c.kind == literal_column("'sign_in'"),
        signature.c.signer_kind == TRAINEE,
    )


def absent_correction(session_id: Any) -> Any:
    """Whether a `mark_absent` correction was ever recorded in the session: one probe of the
    partial index ix_signature_absent_corrections (a few rows in a month)."""
    correction = CORRECTION
    return exists().where(
        correction.c.session_id == session_id,
        correction.c.kind == literal_column("'correction'"),
        correction.c.action == literal_column("'mark_absent'"),
    )


def plan_facts(session_id: Any, seq: Any) -> Any:
    """The facts of the session's own entry at `seq`: one probe of ix_signature_session_facts,
    which carries them (no row read)."""
    plan = PLAN
    return (
        select(plan.c.facts)
        .where(
            plan.c.session_id == session_id,
            plan.c.seq == seq,
            plan.c.signer_kind.op("<>")(TRAINEE),  # a plan is the session's own entry
        )
        .scalar_subquery()
    )


def _chained_sessions(
    order_ids: Select, year: int, month: int
) -> dict[str, list[billing.ChainedSession]]:
    """The month's sessions by group, as the pure rules take them; a session whose chained
    start falls outside the month is left out. A client-side cursor: a month's rows fit in
    memory, and PostgreSQL runs a server-side cursor's query without its parallel workers
    (twice as slow here). The rows are fetched at once, their values as the driver gives them
    (no conversion by SQLAlchemy: `_raw`, the plan's facts as text), each distinct time and
    participants' list parsed once."""
    first, after = billing.month_bounds(year, month)
    without_jit()
    result = db.session.connection().execute(chained_statement(order_ids, first, after))
    rows = result.all()
    cancelled = _uncancelled(
        [row.id for row in rows if row.corrected and row.trainee_signed and row.kind is not None]
    )
    moments, participants = _Moments(), _Participants()
    in_month = _InMonth(year, month)
    by_group: dict[str, list[billing.ChainedSession]] = defaultdict(list)
    chained = billing.ChainedSession
    for row in rows:
        (group_id, id_, title, opened, closed, signed, am, pm) = row[:8]
        (kind, starts, ends, site_id, reason, listed, _) = row[8:]
        if kind is None:
            continue  # no plan in its chain: nothing counts (ledger verify says why)
        starts_at = moments[starts]
        if not in_month[starts_at]:
            continue
        by_group[group_id].append(
            chained(
                id_,
                group_id,
                title,
                kind,
                starts_at,
                moments[ends],
                participants[listed],
                site_id,
                reason,
                None if opened is None else moments[opened],
                None if closed is None else moments[closed],
                HALVES[am, pm],  # each 0 or 1 (the max of a CASE of 1 or 0)
                bool(signed) and id_ not in cancelled,  # a cancelled signature: not signed
            )
        )
    return by_group


class _Moments(dict[Any, datetime]):
    """Each distinct time of a month's rows made aware UTC once: a chained time
    ("2026-03-10T08:00:00.000000Z") or a column as the driver gives it (a naive UTC datetime
    on PostgreSQL, its text on SQLite). Sessions start and end on few distinct times."""

    def __missing__(self, key: Any) -> datetime:
        found = datetime.fromisoformat(key) if isinstance(key, str) else key
        if found.tzinfo is None:
            found = found.replace(tzinfo=UTC)
        self[key] = found
        return found


class _Participants(dict[str | None, tuple[str, ...] | None]):
    """A plan's participants (their JSON list as text; None: the whole group) as a tuple, each
    distinct list decoded once (a sub-group's sessions list the same people)."""

    def __missing__(self, key: str | None) -> tuple[str, ...] | None:
        found = None if key is None else tuple(json.loads(key))
        self[key] = found
        return found


class _InMonth(dict[datetime, bool]):
    """Whether a moment's Paris day lies in the month, once per distinct moment."""

    def __init__(self, year: int, month: int) -> None:
        super().__init__()
        self.period = (year, month)

    def __missing__(self, moment: datetime) -> bool:
        found = self[moment] = billing.in_month(moment, *self.period)
        return found


def _uncancelled(corrected: list[str]) -> set[str]:
    """Of the sessions a trainee signed in to and where a `mark_absent` correction was
    recorded, those where no signature stands any more: the correction cancelled each (the
    attendance sheet says "not held": a correction is never a signature, SPEC.md). Read again
    through the sheet, as the certificates read them."""
    found = set()
    for session_id in corrected:
        sheet = register.sheet_of(db.session.get_one(TrainingSession, session_id))
        if not any(
            h.status == "present" and not h.attested for p in sheet.people for h in p.halves
        ):
            found.add(session_id)
    return found


def without_jit() -> None:
    """PostgreSQL: no JIT compilation for this transaction's statements. The index probes
    for the plans' facts raise the planner's estimate over the JIT thresholds, and compiling
    (inlining, optimising) took longer than running: 3.7 s for a 0.8 s month of 5.6 million
    entries (docs/exports.md). `SET LOCAL` ends with the transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


HALVES = {(0, 0): frozenset(), (1, 0): frozenset({"am"}), (0, 1): frozenset({"pm"})}
HALVES[(1, 1)] = frozenset({"am", "pm"})


def _planned_autoformation(order_ids: list[str]) -> dict[str, int]:
    """R6: minutes of autoformation planned in each order, every group and month, summed in
    SQL.

    Read from the sessions' columns (kind, times): this is the plan that R6 checks when a
    session is planned, the same columns, and `ledger verify` holds them equal to the chain;
    reading every plan entry of every order instead would cost a second pass over the entries
    for a flag that planning already enforces (docs/exports.md)."""
    query = (
        select(GROUPS.c.order_id, func.sum(_seconds(SESSIONS.c.starts_at, SESSIONS.c.ends_at)))
        .join(GROUPS, GROUPS.c.id == SESSIONS.c.group_id)
        .where(GROUPS.c.order_id.in_(order_ids), SESSIONS.c.kind == billing.AUTOFORMATION)
        .group_by(GROUPS.c.order_id)
    )
    return {order_id: int(seconds // 60) for order_id, seconds in db.session.execute(query)}


def _seconds(start: Any, end: Any) -> Any:
    """Seconds from `start` to `end` (UTC columns), in the database's own arithmetic."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # SQLite: julianday() is a float of days; each session's seconds are rounded before the sum
    # (summed unrounded, ten 126-minute sessions made 1,379 minutes).
    return func.round((func.julianday(end) - func.julianday(start)) * 86400)


class _Lookups:
    """What the flags and the participant counts need, read once for a whole export."""

    def __init__(
        self,
        enrolments: dict[str, list[tuple[date, date | None]]],
        authorised: dict[str, set[date]],
        seats: dict[str, int],
        holidays: set[date],
    ) -> None:
        self.enrolments, self.authorised = enrolments, authorised
        self.seats, self.holidays = seats, holidays
        self.sorted_paths: dict[str, tuple[list[date], list[date]]] = {}

    @classmethod
    def load(cls, group_ids: list[str], year: int) -> _Lookups:
        enrolments: dict[str, list[tuple[date, date | None]]] = defaultdict(list)
        paths = select(Enrolment.group_id, Enrolment.entry_date, Enrolment.exit_date).where(
            Enrolment.group_id.in_(group_ids)
        )
        for group_id, entry, exit_ in db.session.execute(paths):
            enrolments[group_id].append((entry, exit_))
        authorised: dict[str, set[date]] = defaultdict(set)
        days = select(
            RegroupementAuthorisation.group_id, RegroupementAuthorisation.session_date
        ).where(RegroupementAuthorisation.group_id.in_(group_ids))
        for group_id, day in db.session.execute(days):
            authorised[group_id].add(day)
        seats: dict[str, int] = {}
        for site_id, count in db.session.execute(select(Site.id, Site.seats)):
            seats[site_id] = count
        return cls(enrolments, authorised, seats, set(french_holidays(year)))

    def context(
        self, modality: str, group: Group, over_cap: billing.Flag | None
    ) -> billing.Context:
        return billing.Context(
            modality=modality,
            group_first_day=group.first_day,
            authorised_days=self.authorised.get(group.id, set()),
            holidays=self.holidays,
            seats=self.seats,
            over_cap=over_cap,
        )

    def counted(
        self, group_id: str, sessions: list[billing.ChainedSession]
    ) -> list[tuple[billing.ChainedSession, int]]:
        """Each of a group's sessions with its participants: listed ones, or the group's
        trainees enrolled on the session's day (as attendance.participants.enrolled_on counts
        them: entered on or before the day, not left before it). The group's paths are
        looked up once for all its sessions (each of its days is a different one)."""
        entries, exits = self._paths(group_id)
        found = []
        for s in sessions:
            if s.participants is not None:
                found.append((s, len(s.participants)))
            else:
                day = billing.day_of(s.starts_at)
                found.append((s, bisect_right(entries, day) - bisect_left(exits, day)))
        return found

    def _paths(self, group_id: str) -> tuple[list[date], list[date]]:
        """The group's entry days and exit days, each sorted, once per export. A path that
        ends before it begins (never enrolled a day) is left out of both."""
        found = self.sorted_paths.get(group_id)
        if found is None:
            paths = [
                (entry, exit_)
                for entry, exit_ in self.enrolments.get(group_id, [])
                if exit_ is None or exit_ >= entry
            ]
            found = self.sorted_paths[group_id] = (
                sorted(entry for entry, _ in paths),
                sorted(exit_ for _, exit_ in paths if exit_ is not None),
            )
        return found
