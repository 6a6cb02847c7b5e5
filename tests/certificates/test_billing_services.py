"""Billing through the API on real chains (SQLite and PostgreSQL): what is held, what is
billed, why a session is not held, and the flags finance must see."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from core.extensions import db
from core.models import Role
from sites.models import Site
from tests.attendance.support import DAY, at, enrol, install_clock, plan, tenant_learner
from tests.certificates.billing_support import billing_of, group_of, hold, line_of
from tests.conftest import THIS_YEAR, bearer, make_user
from training.models import Group, Order


def test_a_held_tutorat_bills_from_its_start_to_its_close(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina = tenant_learner(app, tenant_a)
    sid = plan(app, client, tenant_a, start=(9, 0), end=(12, 0))
    hold(app, client, tenant_a, clock, sid, [amina], close=(11, 0))
    body = billing_of(app, client, tenant_a)
    group = group_of(body, tenant_a.group_id)
    assert group["billable_minutes"] == 120
    assert group["billable_hours"] == 2.0
    assert group["planned_minutes"] == 180
    line = line_of(body, sid)
    assert line["held"] is True
    assert line["billable"] is True
    assert line["not_held"] == []
    assert body["totals"]["billable_hours"] == 2.0


def test_a_session_nobody_signed_is_not_billed_and_says_why(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    unsigned = plan(app, client, tenant_a, start=(9, 0), end=(10, 0))
    hold(app, client, tenant_a, clock, unsigned, [], close=(10, 0))
    never_opened = plan(app, client, tenant_a, start=(14, 0), end=(15, 0))
    clock.set(16, 0)
    body = billing_of(app, client, tenant_a)
    assert group_of(body, tenant_a.group_id)["billable_minutes"] == 0
    assert [r["code"] for r in line_of(body, unsigned)["not_held"]] == ["no_trainee_signature"]
    assert [r["code"] for r in line_of(body, never_opened)["not_held"]] == ["not_opened"]


def test_without_the_trainers_signature_nothing_is_billed_and_it_is_flagged(
    app, client, tenant_a, monkeypatch
):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina = tenant_learner(app, tenant_a)
    sid = plan(app, client, tenant_a)
    hold(app, client, tenant_a, clock, sid, [amina], trainer_signs=False, close=(12, 0))
    line = line_of(billing_of(app, client, tenant_a), sid)
    assert line["held"] is False
    assert [r["code"] for r in line["not_held"]] == ["no_trainer_signature"]
    assert "trainer_signature_missing" in [f["code"] for f in line["flags"]]


def test_a_correction_is_not_a_signature_and_counts_once(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    lea = enrol(app, client, tenant_a, "Léa")
    trainer_h = bearer(app, tenant_a.trainer)
    only_corrected = plan(app, client, tenant_a, start=(9, 0), end=(10, 0))
    hold(app, client, tenant_a, clock, only_corrected, [], close=(10, 0))
    fix = {"trainee_id": lea.id, "action": "mark_present", "reason": "Feuille papier"}
    for _ in range(2):
        corrected = client.post(
            f"/api/v1/sessions/{only_corrected}/corrections", json=fix, headers=trainer_h
        )
        assert corrected.status_code == 201
    signed = plan(app, client, tenant_a, start=(14, 0), end=(16, 0))
    hold(app, client, tenant_a, clock, signed, [lea], start=(14, 0), close=(16, 0))
    for _ in range(2):
        assert (
            client.post(
                f"/api/v1/sessions/{signed}/corrections", json=fix, headers=trainer_h
            ).status_code
            == 201
        )
    body = billing_of(app, client, tenant_a)
    assert line_of(body, only_corrected)["held"] is False
    assert group_of(body, tenant_a.group_id)["billable_minutes"] == 120


def test_parallel_sub_groups_bill_the_groups_clock_time_once(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina = tenant_learner(app, tenant_a)
    lea = enrol(app, client, tenant_a, "Léa")
    second = make_user(Role.TRAINER, tenant_a.org)
    admin_h = bearer(app, tenant_a.admin)
    moved = client.patch(
        f"/api/v1/groups/{tenant_a.group_id}",
        json={"trainer_ids": [tenant_a.trainer.id, second.id]},
        headers=admin_h,
    )
    assert moved.status_code == 200, moved.get_json()
    first = plan(
        app, client, tenant_a, participant_ids=[amina.id], lead_trainer_id=tenant_a.trainer.id
    )
    other = plan(app, client, tenant_a, participant_ids=[lea.id], lead_trainer_id=second.id)
    hold(app, client, tenant_a, clock, first, [amina])
    hold(app, client, tenant_a, clock, other, [lea])
    clock.set(12, 30)
    group = group_of(billing_of(app, client, tenant_a), tenant_a.group_id)
    assert group["billable_minutes"] == 180  # 09:00–12:00 once, not twice
    assert group["subgroup_minutes"] == 360  # each individual session shown in its column
    assert group["whole_group_minutes"] == 0


def test_autoformation_is_listed_with_its_hours_and_never_billed(
    app, client, tenant_a, monkeypatch
):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina = tenant_learner(app, tenant_a)
    sid = plan(app, client, tenant_a, kind="autoformation", start=(9, 0), end=(11, 0))
    hold(app, client, tenant_a, clock, sid, [amina], close=(11, 0))
    body = billing_of(app, client, tenant_a)
    group = group_of(body, tenant_a.group_id)
    assert group["autoformation_minutes"] == 120
    assert group["billable_minutes"] == 0
    assert line_of(body, sid)["billable"] is False


def test_a_session_on_a_public_holiday_is_flagged(app, client, tenant_a, monkeypatch):
    may_day = date(THIS_YEAR, 5, 1)
    install_clock(monkeypatch, at(may_day, 8, 50))
    sid = plan(app, client, tenant_a, day=may_day)
    body = billing_of(app, client, tenant_a, month=f"{may_day:%Y-%m}")
    assert "public_holiday" in [f["code"] for f in line_of(body, sid)["flags"]]


def test_more_participants_than_the_sites_seats_is_flagged(app, client, tenant_a, monkeypatch):
    install_clock(monkeypatch, at(DAY, 8, 50))
    enrol(app, client, tenant_a, "Léa")
    site = Site(name="Site de Foix", department="09", city="Foix", seats=1, opening_hours={})
    db.session.add(site)
    db.session.commit()
    sid = plan(app, client, tenant_a, site_id=site.id)
    line = line_of(billing_of(app, client, tenant_a), sid)
    assert line["participant_count"] == 2
    assert "over_site_capacity" in [f["code"] for f in line["flags"]]


def test_rules_broken_behind_the_services_back_are_flagged_r6_and_r10(
    app, client, tenant_a, monkeypatch
):
    """Planning refuses R6 and R10; an order changed by SQL (legacy data) is still caught."""
    install_clock(monkeypatch, at(DAY, 8, 50))
    order = db.session.get(Order, tenant_a.order_id)
    order.modality = "hybride"
    db.session.commit()
    regroupement = plan(app, client, tenant_a, kind="regroupement", start=(9, 0), end=(12, 0))
    auto = plan(app, client, tenant_a, kind="autoformation", start=(14, 0), end=(17, 0))
    db.session.execute(
        update(Order).where(Order.id == order.id).values(modality="e_formation", centre_hours=4)
    )
    db.session.commit()
    body = billing_of(app, client, tenant_a)
    assert [f["rule"] for f in body["flags"]] == ["R6"]
    assert "R6" in [f["rule"] for f in line_of(body, auto)["flags"]]
    assert "R10" in [f["rule"] for f in line_of(body, regroupement)["flags"]]


def test_a_month_lists_every_group_of_the_order_even_without_sessions(app, client, tenant_a):
    admin_h = bearer(app, tenant_a.admin)
    created = client.post(
        f"/api/v1/orders/{tenant_a.order_id}/groups",
        json={"name": "Groupe B", "component": "Anglais", "trainer_ids": []},
        headers=admin_h,
    )
    assert created.status_code == 201
    body = billing_of(app, client, tenant_a)
    names = [g["name"] for g in body["groups"]]
    assert sorted(names) == ["Groupe A", "Groupe B"]
    assert db.session.get(Group, created.get_json()["id"]) is not None
