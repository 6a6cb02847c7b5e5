"""Access sites (sites Occitanie e-formation): seats, closures, bookings and their waitlist,
R14 repositionings, R15 software requests, sign-ins without a booking, calendar feeds."""

from __future__ import annotations

from datetime import date, datetime
from itertools import chain
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import IdMixin, UTCDateTime
from core.extensions import Model
from sites.rules import Span

BOOKING_STATUS_LABELS = {
    "confirmed": "Confirmée",
    "waitlisted": "En liste d'attente",
    "cancelled": "Annulée",
}


class Site(IdMixin, Model):
    """A regional access point with PCs and staff, where trainees can take a seat."""

    __tablename__ = "site"
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(3), index=True)
    city: Mapped[str] = mapped_column(String(100))
    seats: Mapped[int]
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Windows 10 64 bits, Office 2016 and the software installed (R15).
    equipment: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # Bumped in the transaction of every change of the site, its bookings or its closures
    # (`_bump_site_versions`): it keys the cached availability (sites.availability).
    version: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def full_address(self) -> str:
        return ", ".join(p for p in (self.address, self.city) if p)


class SiteClosure(IdMixin, Model):
    """A day the site is closed (announced by its staff or the Région)."""

    __tablename__ = "site_closure"
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))

    __table_args__ = (UniqueConstraint("site_id", "day"),)


class Booking(IdMixin, Model):
    """A seat at a site for a trainee over a span: for a session, or a free autoformation slot.

    Confirmed bookings count against the seats; waitlisted ones wait in the order they were
    made (`waitlisted_at`, then id); cancelled ones stay, with who cancelled and why."""

    __tablename__ = "site_booking"
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"))
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("training_session.id"), default=None, index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    site: Mapped[Site] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_site_booking_site_starts", "site_id", "starts_at"),
        Index("ix_site_booking_trainee_starts", "trainee_id", "starts_at"),
    )

    @property
    def span(self) -> Span:
        return Span(self.starts_at, self.ends_at)

    @property
    def kind(self) -> str:
        return "session" if self.session_id else "free"

    @property
    def status_label(self) -> str:
        return BOOKING_STATUS_LABELS[self.status]

    def is_active(self) -> bool:
        return self.status in ("confirmed", "waitlisted")


class Repositioning(IdMixin, Model):
    """R14: the organisation moved a trainee home, or to a site, from a day on; kept with its
    author, time (created_at) and reason."""

    __tablename__ = "site_repositioning"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # home or site
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), default=None)
    from_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    author_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    cancelled: Mapped[int] = mapped_column(default=0)
    booked: Mapped[int] = mapped_column(default=0)
    waitlisted: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)


class SoftwareRequest(IdMixin, Model):
    """R15: software a group needs on the site PCs, asked by the organisation and decided by
    the Région."""

    __tablename__ = "site_software_request"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    software: Mapped[list] = mapped_column(JSON, default=list)
    requested_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    decision_reason: Mapped[str | None] = mapped_column(String(500), default=None)

    site: Mapped[Site] = relationship(lazy="joined")


class UnbookedSignIn(IdMixin, Model):
    """A trainee signed in at a site's kiosk for a session without a booking there: accepted,
    and shown to the organisation."""

    __tablename__ = "site_unbooked_sign_in"
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("session_id", "trainee_id", "site_id"),)


class FeedToken(IdMixin, Model):
    """An unguessable token naming one calendar feed's owner (a staff user or a trainee); only
    its digest is stored."""

    __tablename__ = "calendar_feed_token"
    owner_kind: Mapped[str] = mapped_column(String(10))  # user or trainee
    owner_id: Mapped[str] = mapped_column(String(24))
    digest: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (UniqueConstraint("owner_kind", "owner_id"),)


class OutboxMail(IdMixin, Model):
    """An e-mail to send, written in the transaction of what it tells; delivered after the
    commit, so that a notification is never lost and never blocks the booking."""

    __tablename__ = "outbox_mail"
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(30))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)


# What changes a site's availability: its fields, its closures, its bookings' status or span.
_COUNTED = ("status", "starts_at", "ends_at", "site_id")


@event.listens_for(Session, "before_flush")
def _bump_site_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Bump the version of every site whose availability this flush changes, in the same
    transaction (its row is locked by then, as every booking change locks it first): a cached
    availability is keyed by the versions, so it is never served after a change commits."""
    ids: set[str] = set()
    for obj in chain(session.new, session.deleted):
        if isinstance(obj, Booking | SiteClosure):
            ids.add(obj.site_id)
    for obj in session.dirty:
        if isinstance(obj, Booking):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _COUNTED):
                ids.update(_old_and_new_site(obj))
        elif isinstance(obj, SiteClosure | Site) and session.is_modified(obj):
            ids.add(obj.site_id if isinstance(obj, SiteClosure) else obj.id)
    if ids:
        session.connection().execute(
            update(Site).where(Site.id.in_(sorted(ids))).values(version=Site.version + 1)
        )


def _old_and_new_site(booking: Booking) -> set[str]:
    history = inspect(booking).attrs.site_id.history
    return {booking.site_id, *(history.deleted or ())}
