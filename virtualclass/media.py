"""Audio, video and screen sharing through Janus (VideoRoom plugin), R16.

Each participant publishes once to the session's room and subscribes to the others: Janus
forwards the streams (an SFU), so 16 participants need 16 uploads, not a mesh of 240. The
service creates the room (a secret only it knows, `allowed` tokens) and grants each
participant access with a token of their own, through Janus's admin API (`add_token`) and
the room's `allowed` list. Browsers talk to Janus with that token only.

Without a configured (or reachable) Janus, the class goes on without media, and the page
says so; a session may name an external conference link (BigBlueButton, Jitsi) instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from typing import Any

from flask import current_app

from attendance.models import TrainingSession
from core.extensions import db
from virtualclass.models import ClassRoom
from virtualclass.services import Seat

PLUGIN = "janus.plugin.videoroom"
TIMEOUT_S = 3.0
NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
log = logging.getLogger(__name__)


class JanusError(Exception):
    """Janus refused a request or did not answer."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def access(session: TrainingSession, seat: Seat) -> dict[str, Any]:
    """What the page needs for media: Janus's address, the room and this person's token, the
    STUN/TURN servers; or why media is unavailable, and the external link if any."""
    cfg = current_app.config
    room = db.session.get(ClassRoom, session.id)
    link = room.conference_url if room else None
    base: dict[str, Any] = {"conference_url": link, "ice_servers": ice_servers()}
    if not cfg["JANUS_URL"]:
        return {**base, "available": False, "reason": "not_configured"}
    try:
        number = ensure_room(session.id, seat)
    except JanusError as error:
        log.warning("Janus unavailable for session %s: %s", session.id, error)
        return {**base, "available": False, "reason": "unreachable"}
    return {
        **base,
        "available": True,
        "server": cfg["JANUS_PUBLIC_URL"] or cfg["JANUS_URL"],
        "room": number,
        "token": participant_token(session.id, seat.person_id),
        "publishers": 17,
    }


def ice_servers() -> list[dict[str, Any]]:
    """STUN and TURN servers for the browsers (CLASS_ICE_URLS; TURN with its credentials)."""
    cfg = current_app.config
    servers: list[dict[str, Any]] = []
    for url in cfg["CLASS_ICE_URLS"]:
        server: dict[str, Any] = {"urls": url}
        if url.startswith(("turn:", "turns:")):
            server["username"] = cfg["CLASS_TURN_USERNAME"]
            server["credential"] = cfg["CLASS_TURN_CREDENTIAL"]
        servers.append(server)
    return servers


def participant_token(session_id: str, person_id: str) -> str:
    """One person's Janus token for one session: derived, so every process gives the same."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"janus:{session_id}:{person_id}".encode(), hashlib.sha256).hexdigest()


def room_number(session_id: str) -> int:
    """The session's VideoRoom number: derived from its id, below 2**53 (JavaScript's safe
    integers), so that every process and every Janus restart names the same room."""
    digest = hashlib.sha256(f"room:{session_id}".encode()).digest()
    return int.from_bytes(digest[:6], "big") + 1


def ensure_room(session_id: str, seat: Seat) -> int:
    """Grant `seat` access to the session's room, creating the room when Janus lacks it."""
    number = room_number(session_id)
    token = participant_token(session_id, seat.person_id)
    janus = Janus.from_config()
    janus.add_token(token)
    with janus.videoroom() as plugin:
        try:
            plugin.allow(number, token)
        except JanusError as error:
            if error.code != NO_SUCH_ROOM:
                raise
            plugin.create(number, f"Séance {session_id}")
            plugin.allow(number, token)
    return number


def release(session_id: str, person_ids: set[str]) -> None:
    """The class ended: its room goes, and the participants' tokens stop opening Janus.
    Best effort: a Janus that is down forgets both when it restarts."""
    if not current_app.config["JANUS_URL"]:
        return
    janus = Janus.from_config()
    try:
        with janus.videoroom() as plugin:
            plugin.destroy(room_number(session_id))
        for person_id in sorted(person_ids):
            janus.remove_token(participant_token(session_id, person_id))
    except JanusError as error:
        log.warning("Janus did not release session %s: %s", session_id, error)


