"""Fixtures of the émargement tests: a controllable clock, the tenant's trainer and trainee, a
real session's chain of seven entries."""

from __future__ import annotations

import pytest

from tests.attendance.support import (
    DAY,
    Built,
    at,
    enrol,
    install_clock,
    open_session,
    plan,
    qr_token,
    rows,
    sign_in,
    tenant_learner,
)
from tests.conftest import bearer


@pytest.fixture
def clock(monkeypatch):
    """What the routes take for "now": 08:50 (Paris) on the test day, until a test moves it."""
    return install_clock(monkeypatch, at(DAY, 8, 50))


@pytest.fixture
def trainer_h(app, tenant_a):
    return bearer(app, tenant_a.trainer)


@pytest.fixture
def amina(app, tenant_a):
    """tenant_a's trainee, on her bound phone."""
    return tenant_learner(app, tenant_a)


@pytest.fixture
def built(app, client, tenant_a, monkeypatch) -> Built:
    """Plan, open, trainer signature, three trainees sign in, one signs out, close (one
    absence), a correction: ten entries in one session's chain, seven of them people's."""
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    trainer_h = bearer(app, tenant_a.trainer)
    amina = tenant_learner(app, tenant_a)
    bruno, chloe, dora = (enrol(app, client, tenant_a, name) for name in ("Bruno", "Chloé", "Dora"))
    sid = plan(app, client, tenant_a)
    open_session(client, trainer_h, sid)
    clock.set(9, 0)
    signed = client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=trainer_h)
    assert signed.status_code == 201
    for minute, learner in enumerate((amina, bruno, chloe), start=1):
        clock.set(9, minute)
        clock.advance(microseconds=123_457 * minute)  # real clocks have microseconds
        assert sign_in(client, learner, qr_token(client, trainer_h, sid)).status_code == 201
    clock.set(10, 0)
    out = client.post(
        "/api/v1/sign-outs", json={"qr": qr_token(client, trainer_h, sid)}, headers=bruno.headers
    )
    assert out.status_code == 200
    clock.set(11, 0)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200
    clock.set(11, 10)
    corrected = client.post(
        f"/api/v1/sessions/{sid}/corrections",
        json={"trainee_id": dora.id, "action": "mark_present", "reason": "Feuille papier signée"},
        headers=trainer_h,
    )
    assert corrected.status_code == 201
    stored = rows(sid)
    assert [(r["seq"], r["kind"]) for r in stored] == [
        (1, "planned"),
        (2, "opened"),
        (3, "sign_in"),  # the trainer's
        (4, "sign_in"),
        (5, "sign_in"),
        (6, "sign_in"),
        (7, "sign_out"),
        (8, "closed"),
        (9, "absence"),
        (10, "correction"),
    ]
    people = {"Amina": amina.id, "Bruno": bruno.id, "Chloé": chloe.id, "Dora": dora.id}
    return Built(sid, stored, people)
