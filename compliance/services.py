"""Use cases of plan submissions: submit a group's plan, check it now, decide on it, list its
changes since the Région validated it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, select

from attendance.models import SessionParticipant, TrainingSession
from attendance.signals import order_purged
from compliance import rules
from compliance.models import POSTPONED, REPLACED, SUBMITTED, VALIDATED, PlanSubmission
from core.auth import Principal
from core.clock import local_day
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Role, Trainee
from training.models import Enrolment, Group
from training.services import get_group, lock_group, require_admin_of

READERS = (Role.REGION, Role.ORG_ADMIN)


@dataclass
class Checks:
    """What a group's plan looks like now: the flags, against what was last declared."""

    group: Group
    flags: list[rules.Flag]
    deadline: date
    latest: PlanSubmission | None
    validated: PlanSubmission | None
    changes: list[dict[str, Any]]


def visible_submissions(actor: Principal) -> Select:
    query = select(PlanSubmission)
    if actor.has_role(Role.REGION):
        return query
    if actor.has_role(Role.ORG_ADMIN):
        return query.where(PlanSubmission.organisation_id == actor.organisation_id)
    return query.where(false())


def get_submission(actor: Principal, submission_id: str) -> PlanSubmission:
    found = db.session.scalar(visible_submissions(actor).where(PlanSubmission.id == submission_id))
    if found is None:
        raise NotFound("Plan introuvable.", code="not_found")
    return found


def readable_group(actor: Principal, group_id: str) -> Group:
    """The group, for the Région or its organisation's admin (others: 403, or 404 not theirs)."""
    if not actor.has_role(*READERS):
        raise Forbidden("Seuls la Région et l'organisme consultent les plans.")
    return get_group(actor, group_id)


# --- the plan as the database holds it ----------------------------------------------------------


def _sessions(condition: Any) -> list[TrainingSession]:
    query = select(TrainingSession).where(condition).order_by(TrainingSession.starts_at)
    return list(db.session.scalars(query).unique())


def _planned(
    session: TrainingSession, trainees: frozenset[str] = frozenset()
) -> rules.PlannedSession:
    return rules.PlannedSession(
        session.id, session.group_id, session.kind, session.starts_at, session.ends_at, trainees
    )


def snapshot(sessions: list[TrainingSession]) -> list[dict[str, Any]]:
    """The group's sessions as a submission keeps them (the plan the Région validates)."""
    return [
        {
            "id": s.id,
            "kind": s.kind,
            "title": s.title,
            "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(),
            "participant_ids": s.participant_ids,
        }
        for s in sessions
    ]


def _trainee_sessions(
    group: Group, sessions: list[TrainingSession]
) -> tuple[dict[str, list[rules.PlannedSession]], dict[str, str]]:
    """Each trainee of the group: every session they take part in, in any group, over the
    span of this group's plan (their week counts all of them)."""
    enrolled = db.session.scalars(select(Enrolment).where(Enrolment.group_id == group.id)).all()
    if not enrolled or not sessions:
        return {}, {}
    ids = {e.trainee_id for e in enrolled}
    start = sessions[0].starts_at - timedelta(days=8)
    stop = max(s.ends_at for s in sessions) + timedelta(days=8)
    paths = db.session.scalars(select(Enrolment).where(Enrolment.trainee_id.in_(ids))).all()
    by_group: dict[str, list[Enrolment]] = defaultdict(list)
    for path in paths:
        by_group[path.group_id].append(path)
    theirs = _sessions(
        TrainingSession.group_id.in_(by_group)
        & (TrainingSession.starts_at < stop)
        & (TrainingSession.ends_at > start)
    )
    listed: dict[str, set[str]] = defaultdict(set)
    rows = db.session.execute(
        select(SessionParticipant.session_id, SessionParticipant.trainee_id).where(
            SessionParticipant.session_id.in_([s.id for s in theirs if not s.whole_group])
        )
    )
    for session_id, trainee_id in rows:
        listed[session_id].add(trainee_id)
    found: dict[str, list[rules.PlannedSession]] = defaultdict(list)
    for session in theirs:
        day = local_day(session.starts_at)
        for path in by_group[session.group_id]:
            on_path = path.entry_date <= day and (path.exit_date is None or day <= path.exit_date)
            takes_part = session.whole_group or path.trainee_id in listed[session.id]
            if on_path and takes_part:
                found[path.trainee_id].append(_planned(session))
    names = {
        t.id: f"{t.first_name} {t.last_name}"
        for t in db.session.scalars(select(Trainee).where(Trainee.id.in_(ids)))
    }
    return dict(found), names


