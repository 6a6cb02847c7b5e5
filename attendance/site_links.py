"""The sessions' answers to the access sites' questions (sites.signals): a session to book a
seat for, a trainee's sessions, the organisation's sessions of a day, who signed in.

The sites sit below the sessions and never import them; this module, imported by the app
factory with the rest of attendance, subscribes."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_

from attendance import participants
from attendance.models import SessionParticipant, Signature, TrainingSession
from attendance.services import site_info as info
from attendance.services import visible_sessions
from core.auth import Principal
from core.clock import PARIS
from core.errors import Conflict, NotFound
from core.extensions import db
from sites.signals import (
    SessionInfo,
    organisation_sessions,
    session_for_booking,
    signed_in,
    trainee_sessions,
)
from training.models import Enrolment


@session_for_booking.connect
def _session_for_booking(
    sender: Any, *, principal: Principal, session_id: str, trainee_id: str
) -> SessionInfo:
    session = db.session.scalar(visible_sessions(principal).where(TrainingSession.id == session_id))
    if session is None:
        raise NotFound("Séance introuvable.", code="session_not_found")
    if not participants.participants_among(session, [trainee_id]):
        raise Conflict(
            "Ce stagiaire ne participe pas à cette séance.", code="not_participant", rule="R14"
        )
    return info(session)


def _paris_start(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS)


def sessions_of_trainee(
    trainee_id: str, first_day: date, last_day: date | None
) -> list[TrainingSession]:
    """The sessions a trainee takes part in, from one Paris day (to another), by start."""
    groups = select(Enrolment.group_id).where(Enrolment.trainee_id == trainee_id)
    listed = select(SessionParticipant.session_id).where(
        SessionParticipant.trainee_id == trainee_id
    )
    query = select(TrainingSession).where(
        TrainingSession.group_id.in_(groups),
        or_(TrainingSession.whole_group, TrainingSession.id.in_(listed)),
        TrainingSession.starts_at >= _paris_start(first_day),
    )
    if last_day is not None:
        query = query.where(TrainingSession.starts_at < _paris_start(last_day + timedelta(days=1)))
    candidates = list(db.session.scalars(query.order_by(TrainingSession.starts_at)))
    return [s for s in candidates if participants.participants_among(s, [trainee_id])]


@trainee_sessions.connect
def _trainee_sessions(
    sender: Any, *, trainee_id: str, first_day: date, last_day: date | None
) -> list[SessionInfo]:
    return [info(s) for s in sessions_of_trainee(trainee_id, first_day, last_day)]


@organisation_sessions.connect
def _organisation_sessions(sender: Any, *, principal: Principal, day: date) -> list[SessionInfo]:
    query = visible_sessions(principal).where(
        TrainingSession.starts_at >= _paris_start(day),
        TrainingSession.starts_at < _paris_start(day + timedelta(days=1)),
        TrainingSession.kind.in_(("tutorat", "autoformation")),
        TrainingSession.status != "closed",
    )
    return [info(s) for s in db.session.scalars(query.order_by(TrainingSession.starts_at))]


@signed_in.connect
def _signed_in(sender: Any, *, pairs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(list(pairs), 500):
        rows = db.session.execute(
            select(Signature.session_id, Signature.signer_id)
            .where(
                or_(
                    Signature.kind == "sign_in",
                    and_(Signature.kind == "correction", Signature.action == "mark_present"),
                ),
                tuple_(Signature.session_id, Signature.signer_id).in_(chunk),
            )
            .distinct()
        )
        found.update((a, b) for a, b in rows)
    return found


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
