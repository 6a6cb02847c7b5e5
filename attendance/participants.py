"""Who takes part in a session: the whole group (its trainees enrolled on the session's day)
or the trainees it lists (a sub-group, one trainee). Only participants sign; a close marks
only participants absent; a trainee never takes part in two overlapping sessions, nor does a
trainer lead two (SPEC.md, "Time and hours")."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import Select, and_, exists, or_, select

from attendance import rules
from attendance.models import SessionParticipant, TrainingSession
from core.errors import Conflict, NotFound
from core.extensions import db
from core.models import Trainee
from training.models import Enrolment


def enrolled_on(group_id: str, day: date) -> Select:
    """Ids of the trainees whose path in the group covers the (Paris) day."""
    return select(Enrolment.trainee_id).where(
        Enrolment.group_id == group_id,
        Enrolment.entry_date <= day,
        (Enrolment.exit_date.is_(None)) | (Enrolment.exit_date >= day),
    )


def participant_ids(session: TrainingSession) -> Select:
    """Ids of the session's participants: listed ones, or the group's on the day."""
    if session.whole_group:
        return enrolled_on(session.group_id, rules.local_day(session.starts_at))
    listed = select(SessionParticipant.trainee_id).where(
        SessionParticipant.session_id == session.id
    )
    return listed.where(
        SessionParticipant.trainee_id.in_(
            enrolled_on(session.group_id, rules.local_day(session.starts_at))
        )
    )


def participants_among(session: TrainingSession, trainee_ids: Collection[str]) -> set[str]:
    """Of these trainees, those taking part in the session."""
    return set(db.session.scalars(participant_ids(session))) & set(trainee_ids)


def check_listed(group_id: str, day: date, trainee_ids: Collection[str]) -> None:
    """Listed participants are trainees of the group on the session's day."""
    enrolled = set(
        db.session.scalars(enrolled_on(group_id, day).where(Enrolment.trainee_id.in_(trainee_ids)))
    )
    if not trainee_ids or enrolled != set(trainee_ids):
        raise NotFound(
            "Un des participants indiqués n'est pas inscrit dans le groupe ce jour-là.",
            code="not_enrolled",
        )


def lock_trainees(trainee_ids: Collection[str]) -> None:
    """Serialise the plannings that involve the same trainees (the overlap check below), in id
    order so that two plannings never wait for each other in a circle. PostgreSQL only."""
    if trainee_ids:
        query = select(Trainee.id).where(Trainee.id.in_(sorted(trainee_ids))).order_by(Trainee.id)
        db.session.execute(query.with_for_update())


def check_no_overlap(
    *,
    session_id: str | None,
    starts_at: datetime,
    ends_at: datetime,
    trainee_ids: Collection[str],
    lead_trainer_id: str | None,
) -> None:
    """No participant in another session at the same time; no lead trainer leading two."""
    others = select(TrainingSession.title, TrainingSession.starts_at).where(
        TrainingSession.starts_at < ends_at, TrainingSession.ends_at > starts_at
    )
    if session_id is not None:
        others = others.where(TrainingSession.id != session_id)
    if trainee_ids:
        _check_trainees(others, starts_at, trainee_ids)
    if lead_trainer_id is not None:
        clash = db.session.execute(
            others.where(
                (TrainingSession.lead_trainer_id == lead_trainer_id)
                | (TrainingSession.substitute_trainer_id == lead_trainer_id)
            ).limit(1)
        ).first()
        if clash:
            raise Conflict(
                f"Le formateur anime déjà « {clash.title} » à ce moment-là.",
                code="trainer_overlap",
            )


def _check_trainees(others: Select, starts_at: datetime, trainee_ids: Collection[str]) -> None:
    listed = exists().where(
        SessionParticipant.session_id == TrainingSession.id,
        SessionParticipant.trainee_id.in_(trainee_ids),
    )
    day = rules.local_day(starts_at)  # overlapping sessions share their (Paris) day
    grouped = exists().where(
        Enrolment.group_id == TrainingSession.group_id,
        Enrolment.trainee_id.in_(trainee_ids),
        Enrolment.entry_date <= day,
        (Enrolment.exit_date.is_(None)) | (Enrolment.exit_date >= day),
    )
    taken = and_(TrainingSession.whole_group, grouped)
    clash = db.session.execute(others.where(or_(listed, taken)).limit(1)).first()
    if clash:
        raise Conflict(
            f"Un participant est déjà attendu à « {clash.title} » à ce moment-là : "
            "un stagiaire ne suit pas deux séances à la fois.",
            code="participant_overlap",
        )
