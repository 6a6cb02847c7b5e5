"""Redis away: logins, codes and QR sign-ins keep working (issue 7, defect 4).

Failed attempts are counted in the process meanwhile, with one logged warning; live events
are dropped and logged; `GET /api/v1/health` says what is down. Two ways Redis goes away:
unreachable from the start (the whole app, built by its factory in a child process, on its
own SQLite file with the demo data), and stopping in the middle of a run (a private
redis-server that the test stops and starts again).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core import ratelimit
from core.live import QueuedRedisManager
from tests.conftest import PASSWORD, api_error, make_org, make_user

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- Unreachable from the start: the real app, its real Socket.IO manager --------------------

CHILD = r"""
import json, sys
from sqlalchemy import select
from flask_migrate import upgrade
from attendance import rules
from attendance.models import Signature, TrainingSession
from core import create_app
from core.auth import Principal
from core.db import utcnow
from demo import PASSWORD, STAFF, load_demo
from core.extensions import db, socketio
from core.models import Role, Trainee, User
from core.services import issue_invitation
from training.models import Enrolment

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1]})
out = {"manager": type(socketio.server.manager).__name__}
with app.app_context():
    upgrade()
    load_demo()
    # The session that can be opened now: the demo's "(en cours)" one, or the demo week's own
    # session running at this hour (the demo then plans no other), whatever the time of day.
    now = utcnow()
    running = next(
        s for s in db.session.scalars(select(TrainingSession).order_by(TrainingSession.starts_at))
        if rules.signing_opens_at(s.starts_at, 15) <= now < s.ends_at
    )
    trainee = db.session.get(Trainee, db.session.scalar(
        select(Enrolment.trainee_id).where(Enrolment.group_id == running.group_id)
    ))
    client = app.test_client()
    login = client.post(
        "/api/v1/auth/login", json={"email": STAFF["trainer"][0], "password": PASSWORD}
    )
    out["login"] = login.status_code
    h = {"Authorization": "Bearer " + login.get_json()["access_token"]}
    out["open"] = client.post(f"/api/v1/sessions/{running.id}/open", headers=h).status_code
    codes = client.post(
        f"/api/v1/sessions/{running.id}/sign-in-codes",
        json={"trainee_ids": [trainee.id]},
        headers=h,
    )
    out["codes"] = codes.status_code
    signed = client.post("/api/v1/sign-ins", json={"code": codes.get_json()[0]["code"]})
    out["code_sign_in"] = signed.status_code
    signed = select(Signature.id).where(Signature.kind == "sign_in")
    out["rows"] = len(db.session.scalars(signed.where(Signature.signer_kind == "trainee")).all())
    # A phone bound to the trainee scans a QR of ten windows ago.
    admin_id = db.session.scalar(select(User.id).where(User.email == STAFF["admin"][0]))
    admin = Principal(admin_id, Role.ORG_ADMIN, trainee.organisation_id, None, "Admin")
    issued = issue_invitation(
        admin, trainee, now=utcnow(), ttl_s=3600, secret_key=app.config["SECRET_KEY"]
    )
    db.session.commit()
    bound = client.post("/api/v1/auth/trainee", json={"code": issued.code})
    out["bind"] = bound.status_code
    phone = {"Authorization": "Bearer " + bound.get_json()["access_token"]}
    key = bytes.fromhex(db.session.get(TrainingSession, running.id).qr_key)
    old = rules.qr_window(utcnow().timestamp(), app.config["QR_ROTATE_S"]) - 10
    expired = rules.make_qr_token(running.id, old, key)
    answer = client.post("/api/v1/sign-ins", json={"qr": expired}, headers=phone)
    out["expired_qr"] = answer.status_code
    out["wrong_codes"] = [
        client.post("/api/v1/sign-ins", json={"code": f"ZZZZ-ZZ{n:02d}"}).status_code
        for n in range(11)
    ]
    health = client.get("/api/v1/health")
    out["health"] = [health.status_code, health.get_json()]
print("RESULT " + json.dumps(out))
"""


def test_with_redis_unreachable_logins_codes_and_qr_answer_as_usual(tmp_path):
    """REDIS_URL on a closed port: the right password logs in (was 500), a personal code signs
    (was 500, nothing stored), an expired QR is 410 (was 500), wrong codes still reach 429, and
    the health report says Redis is down."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "REDIS_URL": dead,
        "INSTANCE_PATH": str(tmp_path),
        "PUBLIC_BASE_URL": "http://localhost",
    }
    env.pop("SOCKETIO_WRITE_ONLY", None)
    child = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, f"sqlite:///{tmp_path}/app.db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, child.stderr[-3000:]
    out = json.loads(lines[-1].removeprefix("RESULT "))
    # the real message queue (RedisManager, publishing from a thread), not the in-memory one
    assert out["manager"] == "QueuedRedisManager"
    assert (out["login"], out["open"], out["codes"], out["code_sign_in"]) == (200, 200, 201, 201)
    assert out["rows"] == 1  # the code's signature is stored
    assert out["bind"] == 200
    assert out["expired_qr"] == 410
    assert out["wrong_codes"] == [400] * 10 + [429]  # counted in the process: the limit holds
    status, body = out["health"]
    assert status == 200
    assert (body["status"], body["database"], body["redis"]) == ("degraded", "ok", "down")
    assert (body["failed_attempts"], body["live_events"]) == ("memory", "dropped")
    assert "Redis ne répond pas" in body["message"]
    assert child.stderr.count("Redis unreachable for failed-attempt counters") == 1
    assert "Cannot publish 1 live event(s) to Redis" in child.stderr  # dropped and logged


