"""The floor of the virtual class on this machine: the least a `/class` server can do, served
like the real one (issue 11, point 8).

Flask-SocketIO as its documentation shows it: the same version, the same gunicorn gevent worker,
the same Socket.IO settings (allowed origins, packet size) and the same Redis message queue, on
a channel of its own: the service's client manager (core/live.py, publishes from a greenlet in
pipelines), or with BENCH_CLASS_FLOOR_QUEUE=stock Flask-SocketIO's own `message_queue=` (one
Redis round trip inside each emit); BENCH_CLASS_FLOOR_QUEUE=none runs it without Redis (one
process only: FACTS.md's setting). Connect verifies the bearer (PyJWT, HS256,
audience, expiry) once; `join {session_id}` enters the room and answers `{ok: true, …}`;
`chat` re-emits to the room a payload of the service's shape (session, sender's id, name and
kind, text, Paris time, `sent`). No database, no presence, no per-event authorisation, no rate
limit, no sweeper. `gunicorn -k gevent bench.classfloor:app`; what the service costs over it is
the service's own work, what the floor costs is the machine's and the libraries'.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from flask import Flask, request
from flask_socketio import SocketIO, join_room

from core.live import live_events

PARIS = ZoneInfo("Europe/Paris")
SECRET = os.environ.get("JWT_SECRET", "")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "competences-plus-api")
# The service's own settings (core/config.py), read from the same environment.
ORIGINS = os.environ.get("CLASS_ALLOWED_ORIGINS", "").split() or None
MAX_BUFFER = int(os.environ.get("SOCKETIO_MAX_BUFFER_BYTES", 96 * 1024))
CHANNEL = os.environ.get("SOCKETIO_CHANNEL", "flask-socketio") + "-floor"

FLOOR_QUEUE = os.environ.get("BENCH_CLASS_FLOOR_QUEUE", "live")  # live, stock or none
QUEUE = (os.environ.get("REDIS_URL") or None) if FLOOR_QUEUE != "none" else None

app = Flask(__name__)
options: dict[str, Any] = {"channel": CHANNEL}
if QUEUE and FLOOR_QUEUE == "live":
    options = {"client_manager": live_events(QUEUE, write_only=False, channel=CHANNEL)}
socketio = SocketIO(
    app,
    message_queue=QUEUE,
    cors_allowed_origins=ORIGINS,
    max_http_buffer_size=MAX_BUFFER,
    **options,
)
callers: dict[str, dict[str, Any]] = {}  # connection id → the bearer's claims


@app.get("/api/v1/health/live")
def health() -> Any:
    return {"status": "ok"}


@socketio.on("connect", namespace="/class")
def connect(auth: Any = None) -> bool:
    token = auth.get("token") if isinstance(auth, dict) else None
    try:
        claims = jwt.decode(token or "", SECRET, algorithms=["HS256"], audience=AUDIENCE)
    except jwt.InvalidTokenError:
        return False
    callers[request.sid] = claims  # type: ignore[attr-defined]
    return True


@socketio.on("disconnect", namespace="/class")
def disconnect(reason: Any = None) -> None:
    callers.pop(request.sid, None)  # type: ignore[attr-defined]


@socketio.on("join", namespace="/class")
def join(data: Any) -> dict[str, Any]:
    session_id = str(data.get("session_id", "")) if isinstance(data, dict) else ""
    claims = callers.get(request.sid, {})  # type: ignore[attr-defined]
    join_room(f"class:{session_id}")
    you = {"id": claims.get("sub"), "name": claims.get("sub"), "kind": "trainee"}
    return {"ok": True, "session_id": session_id, "you": you, "sid": request.sid}  # type: ignore[attr-defined]


@socketio.on("chat", namespace="/class")
def chat(data: Any) -> dict[str, Any]:
    claims = callers.get(request.sid, {})  # type: ignore[attr-defined]
    session_id = str(data.get("session_id", ""))
    sent = data.get("sent")
    message = {
        "session_id": session_id,
        "from": claims.get("sub"),
        "name": claims.get("sub"),
        "kind": "trainee",
        "text": str(data.get("text", ""))[:2000],
        "at": datetime.now(UTC).astimezone(PARIS).isoformat(),
        "sent": sent if isinstance(sent, int | float) else None,
    }
    socketio.emit("chat", message, namespace="/class", to=f"class:{session_id}")
    return {"ok": True, "at": message["at"]}
