"""iCalendar feeds (the `icalendar` package) that calendar applications subscribe to: a site's
bookings for its staff, an organisation's bookings for its referent, a trainee's sessions with
the site's address when a seat is booked. A feed is named by an unguessable per-owner token
(only its digest is stored; a new one replaces the old)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from icalendar import Calendar, Event
from sqlalchemy import delete, select

from core.auth import Principal
from core.clock import local_day
from core.errors import NotFound
from core.extensions import db
from core.models import Role, User
from core.services import code_digest
from sites.models import Booking, FeedToken
from sites.signals import ask, trainee_sessions

PAST, AHEAD = timedelta(days=31), timedelta(days=366)
DOMAIN = "competences-plus.fr"


def _owner(principal: Principal) -> tuple[str, str]:
    return ("trainee" if principal.is_trainee else "user"), principal.id


def _digest(token: str) -> str:
    return code_digest(current_app.config["SECRET_KEY"], token)


def new_token(principal: Principal) -> str:
    """A fresh feed token for the principal (the previous link stops working)."""
    kind, owner_id = _owner(principal)
    db.session.execute(
        delete(FeedToken).where(FeedToken.owner_kind == kind, FeedToken.owner_id == owner_id)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(FeedToken(owner_kind=kind, owner_id=owner_id, digest=_digest(token)))
    db.session.flush()
    return token


def has_token(principal: Principal) -> bool:
    kind, owner_id = _owner(principal)
    return (
        db.session.scalar(
            select(FeedToken.id).where(FeedToken.owner_kind == kind, FeedToken.owner_id == owner_id)
        )
        is not None
    )


def calendar_for(token: str, now: datetime) -> bytes:
    """The feed named by the token, or 404 (an unknown token says nothing more)."""
    record = db.session.scalar(select(FeedToken).where(FeedToken.digest == _digest(token)))
    if record is None:
        raise NotFound("Ce lien d'agenda n'existe pas ou a été renouvelé.", code="feed_not_found")
    calendar = Calendar()
    calendar.add("prodid", "-//Région Occitanie//Compétences Plus émargement//FR")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Compétences Plus")
    if record.owner_kind == "trainee":
        _trainee_events(calendar, record.owner_id, now)
    else:
        _staff_events(calendar, db.session.get(User, record.owner_id), now)
    return calendar.to_ical()


def _bookings(*where: Any, now: datetime) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(*where, Booking.status.in_(("confirmed", "waitlisted")))
            .where(Booking.starts_at >= now - PAST, Booking.starts_at < now + AHEAD)
            .order_by(Booking.starts_at)
        )
    )


def _staff_events(calendar: Calendar, user: User | None, now: datetime) -> None:
    if user is None or not user.is_active:
        return
    if user.role == Role.SITE_STAFF and user.site_id:
        bookings = _bookings(Booking.site_id == user.site_id, now=now)
    elif user.role == Role.ORG_ADMIN and user.organisation_id:
        bookings = _bookings(Booking.organisation_id == user.organisation_id, now=now)
    else:
        return
    for booking in bookings:
        calendar.add_component(_booking_event(booking))


def _booking_event(booking: Booking) -> Event:
    event = Event()
    event.add("uid", f"booking-{booking.id}@{DOMAIN}")
    event.add("dtstamp", booking.created_at)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    waiting = " (liste d'attente)" if booking.status == "waitlisted" else ""
    event.add("summary", f"{booking.title}{waiting}")
    event.add("location", f"{booking.site.name}, {booking.site.full_address}")
    event.add("status", "TENTATIVE" if booking.status == "waitlisted" else "CONFIRMED")
    return event


def _trainee_events(calendar: Calendar, trainee_id: str, now: datetime) -> None:
    sessions = ask(
        trainee_sessions,
        trainee_id=trainee_id,
        first_day=local_day(now - PAST),
        last_day=local_day(now + AHEAD),
    )
    own = _bookings(Booking.trainee_id == trainee_id, now=now)
    booked = {b.session_id: b for b in own if b.session_id}
    for free in (b for b in own if not b.session_id):  # free autoformation slots
        calendar.add_component(_booking_event(free))
    for info in sessions:
        event = Event()
        event.add("uid", f"session-{info.id}@{DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", info.starts_at)
        event.add("dtend", info.ends_at)
        event.add("summary", info.title)
        booking = booked.get(info.id)
        if booking is not None:
            waiting = " — en liste d'attente" if booking.status == "waitlisted" else ""
            event.add("location", f"{booking.site.name}, {booking.site.full_address}")
            event.add("description", f"Poste réservé au site d'accès {booking.site.name}{waiting}.")
        else:
            event.add("description", "Séance à distance.")
        calendar.add_component(event)
