"""Company periods (R2), pure: what a period and a line of hours may be, and what a period's
chain says once replayed (which hours count). No Flask, no database; today is an argument.

A trainee's path may include periods in a company (R2: 70 h at most in all, planned and
realised; R1: centre + company ≤ 200 h). Hours realised there are recorded as lines (a day
or a week, inside one month) and count only once both the trainee and the tutor signed them
(R7's principle: no signature, no hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from core.errors import Conflict, InvalidInput, RuleViolation
from training import rules as training_rules

MAX_MINUTES_PER_DAY = 10 * 60  # the legal maximum of a working day (Code du travail L3121-18)
TUTOR_CODE_DAYS = 30  # a tutor's code stays valid this long after it is issued
SIGNERS = ("trainee", "tutor")
PLAN, HOURS, SIGN = "company_plan", "company_hours", "company_sign"
CANCEL = "company_cancel"  # a line declared by mistake, withdrawn before it counted


@dataclass(frozen=True)
class Span:
    """Days from `start` to `end`, both included."""

    start: date
    end: date

    def overlaps(self, other: Span) -> bool:
        return self.start <= other.end and other.start <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def check_period_dates(period: Span, order: Span, entry_date: date, exit_date: date | None) -> None:
    """A period ends after it starts, inside the order's dates and the trainee's path."""
    if period.end < period.start:
        raise InvalidInput("La date de fin doit suivre la date de début.", code="invalid_dates")
    if period.start < order.start or period.end > order.end:
        raise InvalidInput(
            f"La période en entreprise doit se tenir pendant le bon de commande "
            f"({order.start:%d/%m/%Y} – {order.end:%d/%m/%Y}).",
            code="period_outside_order",
        )
    if period.start < entry_date or (exit_date is not None and period.end > exit_date):
        raise InvalidInput(
            "La période en entreprise doit se tenir pendant le parcours du stagiaire "
            "(entre son entrée et sa sortie).",
            code="period_outside_path",
        )


def check_no_overlap(period: Span, others: Iterable[Span]) -> None:
    """Two periods of one path never overlap: a trainee is in one company at a time."""
    for other in others:
        if period.overlaps(other):
            raise Conflict(
                f"Ce parcours a déjà une période en entreprise du {other.start:%d/%m/%Y} au "
                f"{other.end:%d/%m/%Y} : les périodes ne se chevauchent pas.",
                code="company_period_overlap",
            )


def check_planned_hours(
    centre_hours: float, enrolment_company_hours: float, other_periods: float, hours: float
) -> None:
    """R2 over every period of the path (≤ 70 h), then R1: centre + company ≤ 200 h, with the
    company hours the greater of what the enrolment announced and what its periods plan."""
    if hours <= 0:
        raise InvalidInput("Indiquez des heures prévues positives.", code="invalid_hours")
    company = other_periods + hours
    training_rules.check_company_hours(company)
    training_rules.check_total_hours(centre_hours, max(company, enrolment_company_hours))


def check_line(line: Span, minutes: int, period: Span, today: date) -> None:
    """A line of hours lies inside its period and one month, is past, and holds ≤ 10 h a day."""
    if line.end < line.start:
        raise InvalidInput("Le dernier jour doit suivre le premier.", code="invalid_dates")
    if line.start < period.start or line.end > period.end:
        raise InvalidInput(
            f"Ces jours sont hors de la période ({period.start:%d/%m/%Y} – {period.end:%d/%m/%Y}).",
            code="hours_outside_period",
        )
    if (line.start.year, line.start.month) != (line.end.year, line.end.month):
        raise InvalidInput(
            "Une ligne d'heures tient dans un seul mois : saisissez une ligne par mois.",
            code="hours_across_months",
        )
    if line.end > today:
        raise InvalidInput(
            "On ne déclare que des heures déjà réalisées.", code="hours_in_the_future"
        )
    if minutes <= 0 or minutes > MAX_MINUTES_PER_DAY * line.days:
        raise InvalidInput(
            f"Indiquez entre 1 minute et {MAX_MINUTES_PER_DAY // 60} h par jour "
            f"({MAX_MINUTES_PER_DAY * line.days // 60} h pour {line.days} jour(s)).",
            code="invalid_hours",
        )


def check_can_withdraw(counted: bool, cancelled: bool) -> None:
    """A line declared by mistake is withdrawn (a new entry, never an edit) until it counts;
    once the trainee and the tutor both signed it, it is proof and stays."""
    if cancelled:
        raise Conflict("Ces heures sont déjà retirées.", code="hours_cancelled")
    if counted:
        raise Conflict(
            "Ces heures sont signées par le stagiaire et le tuteur : elles ne se retirent plus.",
            code="hours_counted",
        )


def check_line_free(line: Span, others: Iterable[Span]) -> None:
    """Two lines of one period never cover the same day: a day's hours are declared once."""
    for other in others:
        if line.overlaps(other):
            raise Conflict(
                f"Des heures sont déjà déclarées du {other.start:%d/%m/%Y} au "
                f"{other.end:%d/%m/%Y}.",
                code="hours_overlap",
            )


