"""R14: the seats booked for a session follow it when it is moved or changed: checked again
like a new booking (hours, closures, seats, the trainee's other bookings); what no longer fits
is cancelled or waitlisted and its organisation told, in French; freed seats go to the
waitlist; the trainee's calendar shows the new time."""

from __future__ import annotations

from datetime import date, datetime

from icalendar import Calendar
from sqlalchemy import select

from core.extensions import db
from core.models import Role
from sites.models import OutboxMail
from tests.conftest import bearer, make_user, paris
from tests.page_support import phone_browser
from tests.sites.support import (
    DAY,
    book,
    create_site,
    free_slot,
    make_org_with_trainees,
    next_saturday,
    next_workday,
    plan_session,
)
from tests.sites.test_mail_and_feeds import _feed_url


def _move(app, client, org, session_id, **body):  # noqa: ANN001, ANN201
    return client.patch(f"/api/v1/sessions/{session_id}", json=body, headers=bearer(app, org.admin))


def _booking(app, client, org, booking_id):  # noqa: ANN001, ANN201
    answer = client.get(f"/api/v1/bookings/{booking_id}", headers=bearer(app, org.admin))
    assert answer.status_code == 200
    return answer.get_json()


def _mails(to: str) -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == to)))


def test_r14_a_session_moved_within_the_hours_takes_its_booking_along(app, client, region):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    session = plan_session(app, client, org)
    booked = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    assert booked.status_code == 201
    moved = _move(app, client, org, session["id"], starts_at=paris(DAY, 14), ends_at=paris(DAY, 17))
    assert moved.status_code == 200, moved.get_json()
    booking = _booking(app, client, org, booked.get_json()["id"])
    assert booking["status"] == "confirmed"
    assert booking["starts_at"] == paris(DAY, 14)
    assert booking["ends_at"] == paris(DAY, 17)
    assert _mails(org.admin.email) == []  # nothing to tell: the seat is there


def test_r14_a_session_moved_onto_a_closure_cancels_its_booking_and_tells_why(app, client, region):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    session = plan_session(app, client, org)
    booked = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    later = next_workday(after_days=(DAY - date.today()).days + 1)
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    closed = client.post(
        f"/api/v1/sites/{site['id']}/closures",
        json={"day": str(later), "reason": "Inventaire"},
        headers=bearer(app, staff),
    )
    assert closed.status_code == 201, closed.get_json()
    moved = _move(
        app, client, org, session["id"], starts_at=paris(later, 9), ends_at=paris(later, 12)
    )
    assert moved.status_code == 200, moved.get_json()  # the session moves; the seat cannot
    booking = _booking(app, client, org, booked.get_json()["id"])
    assert booking["status"] == "cancelled"
    assert "Inventaire" in booking["cancel_reason"]
    assert "R14" in booking["cancel_reason"]
    [told] = _mails(org.admin.email)
    assert told.topic == "cancellation"
    assert f"le {later:%d/%m/%Y} de 09:00 à 12:00" in told.body
    assert "fermé ce jour-là (Inventaire)" in told.body
    assert "repositionnez le stagiaire à domicile (R14)" in told.body


def test_r14_a_session_moved_out_of_the_opening_hours_cancels_its_booking(app, client, region):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    session = plan_session(app, client, org)
    booked = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    saturday = next_saturday()
    moved = _move(
        app, client, org, session["id"], starts_at=paris(saturday, 9), ends_at=paris(saturday, 11)
    )
    assert moved.status_code == 200, moved.get_json()
    booking = _booking(app, client, org, booked.get_json()["id"])
    assert booking["status"] == "cancelled"
    [told] = _mails(org.admin.email)
    assert "sort des horaires d'ouverture du site" in told.body


