"""Billing of synchronous group-hours (R11), pure: what a group's month bills, and the flags.

A session comes in as its chain tells it (`ChainedSession`: kind, times, participants, site,
reason, opening, close, who signed); nothing here reads the database or the clock. A group's
billable time in a month is the clock time covered by its *held* synchronous sessions, each
from its start to the earlier of its end and its close: sessions of one group that overlap
count once, so splitting a group into parallel sub-groups never bills more than teaching it
whole (SPEC.md, "Time and hours"). Autoformation is listed with its hours and bills nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from attendance.rules import (
    HalfDay,
    autoformation_cap,
    check_regroupement,
    half_days,
    is_held,
)
from core.clock import PARIS, local_day, union_minutes
from core.errors import RuleViolation

AUTOFORMATION = "autoformation"
KIND_LABELS = {
    "tutorat": "Tutorat",
    "autoformation": "Autoformation",
    "regroupement": "Regroupement",
}
AUDIENCE_LABELS = {
    "whole_group": "Groupe entier",
    "subgroup": "Sous-groupe",
    "individual": "Individuel",
}
NOT_HELD = {
    "upcoming": "séance à venir",
    "in_progress": "séance en cours (comptée à sa clôture ou à sa fin)",
    "not_opened": "séance non ouverte",
    "no_trainer_signature": "pas d'émargement du formateur",
    "no_trainee_signature": "aucun stagiaire n'a émargé",
}


@dataclass(frozen=True, slots=True)
class Flag:
    """Something finance must look at before paying: a code, a French message, maybe a rule."""

    code: str
    message: str
    rule: str | None = None


@dataclass(slots=True)
class ChainedSession:
    """A session as its chain tells it, with what its signatures say.

    Not frozen, as `SessionLine`: a frozen dataclass sets each field through
    `object.__setattr__`, 1.2 µs more per object, twice per row of a Région-wide month of
    45,000 rows; nothing changes either once built (docs/benchmarks.md)."""

    id: str
    group_id: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    participants: tuple[str, ...] | None  # None: the whole group
    site_id: str | None = None
    regroupement_reason: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    trainer_halves: frozenset[str] = frozenset()  # half-days the trainer signed ("am", "pm")
    trainee_signed: bool = False  # at least one trainee's signature (a correction is not one)

    @property
    def synchronous(self) -> bool:
        return self.kind != AUTOFORMATION

    @property
    def stop(self) -> datetime:
        """Where its group-time ends: the end, or the close when earlier."""
        closed = self.closed_at
        return closed if closed is not None and closed < self.ends_at else self.ends_at

    @property
    def audience(self) -> str:
        if self.participants is None:
            return "whole_group"
        return "individual" if len(self.participants) == 1 else "subgroup"

    def is_held(self) -> bool:
        """Opened, signed by its trainer and by at least one trainee; synchronous only."""
        opened = self.opened_at is not None
        signed = 1 if self.trainee_signed else 0
        return is_held(self.synchronous, opened, bool(self.trainer_halves), signed)


@dataclass(frozen=True, slots=True)
class Context:
    """What the flags need beside the session, looked up once for a whole export."""

    modality: str  # the order's
    group_first_day: date
    authorised_days: Collection[date] = ()
    holidays: Collection[date] = ()
    seats: Mapping[str, int] = field(default_factory=dict)  # site id → seats
    over_cap: Flag | None = None  # R6 over the order, shown on each autoformation line


@dataclass(slots=True)
class SessionLine:
    """One session of the month in the billing: its hours, whether it is held, and why not."""

    session: ChainedSession
    participant_count: int
    minutes: int  # group-time: start to the earlier of end and close
    held: bool
    not_held: tuple[str, ...]  # codes of NOT_HELD
    flags: tuple[Flag, ...]

    @property
    def billable(self) -> bool:
        return self.held and self.session.synchronous


@dataclass(frozen=True, slots=True)
class GroupBilling:
    """A group's month: its lines and totals, in minutes."""

    group_id: str
    name: str
    component: str
    lines: tuple[SessionLine, ...]
    billable_minutes: int  # union of held synchronous sessions (R11)
    whole_group_minutes: int  # union of held synchronous whole-group sessions
    subgroup_minutes: int  # held synchronous sub-group and individual sessions, each counted
    autoformation_minutes: int  # listed, never billed
    planned_minutes: int  # union of every synchronous session planned in the month

    @property
    def flag_count(self) -> int:
        return sum(len(line.flags) for line in self.lines)

    @property
    def not_held_count(self) -> int:
        return sum(1 for line in self.lines if line.session.synchronous and not line.held)


