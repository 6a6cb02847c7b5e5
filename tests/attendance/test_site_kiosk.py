"""At the site (issue 10, item 5): a site's PC signs trainees in with personal codes for the
distance sessions they follow there; with a booking at that site the booking is checked in,
without one the sign-in stands and the organisation is told; a booking without a sign-in is a
no-show in the site's report."""

from __future__ import annotations

from sqlalchemy import select

from attendance.models import TrainingSession
from core.db import utcnow
from core.extensions import db
from core.models import Role
from sites import reports
from sites.models import Booking, OutboxMail, UnbookedSignIn
from tests.attendance.support import DAY, at, open_session, plan
from tests.attendance.test_codes_and_kiosks import SIGN_INS, issue_code, make_site
from tests.conftest import bearer, make_user


def _booking(tenant, site, session_id: str, trainee_id: str) -> Booking:  # noqa: ANN001
    session = db.session.get_one(TrainingSession, session_id)
    booking = Booking(
        site_id=site.id,
        organisation_id=tenant.org.id,
        trainee_id=trainee_id,
        session_id=session_id,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        status="confirmed",
        created_by_id=tenant.admin.id,
    )
    db.session.add(booking)
    db.session.commit()
    return booking


def test_a_kiosk_sign_in_checks_the_booking_in(app, client, tenant_a, clock, trainer_h, amina):
    site = make_site("Figeac")
    sid = plan(app, client, tenant_a)
    booking = _booking(tenant_a, site, sid, amina.id)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    code = issue_code(client, trainer_h, sid, amina.id)
    answer = client.post(SIGN_INS, json={"code": code}, headers=bearer(app, staff))
    assert answer.status_code == 201, answer.get_json()
    assert (answer.get_json()["method"], answer.get_json()["channel"]) == (
        "kiosk",
        f"site:{site.id}",
    )
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).checked_in_at == at(DAY, 9, 5)
    assert db.session.scalar(select(UnbookedSignIn.id)) is None


def test_a_kiosk_sign_in_without_a_booking_is_accepted_and_flagged_to_the_organisation(
    app, client, tenant_a, clock, trainer_h, amina
):
    site = make_site("Millau")
    sid = plan(app, client, tenant_a)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    code = issue_code(client, trainer_h, sid, amina.id)
    answer = client.post(SIGN_INS, json={"code": code}, headers=bearer(app, staff))
    assert answer.status_code == 201, answer.get_json()
    flag = db.session.scalars(select(UnbookedSignIn)).one()
    assert (flag.site_id, flag.trainee_id, flag.session_id, flag.organisation_id) == (
        site.id,
        amina.id,
        sid,
        tenant_a.org.id,
    )
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.topic == "unbooked")).one()
    assert mail.recipient == tenant_a.admin.email
    assert "sans réservation" in mail.body


def test_a_booking_without_a_sign_in_is_a_no_show_in_the_sites_report(
    app, client, tenant_a, clock, trainer_h, amina
):
    site = make_site("Rodez")
    sid = plan(app, client, tenant_a)
    came = _booking(tenant_a, site, sid, amina.id)
    other = plan(app, client, tenant_a, start=(14, 0), end=(16, 0))
    missed = _booking(tenant_a, site, other, amina.id)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    code = issue_code(client, trainer_h, sid, amina.id)
    assert client.post(SIGN_INS, json={"code": code}, headers=bearer(app, staff)).status_code == 201
    days, no_shows = reports.occupancy(site, DAY, DAY, utcnow())
    assert [line.booking.id for line in no_shows] == [missed.id]
    assert came.id not in [line.booking.id for line in no_shows]
    assert (days[0].bookings, days[0].no_shows) == (2, 1)
    assert days[0].seat_hours == 0  # make_site's sites have no opening hours
    assert days[0].day == DAY