# --- Stopping in the middle of a run ------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path) -> Iterator[dict]:
    """A redis-server of this test's own, on a free port, that the test stops and restarts."""
    if REDIS_SERVER is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs redis-server to test Redis stopping mid-run")
        pytest.skip("redis-server is not installed")
    port = free_port()
    server: dict = {"url": f"redis://127.0.0.1:{port}/0", "process": None}

    def start() -> None:
        server["process"] = subprocess.Popen(  # noqa: S603
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(server["url"], socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        server["process"].terminate()
        server["process"].wait(timeout=10)

    server.update(start=start, stop=stop)
    start()
    yield server
    if server["process"].poll() is None:
        stop()


@pytest.fixture
def redis_limits(app, private_redis, monkeypatch) -> Iterator[ratelimit.ResilientLimiter]:
    """The app's failed-attempt counters in the private Redis, tried again 0.2 s after a loss."""
    limiter = ratelimit.ResilientLimiter(private_redis["url"], retry_s=0.2)
    monkeypatch.setitem(app.extensions, "failure_limits", limiter)
    monkeypatch.setitem(app.config, "REDIS_URL", private_redis["url"])
    app.extensions.pop("health_redis", None)
    yield limiter
    app.extensions.pop("health_redis", None)


def failed_logins(client, email: str, count: int) -> list[int]:  # noqa: ANN001
    body = {"email": email, "password": "not the password"}
    return [client.post("/api/v1/auth/login", json=body).status_code for _ in range(count)]


def test_redis_stopping_mid_run_keeps_logins_working_and_counting(
    app, client, private_redis, redis_limits, caplog
):
    staff = make_user("org_admin", make_org())
    good = {"email": staff.email, "password": PASSWORD}
    shared = redis.Redis.from_url(private_redis["url"])
    assert failed_logins(client, staff.email, 3) == [401] * 3
    assert shared.keys("LIMITS*"), "counted in Redis while it answers"
    assert client.get("/api/v1/health").get_json()["redis"] == "ok"

    private_redis["stop"]()
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        assert client.post("/api/v1/auth/login", json=good).status_code == 200
        assert failed_logins(client, staff.email, 10) == [401] * 10  # counted in the process
        api_error(client.post("/api/v1/auth/login", json=good), 429, "too_many_attempts")
    warnings = [r.getMessage() for r in caplog.records if r.name == "core.ratelimit"]
    assert len(warnings) == 1
    assert "counting in this process" in warnings[0]
    health = client.get("/api/v1/health").get_json()
    assert (health["status"], health["redis"], health["failed_attempts"]) == (
        "degraded",
        "down",
        "memory",
    )

    private_redis["start"]()
    time.sleep(0.25)  # the retry delay: the next count goes to Redis again (3 there so far)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        assert client.post("/api/v1/auth/login", json=good).status_code == 200
        assert failed_logins(client, staff.email, 1) == [401]
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert redis.Redis.from_url(private_redis["url"]).keys("LIMITS*")
    health = client.get("/api/v1/health").get_json()
    assert (health["status"], health["redis"], health["failed_attempts"]) == ("ok", "ok", "redis")


def test_live_events_are_dropped_and_logged_while_redis_is_stopped_then_flow_again(
    private_redis, caplog
):
    manager = QueuedRedisManager(
        private_redis["url"], channel="mid-run", redis_options={"socket_connect_timeout": 0.2}
    )

    def event(n: int) -> None:
        manager.emit("signature", {"n": n}, namespace="/live", room="session:s1")

    event(1)
    assert manager.flush()
    private_redis["stop"]()
    with caplog.at_level(logging.ERROR):
        started = time.monotonic()
        event(2)
        assert time.monotonic() - started < 0.1  # the request never waits for Redis
        assert manager.flush(timeout_s=5.0)
    assert any("dropped" in r.getMessage() for r in caplog.records)
    private_redis["start"]()
    listener = redis.Redis.from_url(private_redis["url"]).pubsub(ignore_subscribe_messages=True)
    listener.subscribe("mid-run")
    listener.get_message(timeout=1.0)
    event(3)
    assert manager.flush()
    message = None
    for _ in range(25):
        message = listener.get_message(timeout=0.2)
        if message:
            break
    assert message is not None
    assert json.loads(message["data"])["data"] == [{"n": 3}]
