"""R14: the organisation moves a trainee home, or to a site, from a day on; the future
bookings follow; the decision is kept with its author, time and reason."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.auth import Principal
from core.clock import PARIS, local_day
from core.errors import DomainError, Forbidden
from core.extensions import db
from core.models import Role
from sites import rules
from sites.booking import ACTIVE, BOOKABLE_KINDS, cancel, lock_trainee, own_trainee, place, promote
from sites.models import Booking, Repositioning, Site
from sites.services import get_site, lock_site
from sites.signals import SessionInfo, ask, trainee_sessions


def reposition(
    actor: Principal, trainee_id: str, data: dict[str, Any], now: datetime
) -> Repositioning:
    """R14: move a trainee home, or to a site, from a day on. Future bookings follow: home
    cancels them; a site cancels those elsewhere and books the trainee's distance sessions
    there (waitlisted when full). The decision is kept with its author, time and reason."""
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent de l'organisme repositionne un stagiaire.")
    trainee = own_trainee(actor, trainee_id)
    direction, site_id = data["direction"], data.get("site_id")
    rules.check_reposition(
        direction, site_id, data["from_date"], local_day(now), data.get("reason", "")
    )
    target = get_site(site_id) if direction == "site" and site_id else None
    start = max(datetime.combine(data["from_date"], datetime.min.time(), PARIS), now)
    lock_trainee(trainee.id)
    future = list(
        db.session.scalars(
            select(Booking).where(
                Booking.trainee_id == trainee.id,
                Booking.status.in_(ACTIVE),
                Booking.starts_at >= start,
            )
        )
    )
    record = Repositioning(
        organisation_id=trainee.organisation_id,
        trainee_id=trainee.id,
        direction=direction,
        site_id=target.id if target else None,
        from_date=data["from_date"],
        reason=data["reason"].strip()[:500],
        author_id=actor.id,
        booked=0,
        waitlisted=0,
        refused=0,
    )
    freed = _cancel_for_repositioning(actor, future, now, target)
    record.cancelled = len(freed)
    if target is not None:
        _book_sessions(actor, record, trainee.id, target, start, now)
    for site_id_freed in sorted(freed):
        promote(lock_site(site_id_freed), now)
    db.session.add(record)
    db.session.flush()
    return record


def _cancel_for_repositioning(
    actor: Principal, bookings: Iterable[Booking], now: datetime, target: Site | None
) -> set[str]:
    """Cancel the future bookings (but those already at the target site); answer the sites
    whose seats were freed (their waitlists are promoted after)."""
    freed = set()
    for booking in sorted(bookings, key=lambda b: b.site_id):
        if target is not None and booking.site_id == target.id:
            continue
        lock_site(booking.site_id)
        reason = (
            "Repositionné à domicile (R14)"
            if target is None
            else f"Repositionné au site {target.name} (R14)"
        )
        if booking.status == "confirmed":
            freed.add(booking.site_id)
        cancel(booking, actor, now, reason)
    return freed


def _book_sessions(
    actor: Principal,
    record: Repositioning,
    trainee_id: str,
    site: Site,
    start: datetime,
    now: datetime,
) -> None:
    sessions: list[SessionInfo] = ask(
        trainee_sessions, trainee_id=trainee_id, first_day=local_day(start), last_day=None
    )
    for info in sessions:
        if info.kind not in BOOKABLE_KINDS or info.site_id or info.starts_at < start:
            continue
        try:
            booking = place(
                actor,
                site.id,
                trainee_id,
                info.id,
                info.title,
                rules.Span(info.starts_at, info.ends_at),
                now,
                True,
            )
        except DomainError:  # closed that day, or the trainee already holds that time there
            record.refused += 1
            continue
        if booking.status == "confirmed":
            record.booked += 1
        else:
            record.waitlisted += 1


def repositionings(actor: Principal, trainee_id: str) -> list[Repositioning]:
    """A trainee's repositionings, newest first."""
    trainee = own_trainee(actor, trainee_id)
    return list(
        db.session.scalars(
            select(Repositioning)
            .where(Repositioning.trainee_id == trainee.id)
            .order_by(Repositioning.created_at.desc(), Repositioning.id.desc())
        )
    )
