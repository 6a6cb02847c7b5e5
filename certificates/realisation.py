"""Realisation export for SIGMA FP (R18): per trainee's path and month, the minutes realised
in centre (regroupement), in company, at distance (FAD: tutorat) and in autoformation.

Each session of the month is replayed from its chain exactly as the attendance sheet is
(`attendance.register.roster`): its plan, close and participants as chained, each trainee's
signatures, sign-outs, absences and corrections folded per half-day, autoformation counting
only when signed out (R7). A correction marking a trainee present counts once, like a
signature. Company hours are those of the company periods (R2) whose lines fall in the month
and that both the trainee and the tutor signed, read from the periods' chains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import select

from attendance import company_journal, journal, projection, rules
from attendance.presence import fold
from certificates import billing
from certificates.billing_services import (
    GROUPS,
    SESSIONS,
    SIGNATURES,
    order_info,
    require_reader,
)
from core.auth import Principal
from core.clock import local_day
from core.extensions import db
from core.models import Organisation, Trainee
from training.models import Enrolment, Group
from training.services import get_order

# Where each kind of session counts (docs/exports.md).
COLUMN_OF_KIND = {"regroupement": "centre", "tutorat": "fad", "autoformation": "autoformation"}
COLUMNS = ("centre", "company", "fad", "autoformation")


@dataclass
class RealisationLine:
    """One trainee's path in one group, for the month: minutes per column."""

    enrolment_id: str
    trainee_id: str
    last_name: str
    first_name: str
    group_id: str
    group_name: str
    centre: int = 0
    company: int = 0  # company periods (R2): hours signed by the trainee and the tutor
    fad: int = 0
    autoformation: int = 0

    @property
    def total(self) -> int:
        return self.centre + self.company + self.fad + self.autoformation


@dataclass(frozen=True)
class Realisation:
    order: billing.OrderInfo
    year: int
    month: int
    lines: tuple[RealisationLine, ...]

    def totals(self) -> dict[str, int]:
        return {
            name: sum(getattr(line, name) for line in self.lines) for name in (*COLUMNS, "total")
        }


def order_realisation(
    actor: Principal, order_id: str, year: int, month: int, now: datetime
) -> Realisation:
    """Per path of a visible order's groups: minutes realised in the month, from the chain;
    a session still running counts once closed or ended (as the certificates count it)."""
    require_reader(actor)
    order = get_order(actor, order_id)
    first, after = billing.month_bounds(year, month)
    paths = _paths(order.id, local_day(first), local_day(after))
    minutes: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    entries = _entries(order.id, first, after)
    for (_, group_id), chain in groupby(entries, key=lambda e: (e["session_id"], e["group_id"])):
        _count_session(group_id, list(chain), (year, month), paths, minutes, now)
    _count_company(paths, local_day(first), local_day(after) - timedelta(days=1), minutes)
    lines = []
    for key, line in paths.lines.items():
        realised = minutes.get(key)
        if realised is None and key not in paths.during:
            continue  # a path outside the month, with nothing realised in it
        for name, value in (realised or {}).items():
            setattr(line, name, value)
        lines.append(line)
    lines.sort(key=lambda ln: (ln.group_name, ln.last_name, ln.first_name, ln.trainee_id))
    organisation = db.session.get(Organisation, order.organisation_id)
    info = order_info(order, organisation.name if organisation else "")
    return Realisation(info, year, month, tuple(lines))


def _count_session(
    group_id: str,
    chain: list[dict[str, Any]],
    period: tuple[int, int],
    paths: _Paths,
    minutes: dict[tuple[str, str], dict[str, int]],
    now: datetime,
) -> None:
    state = projection.replay(chain)
    if state.kind is None or state.starts_at is None or state.ends_at is None:
        return  # no plan in the chain: nothing counts (ledger verify says why)
    if state.status != "closed" and now < state.ends_at:
        return  # still running: counted at its close or its end
    if not billing.in_month(state.starts_at, *period):
        return
    day = local_day(state.starts_at)
    taking_part = (
        list(state.participants)
        if state.participants is not None
        else paths.enrolled_on(group_id, day)
    )
    people = (e for e in chain if e["signer_kind"] == "trainee")
    halves = rules.half_days(state.starts_at, state.ends_at)
    column = COLUMN_OF_KIND[state.kind]
    for person in fold(
        taking_part, halves, people, synchronous=state.synchronous, closed_at=state.closed_at
    ):
        if person.minutes:
            minutes[(group_id, person.trainee_id)][column] += person.minutes


def _count_company(
    paths: _Paths, first: date, last: date, minutes: dict[tuple[str, str], dict[str, int]]
) -> None:
    """Company hours (R2) of the month's days, signed by the trainee and the tutor, from the
    periods' chains (attendance.company)."""
    by_enrolment = {line.enrolment_id: key for key, line in paths.lines.items()}
    counted = company_journal.counted_for(list(by_enrolment), first, last)
    for enrolment_id, found in counted.items():
        if found.minutes:
            minutes[by_enrolment[enrolment_id]]["company"] += found.minutes


def _entries(order_id: str, first: datetime, after: datetime) -> Iterable[dict[str, Any]]:
    """Every entry of the order's sessions starting in the month, chain by chain."""
    sessions = (
        select(SESSIONS.c.id, SESSIONS.c.group_id)
        .join(GROUPS, GROUPS.c.id == SESSIONS.c.group_id)
        .where(
            GROUPS.c.order_id == order_id,
            SESSIONS.c.starts_at >= first,
            SESSIONS.c.starts_at < after,
        )
        .cte("month_sessions")
    )
    query = (
        select(journal.SIGNATURES, sessions.c.group_id)
        .join(sessions, sessions.c.id == SIGNATURES.c.session_id)
        .order_by(SIGNATURES.c.session_id, SIGNATURES.c.seq)
    )
    for row in db.session.execute(query.execution_options(yield_per=5000)).mappings():
        yield dict(row)


class _Paths:
    """The order's paths that overlap the month (each a line, even with nothing realised)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], RealisationLine] = {}
        self.during: set[tuple[str, str]] = set()  # paths that overlap the month
        self.periods: dict[str, list[tuple[str, date, date | None]]] = defaultdict(list)

    def enrolled_on(self, group_id: str, day: date) -> list[str]:
        """As attendance.participants.enrolled_on: paths covering the day."""
        return sorted(
            trainee_id
            for trainee_id, entry, exit_ in self.periods[group_id]
            if entry <= day and (exit_ is None or exit_ >= day)
        )


def _paths(order_id: str, first_day: date, next_month: date) -> _Paths:
    query = (
        select(Enrolment, Group.name, Trainee.last_name, Trainee.first_name)
        .join(Group, Group.id == Enrolment.group_id)
        .join(Trainee, Trainee.id == Enrolment.trainee_id)
        .where(Group.order_id == order_id)
    )
    paths = _Paths()
    for enrolment, group_name, last_name, first_name in db.session.execute(query):
        group_id, trainee_id = enrolment.group_id, enrolment.trainee_id
        paths.periods[group_id].append((trainee_id, enrolment.entry_date, enrolment.exit_date))
        ended = enrolment.exit_date is not None and enrolment.exit_date < first_day
        if enrolment.entry_date < next_month and not ended:
            paths.during.add((group_id, trainee_id))
        paths.lines[(group_id, trainee_id)] = RealisationLine(
            enrolment_id=enrolment.id,
            trainee_id=trainee_id,
            last_name=last_name,
            first_name=first_name,
            group_id=group_id,
            group_name=group_name,
        )
    return paths
