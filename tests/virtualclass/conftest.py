"""Fixtures of the virtual class's tests: one clock for every module, an open tutorat, and
Socket.IO test clients of the namespace `/class` for each person."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from attendance.rules import PARIS
from core.db import utcnow
from core.extensions import db, socketio
from tests.attendance.support import DAY, Clock, at, open_session, plan, tenant_learner
from tests.conftest import Tenant, bearer, paris
from tests.page_support import install_clock
from training.models import Order

NS = "/class"


@pytest.fixture
def clock(monkeypatch):
    """Every module's "now" (API, pages, the class): 08:50 Paris on the test day."""
    return install_clock(monkeypatch, Clock(at(DAY, 8, 50)))


@pytest.fixture
def trainer_h(app, tenant_a):
    return bearer(app, tenant_a.trainer)


@pytest.fixture
def amina(app, tenant_a):
    return tenant_learner(app, tenant_a)


@pytest.fixture
def session_id(app, client, tenant_a, clock, trainer_h):
    """A tutorat 09:00–12:00 (Paris), opened at 08:50; the clock then reads 09:05."""
    sid = plan(app, client, tenant_a)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    return sid


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def connect(app, client, headers: dict[str, str] | None = None, **kw: Any):  # noqa: ANN001, ANN201
    """A Socket.IO client of `/class` with this bearer (or none)."""
    auth = {"token": token_of(headers)} if headers else None
    return socketio.test_client(app, namespace=NS, auth=auth, flask_test_client=client, **kw)


def ask(sock, event: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """Emit an event and answer its acknowledgement."""
    answer = sock.emit(event, body, namespace=NS, callback=True)
    assert isinstance(answer, dict), answer
    return answer


def received(sock, name: str) -> list[dict[str, Any]]:  # noqa: ANN001
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


def joined(app, client, headers, session_id):  # noqa: ANN001, ANN201
    """A client that joined the session's class (and whose inbox is emptied)."""
    sock = connect(app, client, headers)
    assert sock.is_connected(NS)
    answer = ask(sock, "join", {"session_id": session_id})
    assert answer["ok"] is True, answer
    sock.get_received(NS)
    return sock


@pytest.fixture
def now_session(app, client, tenant_a: Tenant) -> str:
    """A tutorat of tenant_a's group running now (real time), opened by its trainer."""
    now = utcnow().astimezone(PARIS)
    if now.hour >= 23 or (now.month, now.day) < (1, 6):
        pytest.skip("needs a session around now inside one Paris day and the order's year")
    db.session.execute(
        update(Order).where(Order.id == tenant_a.order_id).values(end_date=date(now.year, 12, 31))
    )
    db.session.commit()
    start = now - timedelta(minutes=5)
    end = min(now + timedelta(minutes=50), datetime.combine(now.date(), datetime.max.time(), PARIS))
    body = {
        "kind": "tutorat",
        "title": "Tutorat en direct",
        "starts_at": paris(start.date(), start.hour, start.minute),
        "ends_at": paris(end.date(), end.hour, end.minute),
    }
    planned = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/sessions",
        json=body,
        headers=bearer(app, tenant_a.admin),
    )
    assert planned.status_code == 201, planned.get_json()
    session_id = planned.get_json()["id"]
    open_session(client, bearer(app, tenant_a.trainer), session_id)
    return session_id