def _components(group: Group) -> list[rules.Component]:
    """The order's other groups, as their last submission declared them."""
    latest: dict[str, PlanSubmission] = {}
    query = (
        select(PlanSubmission)
        .where(PlanSubmission.order_id == group.order_id, PlanSubmission.group_id != group.id)
        .order_by(PlanSubmission.submitted_at)
    )
    for submission in db.session.scalars(query):
        latest[submission.group_id] = submission
    return [
        rules.Component(s.group_id, s.group.component, s.component_kind, s.component_hours)
        for s in latest.values()
    ]


def _week(values: dict[str, Any] | None) -> rules.TypicalWeek:
    values = values or {}
    return rules.TypicalWeek(
        float(values.get("tutorat", 0)),
        float(values.get("autoformation", 0)),
        float(values.get("regroupement", 0)),
    )


def _closures(values: list[dict[str, Any]]) -> list[rules.Closure]:
    return [
        rules.Closure(date.fromisoformat(str(c["start"])), date.fromisoformat(str(c["end"])))
        for c in values
    ]


def check(group: Group, declared: dict[str, Any]) -> tuple[list[rules.Flag], list[TrainingSession]]:
    """The flags of the group's plan as it stands, with what the organisation declared
    (component kind and hours, typical week, closures)."""
    sessions = _sessions(TrainingSession.group_id == group.id)
    order_groups = select(Group.id).where(Group.order_id == group.order_id)
    order_sessions = _sessions(TrainingSession.group_id.in_(order_groups))
    trainee_sessions, names = _trainee_sessions(group, sessions)
    order = group.order
    plan = rules.Plan(
        group_id=group.id,
        modality=order.modality,
        order_hours=order.centre_hours,
        min_synchronous_share=order.min_synchronous_share,
        component=rules.Component(
            group.id,
            group.component,
            declared.get("component_kind", rules.TRAINING),
            float(declared.get("component_hours", 0)),
        ),
        typical_week=_week(declared.get("typical_week")),
        sessions=[_planned(s) for s in sessions],
        order_sessions=[_planned(s) for s in order_sessions],
        other_components=_components(group),
        closures=_closures(declared.get("closures") or []),
        trainee_sessions=trainee_sessions,
        trainee_names=names,
    )
    return rules.check_plan(plan), sessions


def _declared(submission: PlanSubmission | None) -> dict[str, Any]:
    if submission is None:
        return {}
    return {
        "component_kind": submission.component_kind,
        "component_hours": submission.component_hours,
        "typical_week": submission.typical_week,
        "closures": submission.closures,
    }


def group_submissions(group_id: str) -> list[PlanSubmission]:
    query = (
        select(PlanSubmission)
        .where(PlanSubmission.group_id == group_id)
        .order_by(PlanSubmission.number.desc())
    )
    return list(db.session.scalars(query))


def current_checks(actor: Principal, group_id: str) -> Checks:
    """The group's plan checked now (every edit shows here), against its last submission."""
    group = readable_group(actor, group_id)
    return checks_of(group)


def checks_of(group: Group) -> Checks:
    submissions = group_submissions(group.id)
    latest = submissions[0] if submissions else None
    validated = next((s for s in submissions if s.status == VALIDATED), None)
    flags, sessions = check(group, _declared(latest))
    changes = rules.plan_changes(validated.sessions, snapshot(sessions)) if validated else []
    return Checks(
        group, flags, rules.submission_deadline(group.first_day), latest, validated, changes
    )


def changes_since(submission: PlanSubmission) -> list[dict[str, Any]]:
    """Sessions added, removed or changed since this (validated) submission."""
    if submission.status != VALIDATED:
        return []
    current = snapshot(_sessions(TrainingSession.group_id == submission.group_id))
    return rules.plan_changes(submission.sessions, current)