TOTALS = (
    "billable_minutes",
    "whole_group_minutes",
    "subgroup_minutes",
    "autoformation_minutes",
    "planned_minutes",
)


MINUTE = timedelta(minutes=1)


def minutes_between(start: datetime, stop: datetime) -> int:
    """Whole minutes from `start` to `stop`, rounded down (0 when `stop` comes first): an
    exact division of the timedeltas, no float on the way."""
    return max(0, (stop - start) // MINUTE)


def hours(minutes: int) -> Decimal:
    """Hours to two decimals, rounded half up: 20 min → 0.33, 50 min → 0.83."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The Europe/Paris month as [start, end) in UTC (daylight saving changes inside it)."""
    first = datetime(year, month, 1, tzinfo=PARIS)
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=PARIS)
    return first.astimezone(UTC), after.astimezone(UTC)


@lru_cache(maxsize=8192)
def day_of(moment: datetime) -> date:
    """The Paris day of a moment (local_day): a month's sessions start at few distinct
    moments, shared by every group; each is converted once."""
    return local_day(moment)


def in_month(moment: datetime, year: int, month: int) -> bool:
    day = day_of(moment)
    return (day.year, day.month) == (year, month)


def in_progress(session: ChainedSession, now: datetime) -> bool:
    """Opened, neither closed nor ended: its group-time is not known yet, so it bills nothing
    until its close or its end (as the certificates count it)."""
    return session.opened_at is not None and session.closed_at is None and now < session.ends_at


def not_held_reasons(session: ChainedSession, now: datetime) -> tuple[str, ...]:
    """Why a synchronous session is not held (empty when it is, and for autoformation)."""
    if not session.synchronous:
        return ()
    if session.opened_at is None:
        return ("upcoming",) if now < session.ends_at else ("not_opened",)
    if in_progress(session, now):
        return ("in_progress",)
    reasons = []
    if not session.trainer_halves:
        reasons.append("no_trainer_signature")
    if not session.trainee_signed:
        reasons.append("no_trainee_signature")
    return tuple(reasons)


def session_flags(session: ChainedSession, participants: int, context: Context) -> list[Flag]:
    """The flags of one line: R6 over the order (autoformation), R10, a missing trainer
    signature on a half-day that took place, a public holiday, more people than seats."""
    flags = []
    kind = session.kind
    if kind == AUTOFORMATION:
        if context.over_cap is not None:
            flags.append(context.over_cap)
    elif kind == "regroupement":
        flags += _regroupement_flags(session, context)
    missing = _unsigned_halves(session)
    if missing:
        names = " et ".join("matin" if h == "am" else "après-midi" for h in missing)
        flags.append(
            Flag("trainer_signature_missing", f"Émargement du formateur manquant ({names}).")
        )
    if day_of(session.starts_at) in context.holidays:
        flags.append(Flag("public_holiday", "Séance un jour férié : émargement contestable."))
    seats = context.seats.get(session.site_id) if session.site_id else None
    if seats is not None and participants > seats:
        flags.append(
            Flag("over_site_capacity", f"{participants} participants pour {seats} places au site.")
        )
    return flags


def _regroupement_flags(session: ChainedSession, context: Context) -> list[Flag]:
    try:
        check_regroupement(
            context.modality,
            session.regroupement_reason,
            day_of(session.starts_at),
            context.group_first_day,
            context.authorised_days,
        )
    except RuleViolation as refusal:
        return [Flag(refusal.code, refusal.message, refusal.rule)]
    return []


