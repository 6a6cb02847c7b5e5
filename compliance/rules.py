"""The checks of a group's plan against the CCTP (R5, R9, R12, R13, R20, R21, R22, the trainee's
week), its deadline, and its changes since the Région validated it. Pure: no Flask, no database,
no clock; times are aware datetimes, days are Europe/Paris ones.

"Recommended warns, money or proof flags" (SPEC.md): a plan check never refuses a submission.
The Région reads the flags and decides; each flag names its rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.clock import local_day, union_minutes
from core.errors import InvalidInput, RuleViolation

TUTORAT, AUTOFORMATION, REGROUPEMENT = "tutorat", "autoformation", "regroupement"
KINDS = (TUTORAT, AUTOFORMATION, REGROUPEMENT)
SYNCHRONOUS = (TUTORAT, REGROUPEMENT)
DISTANCE = (TUTORAT, AUTOFORMATION)

# The kinds of component a plan names (a group follows one component of its order).
POSITIONING, JOB_SEARCH, TRAINING = "positionnement", "tre", "formation"
COMPONENT_KINDS = (POSITIONING, JOB_SEARCH, TRAINING)

SUBMISSION_LEAD_DAYS = 15  # CCTP §3.3: the plan reaches the Région 15 days before the start
POSITIONING_HOURS = (2.0, 14.0)  # R20 (indicative)
JOB_SEARCH_MIN_HOURS = 14.0  # R21
MAX_CLOSURE_DAYS = 14  # R22: two consecutive weeks
MAX_WEEK_HOURS = 35.0  # CCTP §3.1.2: a trainee's week
MIN_REST_HOURS = 11.0  # CCTP §3.1.5.2: rest between two days of training
HYBRID_MAX_DISTANCE_SHARE = 0.5  # R9
# R13: a full week of the plan strays from the typical week when one kind differs by more than
# this share of the typical hours, and by at least an hour.
TYPICAL_WEEK_TOLERANCE = 0.25

WARNING, FLAG = "warning", "flag"


@dataclass(frozen=True)
class Flag:
    """One finding of a check: the rule that raised it, a stable code, a French sentence."""

    rule: str | None
    code: str
    message: str
    level: str = FLAG  # "warning" for a recommended rule (R20), "flag" otherwise

    def as_dict(self) -> dict[str, str | None]:
        return {"rule": self.rule, "code": self.code, "message": self.message, "level": self.level}


@dataclass(frozen=True)
class PlannedSession:
    id: str
    group_id: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    trainee_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TypicalWeek:
    """The offer's typical week (R13), in hours of each kind."""

    tutorat: float
    autoformation: float
    regroupement: float

    def hours(self, kind: str) -> float:
        return float(getattr(self, kind))

    @property
    def total(self) -> float:
        return self.tutorat + self.autoformation + self.regroupement


@dataclass(frozen=True)
class Component:
    """A group's component as its plan declares it: its kind and planned hours (R5)."""

    group_id: str
    name: str
    kind: str
    planned_hours: float


@dataclass(frozen=True)
class Closure:
    """An administrative closure of the centre, both days included (R22)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Plan:
    """Everything the checks read about one group's plan."""

    group_id: str
    modality: str  # the order's: e_formation, hybride, presentiel
    order_hours: float  # the order's centre hours
    min_synchronous_share: float  # R12, a fraction
    component: Component
    typical_week: TypicalWeek
    sessions: Sequence[PlannedSession]  # the group's
    order_sessions: Sequence[PlannedSession]  # every group of the order, this one included
    other_components: Sequence[Component] = ()  # the order's other groups, as last submitted
    closures: Sequence[Closure] = ()
    # every session each trainee of the group takes part in, in any group (their week)
    trainee_sessions: Mapping[str, Sequence[PlannedSession]] = field(default_factory=dict)
    trainee_names: Mapping[str, str] = field(default_factory=dict)


def hours_text(hours: float) -> str:
    """12.5 → "12,5 h" (French decimal comma)."""
    return f"{hours:.2f}".rstrip("0").rstrip(".").replace(".", ",") + " h"


def share_text(share: float) -> str:
    return f"{share * 100:.0f} %"


