"""Company periods through the API (R1, R2, R7's principle): a period recorded, its hours
declared, signed by the trainee and the tutor (each once), chained in the ledger, sealed;
refusals change nothing; another organisation sees none of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select, update

from attendance import retention
from attendance.models import CompanyEntry, CompanyHours, CompanyPeriod, TutorCode
from core.extensions import db
from tests.attendance.company_support import (
    PERIOD,
    WEEK,
    company_state,
    ok,
    trainee_sign,
    tutor_sign,
)
from tests.attendance.support import DAY, at, run_sql
from tests.conftest import ORDER_START, THIS_YEAR, api_error, bearer, make_trainee
from training.models import Order

ENTRIES = cast(Table, CompanyEntry.__table__)
VERIFY = "/api/v1/ledger/verify"


def periods_url(enrolment_id: str) -> str:
    return f"/api/v1/enrolments/{enrolment_id}/company-periods"


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def entries(period_id: str) -> list[dict[str, Any]]:
    query = select(ENTRIES).where(ENTRIES.c.period_id == period_id).order_by(ENTRIES.c.seq)
    return [dict(row) for row in db.session.execute(query).mappings()]


def test_a_period_is_recorded_and_chained(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "planned")
    period = ok(
        client.get(f"/api/v1/company-periods/{found.period_id}", headers=found.admin_h), 200
    )
    assert period["company_name"] == "Menuiserie Durand"
    assert period["tutor_name"] == "Paul Durand"
    assert period["planned_hours"] == 35
    assert period["realised_hours"] == 0
    assert period["lines"] == []
    (plan,) = entries(found.period_id)
    assert plan["kind"] == "company_plan"
    assert plan["facts"]["planned_hours"] == 35
    assert plan["facts"]["start_date"] == PERIOD["start_date"]
    assert "tutor_email" not in plan["facts"]  # personal: kept on the row, never hashed in clear
    listed = ok(client.get(periods_url(tenant_a.enrolment_id), headers=found.admin_h), 200)
    assert [p["id"] for p in listed["items"]] == [found.period_id]


def test_r2_refuses_periods_over_70_hours_and_changes_nothing(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "planned")  # 35 h in March
    april = PERIOD | {"start_date": f"{THIS_YEAR}-04-01", "end_date": f"{THIS_YEAR}-04-30"}
    before = count(CompanyPeriod), count(CompanyEntry)
    refused = client.post(
        periods_url(tenant_a.enrolment_id),
        json=april | {"planned_hours": 35.5},
        headers=found.admin_h,
    )
    error = api_error(refused, 422, "too_many_company_hours", "R2")
    assert "70 h" in error["message"]
    assert (count(CompanyPeriod), count(CompanyEntry)) == before
    ok(client.post(periods_url(tenant_a.enrolment_id), json=april, headers=found.admin_h))


def test_r1_refuses_centre_and_company_over_200_hours(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    trainee = make_trainee(tenant_a.org, "Léa")
    path = {
        "trainee_id": trainee.id,
        "entry_date": ORDER_START.isoformat(),
        "planned_centre_hours": 150,
        "planned_company_hours": 0,
        "confirm_over_capacity": True,
    }
    enrolment = ok(
        client.post(f"/api/v1/groups/{tenant_a.group_id}/enrolments", json=path, headers=h)
    )
    refused = client.post(
        periods_url(enrolment["id"]), json=PERIOD | {"planned_hours": 50.5}, headers=h
    )
    error = api_error(refused, 422, "too_many_hours", "R1")
    assert "200 h" in error["message"]
    assert count(CompanyPeriod) == 0
    ok(client.post(periods_url(enrolment["id"]), json=PERIOD | {"planned_hours": 50}, headers=h))


def test_periods_of_a_path_never_overlap_and_stay_in_the_order(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "planned")
    overlapping = PERIOD | {
        "start_date": f"{THIS_YEAR}-03-27",
        "end_date": f"{THIS_YEAR}-04-03",
        "planned_hours": 5,
    }
    api_error(
        client.post(periods_url(tenant_a.enrolment_id), json=overlapping, headers=found.admin_h),
        409,
        "company_period_overlap",
    )
    late = PERIOD | {
        "start_date": f"{THIS_YEAR}-11-25",
        "end_date": f"{THIS_YEAR}-12-05",
        "planned_hours": 5,
    }
    api_error(
        client.post(periods_url(tenant_a.enrolment_id), json=late, headers=found.admin_h),
        400,
        "period_outside_order",
    )
    assert count(CompanyPeriod) == 1


def test_hours_beyond_the_periods_plan_are_refused_r2(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")  # 14 h of 35 h
    url = f"/api/v1/company-periods/{found.period_id}/hours"
    second_week = {"first_day": f"{THIS_YEAR}-03-09", "last_day": f"{THIS_YEAR}-03-10", "hours": 20}
    ok(client.post(url, json=second_week, headers=found.admin_h))  # 34 h of 35 h
    more = {"first_day": f"{THIS_YEAR}-03-07", "last_day": f"{THIS_YEAR}-03-07", "hours": 2}
    before = count(CompanyHours), len(entries(found.period_id))
    api_error(
        client.post(url, json=more, headers=found.admin_h), 422, "company_hours_over_plan", "R2"
    )
    api_error(client.post(url, json=WEEK, headers=found.admin_h), 409, "hours_overlap")
    future = {"first_day": f"{THIS_YEAR}-03-11", "last_day": f"{THIS_YEAR}-03-11", "hours": 1}
    api_error(client.post(url, json=future, headers=found.admin_h), 400, "hours_in_the_future")
    assert (count(CompanyHours), len(entries(found.period_id))) == before


def test_unsigned_hours_never_count_r7(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")
    period = ok(
        client.get(f"/api/v1/company-periods/{found.period_id}", headers=found.admin_h), 200
    )
    (line,) = period["lines"]
    assert (line["hours"], line["counted"], period["realised_hours"]) == (14, False, 0)
    trainee_sign(client, found)
    period = ok(
        client.get(f"/api/v1/company-periods/{found.period_id}", headers=found.admin_h), 200
    )
    assert period["realised_hours"] == 0  # the tutor has not signed yet
    tutor_sign(client, found)
    period = ok(
        client.get(f"/api/v1/company-periods/{found.period_id}", headers=found.admin_h), 200
    )
    assert period["realised_hours"] == 14
    assert period["lines"][0]["counted"] is True


def test_signing_twice_counts_once(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    first = entries(found.period_id)
    again = trainee_sign(client, found, status=200)
    assert again["already_signed"] is True
    assert tutor_sign(client, found, status=200)["already_signed"] is True
    assert entries(found.period_id) == first
    signatures = [e for e in first if e["kind"] == "company_sign"]
    assert sorted(e["signer_kind"] for e in signatures) == ["trainee", "tutor"]
    period = ok(
        client.get(f"/api/v1/company-periods/{found.period_id}", headers=found.admin_h), 200
    )
    assert period["realised_hours"] == 14


def test_the_tutor_code_is_single_use_and_the_latest_only(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "tutor_signed")
    url = f"/api/v1/company-periods/{found.period_id}/hours"
    line = ok(
        client.post(
            url,
            json={"first_day": f"{THIS_YEAR}-03-09", "last_day": f"{THIS_YEAR}-03-09", "hours": 7},
            headers=found.admin_h,
        )
    )
    spent = {"code": found.tutor_code, "hours_ids": [line["id"]]}
    api_error(client.post("/api/v1/company-tutor/signatures", json=spent), 409, "code_used")
    api_error(
        client.post("/api/v1/company-tutor/period", json={"code": found.tutor_code}),
        409,
        "code_used",
    )
    codes = f"/api/v1/company-periods/{found.period_id}/tutor-codes"
    older = ok(client.post(codes, headers=found.admin_h))["code"]
    newer = ok(client.post(codes, headers=found.admin_h))["code"]
    api_error(
        client.post("/api/v1/company-tutor/period", json={"code": older}), 410, "code_revoked"
    )
    shown = ok(client.post("/api/v1/company-tutor/period", json={"code": newer}), 200)
    assert shown["company_name"] == "Menuiserie Durand"
    assert shown["trainee_initials"] == "A. " + tenant_a.trainee.last_name[0] + "."
    assert tenant_a.trainee.last_name not in str(shown)  # the tutor's page shows initials only
    signed = ok(
        client.post(
            "/api/v1/company-tutor/signatures", json={"code": newer, "hours_ids": [line["id"]]}
        )
    )
    assert signed["lines"][0]["tutor_signed_at"] is not None
    api_error(
        client.post("/api/v1/company-tutor/period", json={"code": "AAAAA-BBBBB"}),
        400,
        "invalid_code",
    )


def test_an_expired_tutor_code_is_refused(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")
    found.clock.now = at(DAY, 17) + timedelta(days=31)
    body = {"code": found.tutor_code, "hours_ids": [found.hours_id]}
    api_error(client.post("/api/v1/company-tutor/signatures", json=body), 410, "code_expired")
    assert db.session.get(CompanyHours, found.hours_id).tutor_signed_at is None


def test_guessing_tutor_codes_is_limited(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")
    for _ in range(10):
        api_error(client.post("/api/v1/company-tutor/period", json={"code": "WRONG-CODE"}), 400)
    right = {"code": found.tutor_code}
    api_error(client.post("/api/v1/company-tutor/period", json=right), 429, "too_many_attempts")


@pytest.mark.parametrize("role", ["org_admin", "finance", "trainer", "trainee"])
def test_another_organisation_gets_404(app, client, tenant_a, tenant_b, monkeypatch, role):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")
    users = {"org_admin": tenant_b.admin, "finance": tenant_b.finance, "trainer": tenant_b.trainer}
    h = (
        bearer(app, tenant_b.trainee, dev=tenant_b.invitation_id)
        if role == "trainee"
        else bearer(app, users[role])
    )
    api_error(client.get(f"/api/v1/company-periods/{found.period_id}", headers=h), 404)
    api_error(client.get(periods_url(tenant_a.enrolment_id), headers=h), 404)
    if role == "org_admin":
        for url, body in (
            (periods_url(tenant_a.enrolment_id), PERIOD),
            (f"/api/v1/company-periods/{found.period_id}/hours", WEEK),
            (f"/api/v1/company-periods/{found.period_id}/tutor-codes", None),
        ):
            api_error(client.post(url, json=body, headers=h), 404)
    if role == "trainee":
        api_error(
            client.post(f"/api/v1/company-hours/{found.hours_id}/trainee-signature", headers=h), 404
        )
    assert db.session.get(CompanyHours, found.hours_id).trainee_signed_at is None


def test_only_the_organisations_admin_records_periods(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")
    for user in (tenant_a.finance, tenant_a.trainer):
        h = bearer(app, user)
        api_error(client.post(periods_url(tenant_a.enrolment_id), json=PERIOD, headers=h), 403)
        api_error(
            client.post(f"/api/v1/company-periods/{found.period_id}/hours", json=WEEK, headers=h),
            403,
        )
    # finance and the group's trainer read the period
    for user in (tenant_a.finance, tenant_a.trainer):
        ok(client.get(f"/api/v1/company-periods/{found.period_id}", headers=bearer(app, user)), 200)


def test_the_ledger_verifies_and_seals_the_company_chains(
    app, client, runner, tenant_a, monkeypatch
):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    answer = ok(client.get(VERIFY, headers=found.admin_h), 200)
    assert answer["ok"], answer
    assert answer["company_periods"] == 1
    chain = entries(found.period_id)
    assert [e["kind"] for e in chain] == [
        "company_plan",
        "company_hours",
        "company_sign",
        "company_sign",
    ]
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "1 période(s) en entreprise" in result.output
    sealed = runner.invoke(args=["ledger", "seal"])
    assert sealed.exit_code == 0, sealed.output
    answer = ok(client.get(VERIFY, headers=found.admin_h), 200)
    assert (answer["ok"], answer["unsealed"]) == (True, 0)
    assert answer["sealed"] == answer["length"]


def test_a_forged_company_signature_is_caught(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    run_sql(
        update(ENTRIES)
        .where(ENTRIES.c.kind == "company_sign", ENTRIES.c.signer_kind == "tutor")
        .values(at=at(DAY, 3))
    )
    answer = ok(client.get(VERIFY, headers=found.admin_h), 200)
    assert answer["ok"] is False
    assert answer["first_bad"]["session_id"] == found.period_id
    assert answer["first_bad"]["reason"] == "entry content was altered"


def test_hours_edited_behind_the_chain_are_named(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    run_sql(update(cast(Table, CompanyHours.__table__)).values(minutes=20 * 60))
    answer = ok(client.get(VERIFY, headers=found.admin_h), 200)
    assert answer["ok"] is False
    assert answer["first_bad"]["field"] == f"hours {found.hours_id}"


def test_a_rewritten_company_chain_is_caught_by_its_seal(
    app, client, runner, tenant_a, monkeypatch
):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    # whoever holds the database cuts the tutor's signature and moves the head back
    last = entries(found.period_id)[-1]
    run_sql(ENTRIES.delete().where(ENTRIES.c.id == last["id"]))
    periods = cast(Table, CompanyPeriod.__table__)
    run_sql(update(periods).values(chain_length=last["seq"] - 1, chain_head=last["prev_hash"]))
    run_sql(update(cast(Table, CompanyHours.__table__)).values(tutor_signed_at=None))
    answer = ok(client.get(VERIFY, headers=found.admin_h), 200)
    assert answer["ok"] is False
    assert answer["first_bad"]["reason"] == "sealed entries are missing"


def test_tutor_codes_are_stored_as_digests_only(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "pending")
    (record,) = db.session.scalars(select(TutorCode)).all()
    assert found.tutor_code not in record.code_digest
    assert found.tutor_code.replace("-", "") not in record.code_digest
    assert record.expires_at.date() == (at(DAY, 17) + timedelta(days=30)).date()
    assert date.fromisoformat(WEEK["last_day"]) < DAY


def test_a_purge_erases_the_company_personal_data_and_the_chains_still_verify(
    app, client, runner, tenant_a, region, monkeypatch
):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    signed = [e for e in entries(found.period_id) if e["kind"] == "company_sign"]
    assert all(e["device"] and e["salt"] for e in signed)  # the signing devices, committed
    order = db.session.get(Order, tenant_a.order_id)
    after = datetime.combine(retention.retention_ends(order), datetime.min.time(), tzinfo=UTC)
    monkeypatch.setattr("attendance.cli.utcnow", lambda: after)
    done = runner.invoke(args=["ledger", "purge", "--order-id", tenant_a.order_id])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert all((e["device"], e["salt"]) == ({}, None) for e in entries(found.period_id))
    period = db.session.get(CompanyPeriod, found.period_id)
    assert (period.tutor_name, period.tutor_email, period.tutor_phone) == (
        retention.PURGED,
        "purge@invalid",
        None,
    )
    answer = ok(client.get(VERIFY, headers=bearer(app, region)), 200)
    assert (answer["ok"], answer["unsealed"]) == (True, 0)
    assert db.session.get(CompanyHours, found.hours_id).is_counted  # the hours stand


def test_an_order_cannot_end_before_its_company_periods(app, client, tenant_a, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "planned")  # 2 to 27 March
    order_url = f"/api/v1/orders/{tenant_a.order_id}"
    shorter = {"end_date": f"{THIS_YEAR}-03-20"}
    api_error(
        client.patch(order_url, json=shorter, headers=found.admin_h), 400, "period_outside_order"
    )
    db.session.expire_all()
    assert db.session.get(Order, tenant_a.order_id).end_date.isoformat() == f"{THIS_YEAR}-11-30"
    ok(client.patch(order_url, json={"end_date": f"{THIS_YEAR}-03-27"}, headers=found.admin_h), 200)


def test_hours_declared_by_mistake_are_withdrawn_until_they_count(
    app, client, tenant_a, monkeypatch
):
    found = company_state(app, client, tenant_a, monkeypatch, "trainee_signed")
    url = f"/api/v1/company-hours/{found.hours_id}/cancellation"
    api_error(client.post(url, headers=bearer(app, tenant_a.finance)), 403)
    withdrawn = ok(client.post(url, headers=found.admin_h), 200)
    assert withdrawn["cancelled_at"] is not None
    assert withdrawn["counted"] is False
    api_error(client.post(url, headers=found.admin_h), 409, "hours_cancelled")
    # the tutor cannot sign it any more, and it never counts
    api_error(
        client.post(
            "/api/v1/company-tutor/signatures",
            json={"code": found.tutor_code, "hours_ids": [found.hours_id]},
        ),
        409,
        "hours_cancelled",
    )
    period = ok(
        client.get(f"/api/v1/company-periods/{found.period_id}", headers=found.admin_h), 200
    )
    assert period["realised_hours"] == 0
    # the days and the hours are free again (R2): the right line is declared
    again = ok(
        client.post(
            f"/api/v1/company-periods/{found.period_id}/hours",
            json=WEEK | {"hours": 12},
            headers=found.admin_h,
        )
    )
    assert again["id"] != found.hours_id
    kinds = [e["kind"] for e in entries(found.period_id)]
    assert kinds == [
        "company_plan",
        "company_hours",
        "company_sign",
        "company_cancel",
        "company_hours",
    ]
    answer = ok(client.get(VERIFY, headers=found.admin_h), 200)
    assert answer["ok"], answer


def test_hours_that_count_are_never_withdrawn(app, client, tenant_a, tenant_b, monkeypatch):
    found = company_state(app, client, tenant_a, monkeypatch, "both_signed")
    url = f"/api/v1/company-hours/{found.hours_id}/cancellation"
    api_error(client.post(url, headers=bearer(app, tenant_b.admin)), 404)
    api_error(client.post(url, headers=found.admin_h), 409, "hours_counted")
    assert db.session.get(CompanyHours, found.hours_id).cancelled_at is None
    assert [e["kind"] for e in entries(found.period_id)][-1] == "company_sign"
