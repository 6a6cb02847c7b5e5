"""A substitute trainer (CCTP §4.1.2): the organisation names a trainer of its own who runs a
session, or every session of a group over a period, in place of the group's trainers, without
interrupting it (an open session stays open; what was signed stays). Each change is a
`substituted` entry of the session's chain, with its reason."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from attendance import journal
from attendance.models import TrainingSession
from attendance.services import get_session
from core.auth import Principal
from core.clock import PARIS
from core.errors import Conflict, InvalidInput, NotFound
from core.extensions import db
from core.models import Role, User
from training.services import get_group, lock_group, require_admin_of

ENTRY_KIND = "substituted"


def _trainer(organisation_id: str, trainer_id: str | None) -> User | None:
    """The substitute: an active trainer of the organisation (None: back to the group's)."""
    if trainer_id is None:
        return None
    user = db.session.get(User, trainer_id)
    if user is None or user.role != Role.TRAINER or user.organisation_id != organisation_id:
        raise NotFound(
            "Ce formateur n'est pas un formateur de l'organisme.", code="unknown_trainer"
        )
    if not user.is_active:
        raise Conflict("Ce compte de formateur est désactivé.", code="trainer_inactive")
    return user


def _check_free(trainer_id: str, sessions: list[TrainingSession]) -> None:
    """The substitute leads or replaces in no other session at the same time."""
    ids = [s.id for s in sessions]
    for session in sessions:
        clash = db.session.execute(
            select(TrainingSession.title, TrainingSession.starts_at)
            .where(
                TrainingSession.starts_at < session.ends_at,
                TrainingSession.ends_at > session.starts_at,
                TrainingSession.id.not_in(ids),
                (TrainingSession.lead_trainer_id == trainer_id)
                | (TrainingSession.substitute_trainer_id == trainer_id),
            )
            .limit(1)
        ).first()
        if clash:
            raise Conflict(
                f"Le formateur anime déjà « {clash.title} » pendant « {session.title} ».",
                code="trainer_overlap",
            )


def _apply(
    actor: Principal,
    sessions: list[TrainingSession],
    trainer_id: str | None,
    reason: str,
    now: datetime,
) -> list[TrainingSession]:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Indiquez la raison du remplacement.", code="reason_required")
    closed = [s for s in sessions if s.status == "closed"]
    if closed:
        raise Conflict(
            f"La séance « {closed[0].title} » est close : son formateur ne change plus.",
            code="session_closed",
        )
    if trainer_id is not None:
        _check_free(trainer_id, sessions)
    changed = [s for s in sessions if s.substitute_trainer_id != trainer_id]
    for session in changed:
        session.substitute_trainer_id = trainer_id
        entry = journal.session_entry(
            session, actor.id, ENTRY_KIND, now, {"substitute_trainer_id": trainer_id}
        )
        entry.reason = reason
        journal.append(session.id, entry)
    db.session.flush()
    return sessions


def substitute_session(
    actor: Principal, session_id: str, data: dict[str, Any], now: datetime
) -> TrainingSession:
    """Name (or, with `trainer_id` null, withdraw) the substitute of one session."""
    session = get_session(actor, session_id)
    require_admin_of(actor, session.organisation_id)
    _trainer(session.organisation_id, data.get("trainer_id"))
    lock_group(session.group)
    _apply(actor, [session], data.get("trainer_id"), data["reason"], now)
    return session


def substitute_period(
    actor: Principal, group_id: str, data: dict[str, Any], now: datetime
) -> list[TrainingSession]:
    """Name the substitute of every session of the group from `start` to `end` (Paris days,
    both included) that is not closed yet. All or nothing: one clash refuses the whole."""
    group = get_group(actor, group_id)
    require_admin_of(actor, group.organisation_id)
    start: date = data["start"]
    end: date = data["end"]
    if end < start:
        raise InvalidInput(
            "La période se termine le jour où elle commence ou après.", code="invalid_dates"
        )
    _trainer(group.organisation_id, data.get("trainer_id"))
    lock_group(group)
    since = datetime.combine(start, time(), PARIS)
    until = datetime.combine(end + timedelta(days=1), time(), PARIS)
    sessions = list(
        db.session.scalars(
            select(TrainingSession)
            .where(
                TrainingSession.group_id == group.id,
                TrainingSession.starts_at >= since,
                TrainingSession.starts_at < until,
                TrainingSession.status != "closed",
            )
            .order_by(TrainingSession.starts_at)
        )
    )
    if not sessions:
        raise Conflict(
            "Aucune séance à venir ou en cours du groupe sur cette période.", code="no_session"
        )
    return _apply(actor, sessions, data.get("trainer_id"), data["reason"], now)