def test_r14_a_session_moved_onto_a_full_slot_puts_its_booking_on_the_waitlist(app, client, region):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    session = plan_session(app, client, org, participant_ids=[org.trainees[0].id])
    booked = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    taken = book(app, client, org, site["id"], org.trainees[1], **free_slot(start=14, end=16))
    assert taken.status_code == 201
    moved = _move(app, client, org, session["id"], starts_at=paris(DAY, 15), ends_at=paris(DAY, 17))
    assert moved.status_code == 200, moved.get_json()
    booking = _booking(app, client, org, booked.get_json()["id"])
    assert booking["status"] == "waitlisted"
    assert booking["starts_at"] == paris(DAY, 15)
    [told] = _mails(org.admin.email)
    assert told.topic == "waitlist"
    assert "n'a plus de poste libre" in told.body
    # the seat taken at 14:00 is freed: the moved booking gets it, first in line
    assert client.delete(f"/api/v1/bookings/{taken.get_json()['id']}", headers=org.h).status_code
    assert _booking(app, client, org, booked.get_json()["id"])["status"] == "confirmed"


def test_r14_a_session_moved_away_frees_its_seat_for_the_waitlist(app, client, region):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    session = plan_session(app, client, org, participant_ids=[org.trainees[0].id])
    book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    waiting = book(
        app, client, org, site["id"], org.trainees[1], waitlist=True, **free_slot(start=10, end=12)
    )
    assert waiting.get_json()["status"] == "waitlisted"
    moved = _move(app, client, org, session["id"], starts_at=paris(DAY, 14), ends_at=paris(DAY, 16))
    assert moved.status_code == 200, moved.get_json()
    assert _booking(app, client, org, waiting.get_json()["id"])["status"] == "confirmed"
    assert any(m.topic == "promotion" for m in _mails(org.trainees[1].email))


def test_r14_a_trainee_taken_off_the_session_loses_the_seat_and_the_waitlist_moves_up(
    app, client, region
):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    session = plan_session(app, client, org, participant_ids=[org.trainees[0].id])
    booked = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    waiting = book(
        app, client, org, site["id"], org.trainees[1], waitlist=True, **free_slot(start=9, end=11)
    )
    assert waiting.get_json()["status"] == "waitlisted"
    moved = _move(app, client, org, session["id"], participant_ids=[org.trainees[1].id])
    assert moved.status_code == 200, moved.get_json()
    booking = _booking(app, client, org, booked.get_json()["id"])
    assert booking["status"] == "cancelled"
    assert "ne participe plus à la séance" in booking["cancel_reason"]
    assert _booking(app, client, org, waiting.get_json()["id"])["status"] == "confirmed"
    subjects = [m.subject for m in _mails(org.admin.email)]
    assert "Réservation annulée au site Espace e-formation : séance modifiée" in subjects
    assert "Liste d'attente : réservation confirmée" in subjects


def test_r14_a_refused_edit_moves_no_booking(app, client, region):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    session = plan_session(app, client, org)
    booked = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    moved = _move(app, client, org, session["id"], starts_at=paris(DAY, 14), ends_at=paris(DAY, 13))
    assert moved.status_code in (400, 422)
    assert _booking(app, client, org, booked.get_json()["id"])["starts_at"] == paris(DAY, 9)


def test_r14_the_trainees_calendar_shows_the_moved_time_at_the_site(app, client, region):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    session = plan_session(app, client, org)
    book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    after = next_workday(after_days=(DAY - date.today()).days + 1)
    moved = _move(
        app, client, org, session["id"], starts_at=paris(after, 14), ends_at=paris(after, 16)
    )
    assert moved.status_code == 200, moved.get_json()
    phone = phone_browser(app, org.admin, org.trainees[0])
    feed = client.get(_feed_url(phone)).data
    events = {str(e["uid"]): e for e in Calendar.from_ical(feed).walk("VEVENT")}
    event = events[f"session-{session['id']}@competences-plus.fr"]
    assert event.decoded("dtstart") == datetime.fromisoformat(paris(after, 14))
    assert str(event["location"]) == "Espace e-formation, 2 place Vival, Figeac"
    assert "liste d'attente" not in str(event["description"])