class Janus:
    """A small client of Janus's HTTP API (the server's side: apisecret) and admin API."""

    def __init__(self, url: str, admin_url: str, api_secret: str, admin_secret: str) -> None:
        self.url, self.admin_url = url.rstrip("/"), admin_url.rstrip("/")
        self.api_secret, self.admin_secret = api_secret, admin_secret

    @classmethod
    def from_config(cls) -> Janus:
        cfg = current_app.config
        return cls(
            cfg["JANUS_URL"],
            cfg["JANUS_ADMIN_URL"],
            cfg["JANUS_API_SECRET"],
            cfg["JANUS_ADMIN_SECRET"],
        )

    def call(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(8)}
        request = urllib.request.Request(  # noqa: S310 - a configured http(s) URL
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
                reply: dict[str, Any] = json.loads(answer.read())
        except (OSError, ValueError) as error:
            raise JanusError(f"Janus does not answer at {url}: {error}") from error
        if reply.get("janus") == "error":
            error_body = reply.get("error", {})
            raise JanusError(str(error_body.get("reason")), error_body.get("code"))
        return reply

    def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.api_secret:
            body = {**body, "apisecret": self.api_secret}
        return self.call(f"{self.url}{path}", body)

    def add_token(self, token: str) -> None:
        """Let `token` use the VideoRoom plugin (admin API); an existing token stays."""
        if not self.admin_url:
            return  # Janus without token authentication (a local try)
        body = {"janus": "add_token", "token": token, "plugins": [PLUGIN]}
        try:
            self.call(self.admin_url, {**body, "admin_secret": self.admin_secret})
        except JanusError as error:
            if "already" not in str(error).lower():
                raise

    def remove_token(self, token: str) -> None:
        if self.admin_url:
            body = {"janus": "remove_token", "token": token, "admin_secret": self.admin_secret}
            self.call(self.admin_url, body)

    def videoroom(self) -> VideoRoom:
        return VideoRoom(self)


class VideoRoom:
    """A Janus session attached to the VideoRoom plugin, for the server's requests."""

    def __init__(self, janus: Janus) -> None:
        self.janus = janus
        self.path = ""

    def __enter__(self) -> VideoRoom:
        session = self.janus.api("", {"janus": "create"})["data"]["id"]
        handle = self.janus.api(f"/{session}", {"janus": "attach", "plugin": PLUGIN})
        self.session_path = f"/{session}"
        self.path = f"/{session}/{handle['data']['id']}"
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.janus.api(self.session_path, {"janus": "destroy"})
        except JanusError:
            log.warning("Could not destroy a Janus session; Janus times it out")

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.janus.api(self.path, {"janus": "message", "body": body})
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if data.get("error_code"):
            raise JanusError(str(data.get("error")), int(data["error_code"]))
        return data

    def create(self, number: int, description: str) -> None:
        self.request(
            {
                "request": "create",
                "admin_key": self._secret(),  # the plugin's: browsers cannot create rooms
                "room": number,
                "description": description[:100],
                "secret": self._secret(),
                "publishers": 17,  # 16 trainees and their trainer (R16)
                "is_private": True,
                "allowed": [],
                "bitrate": 512000,
                "audiolevel_event": True,
            }
        )

    def destroy(self, number: int) -> None:
        try:
            self.request({"request": "destroy", "room": number, "secret": self._secret()})
        except JanusError as error:
            if error.code != NO_SUCH_ROOM:
                raise

    def allow(self, number: int, token: str) -> None:
        self.request(
            {
                "request": "allowed",
                "room": number,
                "secret": self._secret(),
                "action": "add",
                "allowed": [token],
            }
        )

    def _secret(self) -> str:
        cfg = current_app.config
        return str(cfg["JANUS_ROOM_SECRET"] or cfg["SECRET_KEY"])
