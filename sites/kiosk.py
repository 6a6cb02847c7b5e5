"""At the site: the kiosk's sign-ins for distance sessions (booked, or flagged to the
organisation), the staff noting arrivals, the sign-ins without a booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core.auth import Principal
from core.clock import PARIS, local_day
from core.errors import Conflict, Forbidden
from core.extensions import db
from core.models import Role, Trainee
from sites import mail
from sites.booking import get_booking
from sites.models import Booking, Site, UnbookedSignIn
from sites.services import scope_to


def kiosk_sign_in(
    site_id: str, session_id: str, trainee_id: str, organisation_id: str, at: datetime
) -> str:
    """A trainee signed in at a site's kiosk for a distance session: with a booking there,
    the booking is checked in ("booked"); without, the sign-in stands and the organisation is
    told ("unbooked")."""
    booking = db.session.scalar(
        select(Booking).where(
            Booking.site_id == site_id,
            Booking.session_id == session_id,
            Booking.trainee_id == trainee_id,
            Booking.status == "confirmed",
        )
    )
    if booking is not None:
        if booking.checked_in_at is None:
            booking.checked_in_at = at
        return "booked"
    known = db.session.scalar(
        select(func.count())
        .select_from(UnbookedSignIn)
        .where(
            UnbookedSignIn.session_id == session_id,
            UnbookedSignIn.trainee_id == trainee_id,
            UnbookedSignIn.site_id == site_id,
        )
    )
    if not known:
        db.session.add(
            UnbookedSignIn(
                site_id=site_id,
                organisation_id=organisation_id,
                trainee_id=trainee_id,
                session_id=session_id,
                signed_at=at,
            )
        )
        site, trainee = db.session.get(Site, site_id), db.session.get(Trainee, trainee_id)
        mail.tell_organisation(
            organisation_id,
            "Émargement sur un site sans réservation",
            f"{trainee.full_name if trainee else 'Un stagiaire'} a émargé au site "
            f"{site.name if site else site_id} le {at.astimezone(PARIS):%d/%m/%Y à %H:%M} "
            "sans réservation de poste. Réservez ses prochaines séances (R14).",
            "unbooked",
        )
    return "unbooked"


def unbooked_sign_ins(actor: Principal) -> list[UnbookedSignIn]:
    """Sign-ins at a site without a booking, for the organisation (or the site, the Région)."""
    query = scope_to(
        actor, select(UnbookedSignIn), UnbookedSignIn.organisation_id, UnbookedSignIn.site_id
    )
    query = query.order_by(UnbookedSignIn.signed_at.desc()).limit(200)
    return list(db.session.scalars(query))


def check_in(actor: Principal, booking_id: str, now: datetime) -> Booking:
    """The site's staff note a trainee's arrival on the roster (a free slot has no session
    to sign)."""
    if not actor.has_role(Role.SITE_STAFF, Role.REGION):
        raise Forbidden("Seul le personnel du site note les arrivées.")
    booking = get_booking(actor, booking_id)
    if booking.status != "confirmed":
        raise Conflict("Seule une réservation confirmée peut être pointée.", code="not_confirmed")
    if local_day(booking.starts_at) != local_day(now):
        raise Conflict("On pointe une arrivée le jour de la réservation.", code="not_today")
    booking.checked_in_at = booking.checked_in_at or now
    db.session.flush()
    return booking