# --- submit and decide --------------------------------------------------------------------------


def submit(actor: Principal, group_id: str, data: dict[str, Any], now: datetime) -> PlanSubmission:
    """The organisation submits the group's plan (CCTP §3.3): the plan as it stands, the
    typical week (R13), the component's kind and hours (R5, R20, R21), its closures (R22). The
    checks flag; they never refuse. An undecided earlier submission is replaced."""
    group = get_group(actor, group_id)
    require_admin_of(actor, group.organisation_id)
    week = data["typical_week"]
    rules.check_typical_week_values(week["tutorat"], week["autoformation"], week["regroupement"])
    closures = [
        {"start": c["start"].isoformat(), "end": c["end"].isoformat()}
        for c in data.get("closures", [])
    ]
    for closure in data.get("closures", []):
        if closure["end"] < closure["start"]:
            raise InvalidInput(
                "Une fermeture se termine le jour où elle commence ou après.",
                code="invalid_closure",
            )
    lock_group(group)  # numbering and "replaced" wait for a concurrent submission
    declared = {
        "component_kind": data["component_kind"],
        "component_hours": data["component_hours"],
        "typical_week": {k: float(week[k]) for k in rules.KINDS},
        "closures": closures,
    }
    flags, sessions = check(group, declared)
    late = rules.late_flag(local_day(now), group.first_day)
    if late:
        flags.insert(0, late)
    earlier = group_submissions(group.id)
    for pending in earlier:
        if pending.status == SUBMITTED:
            pending.status = REPLACED
    submission = PlanSubmission(
        organisation_id=group.organisation_id,
        order_id=group.order_id,
        group_id=group.id,
        number=(earlier[0].number + 1) if earlier else 1,
        submitted_by_id=actor.id,
        submitted_at=now,
        status=SUBMITTED,
        late=late is not None,
        sessions=snapshot(sessions),
        flags=[f.as_dict() for f in flags],
        **declared,
    )
    db.session.add(submission)
    db.session.flush()
    return submission


def decide(
    actor: Principal, submission_id: str, data: dict[str, Any], now: datetime
) -> PlanSubmission:
    """The Région validates a submitted plan, or asks for a postponement with its reason."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région valide les plans.")
    submission = get_submission(actor, submission_id)
    query = (
        select(PlanSubmission)
        .where(PlanSubmission.id == submission.id)
        .with_for_update(of=PlanSubmission)
    )
    submission = db.session.scalars(query.execution_options(populate_existing=True)).one()
    reason = (data.get("reason") or "").strip()
    if data["decision"] == POSTPONED and not reason:
        raise InvalidInput(
            "Indiquez la raison du report demandé à l'organisme.", code="reason_required"
        )
    if submission.status != SUBMITTED:
        raise Conflict(
            "Ce plan a déjà reçu une décision ou a été remplacé par une soumission plus récente.",
            code="plan_already_decided",
        )
    submission.status = data["decision"]
    submission.decided_by_id = actor.id
    submission.decided_at = now
    submission.decision_reason = reason or None
    db.session.flush()
    return submission


def list_submissions(actor: Principal, status: str | None = None) -> Select:
    if not actor.has_role(*READERS):
        raise Forbidden("Seuls la Région et l'organisme consultent les plans.")
    query = visible_submissions(actor)
    if status:
        query = query.where(PlanSubmission.status == status)
    return query


# --- retention ----------------------------------------------------------------------------------

NAMED_FLAGS = ("week_over_35h", "rest_too_short")  # their messages name trainees


@order_purged.connect
def erase_names(order_id: str, trainee_ids: set[str]) -> None:
    """An order's personal data is erased: the flags that named its trainees lose the names,
    and keep their rule and code."""
    for submission in db.session.scalars(
        select(PlanSubmission).where(PlanSubmission.order_id == order_id)
    ):
        if any(flag["code"] in NAMED_FLAGS for flag in submission.flags):
            submission.flags = [
                {**flag, "message": ERASED} if flag["code"] in NAMED_FLAGS else flag
                for flag in submission.flags
            ]
    db.session.flush()


ERASED = "Détail effacé avec les données personnelles du bon de commande (durée de conservation)."
