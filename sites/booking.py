"""Use cases on seats: booking (or waitlisting) a seat, cancelling and promoting the waitlist,
closures that cancel what they hit, R14 repositionings, the kiosk's sign-ins at a site.

Locks, always in this order: the trainee's row, then the site's rows by id. A booking locks
both (SELECT … FOR UPDATE), then reads and writes: two requests for the last seat are
serialised by the database, never checked-then-inserted side by side. A waitlisted booking
already holds its trainee's time, so a promotion needs the site's lock only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from core.auth import Principal
from core.clock import PARIS, local_day
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Role, Trainee
from sites import mail, rules
from sites.models import Booking, Site, SiteClosure
from sites.services import (
    closures_of,
    get_site,
    holidays_between,
    lock_site,
    managed_site,
    scope_to,
)
from sites.signals import SessionInfo, ask, session_for_booking

ACTIVE = ("confirmed", "waitlisted")
BOOKABLE_KINDS = ("tutorat", "autoformation")  # distance sessions; a regroupement is in a room


def visible_bookings(principal: Principal) -> Select:
    """Bookings the principal may see: the Région all, an organisation its own, a site's staff
    those at their site."""
    return scope_to(principal, select(Booking), Booking.organisation_id, Booking.site_id)


def get_booking(principal: Principal, booking_id: str) -> Booking:
    booking = db.session.scalar(visible_bookings(principal).where(Booking.id == booking_id))
    if booking is None:
        raise NotFound("Cette réservation est introuvable.", code="booking_not_found")
    return booking


def own_trainee(actor: Principal, trainee_id: str) -> Trainee:
    trainee = db.session.scalar(
        select(Trainee).where(
            Trainee.id == trainee_id, Trainee.organisation_id == actor.organisation_id
        )
    )
    if trainee is None:
        raise NotFound("Ce stagiaire est introuvable.", code="trainee_not_found")
    return trainee


def lock_trainee(trainee_id: str) -> None:
    db.session.execute(select(Trainee.id).where(Trainee.id == trainee_id).with_for_update())


def book_seat(actor: Principal, site_id: str, data: dict[str, Any], now: datetime) -> Booking:
    """Book a seat for a trainee, for a session or a free autoformation slot (R14): confirmed
    when a seat is free for the whole span, else waitlisted if asked, else 409 `site_full`."""
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent de l'organisme réserve des postes.")
    trainee = own_trainee(actor, data["trainee_id"])
    site = get_site(site_id)
    if data.get("session_id"):
        info = session_info(actor, data["session_id"], trainee.id)
        span, title, session_id = rules.Span(info.starts_at, info.ends_at), info.title, info.id
    else:
        if not data.get("starts_at") or not data.get("ends_at"):
            raise InvalidInput(
                "Indiquez une séance (session_id) ou un créneau (starts_at, ends_at).",
                code="span_required",
            )
        span, session_id = rules.Span(data["starts_at"], data["ends_at"]), None
        title = data.get("title") or "Autoformation libre"
    rules.check_span(span)
    if span.starts_at <= now:
        raise Conflict("Ce créneau a déjà commencé.", code="booking_in_past")
    return place(
        actor, site.id, trainee.id, session_id, title, span, now, bool(data.get("waitlist"))
    )


def session_info(actor: Principal, session_id: str, trainee_id: str) -> SessionInfo:
    info: SessionInfo = ask(
        session_for_booking, principal=actor, session_id=session_id, trainee_id=trainee_id
    )
    if info.kind not in BOOKABLE_KINDS:
        raise Conflict(
            "Un regroupement a lieu en salle : on réserve un poste pour le tutorat ou "
            "l'autoformation.",
            code="not_bookable",
            rule="R14",
        )
    return info


def place(
    actor: Principal,
    site_id: str,
    trainee_id: str,
    session_id: str | None,
    title: str,
    span: rules.Span,
    now: datetime,
    waitlist: bool,
) -> Booking:
    """Under the trainee's and the site's locks: open? the trainee free? a seat free?"""
    lock_trainee(trainee_id)
    site = lock_site(site_id)
    day = local_day(span.starts_at)
    rules.check_open(
        site.opening_hours,
        closures_of([site.id], day, day)[site.id],
        holidays_between(day, day),
        span,
    )
    own = db.session.scalars(
        select(Booking).where(
            Booking.trainee_id == trainee_id, *overlapping(span), Booking.status.in_(ACTIVE)
        )
    )
    rules.check_no_overlap((b.span for b in own), span)
    status = "confirmed"
    if rules.free_seats(site.seats, confirmed_spans(site.id, span), span) == 0:
        if not waitlist:
            raise rules.full_error()
        status = "waitlisted"
    booking = Booking(
        site_id=site.id,
        organisation_id=actor.organisation_id,
        trainee_id=trainee_id,
        session_id=session_id,
        title=title[:200],
        starts_at=span.starts_at,
        ends_at=span.ends_at,
        status=status,
        created_by_id=actor.id,
        waitlisted_at=now if status == "waitlisted" else None,
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def overlapping(span: rules.Span) -> tuple[Any, ...]:
    # A booking fits in one day: the lower bound on starts_at lets the index range-scan.
    return (
        Booking.starts_at < span.ends_at,
        Booking.starts_at > span.starts_at - timedelta(days=1),
        Booking.ends_at > span.starts_at,
    )


def confirmed_spans(site_id: str, span: rules.Span, but: str | None = None) -> list[rules.Span]:
    """The confirmed bookings' spans overlapping `span` at a site (but the booking `but`)."""
    query = select(Booking.starts_at, Booking.ends_at).where(
        Booking.site_id == site_id, Booking.status == "confirmed", *overlapping(span)
    )
    if but is not None:
        query = query.where(Booking.id != but)
    rows = db.session.execute(query)
    return [rules.Span(a, b) for a, b in rows]