def kind_hours(sessions: Iterable[PlannedSession]) -> dict[str, float]:
    """Clock hours of each kind, a kind's overlapping sessions counted once (sub-groups in
    parallel take the group's time once)."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for session in sessions:
        spans[session.kind].append((session.starts_at, session.ends_at))
    return {kind: union_minutes(spans[kind]) / 60 for kind in KINDS}


def group_hours(sessions: Iterable[PlannedSession]) -> float:
    """Clock hours of a group's plan, overlaps counted once."""
    return union_minutes((s.starts_at, s.ends_at) for s in sessions) / 60


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-S{week:02d}"


# --- the checks ---------------------------------------------------------------------------------


def check_order_hours(plan: Plan) -> list[Flag]:
    """R5: hours unused on one component may go to another, within the order's total hours."""
    flags = []
    declared = plan.component.planned_hours + sum(c.planned_hours for c in plan.other_components)
    if declared > plan.order_hours + 1e-9:
        flags.append(
            Flag(
                "R5",
                "components_over_order",
                f"Les composantes déclarées totalisent {hours_text(declared)}, au-delà des "
                f"{hours_text(plan.order_hours)} du bon de commande.",
            )
        )
    by_group: dict[str, list[PlannedSession]] = defaultdict(list)
    for session in plan.order_sessions:
        by_group[session.group_id].append(session)
    planned = sum(group_hours(sessions) for sessions in by_group.values())
    if planned > plan.order_hours + 1e-9:
        flags.append(
            Flag(
                "R5",
                "plan_over_order",
                f"Les séances planifiées dans les groupes du bon de commande totalisent "
                f"{hours_text(planned)}, au-delà de ses {hours_text(plan.order_hours)} : les "
                "heures d'une composante ne peuvent passer à une autre que dans ce total.",
            )
        )
    return flags


def check_distance_share(plan: Plan) -> list[Flag]:
    """R9: in a hybrid (mostly on-site) action, distance takes at most half of the time."""
    if plan.modality != "hybride":
        return []
    hours = kind_hours(plan.order_sessions)
    total = sum(hours.values())
    if total <= 0:
        return []
    share = sum(hours[k] for k in DISTANCE) / total
    if share <= HYBRID_MAX_DISTANCE_SHARE + 1e-9:
        return []
    return [
        Flag(
            "R9",
            "distance_share_exceeded",
            f"Action hybride : la formation à distance (tutorat et autoformation) prend "
            f"{share_text(share)} du temps planifié, au-delà de "
            f"{share_text(HYBRID_MAX_DISTANCE_SHARE)}.",
        )
    ]


def check_synchronous_share(plan: Plan) -> list[Flag]:
    """R12: the plan meets the order's minimum share of synchronous time."""
    hours = kind_hours(plan.sessions)
    total = sum(hours.values())
    if total <= 0 or plan.min_synchronous_share <= 0:
        return []
    share = sum(hours[k] for k in SYNCHRONOUS) / total
    if share + 1e-9 >= plan.min_synchronous_share:
        return []
    return [
        Flag(
            "R12",
            "synchronous_share_too_low",
            f"Le temps synchrone (tutorat et regroupement) ne fait que {share_text(share)} du "
            f"plan ; le bon de commande en demande au moins "
            f"{share_text(plan.min_synchronous_share)}.",
        )
    ]


