"""The access sites' API (API.md, "Access sites"): sites, availability, bookings with their
409s and the waitlist (R14), closures, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import Role
from sites.models import Booking, OutboxMail
from tests.conftest import api_error, bearer, make_user
from tests.sites.support import (
    DAY,
    book,
    create_site,
    free_slot,
    make_org_with_trainees,
    next_saturday,
    plan_session,
)


@pytest.fixture
def site(app, client, region):
    return create_site(app, client, region)


@pytest.fixture
def alpha(app, client):
    return make_org_with_trainees(app, client, 4, "Alpha")


def test_the_region_creates_a_site_with_hours_per_weekday(app, client, region):
    body = create_site(
        app, client, region, opening_hours={"lun-ven": "08:30-12:30", "sam": "9h00-12h00"}
    )
    assert body["department"] == "46"
    assert body["opening_hours"]["lun"] == [["08:30", "12:30"]]
    assert body["opening_hours"]["sam"] == [["09:00", "12:00"]]
    assert "dim" not in body["opening_hours"]
    assert body["equipment"] == ["Windows 10 64 bits", "Office 2016"]


@pytest.mark.parametrize("role", [Role.ORG_ADMIN, Role.SITE_STAFF, Role.TRAINER, Role.FINANCE])
def test_only_the_region_creates_sites(app, client, role):
    user = make_user(role)
    response = client.post(
        "/api/v1/sites",
        json={"name": "X", "department": "31", "city": "Toulouse", "seats": 3, "opening_hours": {}},
        headers=bearer(app, user),
    )
    api_error(response, 403)


def test_a_department_outside_occitanie_or_bad_hours_is_refused(app, client, region):
    h = bearer(app, region)
    base = {"name": "X", "city": "Lyon", "seats": 3, "opening_hours": {"lun": "08:00-12:00"}}
    api_error(
        client.post("/api/v1/sites", json={**base, "department": "69"}, headers=h),
        400,
        "invalid_input",
    )
    bad = {**base, "department": "31", "opening_hours": {"lun": "12:00-08:00"}}
    error = api_error(
        client.post("/api/v1/sites", json=bad, headers=h), 400, "invalid_opening_hours"
    )
    assert "début" in error["details"]["opening_hours"]
    assert client.get("/api/v1/sites", headers=h).get_json()["items"] == []


def test_sites_are_listed_by_department(app, client, region, alpha, site):
    create_site(app, client, region, name="Cyber-base", department="31", city="Muret")
    listed = client.get("/api/v1/sites?department=46", headers=alpha.h).get_json()["items"]
    assert [s["city"] for s in listed] == ["Figeac"]


def test_availability_gives_free_seats_per_slot(app, client, alpha, site):
    assert book(app, client, alpha, site["id"], alpha.trainees[0], **free_slot()).status_code == 201
    body = client.get(
        f"/api/v1/sites/{site['id']}/availability?date={DAY}", headers=alpha.h
    ).get_json()
    assert body["open"] is True
    morning, afternoon = body["slots"]
    assert (morning["seats"], morning["booked"], morning["free"]) == (2, 1, 1)
    assert morning["starts_at"].startswith(f"{DAY}T08:30")
    assert (afternoon["booked"], afternoon["free"]) == (0, 2)
    saturday = next_saturday()
    closed = client.get(
        f"/api/v1/sites/{site['id']}/availability?date={saturday}", headers=alpha.h
    ).get_json()
    assert closed["open"] is False
    assert closed["slots"] == []


def test_a_session_booking_takes_the_sessions_span(app, client, alpha, site):
    session = plan_session(app, client, alpha)
    response = book(app, client, alpha, site["id"], alpha.trainees[0], session_id=session["id"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed"
    assert body["kind"] == "session"
    assert body["starts_at"] == session["starts_at"]
    assert body["ends_at"] == session["ends_at"]


def test_a_full_slot_answers_site_full_or_waitlists_on_request_R14(app, client, alpha, site):
    t1, t2, t3, t4 = alpha.trainees
    assert book(app, client, alpha, site["id"], t1, **free_slot(start=9, end=11)).status_code == 201
    assert (
        book(app, client, alpha, site["id"], t2, **free_slot(start=10, end=12)).status_code == 201
    )
    api_error(
        book(app, client, alpha, site["id"], t3, **free_slot(start=10, end=11)),
        409,
        "site_full",
        "R14",
    )
    waiting = book(app, client, alpha, site["id"], t3, waitlist=True, **free_slot(start=10, end=11))
    assert waiting.status_code == 202
    assert waiting.get_json()["status"] == "waitlisted"
    # back to back is not overlapping: 11:00-12:00 has one seat free (t1 leaves at 11)
    assert (
        book(app, client, alpha, site["id"], t4, **free_slot(start=11, end=12)).status_code == 201
    )


def test_cancelling_promotes_the_first_waitlisted_who_is_told(app, client, alpha, site):
    t1, t2, t3, t4 = alpha.trainees
    first = book(app, client, alpha, site["id"], t1, **free_slot()).get_json()
    book(app, client, alpha, site["id"], t2, **free_slot())
    w1 = book(app, client, alpha, site["id"], t3, waitlist=True, **free_slot()).get_json()
    w2 = book(app, client, alpha, site["id"], t4, waitlist=True, **free_slot()).get_json()
    response = client.delete(f"/api/v1/bookings/{first['id']}", headers=alpha.h)
    assert response.status_code == 204
    statuses = {b.id: b.status for b in db.session.scalars(select(Booking))}
    assert statuses[first["id"]] == "cancelled"
    assert statuses[w1["id"]] == "confirmed"
    assert statuses[w2["id"]] == "waitlisted"
    told = db.session.scalars(select(OutboxMail).where(OutboxMail.topic == "promotion")).all()
    assert {m.recipient for m in told} == {t3.email, alpha.admin.email}
    assert "confirmée" in told[0].body
    api_error(
        client.delete(f"/api/v1/bookings/{first['id']}", headers=alpha.h), 409, "already_cancelled"
    )


def test_outside_hours_weekends_holidays_and_closures_answer_site_closed(
    app, client, region, alpha, site
):
    t = alpha.trainees[0]
    api_error(
        book(app, client, alpha, site["id"], t, **free_slot(start=12, end=14)),
        409,
        "site_closed",
        "R14",
    )
    api_error(
        book(app, client, alpha, site["id"], t, **free_slot(next_saturday())), 409, "site_closed"
    )
    year = DAY.year + 1
    from datetime import date

    christmas = date(year, 12, 25) if date(year, 12, 25).weekday() < 5 else date(year, 11, 11)
    error = api_error(
        book(app, client, alpha, site["id"], t, **free_slot(christmas)), 409, "site_closed"
    )
    assert "férié" in error["message"]
    closed = client.post(
        f"/api/v1/sites/{site['id']}/closures",
        json={"day": str(DAY), "reason": "Inventaire"},
        headers=bearer(app, region),
    )
    assert closed.status_code == 201
    error = api_error(book(app, client, alpha, site["id"], t, **free_slot()), 409, "site_closed")
    assert "Inventaire" in error["message"]


def test_a_trainee_cannot_hold_two_overlapping_bookings(app, client, region, alpha, site):
    other = create_site(app, client, region, name="Autre", city="Cahors")
    t = alpha.trainees[0]
    assert book(app, client, alpha, site["id"], t, **free_slot(start=9, end=11)).status_code == 201
    api_error(
        book(app, client, alpha, other["id"], t, **free_slot(start=10, end=12)),
        409,
        "trainee_overlap",
    )


def test_a_closure_announced_later_cancels_what_it_hits_and_tells_the_organisation(
    app, client, alpha, site
):
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    hit = book(app, client, alpha, site["id"], alpha.trainees[0], **free_slot()).get_json()
    spared = book(
        app, client, alpha, site["id"], alpha.trainees[1], **free_slot(DAY + timedelta(days=1))
    ).get_json()
    response = client.post(
        f"/api/v1/sites/{site['id']}/closures",
        json={"day": str(DAY), "reason": "Coupure réseau"},
        headers=bearer(app, staff),
    )
    assert response.status_code == 201
    assert response.get_json()["cancelled_booking_ids"] == [hit["id"]]
    assert db.session.get(Booking, spared["id"]).status in ("confirmed",)
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.topic == "closure")).all()
    assert [m.recipient for m in mails] == [alpha.admin.email]
    assert "Coupure réseau" in mails[0].body


def test_staff_of_another_site_cannot_close_it(app, client, region, site):
    other = create_site(app, client, region, name="Autre", city="Cahors")
    staff = make_user(Role.SITE_STAFF, site_id=other["id"])
    response = client.post(
        f"/api/v1/sites/{site['id']}/closures",
        json={"day": str(DAY), "reason": "x"},
        headers=bearer(app, staff),
    )
    api_error(response, 404)


def test_another_organisation_neither_sees_nor_cancels_a_booking(app, client, alpha, site):
    beta = make_org_with_trainees(app, client, 1, "Bêta")
    booking = book(app, client, alpha, site["id"], alpha.trainees[0], **free_slot()).get_json()
    api_error(client.get(f"/api/v1/bookings/{booking['id']}", headers=beta.h), 404)
    api_error(client.delete(f"/api/v1/bookings/{booking['id']}", headers=beta.h), 404)
    assert client.get("/api/v1/bookings", headers=beta.h).get_json()["items"] == []
    # nor books another organisation's trainee
    api_error(book(app, client, beta, site["id"], alpha.trainees[1], **free_slot()), 404)
    assert db.session.get(Booking, booking["id"]).status == "confirmed"


def test_site_staff_see_and_cancel_the_bookings_of_their_site_and_the_organisation_is_told(
    app, client, alpha, site
):
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    booking = book(app, client, alpha, site["id"], alpha.trainees[0], **free_slot()).get_json()
    listed = client.get("/api/v1/bookings", headers=bearer(app, staff)).get_json()["items"]
    assert [b["id"] for b in listed] == [booking["id"]]
    response = client.delete(
        f"/api/v1/bookings/{booking['id']}?reason=Panne", headers=bearer(app, staff)
    )
    assert response.status_code == 204
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.topic == "cancellation")).one()
    assert mail.recipient == alpha.admin.email
    assert "Panne" in mail.body


def test_a_booking_in_the_past_or_of_another_sessions_trainee_is_refused(app, client, alpha, site):
    session = plan_session(app, client, alpha, participant_ids=[alpha.trainees[0].id])
    api_error(
        book(app, client, alpha, site["id"], alpha.trainees[1], session_id=session["id"]),
        409,
        "not_participant",
    )
    yesterday = DAY - timedelta(days=30)
    api_error(
        book(app, client, alpha, site["id"], alpha.trainees[0], **free_slot(yesterday)),
        409,
        "booking_in_past",
    )
    assert db.session.scalar(select(Booking.id)) is None


def test_department_availability_over_a_week(app, client, region, alpha, site):
    create_site(app, client, region, name="Cyber-base", department="31", city="Muret")
    book(app, client, alpha, site["id"], alpha.trainees[0], **free_slot())
    body = client.get(
        f"/api/v1/sites/availability?department=46&date={DAY}", headers=alpha.h
    ).get_json()
    [item] = body["items"]
    assert item["site"]["id"] == site["id"]
    assert len(item["days"]) == 7
    assert item["days"][0]["slots"][0]["free"] == 1
    assert sum(1 for d in item["days"] if not d["open"]) == 2  # the weekend
