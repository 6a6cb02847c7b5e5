"""What the émargement's API routes and pages share: settings from the configuration, the
request's device facts, the record-once retry, the failed-attempt limit, live announcements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from attendance.credentials import Device, Settings
from attendance.events import help_room, room
from attendance.journal import HeadMoved
from attendance.models import Signature
from attendance.rules import PARIS
from core.auth import Principal
from core.extensions import autocommitting, db, socketio
from core.models import Trainee, User
from core.ratelimit import FailureLimit

T = TypeVar("T")


def settings() -> Settings:
    cfg = current_app.config
    return Settings(
        margin_min=cfg["SIGN_IN_MARGIN_MIN"],
        rotate_s=cfg["QR_ROTATE_S"],
        grace_s=cfg["QR_GRACE_S"],
        sign_out_grace_min=cfg["SIGN_OUT_GRACE_MIN"],
        secret_key=cfg["SECRET_KEY"],
        base_url=cfg["PUBLIC_BASE_URL"],
    )


def device() -> Device:
    return Device(request.user_agent.string or "", request.remote_addr)


def once(call: Callable[[bool], T], *, single_statement: bool = False) -> T:
    """Run a recording use case and commit. The first try inserts straight away (the unique
    index is the guard); if a concurrent or earlier request holds the record, the insert fails:
    roll back and run it again looking first, which answers the record that is there.

    `single_statement`: the use case's only write is one ledger append (a QR scan; not a
    personal code, whose claim is a second write). On PostgreSQL its first try then runs on a
    connection of its own in autocommit (core.extensions.autocommitting): the facts query and
    the one-statement append (journal.SWAP_AND_INSERT), with no BEGIN and COMMIT round trips
    and no ORM unit of work; the append is atomic by itself and durable when it returns.
    Anything more (the head moved meanwhile: journal.HeadMoved) is tried again in the
    request's transaction.

    A connection found dead on the way (the database restarted since it was pooled): the use
    case runs again on a fresh connection, looking first, since the commit may have landed
    before the connection died (then the record is answered, not written twice)."""
    try:
        if single_statement and _can_autocommit():
            with autocommitting():
                return call(False)
        result = call(False)
        db.session.commit()
    except (DBAPIError, HeadMoved) as error:
        if not _worth_another_try(error):
            raise
        db.session.rollback()
        result = call(True)
        db.session.commit()
    return result


def _worth_another_try(error: DBAPIError | HeadMoved) -> bool:
    """The record is there already (a duplicate), the head moved, or the connection died."""
    if isinstance(error, IntegrityError | HeadMoved):
        return True
    return bool(error.connection_invalidated)


def _can_autocommit() -> bool:
    """PostgreSQL, and nothing read yet in this request's transaction (one connection each).
    Asked without creating the request's database session when there is none yet."""
    if db.session.registry.has() and db.session().in_transaction():
        return False
    return bool(db.engine.dialect.name == "postgresql")


def guessable() -> bool:
    """A personal code can be guessed: a client over the limit is refused before trying one.
    A QR token cannot (an HMAC of the session and window): its failures are counted, and one
    beyond the limit answered 429, without a look-up in the counters on the way in."""
    body = request.get_json(silent=True)
    return not (isinstance(body, dict) and body.get("qr"))


failed_attempts = FailureLimit("10/minute", scope="sign-attempts", guessable=guessable)


def signer_name(signature: Signature) -> str:
    person: Trainee | User | None = (
        db.session.get(Trainee, signature.signer_id)
        if signature.signer_kind == "trainee"
        else db.session.get(User, signature.signer_id)
    )
    return person.full_name if person else ""


def announce(signature: Signature, event: str, by: Principal | None = None, name: str = "") -> None:
    """Push a record to the trainer's live page (Socket.IO room of the session). The name
    comes from the caller when it knows it (`name`, or `by` when it is the signer)."""
    if not name:
        name = by.name if by and by.id == signature.signer_id else signer_name(signature)
    payload = {
        "event": event,
        "signer_id": signature.signer_id,
        "trainee_id": signature.signer_id if signature.signer_kind == "trainee" else None,
        "name": name,
        "half_day": signature.half_day,
        "at": signature.at.astimezone(PARIS).isoformat(),
        "method": signature.method,
        "channel": signature.channel,
        "signer_kind": signature.signer_kind,
    }
    socketio.emit("signature", payload, namespace="/live", to=room(signature.session_id))


def announce_closed(session_id: str) -> None:
    """Tell the live pages that the session was closed (they reload)."""
    socketio.emit("closed", {"session_id": session_id}, namespace="/live", to=room(session_id))


# A company tutor's code (attendance.company) can be guessed: wrong ones are limited alike.
failed_tutor_codes = FailureLimit("10/minute", scope="tutor-code")


def announce_help(session_id: str, payload: dict[str, Any]) -> None:
    """Tell the session's live page that a trainee asks for help (R8): its trainers, the
    organisation and the Région watching it, never the site's staff (help_room)."""
    socketio.emit("help", payload, namespace="/live", to=help_room(session_id))
