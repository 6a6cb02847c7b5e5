"""Use cases on training sessions: plan, edit, find; R6 and R10 decide, holidays are flagged."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, false, func, select

from attendance import journal, participants, projection, rules
from attendance.models import SessionKind, SessionParticipant, TrainingSession
from core.auth import Principal
from core.db import utcnow
from core.errors import Conflict, DomainError, Forbidden, NotFound
from core.extensions import db
from core.models import Role
from core.public_holidays import french_holidays
from sites import moves
from sites.models import Site
from sites.signals import SessionInfo
from training import access
from training import rules as training_rules
from training.models import Enrolment, Group, Order, RegroupementAuthorisation
from training.services import (
    check_group_start,
    get_group,
    lock_group,
    lock_order,
    lock_order_groups,
)
from training.signals import group_moved, order_replanned


def visible_sessions(principal: Principal) -> Select:
    query = select(TrainingSession)
    if principal.has_role(Role.REGION):
        return query
    if principal.has_role(*access.ORG_WIDE):
        return query.where(TrainingSession.organisation_id == principal.organisation_id)
    if principal.has_role(Role.TRAINER):  # their groups' sessions, and those they substitute
        return query.where(
            TrainingSession.group_id.in_(access.trained_group_ids(principal))
            | (TrainingSession.substitute_trainer_id == principal.id)
        )
    if principal.is_trainee:  # the sessions they take part in
        listed = exists().where(
            SessionParticipant.session_id == TrainingSession.id,
            SessionParticipant.trainee_id == principal.id,
        )
        return query.where(
            TrainingSession.group_id.in_(access.enrolled_group_ids(principal)),
            TrainingSession.whole_group | listed,
        )
    if principal.has_role(Role.SITE_STAFF):
        return query.where(TrainingSession.site_id == principal.site_id)
    return query.where(false())


def group_sessions(actor: Principal, group_id: str) -> list[TrainingSession]:
    """A visible group's sessions the actor may see, in time order."""
    group = get_group(actor, group_id)
    query = visible_sessions(actor).where(TrainingSession.group_id == group.id)
    return list(db.session.scalars(query.order_by(TrainingSession.starts_at)))


def get_session(actor: Principal, session_id: str) -> TrainingSession:
    session = db.session.scalar(visible_sessions(actor).where(TrainingSession.id == session_id))
    if session is None:
        raise NotFound("Séance introuvable.")
    return session


def can_plan(actor: Principal, group: Group) -> bool:
    """The organisation's admin and the group's own trainers plan its sessions."""
    if actor.organisation_id != group.organisation_id:
        return False
    return actor.has_role(Role.ORG_ADMIN) or (
        actor.has_role(Role.TRAINER) and group.has_trainer(actor.id)
    )


def plan_session(
    actor: Principal, group_id: str, data: dict[str, Any], now: datetime | None = None
) -> TrainingSession:
    """Create a session for a group (or part of it), after R6, R10 and the overlap checks; flag
    a public holiday. The plan is the first entry of the session's chain."""
    group = get_group(actor, group_id)
    if not can_plan(actor, group):
        raise Forbidden("Seuls le référent de l'organisme et les formateurs du groupe planifient.")
    lock_plan(group)  # R6: two concurrent plannings of one order must not both pass the cap
    session = TrainingSession(
        organisation_id=group.organisation_id, group=group, created_by_id=actor.id
    )
    _apply(actor, session, group, data)
    db.session.add(session)
    db.session.flush()
    _chain_plan(actor, session, "planned", now or utcnow())
    return session


def update_session(
    actor: Principal, session_id: str, data: dict[str, Any], now: datetime | None = None
) -> TrainingSession:
    """Change a planned session; the rules are checked again on the result, and the new plan
    is chained."""
    session = get_session(actor, session_id)
    if not can_plan(actor, session.group):
        raise Forbidden("Seuls le référent de l'organisme et les formateurs du groupe planifient.")
    if session.status != "planned":
        raise Conflict(
            "Une séance ouverte ou close ne se modifie plus.", code="session_not_planned"
        )
    lock_plan(session.group)
    merged = {
        "kind": session.kind,
        "title": session.title,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "regroupement_reason": session.regroupement_reason,
        "site_id": session.site_id,
        "participant_ids": session.participant_ids,
        "lead_trainer_id": session.lead_trainer_id,
        **data,
    }
    _apply(actor, session, session.group, merged, exclude_id=session.id)
    db.session.flush()
    now = now or utcnow()
    _chain_plan(actor, session, "edited", now)
    follow_bookings(actor, session, now)
    return session


