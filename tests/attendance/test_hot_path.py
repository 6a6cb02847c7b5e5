"""The QR sign-in's database work: what it sends, and that its shortcuts keep exactly-once.

On PostgreSQL a QR scan is two statements in autocommit (the facts query, then the ledger
append as one atomic statement); when the head moved in between, it runs again in a
transaction. On SQLite it is the same use case in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event

from attendance import credentials
from tests.attendance.support import count_rows, enrol, open_session, plan, qr_token, rows, sign_in
from tests.conftest import bearer


@pytest.fixture
def session_id(app, client, tenant_a, clock, trainer_h):  # noqa: ANN001, ANN201
    sid = plan(app, client, tenant_a)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    return sid


def elsewhere(request: Callable[[], Any]) -> int:
    """Another request, served meanwhile by another worker (its own thread, app context and
    database session); its status."""
    answers: list[int] = []
    worker = threading.Thread(target=lambda: answers.append(request().status_code))
    worker.start()
    worker.join(timeout=30)
    return answers[0]


def as_in_production(db) -> None:  # noqa: ANN001
    """Each request of a server starts with a new database session; the tests' app context
    keeps one across requests (in a transaction after a GET): end it, as a server would."""
    db.session.remove()


@pytest.fixture
def wire(db) -> Iterator[list[tuple[str, bool]]]:  # noqa: ANN001
    """What reaches the database: each statement's verb, and whether the driver connection
    was in autocommit (no BEGIN, no COMMIT: the statement commits by itself)."""
    seen: list[tuple[str, bool]] = []

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        driver = conn.connection.dbapi_connection
        autocommit = bool(getattr(driver, "autocommit", False))
        seen.append((sql.split(None, 1)[0].upper(), autocommit))

    event.listen(db.engine, "before_cursor_execute", statement)
    yield seen
    event.remove(db.engine, "before_cursor_execute", statement)


def test_a_qr_sign_in_is_two_statements_and_on_postgresql_no_transaction(
    db, client, session_id, trainer_h, amina, wire
):
    token = qr_token(client, trainer_h, session_id)
    as_in_production(db)
    wire.clear()
    answer = sign_in(client, amina, token)
    assert answer.status_code == 201, answer.get_json()
    if db.engine.dialect.name == "postgresql":
        # The facts, then compare-and-set + insert as one statement, each committing itself.
        assert wire == [("SELECT", True), ("WITH", True)]
    else:
        assert wire == [("SELECT", False), ("UPDATE", False), ("INSERT", False)]
    assert count_rows(session_id) == 1
    # The connection goes back to the pool as it came: the next request has transactions.
    wire.clear()
    client.get(f"/api/v1/sessions/{session_id}/attendance", headers=trainer_h)
    assert wire
    assert not any(autocommit for _, autocommit in wire)


def test_a_head_moved_meanwhile_is_appended_after_it_in_a_transaction(
    app, db, client, tenant_a, session_id, trainer_h, amina, wire, monkeypatch
):
    """Another trainee signed between this request's facts query and its append: the
    compare-and-set refuses, and the scan is recorded after hers (seq 2), chain intact."""
    other = enrol(app, client, tenant_a, "Bea")
    token = qr_token(client, trainer_h, session_id)
    real, calls = credentials.load_facts, []

    def stale_first(session_id: str, trainee_id: str, *args: Any) -> Any:
        facts = real(session_id, trainee_id, *args)
        if trainee_id != amina.id:
            return facts
        calls.append(facts.chain_length)
        if len(calls) == 1:  # as read before the other trainee's append landed
            assert elsewhere(lambda: sign_in(app.test_client(), other, token)) == 201
        return facts

    monkeypatch.setattr(credentials, "load_facts", stale_first)
    as_in_production(db)
    wire.clear()
    answer = sign_in(client, amina, token)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["already_signed"] is False
    if db.engine.dialect.name == "postgresql":  # read again, and appended in a transaction
        assert calls == [2, 3]  # chain lengths read: its plan and opening, then Bea's sign-in
        assert [verb for verb, autocommit in wire if not autocommit][-2:] == ["SELECT", "WITH"]
    stored = rows(session_id)  # after the session's plan (1) and its opening (2)
    assert [(r["seq"], r["signer_id"]) for r in stored[2:]] == [(3, other.id), (4, amina.id)]
    assert stored[3]["prev_hash"] == stored[2]["hash"]
    verify = client.get("/api/v1/ledger/verify", headers=bearer(app, tenant_a.admin))
    assert verify.get_json()["ok"] is True


def test_a_session_closed_meanwhile_records_nothing(
    app, db, client, tenant_a, session_id, trainer_h, amina, monkeypatch
):
    """The facts said open; the trainer closed the session before the append: 409, no row
    (the compare-and-set also checks the status)."""
    token = qr_token(client, trainer_h, session_id)
    real, calls = credentials.load_facts, []

    def open_then_closed(session_id: str, trainee_id: str, *args: Any) -> Any:
        facts = real(session_id, trainee_id, *args)
        calls.append(facts.status)
        if len(calls) == 1:
            close = app.test_client().post
            url = f"/api/v1/sessions/{session_id}/close"
            assert elsewhere(lambda: close(url, headers=trainer_h)) == 200
            return replace(facts, status="open")  # as read before the close landed
        return facts

    monkeypatch.setattr(credentials, "load_facts", open_then_closed)
    as_in_production(db)
    answer = sign_in(client, amina, token)
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["error"]["code"] == "session_not_open"
    assert count_rows(session_id, kind="sign_in", signer_id=amina.id) == 0
