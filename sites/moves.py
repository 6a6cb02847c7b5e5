"""R14: the seats booked for a session follow it when it changes. A session moved to another
time takes its bookings along, each one checked again like a new booking under the same row
locks (the trainee's, then the site's): opening hours, closures and public holidays, the
trainee's other bookings, the seats. A booking that no longer fits is cancelled (site closed,
trainee taken) or put back on the waitlist (site full), and its organisation is told why, in
French; the seats freed at the old time go to the waitlist.

The sessions live in `attendance`, above the sites: `attendance.services` calls
`follow_session` after an edit, in the same transaction (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from core.auth import Principal
from core.clock import local_day
from core.extensions import db
from sites import mail, rules
from sites.booking import (
    ACTIVE,
    BOOKABLE_KINDS,
    cancel,
    confirmed_spans,
    lock_trainee,
    overlapping,
    promote,
    when,
)
from sites.models import Booking, Site
from sites.services import closures_of, holidays_between, lock_site
from sites.signals import SessionInfo


@dataclass
class Followed:
    """What became of a session's bookings: moved (still confirmed or still waiting),
    waitlisted (full at the new time), cancelled (with their reasons), promoted elsewhere."""

    moved: list[Booking] = field(default_factory=list)
    waitlisted: list[Booking] = field(default_factory=list)
    cancelled: list[Booking] = field(default_factory=list)
    promoted: list[Booking] = field(default_factory=list)


def follow_session(
    actor: Principal, info: SessionInfo, taking_part: Collection[str], now: datetime
) -> Followed:
    """Move the active bookings of a session edited into `info` (R14); `taking_part`: the
    trainees who now take part in it. Locks the trainees (in id order), then the sites (in id
    order), as a booking does."""
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.session_id == info.id, Booking.status.in_(ACTIVE))
            .order_by(Booking.site_id, Booking.id)
        )
    )
    followed = Followed()
    if not bookings:
        return followed
    span = rules.Span(info.starts_at, info.ends_at)
    for trainee_id in sorted({b.trainee_id for b in bookings}):
        lock_trainee(trainee_id)
    sites = {site_id: lock_site(site_id) for site_id in sorted({b.site_id for b in bookings})}
    for booking in bookings:
        db.session.refresh(booking)  # what a concurrent cancellation committed
    touched: set[str] = set()  # sites where seats were freed or a waitlisted booking moved
    for booking in (b for b in bookings if b.is_active()):
        site = sites[booking.site_id]
        booking.title = info.title[:200]
        reason = _no_longer_for(booking, info, taking_part, span, site)
        if reason is not None:
            if booking.status == "confirmed":
                touched.add(site.id)
            _cancelled(actor, booking, site, reason, now)
            followed.cancelled.append(booking)
            continue
        if booking.span == span:
            continue
        booking.starts_at, booking.ends_at = span.starts_at, span.ends_at
        db.session.flush()
        touched.add(site.id)
        taken = confirmed_spans(site.id, span, but=booking.id)
        if booking.status == "confirmed" and rules.free_seats(site.seats, taken, span) == 0:
            booking.status, booking.waitlisted_at = "waitlisted", now
            db.session.flush()
            _tell_waitlisted(booking, site)
            followed.waitlisted.append(booking)
        else:
            followed.moved.append(booking)
    for site_id in sorted(touched):
        followed.promoted += promote(sites[site_id], now)
    return followed


def _no_longer_for(
    booking: Booking,
    info: SessionInfo,
    taking_part: Collection[str],
    span: rules.Span,
    site: Site,
) -> str | None:
    """Why the booking cannot follow the session any more, in French, or None."""
    if info.kind not in BOOKABLE_KINDS:
        return "la séance est devenue un regroupement, qui a lieu en salle"
    if booking.trainee_id not in taking_part:
        return "le stagiaire ne participe plus à la séance"
    if booking.span == span:
        return None
    day = local_day(span.starts_at)
    closed = rules.closed_reason(
        site.opening_hours,
        closures_of([site.id], day, day)[site.id],
        holidays_between(day, day),
        span,
    )
    if closed:
        return f"la séance a été déplacée {when(span)} et {closed}"
    own = db.session.scalars(
        select(Booking).where(
            Booking.trainee_id == booking.trainee_id,
            Booking.id != booking.id,
            Booking.status.in_(ACTIVE),
            *overlapping(span),
        )
    )
    if any(other.span.overlaps(span) for other in own):
        return (
            f"la séance a été déplacée {when(span)} et le stagiaire a déjà une réservation "
            "sur ce créneau"
        )
    return None


def _cancelled(actor: Principal, booking: Booking, site: Site, reason: str, now: datetime) -> None:
    old = when(booking.span)
    cancel(booking, actor, now, f"Séance modifiée : {reason} (R14)")
    mail.tell_organisation(
        booking.organisation_id,
        f"Réservation annulée au site {site.name} : séance modifiée",
        f"La réservation « {booking.title} » au site {site.name} ({site.city}) {old} est "
        f"annulée : {reason}.\nRéservez un autre site ou un autre créneau, ou repositionnez le "
        "stagiaire à domicile (R14).",
        "cancellation",
    )


def _tell_waitlisted(booking: Booking, site: Site) -> None:
    mail.tell_organisation(
        booking.organisation_id,
        f"Séance déplacée : site {site.name} complet, réservation en liste d'attente",
        f"La séance « {booking.title} » a été déplacée {when(booking.span)}. Le site "
        f"{site.name} ({site.city}) n'a plus de poste libre sur ce créneau : la réservation "
        "passe en liste d'attente et sera confirmée si une place se libère (R14).",
        "waitlist",
    )
