"""The Région's dashboards: per organisation, order and department, for a month (or a year):
planned, realised and billable hours, attendance rate, absences by reason, autoformation
share, help requests and their answer times, outcomes at 3 and 6 months, and the open flags
with the rule that raised each. An organisation sees the same for its own orders.

Read from the rollups (`compliance.rollups`, one row per closed session, one per group and
month) summed in SQL, and a few narrow queries.
Billable hours unite, per group and month, the clock spans of its held synchronous sessions,
as the billing does (R11).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, func, select

from attendance.models import TrainingSession
from compliance import followup, rollups, rules
from compliance.models import (
    SUBMITTED,
    VALIDATED,
    DataRequest,
    GroupRollup,
    HelpRequest,
    Outcome,
    PlanSubmission,
    SessionRollup,
)
from core.auth import Principal
from core.clock import PARIS, union_minutes
from core.errors import Forbidden, InvalidInput
from core.extensions import db
from core.models import Organisation, Role
from training.models import Enrolment, Group, Order

REGION, ORGANISATION = "region", "organisation"


@dataclass
class Figures:
    """The figures of one organisation, order or department (or of everything)."""

    planned_minutes: int = 0
    realised_minutes: int = 0
    billable_minutes: int = 0
    autoformation_minutes: int = 0
    participants: int = 0
    present: int = 0
    sessions_closed: int = 0
    absences: dict[str, int] = field(default_factory=dict)
    help_requests: int = 0
    help_answered: int = 0
    help_late: int = 0
    help_answer_minutes: int = 0  # the sum, for the average
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # 3m/6m → situation → n

    def add_absences(self, found: dict[str, int]) -> None:
        for name, count in found.items():
            self.absences[name] = self.absences.get(name, 0) + int(count)

    def as_dict(self) -> dict[str, Any]:
        rate = self.present / self.participants if self.participants else None
        share = (
            self.autoformation_minutes / self.realised_minutes if self.realised_minutes else None
        )
        answered = self.help_answered
        return {
            "planned_hours": round(self.planned_minutes / 60, 2),
            "realised_hours": round(self.realised_minutes / 60, 2),
            "billable_hours": round(self.billable_minutes / 60, 2),
            "attendance_rate": None if rate is None else round(rate, 4),
            "absences_by_reason": dict(sorted(self.absences.items())),
            "autoformation_share": None if share is None else round(share, 4),
            "sessions_closed": self.sessions_closed,
            "help_requests": self.help_requests,
            "help_answered": answered,
            "help_late": self.help_late,
            "help_average_minutes": round(self.help_answer_minutes / answered)
            if answered
            else None,
            "outcomes": {m: dict(sorted(s.items())) for m, s in sorted(self.outcomes.items())},
        }


@dataclass
class Dashboard:
    scope: str
    period: str
    totals: Figures
    organisations: dict[str, Figures]
    orders: dict[str, Figures]
    departments: dict[str, Figures]
    names: dict[str, str]  # organisation id → name
    order_info: dict[str, tuple[str, str, str | None]]  # id → (number, organisation id, dept)
    flags: list[dict[str, Any]]


def period_bounds(text: str) -> tuple[datetime, datetime, list[str]]:
    """`YYYY-MM` or `YYYY`: its first instant, the first after it (Paris) and its months."""
    try:
        if len(text) == 7 and text[4] == "-":
            year, month = int(text[:4]), int(text[5:])
            first = date(year, month, 1)
            after = date(year + month // 12, month % 12 + 1, 1)
            months = [text]
        elif len(text) == 4:
            year = int(text)
            first, after = date(year, 1, 1), date(year + 1, 1, 1)
            months = [f"{year}-{m:02d}" for m in range(1, 13)]
        else:
            raise ValueError(text)
        if not 1900 <= first.year <= 2100:
            raise ValueError(text)
    except ValueError:
        raise InvalidInput(
            "Période attendue : un mois AAAA-MM ou une année AAAA.", code="invalid_period"
        ) from None
    start = datetime.combine(first, time(), PARIS)
    end = datetime.combine(after, time(), PARIS)
    return start, end, months


def _scoped(query: Select, column: Any, actor: Principal, organisation_id: str | None) -> Select:
    if not actor.has_role(Role.REGION):
        return query.where(column == actor.organisation_id)
    if organisation_id:
        return query.where(column == organisation_id)
    return query


def build(
    actor: Principal,
    scope: str,
    period: str,
    now: datetime,
    organisation_id: str | None = None,
) -> Dashboard:
    """The dashboard of `scope` (the region: the Région only; an organisation: its own) for
    the period (a month or a year)."""
    if scope == REGION and not actor.has_role(Role.REGION):
        raise Forbidden("Le tableau de bord régional est réservé à la Région.")
    if not actor.has_role(Role.REGION, Role.ORG_ADMIN, Role.FINANCE):
        raise Forbidden("Seuls la Région et l'organisme consultent ces tableaux de bord.")
    start, end, months = period_bounds(period)
    board = Dashboard(scope, period, Figures(), {}, {}, {}, {}, {}, [])
    _orders(board, actor, organisation_id)
    _planned(board, actor, organisation_id, start, end)
    _closed(board, actor, organisation_id, months)
    _ended_unclosed(board, actor, organisation_id, start, end, now)
    _help(board, actor, organisation_id, start, end, now)
    _outcomes(board, actor, organisation_id, start, end)
    board.flags = open_flags(actor, organisation_id, start, end, now)
    return board


def _figures(board: Dashboard, organisation_id: str, order_id: str) -> Iterable[Figures]:
    """Where one row counts: the totals, its organisation, its order, its department."""
    department = board.order_info.get(order_id, ("", "", None))[2] or "—"
    yield board.totals
    yield board.organisations.setdefault(organisation_id, Figures())
    yield board.orders.setdefault(order_id, Figures())
    yield board.departments.setdefault(department, Figures())


def _orders(board: Dashboard, actor: Principal, organisation_id: str | None) -> None:
    query = select(Order.id, Order.number, Order.organisation_id, Order.department)
    for order_id, number, org_id, department in db.session.execute(
        _scoped(query, Order.organisation_id, actor, organisation_id)
    ):
        board.order_info[order_id] = (number, org_id, department)
    names = select(Organisation.id, Organisation.name)
    for org_id, name in db.session.execute(_scoped(names, Organisation.id, actor, organisation_id)):
        board.names[org_id] = name


def _planned(
    board: Dashboard,
    actor: Principal,
    organisation_id: str | None,
    start: datetime,
    end: datetime,
) -> None:
    """The sessions planned in the period that are not closed: their planned minutes (those
    of the closed ones come with their rollups)."""
    query = (
        select(
            TrainingSession.organisation_id,
            Group.order_id,
            TrainingSession.starts_at,
            TrainingSession.ends_at,
        )
        .join(Group, Group.id == TrainingSession.group_id)
        .where(
            TrainingSession.starts_at >= start,
            TrainingSession.starts_at < end,
            TrainingSession.status != "closed",
        )
    )
    query = _scoped(query, TrainingSession.organisation_id, actor, organisation_id)
    for org_id, order_id, starts_at, ends_at in db.session.execute(query):
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        for figures in _figures(board, org_id, order_id):
            figures.planned_minutes += minutes


def _closed(
    board: Dashboard,
    actor: Principal,
    organisation_id: str | None,
    months: list[str],
) -> None:
    """The closed sessions' rollups, summed in SQL per order and kind; the groups' billable
    minutes per order (`flask --app wsgi compliance rollups` derives the rows of sessions
    closed before the rollups existed)."""
    r = SessionRollup
    sums = (
        select(
            r.organisation_id,
            r.order_id,
            r.kind,
            func.count(),
            func.sum(r.planned_minutes),
            func.sum(r.realised_minutes),
            func.sum(r.participants),
            func.sum(r.present),
            func.sum(r.absent_not_signed),
            func.sum(r.absent_justified),
            func.sum(r.absent_unjustified),
        )
        .where(r.month.in_(months))
        .group_by(r.organisation_id, r.order_id, r.kind)
    )
    rows = db.session.execute(_scoped(sums, r.organisation_id, actor, organisation_id))
    for org_id, order_id, kind, count, planned, realised, people, present, *absent in rows:
        for figures in _figures(board, org_id, order_id):
            figures.sessions_closed += int(count)
            figures.planned_minutes += int(planned or 0)
            figures.realised_minutes += int(realised or 0)
            figures.participants += int(people or 0)
            figures.present += int(present or 0)
            figures.add_absences(
                dict(zip(rollups.ABSENCE_LABELS, (int(a or 0) for a in absent), strict=True))
            )
            if kind == rules.AUTOFORMATION:
                figures.autoformation_minutes += int(realised or 0)
    g = GroupRollup
    billed = (
        select(g.organisation_id, g.order_id, func.sum(g.billable_minutes))
        .where(g.month.in_(months))
        .group_by(g.organisation_id, g.order_id)
    )
    for org_id, order_id, minutes in db.session.execute(
        _scoped(billed, g.organisation_id, actor, organisation_id)
    ):
        for figures in _figures(board, org_id, order_id):
            figures.billable_minutes += int(minutes or 0)


def _ended_unclosed(
    board: Dashboard,
    actor: Principal,
    organisation_id: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    """Sessions opened, never closed, whose end is past: they count as the billing counts
    them (to their end), derived from their chains here (a forgotten close has no rollup),
    their billable spans united with their group's month."""
    ended = _scoped(
        select(TrainingSession).where(
            TrainingSession.status == "open",
            TrainingSession.ends_at <= now,
            TrainingSession.starts_at >= start,
            TrainingSession.starts_at < end,
        ),
        TrainingSession.organisation_id,
        actor,
        organisation_id,
    )
    rows = [rollups.derive(session, now) for session in db.session.scalars(ended)]
    for row in rows:
        for figures in _figures(board, row.organisation_id, row.order_id):
            figures.sessions_closed += 1
            figures.planned_minutes += row.planned_minutes
            figures.realised_minutes += row.realised_minutes
            figures.participants += row.participants
            figures.present += row.present
            figures.add_absences(
                {
                    rollups.NOT_SIGNED: row.absent_not_signed,
                    rollups.JUSTIFIED: row.absent_justified,
                    rollups.UNJUSTIFIED: row.absent_unjustified,
                }
            )
            if row.kind == rules.AUTOFORMATION:
                figures.autoformation_minutes += row.realised_minutes
    for group_id, month in {(r.group_id, r.month) for r in rows}:
        mine = [r for r in rows if (r.group_id, r.month) == (group_id, month)]
        spans = [
            (r.billable_start, r.billable_stop)
            for r in mine
            if r.billable_start is not None and r.billable_stop is not None
        ]
        if not spans:
            continue
        stored = db.session.execute(
            select(SessionRollup.billable_start, SessionRollup.billable_stop).where(
                SessionRollup.group_id == group_id,
                SessionRollup.month == month,
                SessionRollup.billable_start.is_not(None),
            )
        ).all()
        known = [(a, b) for a, b in stored if a is not None and b is not None]
        more = union_minutes([*known, *spans]) - union_minutes(known)
        for figures in _figures(board, mine[0].organisation_id, mine[0].order_id):
            figures.billable_minutes += more


