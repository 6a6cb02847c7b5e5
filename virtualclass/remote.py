"""Use cases of remote control in the class (R16 "application sharing and remote control"),
as far as a browser honestly goes: the trainer asks to guide a participant's shared screen or
board, the participant consents or refuses, either of them ends it at any time, and while it
lasts the trainer's pointer (and where it clicks) is drawn over that screen for everyone. No
input reaches the participant's system: a web page cannot move another machine's mouse or
press its keys; that needs a native agent installed on it (README, "Remote control").

Each request, answer and end is stored with its time and who acted (the proof of consent),
so every process of the class reads the same state. Free of the request: actor and time are
arguments; flushes, never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Trainee, User
from virtualclass import rules
from virtualclass.models import ClassConnection, RemoteControl
from virtualclass.services import Seat


def _open(session_id: str) -> Any:
    """The session's request waiting for an answer, or its grant in force."""
    return select(RemoteControl).where(
        RemoteControl.session_id == session_id,
        RemoteControl.ended_at.is_(None),
        or_(RemoteControl.granted.is_(None), RemoteControl.granted.is_(True)),
    )


def _is_connected(session_id: str, person_id: str) -> bool:
    found = db.session.scalar(
        select(ClassConnection.id).where(
            ClassConnection.session_id == session_id,
            ClassConnection.person_id == person_id,
            ClassConnection.left_at.is_(None),
        )
    )
    return found is not None


def request(seat: Seat, target_id: str, now: datetime) -> RemoteControl:
    """The trainer asks a trainee in the class to let them guide their screen; a request
    still unanswered is replaced, a guidance in force must be ended first."""
    rules.require_trainer(seat.is_trainer)
    trainee = db.session.get(Trainee, target_id) if target_id else None
    if trainee is None or not _is_connected(seat.session_id, target_id):
        raise InvalidInput("Ce stagiaire n'est pas dans la classe.", code="not_in_class")
    for row in db.session.scalars(_open(seat.session_id)):
        if row.granted:
            raise Conflict(
                "Un guidage d'écran est en cours : arrêtez-le avant d'en demander un autre.",
                code="remote_control_busy",
                rule="R16",
            )
        row.ended_at, row.ended_by_id = now, seat.person_id
    row = RemoteControl(
        organisation_id=seat.organisation_id,
        session_id=seat.session_id,
        controller_id=seat.person_id,
        owner_id=target_id,
        requested_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def answer(seat: Seat, control_id: str, accept: bool, now: datetime) -> RemoteControl:
    """The participant asked consents or refuses: nobody else answers for them."""
    row = db.session.get(RemoteControl, control_id) if control_id else None
    if row is None or row.session_id != seat.session_id:
        raise NotFound("Demande de guidage introuvable.", code="remote_control_not_found")
    if row.owner_id != seat.person_id:
        raise Forbidden(
            "Seul le participant dont l'écran est demandé répond à cette demande.",
            code="remote_control_not_yours",
            rule="R16",
        )
    if row.state != "requested":
        raise Conflict("Cette demande n'attend plus de réponse.", code="remote_control_answered")
    row.answered_at, row.granted = now, accept
    db.session.flush()
    return row


def end(seat: Seat, now: datetime) -> RemoteControl:
    """The participant takes their screen back, or the trainer stops (or withdraws their
    request): whoever of them acts first."""
    row = db.session.scalar(_open(seat.session_id))
    if row is None:
        raise NotFound("Aucun guidage d'écran en cours.", code="remote_control_none")
    if seat.person_id != row.owner_id and not seat.is_trainer:
        raise Forbidden(
            "Seuls le formateur et le participant guidé arrêtent ce guidage.",
            code="remote_control_not_yours",
            rule="R16",
        )
    row.ended_at, row.ended_by_id = now, seat.person_id
    db.session.flush()
    return row


def granted_to(seat: Seat) -> RemoteControl:
    """The guidance in force that this person leads: pointing needs the owner's consent."""
    row = db.session.scalar(
        _open(seat.session_id).where(
            RemoteControl.granted.is_(True), RemoteControl.controller_id == seat.person_id
        )
    )
    if row is None:
        raise Forbidden(
            "Le participant ne vous a pas confié son écran (ou l'a repris).",
            code="remote_control_not_granted",
            rule="R16",
        )
    return row


def end_for_absent(session_id: str, person_id: str, now: datetime) -> RemoteControl | None:
    """A person left the class (every connection): the guidance they were part of ends."""
    if _is_connected(session_id, person_id):
        return None
    row = db.session.scalar(
        _open(session_id).where(
            or_(RemoteControl.owner_id == person_id, RemoteControl.controller_id == person_id)
        )
    )
    if row is not None:
        row.ended_at, row.ended_by_id = now, person_id
        db.session.flush()
    return row


def notice(row: RemoteControl) -> dict[str, Any]:
    """What the room is told (the `remote` event): the state, who guides whose screen."""
    owner = db.session.get_one(Trainee, row.owner_id)
    controller = db.session.get_one(User, row.controller_id)
    return {
        "session_id": row.session_id,
        "id": row.id,
        "state": row.state,
        "owner": {"id": owner.id, "name": owner.full_name},
        "controller": {"id": controller.id, "name": controller.full_name},
        "by": row.ended_by_id if row.ended_at else None,
    }
