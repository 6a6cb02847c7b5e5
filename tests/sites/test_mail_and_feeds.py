"""Notifications through a real SMTP server (aiosmtpd, on localhost) after the commit, never
lost when the server is down; iCalendar feeds that calendar applications import."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select

from core.extensions import db
from core.models import Role
from sites import mail
from sites.models import Booking, OutboxMail
from tests.conftest import bearer, make_user
from tests.page_support import phone_browser, staff_browser
from tests.sites.support import (
    DAY,
    book,
    create_site,
    free_slot,
    make_org_with_trainees,
    plan_session,
)


class Inbox:
    """aiosmtpd handler keeping what it received."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app, monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    monkeypatch.setitem(app.config, "SMTP_INLINE", True)
    yield inbox
    controller.stop()


def test_a_promotion_is_mailed_to_the_trainee_and_the_organisation_after_the_commit(
    app, client, region, smtp
):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    first = book(app, client, org, site["id"], org.trainees[0], **free_slot()).get_json()
    book(app, client, org, site["id"], org.trainees[1], waitlist=True, **free_slot())
    assert smtp.messages == []  # nothing to tell yet
    assert client.delete(f"/api/v1/bookings/{first['id']}", headers=org.h).status_code == 204
    received = {m["To"]: m for m in smtp.messages}
    assert set(received) == {org.trainees[1].email, org.admin.email}
    text = received[org.trainees[1].email].get_content()
    assert "confirmée" in text
    assert "2 place Vival, Figeac" in text
    db.session.expire_all()
    assert all(m.sent_at is not None for m in db.session.scalars(select(OutboxMail)))


def test_a_closure_is_mailed_to_the_organisations_it_hits(app, client, region, smtp):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    book(app, client, org, site["id"], org.trainees[0], **free_slot())
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    client.post(
        f"/api/v1/sites/{site['id']}/closures",
        json={"day": str(DAY), "reason": "Travaux"},
        headers=bearer(app, staff),
    )
    [message] = smtp.messages
    assert message["To"] == org.admin.email
    assert "Travaux" in message.get_content()


def test_with_the_server_down_the_booking_stands_and_the_mail_waits_in_the_outbox(
    app, client, region, monkeypatch
):
    monkeypatch.setitem(
        app.config, "SMTP_URL", f"smtp://127.0.0.1:{_free_port()}"
    )  # nobody listens
    monkeypatch.setitem(app.config, "SMTP_INLINE", True)
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    booking = book(app, client, org, site["id"], org.trainees[0], **free_slot()).get_json()
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    response = client.delete(
        f"/api/v1/bookings/{booking['id']}?reason=Panne", headers=bearer(app, staff)
    )
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(Booking, booking["id"]).status == "cancelled"
    [waiting] = db.session.scalars(select(OutboxMail)).all()
    assert waiting.sent_at is None
    assert waiting.last_error
    # the server is back: the next delivery sends it, once
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
        assert mail.deliver_pending(app.config) == 1
        assert mail.deliver_pending(app.config) == 0
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == [org.admin.email]


def test_a_refused_request_sends_nothing(app, client, region, smtp):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    book(app, client, org, site["id"], org.trainees[0], **free_slot())
    assert book(app, client, org, site["id"], org.trainees[1], **free_slot()).status_code == 409
    assert smtp.messages == []
    assert db.session.scalar(select(OutboxMail.id)) is None


def _feed_url(browser) -> str:  # noqa: ANN001
    page = browser.post("/agenda").get_data(as_text=True)
    start = page.index('id="feed-url" readonly value="') + len('id="feed-url" readonly value="')
    return page[start : page.index('"', start)].replace("http://localhost", "")


def test_the_sites_feed_lists_its_bookings_for_calendar_applications(app, client, region):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 2)
    session = plan_session(app, client, org)
    book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    book(app, client, org, site["id"], org.trainees[1], **free_slot(start=14, end=16))
    staff = staff_browser(app, make_user(Role.SITE_STAFF, site_id=site["id"]))
    url = _feed_url(staff)
    answer = client.get(url)  # no login: the token is the secret
    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    events = Calendar.from_ical(answer.data).walk("VEVENT")
    assert sorted(str(e["summary"]) for e in events) == ["Autoformation libre", "Tutorat 9h"]
    assert all("2 place Vival, Figeac" in str(e["location"]) for e in events)
    # a new link replaces the old one
    assert client.get(_feed_url(staff)).status_code == 200
    assert client.get(url).status_code == 404


def test_the_trainees_feed_has_their_sessions_with_the_sites_address_when_booked(
    app, client, region
):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    booked = plan_session(app, client, org)
    at_home = plan_session(app, client, org, start=14, end=16, kind="autoformation")
    book(app, client, org, site["id"], org.trainees[0], session_id=booked["id"])
    phone = phone_browser(app, org.admin, org.trainees[0])
    answer = client.get(_feed_url(phone))
    events = {str(e["uid"]): e for e in Calendar.from_ical(answer.data).walk("VEVENT")}
    with_site = events[f"session-{booked['id']}@competences-plus.fr"]
    assert str(with_site["location"]) == "Espace e-formation, 2 place Vival, Figeac"
    home = events[f"session-{at_home['id']}@competences-plus.fr"]
    assert "location" not in home
    assert with_site.decoded("dtstart").isoformat().startswith(str(DAY))


def test_an_unknown_feed_token_is_404(client):
    assert client.get("/agenda/not-a-token.ics").status_code == 404
