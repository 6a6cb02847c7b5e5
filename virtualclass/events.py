"""Socket.IO namespace `/class`: the virtual class of an open synchronous session (R16).

Contract (API.md, "Virtual class"): connect with `auth: {token}` (or the page's cookie
session), then `join {session_id}`. Events: `presence` (server → room), `chat`, `hand`,
`presence_check` (trainer → room), `presence_ack` (trainee → server: a timely answer is a
`virtual_class` sign-in), `whiteboard`, `file` (announces an upload), `signal` (WebRTC
relayed between two participants), and `control` (the trainer mutes, gives the floor, ends).

`before_request` does not run for Socket.IO events: every handler authorises by itself. The
caller's account is read again every CLASS_REVERIFY_S seconds, and a sweeper drops revoked
accounts' connections within 60 s. Every answer is an acknowledgement `{ok: true, …}` or
`{ok: false, error: {code, message, rule?}}`. Presence is read from the database, and rooms
are shared through Redis (Flask-SocketIO's message queue), so several processes serve one
class.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, request
from flask_socketio import Namespace, disconnect, emit, join_room, leave_room
from limits import parse

from attendance.register import close_session
from attendance.rules import PARIS
from attendance.web import announce, announce_closed, device, once, settings
from core.auth import Principal, principal_from_socket, still_valid
from core.db import utcnow
from core.errors import DomainError, InvalidInput, TooManyAttempts, Unauthenticated
from core.extensions import db, socketio
from core.models import Role
from virtualclass import media, rules, services
from virtualclass.services import Seat

NAMESPACE = "/class"
PEOPLE = (Role.TRAINER, Role.TRAINEE)
SWEEP_EVERY_S = 20.0
CONTROLS = ("mute", "floor", "end")
log = logging.getLogger(__name__)
# Events whose handler reads nothing of the request but its connection's id: they run in an
# application context only (see ClassNamespace.trigger_event), the hot path of a busy class.
LIGHT_EVENTS = frozenset({"chat"})
_light_sid: ContextVar[str | None] = ContextVar("class_light_sid", default=None)


def room(session_id: str) -> str:
    return f"class:{session_id}"


@dataclass
class Caller:
    """What this process knows of one connection: who, when last verified, which classes."""

    principal: Principal
    verified_at: float
    seats: dict[str, Seat] = field(default_factory=dict)
    chat: rules.ChatBucket | None = None  # the connection's chat allowance (CLASS_CHAT_RATE)
    pointer: rules.ChatBucket | None = None  # its remote pointer's (virtualclass/control.py)


class ClassNamespace(Namespace):
    """The class's events; state per connection lives here, presence in the database."""

    def __init__(self, namespace: str = NAMESPACE) -> None:
        super().__init__(namespace)
        self.callers: dict[str, Caller] = {}
        self._sweeper_started = False
        self._lock = threading.Lock()

    # -- connection -------------------------------------------------------------------------

    def on_connect(self, auth: dict[str, Any] | None = None) -> bool:
        principal = principal_from_socket(auth)
        if principal is None or principal.role not in PEOPLE:
            return False  # refused: the client sees connect_error
        now, rate = time.monotonic(), parse(current_app.config["CLASS_CHAT_RATE"])
        chat = rules.ChatBucket(rate.amount, rate.get_expiry(), now)
        self.callers[_sid()] = Caller(principal, now, chat=chat)
        self._start_sweeper(current_app._get_current_object())  # type: ignore[attr-defined]
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        caller = self.callers.pop(_sid(), None)
        if caller is None or not caller.seats:
            return
        left = services.disconnect(_sid(), utcnow())
        db.session.commit()
        for session_id in left:
            self._push_presence(session_id)

    # -- joining ----------------------------------------------------------------------------

    def on_join(self, data: Any) -> dict[str, Any]:
        """Enter one open synchronous session's class; answers what the page draws."""
        return self._answer(data, self._join, needs_seat=False)

    def _join(self, caller: Caller, data: Any, _: Seat | None) -> dict[str, Any]:
        session_id = _session_id(data)
        session, seat = services.enter(caller.principal, session_id)
        if session_id in caller.seats:  # joined already from this connection
            return self._joined(session, seat, services.presence(session_id))
        services.connect(seat, _sid(), utcnow())
        db.session.commit()
        join_room(room(session_id))
        caller.seats[session_id] = seat
        # The room's list and the joiner's answer are the same list: read once.
        return self._joined(session, seat, self._push_presence(session_id))

    def _joined(self, session: Any, seat: Seat, present: services.Presence) -> dict[str, Any]:
        return {
            "session_id": seat.session_id,
            "you": {"id": seat.person_id, "name": seat.name, "kind": seat.person_kind},
            "sid": _sid(),
            "presence": _people(present.people),
            "presence_version": present.version,
            "board": services.board(seat.session_id),
            "files": [services.file_notice(f) for f in services.files(seat.session_id)],
            "media": media.access(session, seat),
        }

    def on_leave(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._leave)

    def _leave(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101 - _answer gave the joined seat
        services.disconnect(_sid(), utcnow(), seat.session_id)
        db.session.commit()
        leave_room(room(seat.session_id))
        caller.seats.pop(seat.session_id, None)
        self._push_presence(seat.session_id)
        return {"session_id": seat.session_id}

    # -- the class's events -----------------------------------------------------------------

    def on_chat(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._chat)

    def _chat(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        text = rules.chat_text(data)
        if caller.chat is not None and not caller.chat.take(time.monotonic()):
            raise TooManyAttempts("Vous écrivez trop vite : patientez quelques secondes.")
        message = {
            "session_id": seat.session_id,
            "from": seat.person_id,
            "name": seat.name,
            "kind": seat.person_kind,
            "text": text,
            "at": _paris(utcnow()),
            "sent": data.get("sent") if isinstance(data.get("sent"), int | float) else None,
        }
        # The server's emit: encoded once for the room, and no request needed (LIGHT_EVENTS).
        socketio.emit("chat", message, namespace=self.namespace, to=room(seat.session_id))
        return {"at": message["at"]}

    def on_hand(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._hand)

    def _hand(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        raised = bool(data.get("raised", True))
        notice = {"session_id": seat.session_id, "id": seat.person_id, "name": seat.name}
        emit("hand", {**notice, "raised": raised}, to=room(seat.session_id))
        return {"raised": raised}

    def on_presence_check(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._presence_check)

    def _presence_check(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        window_s = current_app.config["CLASS_CHECK_WINDOW_S"]
        check = services.launch_check(seat, utcnow(), window_s)
        db.session.commit()
        notice = {
            "session_id": seat.session_id,
            "check_id": check.id,
            "closes_at": _paris(check.closes_at),
            "window_s": window_s,
        }
        emit("presence_check", notice, to=room(seat.session_id))
        return notice

    def on_presence_ack(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._presence_ack)

    def _presence_ack(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        check_id = str(data.get("check_id", ""))
        now, facts, cfg = utcnow(), device(), settings()
        answer, outcome = once(
            lambda retry: services.answer_check(seat, caller.principal, check_id, now, facts, cfg)
        )
        if outcome.created:
            announce(outcome.signature, "sign_in", caller.principal)
        notice = {"session_id": seat.session_id, "check_id": check_id, "id": seat.person_id}
        emit("presence_ack", {**notice, "name": seat.name}, to=room(seat.session_id))
        return {
            **notice,
            "signature_id": outcome.signature.id,
            "method": outcome.signature.method,
            "signed_at": _paris(outcome.signature.at),
            "already_signed": not outcome.created,
        }

    def on_whiteboard(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._whiteboard)

    def _whiteboard(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        stroke = services.add_stroke(seat, data.get("stroke"), utcnow())
        db.session.commit()
        notice = {"session_id": seat.session_id, "stroke": stroke.stroke, "by": seat.person_id}
        emit("whiteboard", notice, to=room(seat.session_id), include_self=False)
        return {"id": stroke.id}

    def on_signal(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._signal)

    def _signal(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        """WebRTC offer, answer or ICE candidate for one participant of the same class."""
        assert seat is not None  # noqa: S101
        target = str(data.get("to", ""))
        if not services.is_connected_to(target, seat.session_id):
            raise InvalidInput("Ce participant n'est pas dans la classe.", code="not_in_class")
        payload = {"session_id": seat.session_id, "from": _sid(), "data": data.get("data")}
        emit("signal", payload, to=target)
        return {}

    def on_control(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._control)

    def _control(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        """The trainer mutes someone, gives them the floor, or ends the class (closing the
        session's émargement: participants without a signature become absent)."""
        assert seat is not None  # noqa: S101
        rules.require_trainer(seat.is_trainer)
        action, target = data.get("action"), data.get("target")
        if action not in CONTROLS:
            raise InvalidInput("Action inconnue.", code="invalid_control")
        notice = {"session_id": seat.session_id, "action": action, "target": target}
        if action == "end":
            close_session(caller.principal, seat.session_id, utcnow())
            db.session.commit()
            announce_closed(seat.session_id)
            media.release(seat.session_id, services.people_of(seat.session_id))
        emit("control", notice, to=room(seat.session_id))
        return notice

    # -- dispatch, authorisation, answers ---------------------------------------------------

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Flask-SocketIO runs each event inside a request context built from the connection's
        handshake (its URL routed again, its cookie session decoded again): the events of
        LIGHT_EVENTS need none of it, and run in an application context with their connection's
        id. Their authorisation is the same: `_answer` checks the caller and the seat."""
        if event not in LIGHT_EVENTS or not args:
            return super().trigger_event(event, *args)
        sid, *rest = args
        environ = self.socketio.server.get_environ(sid, namespace=self.namespace)
        if not environ:
            return super().trigger_event(event, *args)
        token = _light_sid.set(str(sid))
        try:
            with environ["flask.app"].app_context():
                return getattr(self, f"on_{event}")(*rest)
        finally:
            _light_sid.reset(token)

    def _answer(
        self,
        data: Any,
        handler: Callable[[Caller, Any, Seat | None], dict[str, Any]],
        needs_seat: bool = True,
    ) -> dict[str, Any]:
        """Check size, caller and seat, run the handler; any refusal changes nothing and
        answers the error (code, French message, rule)."""
        try:
            rules.check_message_size(data)
            if not isinstance(data, dict):
                raise InvalidInput("Message invalide : un objet JSON est attendu.")
            caller = self._caller()
            seat = caller.seats.get(_session_id(data)) if needs_seat else None
            if needs_seat and seat is None:
                raise InvalidInput(
                    "Rejoignez d'abord la classe de cette séance.", code="not_joined"
                )
            return {"ok": True, **handler(caller, data, seat)}
        except DomainError as error:
            db.session.rollback()
            return {"ok": False, **error.body()}

    def _caller(self) -> Caller:
        """The connection's caller, its account read again when last read long enough ago;
        a revoked one is dropped."""
        caller = self.callers.get(_sid())
        if caller is None:
            raise Unauthenticated("Connexion non authentifiée.", code="not_authenticated")
        if time.monotonic() - caller.verified_at >= current_app.config["CLASS_REVERIFY_S"]:
            if still_valid(caller.principal) is None:
                self._drop(_sid())
                raise Unauthenticated(
                    "Ce compte ou cet appareil n'est plus autorisé.", code="revoked"
                )
            caller.verified_at = time.monotonic()
        return caller

    def _drop(self, sid: str) -> None:
        disconnect(sid, namespace=self.namespace)

    def _push_presence(self, session_id: str) -> services.Presence:
        """Tell the room who is connected now, with the list's version (a page keeps the
        highest it received: two lists told at once may arrive in either order)."""
        present = services.presence(session_id)
        socketio.emit(
            "presence",
            {
                "session_id": session_id,
                "people": _people(present.people),
                "version": present.version,
            },
            namespace=self.namespace,
            to=room(session_id),
        )
        return present

    # -- the sweeper: revoked accounts, connections of dead processes -------------------------

    def _start_sweeper(self, app: Flask) -> None:
        with self._lock:
            if self._sweeper_started or app.config.get("TESTING"):
                return  # tests call sweep() with their clock
            self._sweeper_started = True
        socketio.start_background_task(self._sweep_forever, app)

    def _sweep_forever(self, app: Flask) -> None:
        while True:
            socketio.sleep(SWEEP_EVERY_S)
            with app.app_context():
                try:
                    self.sweep()
                except Exception:  # noqa: BLE001 - the sweeper must outlive a database hiccup
                    log.exception("The class's sweeper failed; it runs again shortly")
                    db.session.rollback()
                finally:
                    db.session.remove()

    def sweep(self) -> list[str]:
        """Drop connections of revoked accounts (within 60 s: every 20 s, each account read
        again), mark this process's connections alive, and close those of dead processes (the
        rooms they were in are told who is left)."""
        dropped = []
        for sid, caller in list(self.callers.items()):
            if still_valid(caller.principal) is None:
                dropped.append(sid)
                self._drop(sid)
            else:
                caller.verified_at = time.monotonic()
        now = utcnow()
        services.still_here([s for s, c in self.callers.items() if c.seats], now)
        before = now - timedelta(seconds=3 * SWEEP_EVERY_S)
        closed = services.close_stale(set(self.callers), before, now)
        db.session.commit()
        self._gone(closed)
        return dropped

    def _gone(self, closed: list[tuple[str, str]]) -> None:
        """People the sweeper found gone, (session, person): their rooms are told who is left."""
        for session_id in sorted({session_id for session_id, _ in closed}):
            self._push_presence(session_id)


def _sid() -> str:
    return _light_sid.get() or str(request.sid)  # type: ignore[attr-defined]


def _session_id(data: Any) -> str:
    value = data.get("session_id") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise InvalidInput("Indiquez la séance (« session_id »).", code="session_id_required")
    return value


def _people(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "since": _paris(p["since"])} for p in people]


def _paris(moment: Any) -> str:
    return str(moment.astimezone(PARIS).isoformat())