def check_typical_week(plan: Plan) -> list[Flag]:
    """R13: the typical week exists, meets R12 itself, and each full week of the plan keeps to it.

    The first and last weeks of the plan are partial by nature and are not compared.
    """
    week = plan.typical_week
    if week.total <= 0:
        return [
            Flag(
                "R13",
                "typical_week_missing",
                "La semaine type (tutorat, autoformation, regroupement) n'est pas renseignée.",
            )
        ]
    flags = []
    if week.total > MAX_WEEK_HOURS + 1e-9:
        flags.append(
            Flag(
                "R13",
                "typical_week_too_long",
                f"La semaine type compte {hours_text(week.total)}, au-delà des "
                f"{hours_text(MAX_WEEK_HOURS)} d'une semaine de stagiaire.",
            )
        )
    sync_share = (week.tutorat + week.regroupement) / week.total
    if plan.min_synchronous_share > 0 and sync_share + 1e-9 < plan.min_synchronous_share:
        flags.append(
            Flag(
                "R12",
                "typical_week_synchronous_share",
                f"La semaine type ne prévoit que {share_text(sync_share)} de temps synchrone, "
                f"sous le minimum de {share_text(plan.min_synchronous_share)} du bon de commande.",
            )
        )
    weeks: dict[str, list[PlannedSession]] = defaultdict(list)
    for session in plan.sessions:
        weeks[iso_week(local_day(session.starts_at))].append(session)
    full = sorted(weeks)[1:-1]
    strays = []
    for name in full:
        hours = kind_hours(weeks[name])
        gaps = [
            f"{KIND_LABELS[k]} {hours_text(hours[k])} au lieu de {hours_text(week.hours(k))}"
            for k in KINDS
            if abs(hours[k] - week.hours(k))
            > max(1.0, TYPICAL_WEEK_TOLERANCE * week.hours(k)) + 1e-9
        ]
        if gaps:
            strays.append(f"{name} ({', '.join(gaps)})")
    if strays:
        flags.append(
            Flag(
                "R13",
                "week_off_typical",
                "Semaines qui s'écartent de la semaine type : " + " ; ".join(strays) + ".",
            )
        )
    return flags


KIND_LABELS = {TUTORAT: "tutorat", AUTOFORMATION: "autoformation", REGROUPEMENT: "regroupement"}


def check_component_hours(plan: Plan) -> list[Flag]:
    """R20 (positioning 2–14 h, warns) and R21 (job-search module ≥ 14 h)."""
    planned = group_hours(plan.sessions)
    declared = plan.component.planned_hours
    if plan.component.kind == POSITIONING:
        low, high = POSITIONING_HOURS
        outside = [h for h in (declared, planned) if h > 0 and not low <= h <= high]
        if outside:
            return [
                Flag(
                    "R20",
                    "positioning_duration",
                    f"Le positionnement dure {hours_text(outside[0])} ; le cahier des charges "
                    f"préconise de {hours_text(low)} à {hours_text(high)}.",
                    WARNING,
                )
            ]
    if plan.component.kind == JOB_SEARCH:
        shortest = min(declared, planned) if planned > 0 else declared
        if shortest + 1e-9 < JOB_SEARCH_MIN_HOURS:
            return [
                Flag(
                    "R21",
                    "job_search_too_short",
                    f"Le module de techniques de recherche d'emploi compte "
                    f"{hours_text(declared)} déclarées et {hours_text(planned)} planifiées ; il "
                    f"en faut au moins {hours_text(JOB_SEARCH_MIN_HOURS)}.",
                )
            ]
    return []


def check_closures(plan: Plan) -> list[Flag]:
    """R22: an administrative closure lasts at most two consecutive weeks, whether declared or
    seen as a gap of the plan (no session for more than 14 days between two sessions)."""
    flags = []
    for closure in plan.closures:
        if closure.days > MAX_CLOSURE_DAYS:
            flags.append(
                Flag(
                    "R22",
                    "closure_too_long",
                    f"La fermeture du {closure.start:%d/%m/%Y} au {closure.end:%d/%m/%Y} dure "
                    f"{closure.days} jours, au-delà de deux semaines consécutives.",
                )
            )
    days = sorted({local_day(s.starts_at) for s in plan.sessions})
    for before, after in zip(days, days[1:], strict=False):
        gap = (after - before).days - 1
        if gap > MAX_CLOSURE_DAYS:
            flags.append(
                Flag(
                    "R22",
                    "plan_interrupted",
                    f"Aucune séance du {before + timedelta(days=1):%d/%m/%Y} au "
                    f"{after - timedelta(days=1):%d/%m/%Y} ({gap} jours) : une interruption "
                    "dépasse deux semaines consécutives.",
                )
            )
    return flags