def _help(
    board: Dashboard,
    actor: Principal,
    organisation_id: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    """R8: the requests asked in the period, answered, late (answered after 2 h, or waiting
    2 h now), and the sum of the answer times."""
    query = (
        select(HelpRequest, Group.order_id)
        .join(Group, Group.id == HelpRequest.group_id)
        .where(HelpRequest.asked_at >= start, HelpRequest.asked_at < end)
    )
    query = _scoped(query, HelpRequest.organisation_id, actor, organisation_id)
    for request, order_id in db.session.execute(query):
        for figures in _figures(board, request.organisation_id, order_id):
            figures.help_requests += 1
            if request.answered_at is not None:
                figures.help_answered += 1
                delta = request.answered_at - request.asked_at
                figures.help_answer_minutes += int(delta.total_seconds() // 60)
            if rules.help_overdue(request.asked_at, request.answered_at, now):
                figures.help_late += 1


def _outcomes(
    board: Dashboard,
    actor: Principal,
    organisation_id: str | None,
    start: datetime,
    end: datetime,
) -> None:
    """R23: the situations at 3 and 6 months recorded in the period, by situation."""
    query = (
        select(Outcome, Group.order_id)
        .join(Enrolment, Enrolment.id == Outcome.enrolment_id)
        .join(Group, Group.id == Enrolment.group_id)
        .where(
            Outcome.milestone.in_([rules.THREE_MONTHS, rules.SIX_MONTHS]),
            Outcome.recorded_at >= start,
            Outcome.recorded_at < end,
        )
    )
    query = _scoped(query, Outcome.organisation_id, actor, organisation_id)
    for outcome, order_id in db.session.execute(query):
        for figures in _figures(board, outcome.organisation_id, order_id):
            by = figures.outcomes.setdefault(outcome.milestone, {})
            by[outcome.situation] = by.get(outcome.situation, 0) + 1


def open_flags(
    actor: Principal,
    organisation_id: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """Every open flag, each with the rule that raised it: the checks of the plans last
    submitted, help requests waiting more than 2 h (R8), sessions planned on a public
    holiday in the period, data requests past their month."""
    flags: list[dict[str, Any]] = []
    latest = (
        select(PlanSubmission.group_id, func.max(PlanSubmission.number).label("number"))
        .group_by(PlanSubmission.group_id)
        .subquery()
    )
    plans = select(PlanSubmission).join(
        latest,
        (latest.c.group_id == PlanSubmission.group_id) & (latest.c.number == PlanSubmission.number),
    )
    plans = _scoped(plans, PlanSubmission.organisation_id, actor, organisation_id)
    for plan in db.session.scalars(plans.where(PlanSubmission.status.in_([SUBMITTED, VALIDATED]))):
        for flag in plan.flags:
            flags.append(
                {
                    "rule": flag.get("rule"),
                    "code": flag["code"],
                    "message": flag["message"],
                    "organisation_id": plan.organisation_id,
                    "order_id": plan.order_id,
                    "group_id": plan.group_id,
                    "link": f"/groupes/{plan.group_id}/plan",
                }
            )
    waiting = _scoped(
        select(HelpRequest).where(
            HelpRequest.answered_at.is_(None),
            HelpRequest.asked_at < now - rules.HELP_ANSWER_WITHIN,
        ),
        HelpRequest.organisation_id,
        actor,
        organisation_id,
    )
    for request in db.session.scalars(waiting.order_by(HelpRequest.asked_at).limit(500)):
        delay = rules.delay_text(now - request.asked_at)
        flags.append(
            {
                "rule": "R8",
                "code": "help_unanswered",
                "message": f"Demande d'aide sans réponse depuis {delay}.",
                "organisation_id": request.organisation_id,
                "order_id": None,
                "group_id": request.group_id,
                "link": f"/seances/{request.session_id}#aide",
            }
        )
    holidays = _scoped(
        select(TrainingSession).where(
            TrainingSession.on_public_holiday.is_(True),
            TrainingSession.starts_at >= start,
            TrainingSession.starts_at < end,
        ),
        TrainingSession.organisation_id,
        actor,
        organisation_id,
    )
    for session in db.session.scalars(holidays.limit(500)):
        flags.append(
            {
                "rule": None,
                "code": "public_holiday",
                "message": f"Séance « {session.title} » planifiée un jour férié.",
                "organisation_id": session.organisation_id,
                "order_id": None,
                "group_id": session.group_id,
                "link": f"/seances/{session.id}",
            }
        )
    due: dict[str, int] = defaultdict(int)
    for item in followup.outcomes_due(actor, now.astimezone(PARIS).date(), limit=100_000):
        if organisation_id is None or item.enrolment.organisation_id == organisation_id:
            due[item.enrolment.organisation_id] += 1
    for org_id, count in sorted(due.items()):
        flags.append(
            {
                "rule": "R23",
                "code": "outcomes_due",
                "message": f"{count} situation{'s' if count > 1 else ''} de stagiaire "
                "(sortie, 3 ou 6 mois) à relever.",
                "organisation_id": org_id,
                "order_id": None,
                "group_id": None,
                "link": "/suivi",
            }
        )
    overdue = _scoped(
        select(DataRequest).where(DataRequest.answered_at.is_(None)),
        DataRequest.organisation_id,
        actor,
        organisation_id,
    )
    today = now.astimezone(PARIS).date()
    for request in db.session.scalars(overdue):
        if (today - request.received_on).days > 30:
            flags.append(
                {
                    "rule": None,
                    "code": "data_request_overdue",
                    "message": "Demande d'accès ou d'effacement sans réponse depuis plus "
                    "d'un mois.",
                    "organisation_id": request.organisation_id,
                    "order_id": None,
                    "group_id": None,
                    "link": f"/stagiaires/{request.trainee_id}/donnees#demandes",
                }
            )
    return flags


def organisation_choices(actor: Principal) -> list[tuple[str, str]]:
    """The organisations the Région may narrow its dashboard to, by name."""
    if not actor.has_role(Role.REGION):
        return []
    query = select(Organisation.id, Organisation.name).order_by(Organisation.name)
    return [(org_id, name) for org_id, name in db.session.execute(query)]


def as_dict(board: Dashboard) -> dict[str, Any]:
    """The dashboard as the API answers it."""
    return {
        "scope": board.scope,
        "period": board.period,
        "totals": board.totals.as_dict(),
        "organisations": [
            {"organisation_id": org_id, "name": board.names.get(org_id, ""), **f.as_dict()}
            for org_id, f in sorted(
                board.organisations.items(), key=lambda i: board.names.get(i[0], "")
            )
        ],
        "orders": [
            {
                "order_id": order_id,
                "number": board.order_info.get(order_id, ("", "", None))[0],
                "organisation_id": board.order_info.get(order_id, ("", "", None))[1],
                "department": board.order_info.get(order_id, ("", "", None))[2],
                **f.as_dict(),
            }
            for order_id, f in sorted(
                board.orders.items(), key=lambda i: board.order_info.get(i[0], ("",))[0]
            )
        ],
        "departments": [
            {"department": code, **f.as_dict()} for code, f in sorted(board.departments.items())
        ],
        "flags": board.flags,
    }
