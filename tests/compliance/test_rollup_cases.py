"""The dashboards say what billing and the attendance sheet say, in the cases a review found:
a held session nobody closed, a departure signed after the close, an afternoon that never took
place because the session closed in the morning (R7, R11)."""

from __future__ import annotations

from sqlalchemy import select

from attendance.models import TrainingSession
from compliance import rollups
from compliance.models import SessionRollup
from core.extensions import db
from tests.attendance.support import DAY, Clock, at, open_session, plan, tenant_learner
from tests.certificates.billing_support import MONTH, billing_of, hold
from tests.conftest import bearer
from tests.page_support import install_clock


def totals(app, client, tenant):  # noqa: ANN001, ANN201
    answer = client.get(
        "/api/v1/dashboards", query_string={"month": MONTH}, headers=bearer(app, tenant.admin)
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["totals"]


def test_a_held_session_nobody_closed_counts_once_ended_r11(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    amina = tenant_learner(app, tenant_a)
    sid = plan(app, client, tenant_a)
    hold(app, client, tenant_a, clock, sid, [amina])  # never closed
    clock.set(10, 0)  # still running: neither billed nor on the dashboard
    assert billing_of(app, client, tenant_a)["totals"]["billable_minutes"] == 0
    assert totals(app, client, tenant_a)["billable_hours"] == 0
    clock.set(18, 0)  # ended, never closed: billed to its end, and the dashboard says so
    billed = billing_of(app, client, tenant_a)["totals"]["billable_minutes"]
    board = totals(app, client, tenant_a)
    assert billed == 180
    assert board["billable_hours"] == 3
    assert board["realised_hours"] == 3


def test_a_departure_signed_after_the_close_reaches_the_rollup_r7(
    app, client, tenant_a, monkeypatch
):
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    amina = tenant_learner(app, tenant_a)
    sid = plan(app, client, tenant_a, kind="autoformation")
    trainer_h = bearer(app, tenant_a.trainer)
    clock.set(9, 0)
    open_session(client, trainer_h, sid)
    codes = client.post(
        f"/api/v1/sessions/{sid}/sign-in-codes", json={"trainee_ids": [amina.id]}, headers=trainer_h
    )
    code = codes.get_json()[0]["code"]
    assert client.post("/api/v1/sign-ins", json={"code": code}).status_code == 201
    clock.set(11, 0)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200
    clock.set(11, 5)
    assert client.post("/api/v1/sign-outs", json={"code": code}).status_code == 200
    stored = db.session.scalar(select(SessionRollup).where(SessionRollup.session_id == sid))
    fresh = rollups.derive(db.session.get(TrainingSession, sid), clock.now)
    assert stored.realised_minutes == fresh.realised_minutes == 120
    assert totals(app, client, tenant_a)["realised_hours"] == 2


def test_an_afternoon_that_never_took_place_is_no_absence(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    amina = tenant_learner(app, tenant_a)
    sid = plan(app, client, tenant_a, start=(9, 0), end=(16, 0))
    hold(app, client, tenant_a, clock, sid, [amina], close=(11, 30))
    row = db.session.scalar(select(SessionRollup).where(SessionRollup.session_id == sid))
    assert (row.present, row.absent_not_signed) == (1, 0)
    assert totals(app, client, tenant_a)["absences_by_reason"] == {
        "justifiee": 0,
        "non_emarge": 0,
        "non_justifiee": 0,
    }