def follow_bookings(actor: Principal, session: TrainingSession, now: datetime) -> None:
    """R14: the seats booked at access sites for the session follow its new times, kind and
    participants (sites sit below: called directly, in this transaction)."""
    taking_part = set(db.session.scalars(participants.participant_ids(session)))
    moves.follow_session(actor, site_info(session), taking_part, now)


def site_info(session: TrainingSession) -> SessionInfo:
    """What the access sites know of a session (sites.signals)."""
    return SessionInfo(
        id=session.id,
        organisation_id=session.organisation_id,
        group_id=session.group_id,
        kind=session.kind,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        site_id=session.site_id,
    )


def _chain_plan(actor: Principal, session: TrainingSession, kind: str, now: datetime) -> None:
    """Append the session's plan (or its edit) to its chain: kind, times, site, participants,
    lead trainer, as the hours will be computed from them."""
    facts = projection.plan_facts(
        kind=session.kind,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        site_id=session.site_id,
        regroupement_reason=session.regroupement_reason,
        participants=session.participant_ids,
        lead_trainer_id=session.lead_trainer_id,
    )
    journal.append(session.id, journal.session_entry(session, actor.id, kind, now, facts))


def _apply(
    actor: Principal,
    session: TrainingSession,
    group: Group,
    data: dict[str, Any],
    exclude_id: str | None = None,
) -> None:
    order = group.order
    starts_at: datetime = data["starts_at"]
    ends_at: datetime = data["ends_at"]
    rules.check_session_times(starts_at, ends_at, order.start_date, order.end_date)
    day = rules.local_day(starts_at)
    hours = (ends_at - starts_at).total_seconds() / 3600
    if data["kind"] == SessionKind.AUTOFORMATION:
        planned = _planned_autoformation_hours(order.id, exclude_id)
        rules.check_autoformation_share(order.modality, order.centre_hours, planned, hours)
    reason = data.get("regroupement_reason") if data["kind"] == SessionKind.REGROUPEMENT else None
    authorisation_id = None
    if data["kind"] == SessionKind.REGROUPEMENT:
        authorised = _authorised_days(group.id)
        rules.check_regroupement(order.modality, reason, day, group.first_day, authorised)
        authorisation_id = authorised.get(day) if reason == "autorise" else None
    if data.get("site_id") and db.session.get(Site, data["site_id"]) is None:
        raise NotFound("Site introuvable.")
    listed, lead = _who(actor, group, day, data)
    session.kind, session.title = data["kind"], data["title"]
    session.starts_at, session.ends_at = starts_at, ends_at
    session.regroupement_reason, session.authorisation_id = reason, authorisation_id
    session.site_id = data.get("site_id")
    session.on_public_holiday = rules.is_public_holiday(day, french_holidays(day.year))
    session.whole_group, session.lead_trainer_id = listed is None, lead
    session.participants = [SessionParticipant(trainee_id=t) for t in sorted(listed or ())]
    taking_part = (
        listed
        if listed is not None
        else db.session.scalars(participants.enrolled_on(group.id, day)).all()
    )
    participants.lock_trainees(taking_part)
    participants.check_no_overlap(
        session_id=exclude_id,
        starts_at=starts_at,
        ends_at=ends_at,
        trainee_ids=taking_part,
        lead_trainer_id=lead,
    )


def _who(
    actor: Principal, group: Group, day: date, data: dict[str, Any]
) -> tuple[list[str] | None, str | None]:
    """The listed participants (None: the whole group) and the lead trainer: the one asked
    (a trainer of the group), else the trainer planning it, else the group's only trainer."""
    listed = data.get("participant_ids")
    if listed is not None:
        listed = sorted(set(listed))
        participants.check_listed(group.id, day, listed)
    lead = data.get("lead_trainer_id")
    if lead is not None and not group.has_trainer(lead):
        raise NotFound("Ce formateur n'anime pas ce groupe.", code="unknown_trainer")
    if lead is None and group.has_trainer(actor.id):
        lead = actor.id
    if lead is None and len(group.trainers) == 1:
        lead = group.trainers[0].id
    return listed, lead


def lock_plan(group: Group) -> None:
    """Serialise the plannings checked against an order's totals (R6 sums every group of the
    order): the order's row first, then the group's, in the order that order edits take them
    (an order edit updates its row, then locks its groups), so that the two never deadlock."""
    lock_order(group.order)
    lock_group(group)