def check_realised(
    period_minutes: int, planned_hours: float, path_minutes: int, minutes: int
) -> None:
    """R2 on what is realised: a period's lines stay within its planned hours, and the path's
    lines of every period within 70 h (R1 follows: the plan kept centre + company ≤ 200 h)."""
    if period_minutes + minutes > round(planned_hours * 60):
        raise RuleViolation(
            f"Les heures déclarées ({(period_minutes + minutes) / 60:g} h) dépasseraient les "
            f"{planned_hours:g} h prévues pour cette période en entreprise.",
            code="company_hours_over_plan",
            rule="R2",
        )
    training_rules.check_company_hours((path_minutes + minutes) / 60)


# --- The chain of a period, replayed ---


@dataclass(frozen=True)
class CompanyLine:
    """Hours of a company period that count (signed by the trainee and the tutor), as the
    exports and the certificates state them."""

    period_id: str
    hours_id: str
    company: str
    first_day: date
    last_day: date
    minutes: int


@dataclass(frozen=True)
class LineState:
    """A line of hours as the chain tells it, and who signed it (when)."""

    hours_id: str
    first_day: date
    last_day: date
    minutes: int
    signed: Mapping[str, datetime] = field(default_factory=dict)  # signer kind → time
    cancelled_at: datetime | None = None

    @property
    def is_counted(self) -> bool:
        """Both the trainee and the tutor signed, and it was not withdrawn before: the hours
        count (once)."""
        both = all(signer in self.signed for signer in SIGNERS)
        return both and self.cancelled_at is None


@dataclass(frozen=True)
class PeriodState:
    plan: Mapping[str, Any] | None = None
    lines: Mapping[str, LineState] = field(default_factory=dict)

    def counted(self, first: date | None = None, last: date | None = None) -> list[LineState]:
        """The signed lines, those of [first, last] when given, in day order."""
        return sorted(
            (
                line
                for line in self.lines.values()
                if line.is_counted
                and (first is None or line.first_day >= first)
                and (last is None or line.last_day <= last)
            ),
            key=lambda line: (line.first_day, line.hours_id),
        )

    def counted_minutes(self, first: date | None = None, last: date | None = None) -> int:
        return sum(line.minutes for line in self.counted(first, last))


def out_of_turn(state: PeriodState, entry: Mapping[str, Any]) -> str | None:
    """Why an entry cannot come where it is (a second plan, hours before the plan, a signature
    of unknown hours), or None."""
    kind = entry["kind"]
    if kind == PLAN:
        return "a second plan of the period" if state.plan is not None else None
    if state.plan is None:
        return "an entry before the period's plan"
    if kind == SIGN and entry.get("hours_id") not in state.lines:
        return "a signature of hours the chain does not hold"
    if kind in (SIGN, CANCEL) and (entry.get("facts") or {}).get("hours_id") != entry.get(
        "hours_id"
    ):
        return "the signed hours differ from the entry's facts"
    if kind == CANCEL:
        line = state.lines.get(entry.get("hours_id") or "")
        if line is None or line.cancelled_at is not None:
            return "a withdrawal of hours the chain does not hold"
        if line.is_counted:
            return "a withdrawal of hours that count already"
    if kind == HOURS and (entry.get("facts") or {}).get("hours_id") in state.lines:
        return "the same hours recorded twice"
    return None


def step(state: PeriodState, entry: Mapping[str, Any]) -> PeriodState:
    """The period after one more entry of its chain (a signature given twice counts once)."""
    kind, facts = entry["kind"], entry.get("facts") or {}
    if kind == PLAN:
        return replace(state, plan=dict(facts))
    if kind == HOURS:
        line = LineState(
            facts["hours_id"],
            date.fromisoformat(facts["first_day"]),
            date.fromisoformat(facts["last_day"]),
            int(facts["minutes"]),
        )
        return replace(state, lines={**state.lines, line.hours_id: line})
    if kind == CANCEL and entry.get("hours_id") in state.lines:
        line = state.lines[entry["hours_id"]]
        if line.cancelled_at is not None or line.is_counted:
            return state
        cancelled = replace(line, cancelled_at=entry["at"])
        return replace(state, lines={**state.lines, line.hours_id: cancelled})
    if kind == SIGN and entry.get("hours_id") in state.lines:
        line = state.lines[entry["hours_id"]]
        if entry["signer_kind"] in line.signed or line.cancelled_at is not None:
            return state
        signed = {**line.signed, entry["signer_kind"]: entry["at"]}
        return replace(state, lines={**state.lines, line.hours_id: replace(line, signed=signed)})
    return state


def replay(entries: Iterable[Mapping[str, Any]]) -> PeriodState:
    state = PeriodState()
    for entry in entries:
        state = step(state, entry)
    return state


def plan_facts(
    company_name: str, siret: str | None, start: date, end: date, planned_hours: float
) -> dict[str, Any]:
    """What the plan entry of a period holds (not the tutor's identity: personal data, kept on
    the period's row only, where it can be purged)."""
    return {
        "company_name": company_name,
        "siret": siret,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "planned_hours": planned_hours,
    }
