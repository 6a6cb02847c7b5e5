"""Training sessions (séances) of a group."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin, UTCDateTime
from core.extensions import Model
from training.models import Group


class SessionKind(StrEnum):
    TUTORAT = "tutorat"
    AUTOFORMATION = "autoformation"
    REGROUPEMENT = "regroupement"


KIND_LABELS = {
    SessionKind.TUTORAT: "Tutorat (à distance, synchrone)",
    SessionKind.AUTOFORMATION: "Autoformation",
    SessionKind.REGROUPEMENT: "Regroupement (en présentiel)",
}


class TrainingSession(IdMixin, Model):
    """A dated slot of one kind for a group: planned, then open, then closed."""

    __tablename__ = "training_session"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="planned")
    regroupement_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    authorisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("regroupement_authorisation.id"), default=None
    )
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), default=None)
    on_public_holiday: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))

    group: Mapped[Group] = relationship(lazy="joined")

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600

    def is_synchronous(self) -> bool:
        return self.kind != SessionKind.AUTOFORMATION
