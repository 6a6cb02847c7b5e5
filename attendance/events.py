"""Socket.IO namespace `/live`: the trainer's session page receives each signature as it lands.

`before_request` does not run for Socket.IO events, so each handler authorises by itself.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import Namespace, join_room, leave_room

from attendance.services import get_session
from core.auth import Principal, principal_from_socket, still_valid
from core.errors import DomainError
from core.models import Role

WATCHERS = (Role.TRAINER, Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION)
# Who reads a session's help requests (R8; compliance.help.visible_requests): not the site's
# staff, who watch the signatures of a session held at their site but not what trainees ask.
HELP_READERS = (Role.TRAINER, Role.ORG_ADMIN, Role.REGION)


def room(session_id: str) -> str:
    return f"session:{session_id}"


def help_room(session_id: str) -> str:
    """The room told of the session's help requests: its watchers who may read them."""
    return f"help:{session_id}"


class LiveNamespace(Namespace):
    """Staff watch a session's room; the server emits `signature` and `closed` events there."""

    def __init__(self, namespace: str = "/live") -> None:
        super().__init__(namespace)
        self.principals: dict[str, Principal] = {}

    def on_connect(self, auth: dict[str, Any] | None = None) -> bool:
        principal = principal_from_socket(auth)
        if principal is None or principal.role not in WATCHERS:
            return False  # refused: the client sees connect_error
        self.principals[request.sid] = principal  # type: ignore[attr-defined]
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        self.principals.pop(request.sid, None)  # type: ignore[attr-defined]

    def on_join(self, data: dict[str, Any]) -> dict[str, Any]:
        """Join the room of one visible session; answers {ok} or {error} as acknowledgement."""
        known = self.principals.get(request.sid)  # type: ignore[attr-defined]
        session_id = str((data or {}).get("session_id", ""))
        principal = still_valid(known) if known else None  # deactivated since?
        if principal is None:
            return {"ok": False, "error": "not_authenticated"}
        try:
            get_session(principal, session_id)
        except DomainError as error:
            return {"ok": False, "error": error.code}
        try:
            join_room(room(session_id))
            if principal.has_role(*HELP_READERS):
                join_room(help_room(session_id))
        except ValueError:  # the client left while its join was being checked
            return {"ok": False, "error": "disconnected"}
        return {"ok": True, "session_id": session_id}

    def on_leave(self, data: dict[str, Any]) -> None:
        session_id = str((data or {}).get("session_id", ""))
        leave_room(room(session_id))
        leave_room(help_room(session_id))