def check_trainee_weeks(plan: Plan) -> list[Flag]:
    """CCTP §3.1.2 and §3.1.5.2: a trainee's week stays within 35 h, with 11 h of rest between
    two days of training, counting their sessions in every group."""
    long_weeks, short_rests = [], []
    for trainee_id in sorted(plan.trainee_sessions):
        sessions = plan.trainee_sessions[trainee_id]
        name = plan.trainee_names.get(trainee_id, trainee_id)
        weeks: dict[str, list[PlannedSession]] = defaultdict(list)
        days: dict[date, list[PlannedSession]] = defaultdict(list)
        for session in sessions:
            weeks[iso_week(local_day(session.starts_at))].append(session)
            days[local_day(session.starts_at)].append(session)
        for week_name in sorted(weeks):
            hours = group_hours(weeks[week_name])
            if hours > MAX_WEEK_HOURS + 1e-9:
                long_weeks.append(f"{name}, {week_name} : {hours_text(hours)}")
        for day in sorted(days):
            following = days.get(day + timedelta(days=1))
            if not following:
                continue
            rest = min(s.starts_at for s in following) - max(s.ends_at for s in days[day])
            rest_hours = rest.total_seconds() / 3600
            if rest_hours + 1e-9 < MIN_REST_HOURS:
                short_rests.append(f"{name}, nuit du {day:%d/%m/%Y} : {hours_text(rest_hours)}")
    flags = []
    if long_weeks:
        flags.append(
            Flag(
                None,
                "week_over_35h",
                "Semaines de plus de 35 h pour un stagiaire (CCTP §3.1.2) : "
                + " ; ".join(long_weeks)
                + ".",
            )
        )
    if short_rests:
        flags.append(
            Flag(
                None,
                "rest_too_short",
                f"Repos de moins de {hours_text(MIN_REST_HOURS)} entre deux journées "
                "(CCTP §3.1.5.2) : " + " ; ".join(short_rests) + ".",
            )
        )
    return flags


CHECKS = (
    check_order_hours,
    check_distance_share,
    check_synchronous_share,
    check_typical_week,
    check_component_hours,
    check_closures,
    check_trainee_weeks,
)


def check_plan(plan: Plan) -> list[Flag]:
    """Every check of the plan, in the rule book's order."""
    return [flag for check in CHECKS for flag in check(plan)]


# --- the deadline and the decision --------------------------------------------------------------


def submission_deadline(first_day: date) -> date:
    """The last day on which a group's plan reaches the Région in time (CCTP §3.3)."""
    return first_day - timedelta(days=SUBMISSION_LEAD_DAYS)


def late_flag(submitted_on: date, first_day: date) -> Flag | None:
    deadline = submission_deadline(first_day)
    if submitted_on <= deadline:
        return None
    return Flag(
        None,
        "late_submission",
        f"Plan transmis le {submitted_on:%d/%m/%Y}, après la date limite du {deadline:%d/%m/%Y} "
        f"(15 jours avant le démarrage du groupe le {first_day:%d/%m/%Y}, CCTP §3.3).",
    )


def check_typical_week_values(tutorat: float, autoformation: float, regroupement: float) -> None:
    """A typical week is made of hours between 0 and a week: a malformed one is refused."""
    for value in (tutorat, autoformation, regroupement):
        if not 0 <= value <= 7 * 24:
            raise InvalidInput(
                "Les heures de la semaine type vont de 0 à 168.", code="invalid_typical_week"
            )


# --- changes since the validated plan -----------------------------------------------------------

COMPARED = ("kind", "title", "starts_at", "ends_at", "participant_ids")


def plan_changes(
    validated: Sequence[Mapping[str, object]], current: Sequence[Mapping[str, object]]
) -> list[dict[str, object]]:
    """Sessions added, removed or changed since the validated plan (snapshots as stored)."""
    before = {str(s["id"]): s for s in validated}
    now = {str(s["id"]): s for s in current}
    changes: list[dict[str, object]] = []
    for session_id, session in now.items():
        if session_id not in before:
            changes.append({"change": "added", "session": dict(session), "fields": []})
            continue
        moved = [f for f in COMPARED if before[session_id].get(f) != session.get(f)]
        if moved:
            changes.append(
                {
                    "change": "changed",
                    "session": dict(session),
                    "before": {f: before[session_id].get(f) for f in moved},
                    "fields": moved,
                }
            )
    for session_id, session in before.items():
        if session_id not in now:
            changes.append({"change": "removed", "session": dict(session), "fields": []})
    changes.sort(key=lambda c: str(c["session"]["starts_at"]))  # type: ignore[index]
    return changes


