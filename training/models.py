"""Orders (bons de commande), groups and enrolments, each scoped to one organisation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Date, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin
from core.extensions import Model, db
from core.models import Trainee, User

group_trainer = Table(
    "group_trainer",
    db.metadata,
    Column("group_id", ForeignKey("training_group.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("app_user.id"), primary_key=True),
)


class Order(IdMixin, Model):
    """A bon de commande: what the Région buys from one organisation."""

    __tablename__ = "training_order"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    number: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    modality: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    centre_hours: Mapped[float]
    min_synchronous_share: Mapped[float]
    forecast_headcount: Mapped[int | None] = mapped_column(default=None)
    department: Mapped[str | None] = mapped_column(String(3), default=None, index=True)

    __table_args__ = (UniqueConstraint("organisation_id", "number"),)


class Group(IdMixin, Model):
    """A group of trainees following one component of an order, with its trainers."""

    __tablename__ = "training_group"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    component: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date | None] = mapped_column(Date, default=None)

    order: Mapped[Order] = relationship(lazy="joined")
    trainers: Mapped[list[User]] = relationship(secondary=group_trainer, lazy="select")

    @property
    def trainer_ids(self) -> list[str]:
        return [t.id for t in self.trainers]

    @property
    def first_day(self) -> date:
        """The group's start: its own date, or the order's planned start."""
        return self.start_date or self.order.start_date

    def has_trainer(self, user_id: str) -> bool:
        return any(t.id == user_id for t in self.trainers)


class Enrolment(IdMixin, Model):
    """One trainee's path (parcours) in a group, with planned hours."""

    __tablename__ = "enrolment"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    exit_date: Mapped[date | None] = mapped_column(Date, default=None)
    planned_centre_hours: Mapped[float]
    planned_company_hours: Mapped[float] = mapped_column(default=0.0)
    funding: Mapped[str] = mapped_column(String(30), default="region")
    warnings: Mapped[str] = mapped_column(String(100), default="")

    group: Mapped[Group] = relationship(lazy="joined")
    trainee: Mapped[Trainee] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("group_id", "trainee_id"),)


class RegroupementAuthorisation(IdMixin, Model):
    """The Région's recorded authorisation of one extra regroupement day (R10)."""

    __tablename__ = "regroupement_authorisation"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), index=True)
    session_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    granted_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
