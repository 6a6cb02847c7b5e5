"""Exactly once under concurrency: many requests at the same instant, each on its own client and
database connection, never record a signature twice nor leave a gap in the ledger.

50 threads need PostgreSQL (TEST_DATABASE_URL=postgresql…, as in CI); SQLite, one writer at a
time, runs the same tests with 8 threads."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.attendance.support import (
    DAY,
    PARIS,
    at,
    count_rows,
    enrol,
    install_clock,
    open_session,
    plan,
    qr_token,
    rows,
    tenant_learner,
)
from tests.conftest import bearer

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
THREADS = [
    pytest.param(8, id="8-threads"),
    pytest.param(
        50,
        id="50-threads",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not ON_POSTGRES, reason="50 concurrent writers need PostgreSQL"),
        ],
    ),
]


def at_once(app, requests: list[Callable[[Any], Any]]) -> list[tuple[int, dict]]:  # noqa: ANN001
    """Run each request on its own test client and thread, released together by a barrier."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, dict] | BaseException | None] = [None] * len(requests)

    def run(index: int, request: Callable[[Any], Any]) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            response = request(client)
            answers[index] = (response.status_code, response.get_json())
        except BaseException as error:  # noqa: BLE001 - reported below
            answers[index] = error

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    errors = [a for a in answers if isinstance(a, BaseException)]
    assert not errors, errors[:3]
    return answers  # type: ignore[return-value]


@pytest.fixture
def open_session_id(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    sid = plan(app, client, tenant_a)
    open_session(client, bearer(app, tenant_a.trainer), sid)
    clock.set(9, 5)
    return sid


# Entries before the signatures: the tenant's own session's plan; this one's plan and opening.
BEFORE = 3


def ledger_ok(app, client, tenant_a) -> dict:  # noqa: ANN001
    report = client.get("/api/v1/ledger/verify", headers=bearer(app, tenant_a.admin)).get_json()
    assert report["ok"] is True, report
    return report


@pytest.mark.parametrize("threads", THREADS)
def test_exactly_once_the_same_trainee_scanning_from_many_requests_at_once(
    app, client, tenant_a, open_session_id, threads
):
    learner = tenant_learner(app, tenant_a)
    token = qr_token(client, bearer(app, tenant_a.trainer), open_session_id)

    def scan(c):  # noqa: ANN001, ANN202
        return c.post("/api/v1/sign-ins", json={"qr": token}, headers=learner.headers)

    answers = at_once(app, [scan] * threads)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: threads - 1}, [a for a in answers if a[0] not in (200, 201)]
    ids = {body["id"] for _, body in answers}
    assert len(ids) == 1
    assert all(body["already_signed"] is (status == 200) for status, body in answers)
    assert count_rows(open_session_id) == 1
    assert ledger_ok(app, client, tenant_a)["length"] == BEFORE + 1


@pytest.mark.parametrize("threads", THREADS)
def test_exactly_once_the_same_personal_code_typed_at_many_kiosks_at_once(
    app, client, tenant_a, open_session_id, threads
):
    learner = tenant_learner(app, tenant_a)
    issued = client.post(
        f"/api/v1/sessions/{open_session_id}/sign-in-codes",
        json={"trainee_ids": [learner.id]},
        headers=bearer(app, tenant_a.trainer),
    )
    code = issued.get_json()[0]["code"]

    def type_code(c):  # noqa: ANN001, ANN202
        return c.post("/api/v1/sign-ins", json={"code": code})

    answers = at_once(app, [type_code] * threads)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: threads - 1}, [a for a in answers if a[0] not in (200, 201)]
    assert len({body["id"] for _, body in answers}) == 1
    assert count_rows(open_session_id) == 1
    ledger_ok(app, client, tenant_a)


@pytest.mark.parametrize("threads", THREADS)
def test_many_trainees_signing_at_once_are_all_chained_without_gaps(
    app, client, tenant_a, open_session_id, threads
):
    trainer_h = bearer(app, tenant_a.trainer)
    learners = [tenant_learner(app, tenant_a)]
    learners += [enrol(app, client, tenant_a, f"P{n}") for n in range(threads - 1)]
    token = qr_token(client, trainer_h, open_session_id)

    def scanner(headers):  # noqa: ANN001, ANN202
        return lambda c: c.post("/api/v1/sign-ins", json={"qr": token}, headers=headers)

    answers = at_once(app, [scanner(p.headers) for p in learners])
    assert [status for status, _ in answers] == [201] * threads, answers
    assert sorted(body["trainee_id"] for _, body in answers) == sorted(p.id for p in learners)
    stored = rows(open_session_id)
    assert [r["seq"] for r in stored] == list(range(1, threads + 3))  # its plan, its opening
    signed = [r["signer_id"] for r in stored if r["kind"] == "sign_in"]
    assert sorted(signed) == sorted(p.id for p in learners)
    report = ledger_ok(app, client, tenant_a)
    assert report["length"] == BEFORE + threads
    sheet = client.get(
        f"/api/v1/sessions/{open_session_id}/attendance", headers=trainer_h
    ).get_json()
    assert Counter(item["status"] for item in sheet["items"]) == {"present": threads}


@pytest.mark.parametrize("threads", THREADS)
def test_exactly_once_the_same_trainee_signing_out_from_many_requests_at_once(
    app, client, tenant_a, open_session_id, monkeypatch, threads
):
    learner = tenant_learner(app, tenant_a)
    trainer_h = bearer(app, tenant_a.trainer)
    signed = client.post(
        "/api/v1/sign-ins",
        json={"qr": qr_token(client, trainer_h, open_session_id)},
        headers=learner.headers,
    )
    assert signed.status_code == 201
    install_clock(monkeypatch, at(DAY, 10, 30))
    token = qr_token(client, trainer_h, open_session_id)

    def leave(c):  # noqa: ANN001, ANN202
        return c.post("/api/v1/sign-outs", json={"qr": token}, headers=learner.headers)

    answers = at_once(app, [leave] * threads)
    assert [status for status, _ in answers] == [200] * threads, answers
    left_at = at(DAY, 10, 30).astimezone(PARIS).isoformat()
    assert {body["signed_out_at"] for _, body in answers} == {left_at}
    assert count_rows(open_session_id, kind="sign_out") == 1
    assert ledger_ok(app, client, tenant_a)["length"] == BEFORE + 2
