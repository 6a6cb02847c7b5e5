"""Plan submissions through the API: the checks with their rules, the deadline, the Région's
decision, changes since validation, and who may see what (CCTP §3.3; R5, R12, R13, R21, R22)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from compliance.models import PlanSubmission
from core.extensions import db
from core.models import Role
from tests.compliance.support import IN_TIME, LATE, WEEK, add_session, on_day, submit
from tests.conftest import ORDER_START, api_error, bearer, make_user, paris


def rules_of(flags: list[dict]) -> set[tuple[str | None, str]]:
    return {(f["rule"], f["code"]) for f in flags}


def test_a_plan_in_time_and_within_the_rules_has_no_flag(app, client, tenant_a, monkeypatch):
    on_day(monkeypatch, IN_TIME)
    body = submit(app, client, tenant_a)
    assert body["status"] == "submitted"
    assert body["number"] == 1
    assert body["late"] is False
    assert body["flags"] == []
    assert [s["id"] for s in body["sessions"]] == [tenant_a.session_id]
    assert body["typical_week"] == {"tutorat": 6.0, "autoformation": 2.0, "regroupement": 0.0}


def test_a_late_plan_is_flagged_not_refused(app, client, tenant_a, monkeypatch):
    """CCTP §3.3: 15 days before the start; later, the plan is accepted and flagged late."""
    on_day(monkeypatch, LATE)
    body = submit(app, client, tenant_a)
    assert body["late"] is True
    assert body["flags"][0]["code"] == "late_submission"
    assert f"{ORDER_START - timedelta(days=15):%d/%m/%Y}" in body["flags"][0]["message"]


def test_flags_name_their_rules(app, client, tenant_a, monkeypatch):
    """R21 (job-search module), R5 (components over the order), R22 (closure), R13 (typical
    week) and R12 (its synchronous share) at submission, each with its rule id."""
    on_day(monkeypatch, IN_TIME)
    start = ORDER_START + timedelta(days=30)
    body = submit(
        app,
        client,
        tenant_a,
        component_kind="tre",
        component_hours=120,
        typical_week={"tutorat": 1, "autoformation": 9, "regroupement": 0},
        closures=[{"start": start.isoformat(), "end": (start + timedelta(days=20)).isoformat()}],
    )
    assert rules_of(body["flags"]) == {
        ("R21", "job_search_too_short"),
        ("R5", "components_over_order"),
        ("R22", "closure_too_long"),
        ("R12", "typical_week_synchronous_share"),
    }
    assert all(f["message"] and f["level"] == "flag" for f in body["flags"])


def test_the_checks_follow_every_edit_of_the_plan(app, client, tenant_a, monkeypatch):
    """An autoformation session added after the submission shows at once in the plan checks
    (R12: synchronous share under the order's 50 %)."""
    on_day(monkeypatch, IN_TIME)
    submit(app, client, tenant_a)
    h = bearer(app, tenant_a.admin)
    checks = client.get(f"/api/v1/groups/{tenant_a.group_id}/plan-checks", headers=h).get_json()
    assert checks["flags"] == []
    day = ORDER_START + timedelta(days=4)
    add_session(client, h, tenant_a.group_id, day, (9, 0), (13, 0), kind="autoformation")
    checks = client.get(f"/api/v1/groups/{tenant_a.group_id}/plan-checks", headers=h).get_json()
    assert rules_of(checks["flags"]) == {("R12", "synchronous_share_too_low")}
    assert "43 %" in checks["flags"][0]["message"]  # 3 h of 7


def test_the_region_validates_then_changes_are_listed(app, client, tenant_a, region, monkeypatch):
    on_day(monkeypatch, IN_TIME)
    submitted = submit(app, client, tenant_a)
    region_h, admin_h = bearer(app, region), bearer(app, tenant_a.admin)
    url = f"/api/v1/plan-submissions/{submitted['id']}/decision"
    decided = client.post(url, json={"decision": "validated"}, headers=region_h)
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "validated"
    assert decided.get_json()["changes"] == []
    again = client.post(
        url, json={"decision": "postponed", "reason": "Trop tard"}, headers=region_h
    )
    api_error(again, 409, "plan_already_decided")
    day = ORDER_START + timedelta(days=5)
    added = add_session(client, admin_h, tenant_a.group_id, day, (9, 0), (11, 0))
    moved = client.patch(
        f"/api/v1/sessions/{tenant_a.session_id}",
        headers=admin_h,
        json={"ends_at": paris(ORDER_START + timedelta(days=3), 11)},
    )
    assert moved.status_code == 200, moved.get_json()
    detail = client.get(f"/api/v1/plan-submissions/{submitted['id']}", headers=admin_h).get_json()
    changes = {(c["change"], c["session"]["id"]): c for c in detail["changes"]}
    assert set(changes) == {("changed", tenant_a.session_id), ("added", added["id"])}
    assert changes[("changed", tenant_a.session_id)]["fields"] == ["ends_at"]
    checks = client.get(f"/api/v1/groups/{tenant_a.group_id}/plan-checks", headers=admin_h)
    assert checks.get_json()["validated_submission_id"] == submitted["id"]
    assert len(checks.get_json()["changes"]) == 2


def test_a_postponement_needs_its_reason(app, client, tenant_a, region, monkeypatch):
    on_day(monkeypatch, IN_TIME)
    submitted = submit(app, client, tenant_a)
    url = f"/api/v1/plan-submissions/{submitted['id']}/decision"
    region_h = bearer(app, region)
    api_error(
        client.post(url, json={"decision": "postponed"}, headers=region_h), 400, "reason_required"
    )
    assert db.session.get(PlanSubmission, submitted["id"]).status == "submitted"
    reason = "Semaine type à revoir : trop peu de tutorat."
    decided = client.post(url, json={"decision": "postponed", "reason": reason}, headers=region_h)
    assert decided.get_json()["status"] == "postponed"
    assert decided.get_json()["decision_reason"] == reason


def test_a_new_submission_replaces_the_undecided_one(app, client, tenant_a, monkeypatch):
    on_day(monkeypatch, IN_TIME)
    first = submit(app, client, tenant_a)
    second = submit(app, client, tenant_a, component_hours=80)
    assert second["number"] == 2
    listed = client.get(
        f"/api/v1/groups/{tenant_a.group_id}/plan-submissions", headers=bearer(app, tenant_a.admin)
    ).get_json()["items"]
    assert [(s["id"], s["status"]) for s in listed] == [
        (second["id"], "submitted"),
        (first["id"], "replaced"),
    ]


def test_bad_input_changes_nothing(app, client, tenant_a, monkeypatch):
    on_day(monkeypatch, IN_TIME)
    h = bearer(app, tenant_a.admin)
    url = f"/api/v1/groups/{tenant_a.group_id}/plan-submissions"
    for body in (
        {"component_kind": "formation", "component_hours": 10},
        {
            "typical_week": {**WEEK, "tutorat": -1},
            "component_kind": "formation",
            "component_hours": 1,
        },
        {"typical_week": WEEK, "component_kind": "sport", "component_hours": 1},
    ):
        api_error(client.post(url, json=body, headers=h), 400)
    inverted = {"start": "2026-08-10", "end": "2026-08-01"}
    body = {
        "typical_week": WEEK,
        "component_kind": "formation",
        "component_hours": 1,
        "closures": [inverted],
    }
    api_error(client.post(url, json=body, headers=h), 400, "invalid_closure")
    assert db.session.query(PlanSubmission).count() == 0


def test_no_one_sees_another_organisations_plans(
    app, client, tenant_a, tenant_b, region, monkeypatch
):
    on_day(monkeypatch, IN_TIME)
    submitted = submit(app, client, tenant_a)
    b_h = bearer(app, tenant_b.admin)
    api_error(client.get(f"/api/v1/groups/{tenant_a.group_id}/plan-checks", headers=b_h), 404)
    api_error(client.get(f"/api/v1/plan-submissions/{submitted['id']}", headers=b_h), 404)
    api_error(client.get(f"/api/v1/groups/{tenant_a.group_id}/plan-submissions", headers=b_h), 404)
    body = {"typical_week": WEEK, "component_kind": "formation", "component_hours": 1}
    api_error(
        client.post(f"/api/v1/groups/{tenant_a.group_id}/plan-submissions", json=body, headers=b_h),
        404,
    )
    assert client.get("/api/v1/plan-submissions", headers=b_h).get_json()["items"] == []
    every = client.get("/api/v1/plan-submissions?status=submitted", headers=bearer(app, region))
    assert [s["id"] for s in every.get_json()["items"]] == [submitted["id"]]
    decision = {"decision": "validated"}
    url = f"/api/v1/plan-submissions/{submitted['id']}/decision"
    api_error(client.post(url, json=decision, headers=bearer(app, tenant_a.admin)), 403)


@pytest.mark.parametrize("role", ["trainer", "finance"])
def test_trainers_and_finance_do_not_read_plans(app, client, tenant_a, role):
    user = tenant_a.trainer if role == "trainer" else tenant_a.finance
    api_error(
        client.get(f"/api/v1/groups/{tenant_a.group_id}/plan-checks", headers=bearer(app, user)),
        403,
    )


def test_site_staff_cannot_submit(app, client, tenant_a):
    staff = make_user(Role.SITE_STAFF)
    body = {"typical_week": WEEK, "component_kind": "formation", "component_hours": 1}
    url = f"/api/v1/groups/{tenant_a.group_id}/plan-submissions"
    api_error(client.post(url, json=body, headers=bearer(app, staff)), 403)


def test_a_trainees_week_counts_every_group(app, client, tenant_a, monkeypatch):
    """CCTP §3.1.2 and §3.1.5.2: the trainee of group A also follows group B; 37.5 h in one week
    across both groups, and a night of 10 h 30 between two days, are flagged by name."""
    on_day(monkeypatch, IN_TIME)
    h = bearer(app, tenant_a.admin)
    other = client.post(
        f"/api/v1/orders/{tenant_a.order_id}/groups",
        headers=h,
        json={"name": "Groupe B", "component": "Bureautique", "trainer_ids": [tenant_a.trainer.id]},
    ).get_json()
    enrolled = client.post(
        f"/api/v1/groups/{other['id']}/enrolments",
        headers=h,
        json={
            "trainee_id": tenant_a.trainee.id,
            "entry_date": ORDER_START.isoformat(),
            "planned_centre_hours": 50,
        },
    )
    assert enrolled.status_code == 201, enrolled.get_json()
    monday = ORDER_START + timedelta(days=7 - ORDER_START.weekday())
    days = [
        (tenant_a.group_id, 0, 8),
        (tenant_a.group_id, 1, 8),
        (tenant_a.group_id, 2, 8),
        (other["id"], 3, 8),
        (other["id"], 4, 8),
    ]
    for group_id, offset, start in days:
        add_session(client, h, group_id, monday + timedelta(days=offset), (start, 0), (15, 30))
    add_session(client, h, other["id"], monday + timedelta(days=2), (19, 0), (21, 30))
    body = submit(app, client, tenant_a)
    flags = {f["code"]: f for f in body["flags"]}
    name = f"{tenant_a.trainee.first_name} {tenant_a.trainee.last_name}"
    assert name in flags["week_over_35h"]["message"]
    assert "40 h" in flags["week_over_35h"]["message"]
    assert name in flags["rest_too_short"]["message"]
    assert "10,5 h" in flags["rest_too_short"]["message"]


def test_a_purge_erases_the_names_in_the_flags(app, client, tenant_a, monkeypatch):
    """Retention: the flags that name trainees lose the names with the order's personal data;
    their rule and code stay."""
    from attendance.signals import order_purged

    on_day(monkeypatch, IN_TIME)
    body = submit(app, client, tenant_a)
    stored = db.session.get(PlanSubmission, body["id"])
    stored.flags = [
        {
            "rule": None,
            "code": "week_over_35h",
            "message": "Amina Diallo, 2026-S03 : 40 h",
            "level": "flag",
        }
    ]
    db.session.commit()
    order_purged.send(tenant_a.order_id, trainee_ids={tenant_a.trainee.id})
    db.session.commit()
    (flag,) = db.session.get(PlanSubmission, body["id"]).flags
    assert flag["code"] == "week_over_35h"
    assert "Amina" not in flag["message"]
    assert "effacé" in flag["message"]
