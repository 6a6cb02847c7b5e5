"""Pooled connections are checked only after sitting idle; a sign-in survives a dead one."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from core.db import ping_after_idle


@pytest.fixture
def engine(tmp_path):  # noqa: ANN001, ANN201
    engine = create_engine(f"sqlite:///{tmp_path}/pool.db")
    ping_after_idle(engine, idle_s=0.2)
    yield engine
    engine.dispose()


def counting_pings(engine: Any, fail: bool = False) -> list[int]:
    pings: list[int] = []

    def ping(dbapi_connection: Any) -> bool:
        pings.append(id(dbapi_connection))
        if fail:
            raise OSError("server closed the connection unexpectedly")
        return True

    engine.dialect.do_ping = ping
    return pings


def raw(connection: Any) -> Any:
    return connection.connection.dbapi_connection


def test_a_connection_in_steady_use_is_not_pinged(engine):
    pings = counting_pings(engine)
    for _ in range(5):
        with engine.connect() as connection:
            assert connection.execute(text("select 1")).scalar() == 1
    assert pings == []


def test_a_connection_idle_for_a_while_is_pinged_before_use(engine):
    pings = counting_pings(engine)
    with engine.connect() as connection:
        first = raw(connection)
    time.sleep(0.25)
    with engine.connect() as connection:
        assert raw(connection) is first
        assert connection.execute(text("select 1")).scalar() == 1
    assert pings == [id(first)]


def test_an_idle_connection_found_dead_is_replaced_before_the_request_uses_it(engine):
    with engine.connect() as connection:
        first = raw(connection)
    time.sleep(0.25)
    pings = counting_pings(engine, fail=True)
    with engine.connect() as connection:  # no error reaches the caller
        assert raw(connection) is not first
        assert connection.execute(text("select 1")).scalar() == 1
    assert pings == [id(first)]


def test_a_connection_dropped_mid_sign_in_is_retried_once_looking_first(app):
    """attendance.web.once: the first try met a connection the database had closed; it runs
    again on a fresh connection, looking first (its commit may have landed)."""
    from attendance.web import once

    calls: list[bool] = []

    def use_case(look_first: bool) -> str:
        calls.append(look_first)
        if len(calls) == 1:
            raise OperationalError("INSERT …", {}, OSError("gone"), connection_invalidated=True)
        return "recorded"

    with app.test_request_context():
        assert once(use_case) == "recorded"
    assert calls == [False, True]


def test_other_database_errors_are_not_retried(app):
    from attendance.web import once

    calls: list[bool] = []

    def use_case(look_first: bool) -> str:
        calls.append(look_first)
        raise OperationalError("INSERT …", {}, OSError("disk full"))

    with app.test_request_context(), pytest.raises(OperationalError):
        once(use_case)
    assert calls == [False]