def _unsigned_halves(session: ChainedSession) -> list[str]:
    """Halves of an opened synchronous session that began before its stop, unsigned by the
    trainer."""
    if not session.synchronous or session.opened_at is None or len(session.trainer_halves) == 2:
        return []
    stop, signed = session.stop, session.trainer_halves
    return [
        h.name
        for h in _halves(session.starts_at, session.ends_at)
        if h.name not in signed and h.start < stop
    ]


@lru_cache(maxsize=4096)
def _halves(starts_at: datetime, ends_at: datetime) -> list[HalfDay]:
    """Sessions of a month start and end on few distinct times: split each pair once."""
    return half_days(starts_at, ends_at)


def session_line(
    session: ChainedSession, participants: int, context: Context, now: datetime
) -> SessionLine:
    """One session's line: its group-time, whether it is held, why not, its flags."""
    return SessionLine(
        session,
        participants,
        minutes_between(session.starts_at, session.stop),
        session.is_held() and not in_progress(session, now),
        not_held_reasons(session, now),
        tuple(session_flags(session, participants, context)),
    )


def bill_group(
    group_id: str,
    name: str,
    component: str,
    sessions: Iterable[tuple[ChainedSession, int]],
    context: Context,
    now: datetime,
) -> GroupBilling:
    """A group's month from its sessions (each with its participant count): the lines in
    time order, then the totals in one pass over them."""
    lines = tuple(
        session_line(s, count, context, now)
        for s, count in sorted(sessions, key=lambda item: (item[0].starts_at, item[0].id))
    )
    billed, whole, planned = [], [], []
    subgroup = autoformation = 0
    for line in lines:
        s = line.session
        if not s.synchronous:
            autoformation += line.minutes
            continue
        planned.append((s.starts_at, s.ends_at))
        if line.held:  # billable: held and synchronous
            billed.append((s.starts_at, s.stop))
            if s.participants is None:
                whole.append(billed[-1])
            else:
                subgroup += line.minutes
    return GroupBilling(
        group_id=group_id,
        name=name,
        component=component,
        lines=lines,
        billable_minutes=union_minutes(billed),
        whole_group_minutes=union_minutes(whole),
        subgroup_minutes=subgroup,
        autoformation_minutes=autoformation,
        planned_minutes=union_minutes(planned),
    )


def autoformation_cap_flag(modality: str, centre_hours: float, planned_minutes: int) -> Flag | None:
    """R6: the order's autoformation (every group, every month) over its share of the order's
    centre hours, or None."""
    cap_share = autoformation_cap(modality)
    cap = cap_share * centre_hours
    if planned_minutes / 60 <= cap + 1e-9:
        return None
    return Flag(
        "autoformation_cap",
        f"L'autoformation prévue du bon de commande ({hours(planned_minutes)} h) dépasse "
        f"{cap_share * 100:.0f} % de ses heures centre ({cap:g} h).",
        "R6",
    )


def totals(groups: Iterable[GroupBilling]) -> dict[str, int]:
    """Sums of the groups' totals (distinct groups: nothing overlaps between them)."""
    summed = dict.fromkeys(TOTALS, 0)
    for group in groups:
        for name in TOTALS:
            summed[name] += getattr(group, name)
    return summed


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """What the exports say of an order."""

    id: str
    number: str
    title: str
    modality: str
    centre_hours: float
    organisation_id: str
    organisation: str


@dataclass(frozen=True, slots=True)
class OrderBilling:
    """An order's month: its groups, the flags on the order itself (R6), and totals."""

    order: OrderInfo
    year: int
    month: int
    groups: tuple[GroupBilling, ...]
    flags: tuple[Flag, ...] = ()
    autoformation_planned_minutes: int = 0  # the whole order's, every month (R6)

    @property
    def totals(self) -> dict[str, int]:
        return totals(self.groups)
