"""Remote control's events on the class's namespace `/class` (R16; use cases in
virtualclass/remote.py). Kept apart from virtualclass/events.py: the namespace registered by
the app is this subclass, which adds these handlers to the class's own and ends a guidance
when its trainer or participant leaves.

- `remote_request {session_id, target}`: the trainer asks to guide a trainee's screen.
- `remote_answer {session_id, id, accept}`: that trainee, and only them, consents or refuses.
- `remote_end {session_id}`: the trainee takes their screen back, or the trainer stops.
- `remote_pointer {session_id, x, y, click?}`: the trainer granted, and only them, points
  (x, y: fractions of the screen's width and height) and the room draws it.

Each answers `{ok: true, …}` or `{ok: false, error}` like every class event; the room is told
of each change by a `remote` event, and of the pointer by `remote_pointer`.
"""

from __future__ import annotations

import time
from typing import Any

from flask import request
from flask_socketio import emit

from core.db import utcnow
from core.errors import TooManyAttempts
from core.extensions import db, socketio
from virtualclass import remote, rules
from virtualclass.events import Caller, ClassNamespace, room
from virtualclass.models import RemoteControl
from virtualclass.services import Seat

# A pointer moves often: the page sends at most 20 positions a second; beyond 40 is refused,
# counted on the connection like its chat (rules.ChatBucket: no shared store, no timer thread).
POINTER_PER_S = 40


class ControlledClassNamespace(ClassNamespace):
    """The class's namespace with remote control."""

    def on_remote_request(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._remote_request)

    def _remote_request(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101 - _answer gave the joined seat
        row = remote.request(seat, str(data.get("target") or ""), utcnow())
        db.session.commit()
        return self._tell(row)

    def on_remote_answer(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._remote_answer)

    def _remote_answer(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        row = remote.answer(seat, str(data.get("id") or ""), data.get("accept") is True, utcnow())
        db.session.commit()
        return self._tell(row)

    def on_remote_end(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._remote_end)

    def _remote_end(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        row = remote.end(seat, utcnow())
        db.session.commit()
        return self._tell(row)

    def on_remote_pointer(self, data: Any) -> dict[str, Any]:
        return self._answer(data, self._remote_pointer)

    def _remote_pointer(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        assert seat is not None  # noqa: S101
        now = time.monotonic()
        if caller.pointer is None:
            caller.pointer = rules.ChatBucket(POINTER_PER_S, 1.0, now)
        if not caller.pointer.take(now):
            raise TooManyAttempts("Le pointeur bouge trop vite : ralentissez.")
        point = rules.pointer(data)
        row = remote.granted_to(seat)
        notice = {"session_id": seat.session_id, "owner": row.owner_id, **point}
        emit("remote_pointer", notice, to=room(seat.session_id), include_self=False)
        return point

    # -- a guidance ends when its trainer or its participant leaves the class ----------------

    def on_disconnect(self, reason: Any = None) -> None:
        caller = self.callers.get(str(request.sid))  # type: ignore[attr-defined]
        seats = list(caller.seats.values()) if caller else []
        super().on_disconnect(reason)
        self._end_for_absent([(s.session_id, s.person_id) for s in seats])

    def _leave(self, caller: Caller, data: Any, seat: Seat | None) -> dict[str, Any]:
        answer = super()._leave(caller, data, seat)
        self._end_for_absent([(seat.session_id, seat.person_id)] if seat else [])
        return answer

    def _gone(self, closed: list[tuple[str, str]]) -> None:
        """The sweeper closed a dead process's connections: their guidances end too."""
        super()._gone(closed)
        self._end_for_absent(closed)

    def _end_for_absent(self, people: list[tuple[str, str]]) -> None:
        """(session, person) pairs who left: a guidance they were part of ends."""
        ended = [remote.end_for_absent(session, person, utcnow()) for session, person in people]
        db.session.commit()
        for row in ended:
            if row is not None:
                self._tell(row, broadcast=True)

    def _tell(self, row: RemoteControl, broadcast: bool = False) -> dict[str, Any]:
        notice = remote.notice(row)
        if broadcast:  # outside an event's handler (a disconnection)
            socketio.emit("remote", notice, namespace=self.namespace, to=room(row.session_id))
        else:
            emit("remote", notice, to=room(row.session_id))
        return notice
