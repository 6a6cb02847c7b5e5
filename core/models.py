"""Accounts: organisations (tenants), staff users, trainees and their device invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import IdMixin, UTCDateTime
from core.extensions import Model


class Role(StrEnum):
    TRAINEE = "trainee"
    TRAINER = "trainer"
    ORG_ADMIN = "org_admin"
    SITE_STAFF = "site_staff"
    FINANCE = "finance"
    REGION = "region"


STAFF_ROLES = frozenset(Role) - {Role.TRAINEE}
ORG_ROLES = frozenset({Role.TRAINER, Role.ORG_ADMIN, Role.FINANCE})
ROLE_LABELS = {
    Role.TRAINEE: "Stagiaire",
    Role.TRAINER: "Formateur·rice",
    Role.ORG_ADMIN: "Référent·e administratif·ve",
    Role.SITE_STAFF: "Animateur·rice de site",
    Role.FINANCE: "Finance",
    Role.REGION: "Région Occitanie",
}


class Organisation(IdMixin, Model):
    """A training organisation (organisme de formation): the tenant."""

    __tablename__ = "organisation"
    name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str] = mapped_column(String(14), unique=True)


class User(IdMixin, Model):
    """A staff account: trainer, org admin, finance, site staff or Région."""

    __tablename__ = "app_user"
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisation.id"), index=True, default=None
    )
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def is_region(self) -> bool:
        return self.role == Role.REGION


class Trainee(IdMixin, Model):
    """A job seeker followed by one organisation; signs in through a bound device."""

    __tablename__ = "trainee"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30), default=None)

    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Invitation(IdMixin, Model):
    """A personal link and short code that binds one trainee device once."""

    __tablename__ = "invitation"
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    device_label: Mapped[str | None] = mapped_column(String(200), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.redeemed_at:
            return "bound"
        return "pending"

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
