"""More than one process (issue 11, point 6): two real Socket.IO servers (gunicorn) share the
class's rooms through Redis (Flask-SocketIO's message queue). A trainer on one and a trainee
on the other see each other's presence, chat, and the presence check and its answer, which
signs the trainee in (`virtual_class`). Pages of another origin are refused. Real time here:
the session is planned around now."""

from __future__ import annotations

import os
import queue
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import socketio as sio

from bench.server import Server
from core.extensions import db
from tests.attendance.support import rows, tenant_learner
from tests.conftest import TEST_JWT_SECRET, TEST_SECRET, bearer
from tests.virtualclass.conftest import NS, token_of

TIMEOUT_S = 10


class Person:
    """A python-socketio client of one server, collecting the events it receives."""

    def __init__(self, url: str, authorization: dict[str, str], **options: Any) -> None:
        self.client = sio.Client(reconnection=False)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        for name in (
            "presence",
            "chat",
            "presence_check",
            "presence_ack",
            "remote",
            "remote_pointer",
        ):
            self.client.on(name, self._keeper(name), namespace=NS)
        self.client.connect(
            url,
            namespaces=[NS],
            auth={"token": token_of(authorization)},
            transports=["polling"],
            wait_timeout=TIMEOUT_S,
            **options,
        )

    def _keeper(self, name: str) -> Any:
        return lambda data: self.events.put((name, data))

    def ask(self, event: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.call(event, body, namespace=NS, timeout=TIMEOUT_S)
        return answer

    def wait_for(self, name: str, matches: Any = lambda data: True) -> Any:
        """The first `name` event that `matches`, within TIMEOUT_S."""
        while True:
            got, data = self.events.get(timeout=TIMEOUT_S)
            if got == name and matches(data):
                return data


@pytest.fixture
def servers(app, redis_url) -> Iterator[tuple[Server, Server]]:
    """Two gunicorn processes of the app (one threaded worker each), on the same database
    and Redis, with a pub/sub channel of this run's own."""
    env = {
        "APP_ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "JWT_SECRET": TEST_JWT_SECRET,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "SOCKETIO_CHANNEL": f"class-test-{secrets.token_hex(4)}",
        "PYTHONPATH": os.getcwd(),
    }
    with (
        Server(env, workers=1, worker_class="gthread", threads=40) as one,
        Server(env, workers=1, worker_class="gthread", threads=40) as two,
    ):
        yield one, two


@pytest.fixture
def pair(app, tenant_a, servers, now_session) -> Iterator[tuple[Person, Person, Any]]:
    """The trainer joined on server one, Amina on server two."""
    one, two = servers
    amina = tenant_learner(app, tenant_a)
    trainer = Person(one.url, bearer(app, tenant_a.trainer))
    trainee = Person(two.url, amina.headers)
    try:
        assert trainer.ask("join", {"session_id": now_session})["ok"] is True
        assert trainee.ask("join", {"session_id": now_session})["ok"] is True
        yield trainer, trainee, amina
    finally:
        for person in (trainer, trainee):
            person.client.disconnect()


def test_two_processes_share_presence_chat_and_presence_checks(pair, now_session):
    trainer, trainee, amina = pair
    # Presence: the trainer (server one) sees the trainee who joined on server two.
    seen = trainer.wait_for("presence", lambda d: {p["id"] for p in d["people"]} >= {amina.id})
    assert {p["kind"] for p in seen["people"]} == {"trainer", "trainee"}
    # Chat crosses both ways.
    assert trainee.ask("chat", {"session_id": now_session, "text": "Bonjour !"})["ok"]
    assert trainer.wait_for("chat")["text"] == "Bonjour !"
    assert trainer.ask("chat", {"session_id": now_session, "text": "Bienvenue"})["ok"]
    assert trainee.wait_for("chat", lambda d: d["from"] != amina.id)["text"] == "Bienvenue"
    # The presence check launched on one reaches the trainee on two; the answer signs.
    check = trainer.ask("presence_check", {"session_id": now_session})
    assert check["ok"] is True
    notice = trainee.wait_for("presence_check")
    assert notice["check_id"] == check["check_id"]
    answer = trainee.ask(
        "presence_ack", {"session_id": now_session, "check_id": notice["check_id"]}
    )
    assert answer["ok"] is True, answer
    assert trainer.wait_for("presence_ack")["id"] == amina.id
    db.session.rollback()
    signed = [r for r in rows(now_session) if r["signer_id"] == amina.id]
    assert [(r["kind"], r["method"]) for r in signed] == [("sign_in", "virtual_class")]
    # Leaving on two is seen on one.
    trainee.client.disconnect()
    trainer.wait_for("presence", lambda d: amina.id not in {p["id"] for p in d["people"]})


def test_remote_control_crosses_processes_r16(pair, now_session):
    """The trainer on one asks, the trainee on two consents, the pointer crosses, the
    trainee takes the screen back: the grant is read from the database by either process."""
    trainer, trainee, amina = pair
    asked = trainer.ask("remote_request", {"session_id": now_session, "target": amina.id})
    assert asked["ok"] is True, asked
    assert trainee.wait_for("remote")["state"] == "requested"
    consent = {"session_id": now_session, "id": asked["id"], "accept": True}
    assert trainee.ask("remote_answer", consent)["state"] == "granted"
    assert trainer.wait_for("remote", lambda d: d["state"] == "granted")["id"] == asked["id"]
    point = {"session_id": now_session, "x": 0.2, "y": 0.7, "click": True}
    assert trainer.ask("remote_pointer", point)["ok"] is True
    seen = trainee.wait_for("remote_pointer")
    assert (seen["owner"], seen["x"], seen["y"], seen["click"]) == (amina.id, 0.2, 0.7, True)
    assert trainee.ask("remote_end", {"session_id": now_session})["state"] == "ended"
    assert trainer.wait_for("remote", lambda d: d["state"] == "ended")["by"] == amina.id
    refused = trainer.ask("remote_pointer", point)
    assert refused["error"]["code"] == "remote_control_not_granted"


def test_a_page_of_another_origin_is_refused(app, tenant_a, servers):
    one, _ = servers
    with pytest.raises(sio.exceptions.ConnectionError):
        Person(one.url, bearer(app, tenant_a.trainer), headers={"Origin": "https://evil.example"})
    same = Person(one.url, bearer(app, tenant_a.trainer), headers={"Origin": one.url})
    assert same.client.connected
    same.client.disconnect()