# --- outcomes (R23) and lent equipment (R24) ----------------------------------------------------

EXIT, THREE_MONTHS, SIX_MONTHS = "exit", "3m", "6m"  # API.md: `at`
MILESTONES = (EXIT, THREE_MONTHS, SIX_MONTHS)
MILESTONE_MONTHS = {EXIT: 0, THREE_MONTHS: 3, SIX_MONTHS: 6}
SITUATIONS = ("employment", "training", "job_search", "other")
EMPLOYMENT_KINDS = ("cdi", "cdd_6_months_plus", "cdd_short", "interim", "work_study", "business")
MAX_DEPOSIT_EUR = 200  # R24


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 March + 3 months → 30 June)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return min(date(year, month, min(day.day, 28)) + timedelta(days=max(0, day.day - 28)), last)


def milestone_due(exit_day: date, milestone: str) -> date:
    """R23: the day the situation at exit, at 3 months or at 6 months is due."""
    return add_months(exit_day, MILESTONE_MONTHS[milestone])


def check_outcome(
    milestone: str, situation: str, employment_kind: str | None, exit_day: date, today: date
) -> None:
    """R23: a situation is recorded once its milestone has come; employment says its kind."""
    due = milestone_due(exit_day, milestone)
    if milestone != EXIT and today < due:
        raise RuleViolation(
            f"La situation à {MILESTONE_LABELS[milestone]} se relève à partir du {due:%d/%m/%Y}.",
            code="outcome_not_due",
            rule="R23",
        )
    if situation == "employment" and not employment_kind:
        raise InvalidInput(
            "Précisez la nature de l'emploi (CDI, CDD, intérim…).", code="employment_kind_required"
        )
    if situation != "employment" and employment_kind:
        raise InvalidInput(
            "La nature de l'emploi ne se renseigne que pour une situation d'emploi.",
            code="employment_kind_unexpected",
        )


MILESTONE_LABELS = {EXIT: "la sortie", THREE_MONTHS: "3 mois", SIX_MONTHS: "6 mois"}


def outcomes_due(exit_day: date, recorded: Iterable[str], today: date) -> list[tuple[str, date]]:
    """R23: the milestones whose day has come and that nobody recorded yet, with their day."""
    done = set(recorded)
    return [
        (m, milestone_due(exit_day, m))
        for m in MILESTONES
        if m not in done and milestone_due(exit_day, m) <= today
    ]


def check_deposit(amount_eur: Decimal, outstanding_eur: Decimal) -> None:
    """R24: no payment is ever asked of a trainee; a deposit for lent equipment, at most 200 €
    in all for the equipment a trainee holds at once."""
    if amount_eur < 0:
        raise InvalidInput("Un dépôt de garantie ne peut être négatif.", code="invalid_deposit")
    if amount_eur + outstanding_eur > MAX_DEPOSIT_EUR:
        raise RuleViolation(
            "Aucun paiement n'est demandé au stagiaire : le dépôt de garantie du matériel "
            f"prêté est plafonné à {MAX_DEPOSIT_EUR} € ({euros(amount_eur + outstanding_eur)} "
            "demandés en tout pour le matériel qu'il détient).",
            code="deposit_over_cap",
            rule="R24",
        )


def euros(amount: Decimal) -> str:
    """150.5 → "150,50 €"."""
    return f"{amount:.2f} €".replace(".", ",")


# --- help during autoformation (R8) -------------------------------------------------------------

HELP_ANSWER_WITHIN = timedelta(hours=2)  # R8


def answer_delay(asked_at: datetime, answered_at: datetime | None, now: datetime) -> timedelta:
    """How long the trainee waited: until the answer, or until now when none came yet."""
    return (answered_at or now) - asked_at


def help_overdue(asked_at: datetime, answered_at: datetime | None, now: datetime) -> bool:
    """R8: a request answered after 2 h, or still waiting after 2 h, is flagged."""
    return answer_delay(asked_at, answered_at, now) > HELP_ANSWER_WITHIN


def delay_text(delay: timedelta) -> str:
    """1 h 05, 35 min."""
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"