def cancel_booking(actor: Principal, booking_id: str, now: datetime, reason: str = "") -> Booking:
    """Cancel a booking (its organisation, the site or the Région); a freed seat goes to the
    first waitlisted booking it fits, who is told."""
    if not actor.has_role(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION):
        raise Forbidden("Seuls l'organisme, le site ou la Région annulent une réservation.")
    booking = get_booking(actor, booking_id)
    site = lock_site(booking.site_id)
    db.session.refresh(booking)  # what a concurrent cancellation committed
    if not booking.is_active():
        raise Conflict("Cette réservation est déjà annulée.", code="already_cancelled")
    was_confirmed = booking.status == "confirmed"
    by = "l'organisme" if actor.has_role(Role.ORG_ADMIN) else "le site d'accès"
    cancel(booking, actor, now, reason or f"Annulée par {by}")
    if not actor.has_role(Role.ORG_ADMIN):
        _tell_cancelled(booking, site, reason)
    if was_confirmed:
        promote(site, now)
    return booking


def cancel(booking: Booking, actor: Principal, now: datetime, reason: str) -> None:
    booking.status = "cancelled"
    booking.cancelled_at, booking.cancelled_by_id = now, actor.id
    booking.cancel_reason = reason[:300]
    db.session.flush()


def when(span: rules.Span) -> str:
    """« le 12/05/2026 de 09:00 à 12:00 », in Paris time."""
    start = span.starts_at.astimezone(PARIS)
    return f"le {start:%d/%m/%Y} de {start:%H:%M} à {span.ends_at.astimezone(PARIS):%H:%M}"


def _tell_cancelled(booking: Booking, site: Site, reason: str) -> None:
    mail.tell_organisation(
        booking.organisation_id,
        f"Réservation annulée au site {site.name}",
        f"La réservation « {booking.title} » au site {site.name} ({site.city}) "
        f"{when(booking.span)} a été annulée par le site."
        f"{(' Motif : ' + reason) if reason else ''}",
        "cancellation",
    )


def promote(site: Site, now: datetime) -> list[Booking]:
    """Give free seats to the waitlist, first come first served (the site is locked)."""
    waiting = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.site_id == site.id, Booking.status == "waitlisted", Booking.starts_at > now
            )
            .order_by(Booking.waitlisted_at, Booking.id)
        )
    )
    promoted = []
    for booking in waiting:
        if rules.free_seats(site.seats, confirmed_spans(site.id, booking.span), booking.span) > 0:
            booking.status, booking.promoted_at = "confirmed", now
            db.session.flush()
            promoted.append(booking)
            _tell_promoted(booking, site)
    return promoted


def _tell_promoted(booking: Booking, site: Site) -> None:
    text = (
        f"Une place s'est libérée au site {site.name}, {site.full_address}, {when(booking.span)} "
        f"(« {booking.title} ») : la réservation est confirmée."
    )
    trainee = db.session.get(Trainee, booking.trainee_id)
    if trainee is not None and trainee.email:
        mail.queue_mail(
            trainee.email, "Votre place au site d'accès est confirmée", text, "promotion"
        )
    mail.tell_organisation(
        booking.organisation_id, "Liste d'attente : réservation confirmée", text, "promotion"
    )


def close_day(
    actor: Principal, site_id: str, day: date, reason: str, now: datetime
) -> list[Booking]:
    """Announce a closure: the bookings it hits are cancelled and their organisations told."""
    managed_site(actor, site_id)
    rules.check_closure_day(day, local_day(now))
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Indiquez la raison de la fermeture.", code="reason_required")
    site = lock_site(site_id)
    if db.session.scalar(
        select(SiteClosure.id).where(SiteClosure.site_id == site.id, SiteClosure.day == day)
    ):
        raise Conflict("Le site est déjà fermé ce jour-là.", code="already_closed")
    db.session.add(SiteClosure(site_id=site.id, day=day, reason=reason, created_by_id=actor.id))
    start = datetime.combine(day, datetime.min.time(), PARIS)
    hit = list(
        db.session.scalars(
            select(Booking).where(
                Booking.site_id == site.id,
                Booking.status.in_(ACTIVE),
                *overlapping(rules.Span(start, start + timedelta(days=1))),
            )
        )
    )
    for booking in hit:
        cancel(booking, actor, now, f"Fermeture du site : {reason}")
        mail.tell_organisation(
            booking.organisation_id,
            f"Site fermé le {day:%d/%m/%Y} : réservation annulée",
            f"Le site {site.name} ({site.city}) sera fermé le {day:%d/%m/%Y} ({reason}).\n"
            f"La réservation « {booking.title} » {when(booking.span)} est annulée. Réservez un "
            "autre site ou repositionnez le stagiaire à domicile (R14).",
            "closure",
        )
    db.session.flush()
    return hit


def withdraw_closure(actor: Principal, site_id: str, day: date, now: datetime) -> SiteClosure:
    """The Région withdraws a closure announced by mistake: the day is bookable again. The
    bookings it cancelled stay cancelled (their organisations were told and may book again)."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région retire une fermeture annoncée.")
    site = lock_site(get_site(site_id).id)
    closure = db.session.scalar(
        select(SiteClosure).where(SiteClosure.site_id == site.id, SiteClosure.day == day)
    )
    if closure is None:
        raise NotFound("Aucune fermeture annoncée ce jour-là.", code="closure_not_found")
    rules.check_withdrawal_day(day, local_day(now))
    db.session.delete(closure)
    db.session.flush()
    return closure