def _planned_autoformation_hours(order_id: str, exclude_id: str | None) -> float:
    """R6: the autoformation hours planned in every group of the order."""
    query = (
        select(TrainingSession.starts_at, TrainingSession.ends_at)
        .join(Group, TrainingSession.group_id == Group.id)
        .where(Group.order_id == order_id, TrainingSession.kind == SessionKind.AUTOFORMATION)
    )
    if exclude_id:
        query = query.where(TrainingSession.id != exclude_id)
    return sum((end - start).total_seconds() / 3600 for start, end in db.session.execute(query))


def _authorised_days(group_id: str) -> dict[date, str]:
    rows = db.session.execute(
        select(RegroupementAuthorisation.session_date, RegroupementAuthorisation.id).where(
            RegroupementAuthorisation.group_id == group_id
        )
    )
    return dict(rows.all())


@order_replanned.connect
def check_order_plan(order: Order) -> None:
    """After a change of an order's modality, centre hours or dates (already set on `order`):
    every group still starts in the order, every entry keeps R4, every session R6, R10 and
    the order's dates. Raises the rule's error; the caller rolls back."""
    groups = lock_order_groups(order)
    for group in groups:
        check_group_start(group)
    _check_entry_dates(order)
    autoformation = _check_sessions(order, groups)
    rules.check_autoformation_share(order.modality, order.centre_hours, autoformation, 0)


@group_moved.connect
def check_group_plan(group: Group) -> None:
    """After a group's start moved: its sessions still keep R10 (welcome day) and the order's
    dates (its hours did not change, so R6 holds as it did)."""
    _check_sessions(group.order, [group])


def _check_entry_dates(order: Order) -> None:
    """R4 for every enrolment of the order: checking the earliest and latest entries is enough."""
    first, last = db.session.execute(
        select(func.min(Enrolment.entry_date), func.max(Enrolment.entry_date))
        .join(Group, Enrolment.group_id == Group.id)
        .where(Group.order_id == order.id)
    ).one()
    for entry in (first, last):
        if entry is not None:
            training_rules.check_entry_date(entry, order.start_date, order.end_date)


def _check_sessions(order: Order, groups: list[Group]) -> float:
    """Every session of these groups inside the order, R10 for regroupements; answers their
    autoformation hours (R6 is a share of the whole order's hours: the caller checks it)."""
    ids = [group.id for group in groups]
    sessions: dict[str, list[Any]] = defaultdict(list)
    for row in db.session.execute(
        select(
            TrainingSession.group_id,
            TrainingSession.kind,
            TrainingSession.starts_at,
            TrainingSession.ends_at,
            TrainingSession.regroupement_reason,
        ).where(TrainingSession.group_id.in_(ids))
    ):
        sessions[row.group_id].append(row)
    authorised: dict[str, set[date]] = defaultdict(set)
    for group_id, day in db.session.execute(
        select(RegroupementAuthorisation.group_id, RegroupementAuthorisation.session_date).where(
            RegroupementAuthorisation.group_id.in_(ids)
        )
    ):
        authorised[group_id].add(day)
    autoformation = 0.0
    for group in groups:
        try:
            autoformation += _check_group_sessions(
                order, group, sessions[group.id], authorised[group.id]
            )
        except DomainError as error:  # name the group: an order may have several
            error.message = f"Groupe « {group.name} » : {error.message}"
            raise
    return autoformation


def _check_group_sessions(
    order: Order, group: Group, sessions: list[Any], authorised_days: set[date]
) -> float:
    autoformation = 0.0
    for session in sessions:
        starts_at, ends_at = session.starts_at, session.ends_at
        rules.check_session_times(starts_at, ends_at, order.start_date, order.end_date)
        if session.kind == SessionKind.REGROUPEMENT:
            day = rules.local_day(starts_at)
            reason = session.regroupement_reason
            rules.check_regroupement(order.modality, reason, day, group.first_day, authorised_days)
        elif session.kind == SessionKind.AUTOFORMATION:
            autoformation += (ends_at - starts_at).total_seconds() / 3600
    return autoformation


def sessions_between(actor: Principal, start: datetime, days: int) -> list[TrainingSession]:
    """The actor's visible sessions starting in [start, start + days), in time order."""
    query = visible_sessions(actor).where(
        TrainingSession.starts_at >= start, TrainingSession.starts_at < start + timedelta(days=days)
    )
    return list(db.session.scalars(query.order_by(TrainingSession.starts_at)))


def count_sessions(group_id: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TrainingSession)
            .where(TrainingSession.group_id == group_id)
        )
        or 0
    )
