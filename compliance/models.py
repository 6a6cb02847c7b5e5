"""A group's plan as submitted to the Région, its checks and the Région's decision."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from core.db import IdMixin, UTCDateTime
from core.extensions import Model
from training.models import Group

SUBMITTED, VALIDATED, POSTPONED, REPLACED = "submitted", "validated", "postponed", "replaced"


class PlanSubmission(IdMixin, Model):
    """One submission of a group's plan (CCTP §3.3). Never edited but for its decision: a new
    submission of the same group replaces an undecided one (`status: replaced`)."""

    __tablename__ = "plan_submission"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), index=True)
    number: Mapped[int]  # 1, 2, … within the group
    submitted_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default=SUBMITTED, index=True)
    late: Mapped[bool] = mapped_column(default=False)
    component_kind: Mapped[str] = mapped_column(String(20))
    component_hours: Mapped[float]
    typical_week: Mapped[dict] = mapped_column(JSON)  # {tutorat, autoformation, regroupement}
    closures: Mapped[list] = mapped_column(JSON, default=list)  # [{start, end}]
    sessions: Mapped[list] = mapped_column(JSON, default=list)  # the plan as submitted
    flags: Mapped[list] = mapped_column(JSON, default=list)  # [{rule, code, message, level}]
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision_reason: Mapped[str | None] = mapped_column(String(1000), default=None)

    group: Mapped[Group] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("group_id", "number"),)


class Outcome(IdMixin, Model):
    """R23: a trainee's situation at exit, at 3 months or at 6 months, for one path. Recorded
    again, it replaces the answer and keeps the earlier ones in `history`."""

    __tablename__ = "outcome"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolment.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(10))  # exit, 3m, 6m
    situation: Mapped[str] = mapped_column(String(20))
    employment_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    detail: Mapped[str | None] = mapped_column(String(500), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    history: Mapped[list] = mapped_column(JSON, default=list)

    __table_args__ = (UniqueConstraint("enrolment_id", "milestone"),)


class EquipmentLoan(IdMixin, Model):
    """R24: equipment lent to a trainee, against a deposit of at most 200 € (never a payment)."""

    __tablename__ = "equipment_loan"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    deposit_eur: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    lent_on: Mapped[date] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date, default=None)
    recorded_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))


class HelpRequest(IdMixin, Model):
    """R8: a trainee's request for help during an autoformation session, and its answer. Both
    are entries of the session's chain (`help_requested`, `help_answered`), their text
    committed to like a reason; the text here is erased with the order's personal data."""

    __tablename__ = "help_request"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    text: Mapped[str | None] = mapped_column(String(500))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answer: Mapped[str | None] = mapped_column(String(1000), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answered_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    answered_late: Mapped[bool] = mapped_column(default=False)  # R8: after 2 h
    # An optional file the trainee joins (a screenshot, the exercise): its SHA-256 is chained
    # with the request; the file itself is erased with the order's personal data.
    file_name: Mapped[str | None] = mapped_column(String(120), default=None)
    file_type: Mapped[str | None] = mapped_column(String(100), default=None)
    file_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    file_content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))


class RecordAccess(IdMixin, Model):
    """Who read a trainee's record, when and what (for the organisation's data protection
    officer). Written on its own connection: a read leaves its line even if nothing commits."""

    __tablename__ = "record_access"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    reader_id: Mapped[str] = mapped_column(String(24))  # a user (or a trainee's id)
    reader_role: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DataRequest(IdMixin, Model):
    """A trainee's access or erasure request (GDPR) and the organisation's answer."""

    __tablename__ = "data_request"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # access, erasure
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(String(1000), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answered_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    answer: Mapped[str | None] = mapped_column(String(1000), default=None)
    erasure_scheduled_on: Mapped[date | None] = mapped_column(Date, default=None)


class SessionRollup(Model):
    """What the Région's dashboards read of a closed session, kept as it closes and as
    absences and corrections follow (`attendance.signals.session_settled`): its planned and
    realised minutes, presence, absences by reason and, when held and synchronous, the clock
    span it bills (a group's spans are united per month, as the billing does). A test holds
    every row to the session's chain."""

    __tablename__ = "session_rollup"
    # derived data: it goes with its session (it never stands in the way of the session's fate)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"))
    department: Mapped[str | None] = mapped_column(String(3), default=None)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, Europe/Paris
    kind: Mapped[str] = mapped_column(String(20))
    whole_group: Mapped[bool]
    planned_minutes: Mapped[int]
    realised_minutes: Mapped[int]
    participants: Mapped[int]
    present: Mapped[int]
    # half-days of absence by reason: not signed at the close, justified, not justified
    absent_not_signed: Mapped[int] = mapped_column(default=0)
    absent_justified: Mapped[int] = mapped_column(default=0)
    absent_unjustified: Mapped[int] = mapped_column(default=0)
    held: Mapped[bool]
    billable_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    billable_stop: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # A group's month is united again on each close, absence or correction (group_billable).
    __table_args__ = (Index("ix_session_rollup_group_month", "group_id", "month"),)


class GroupRollup(Model):
    """A group's billable minutes in a month: the union of the clock spans of its held
    synchronous sessions (R11), kept with the sessions' rollups."""

    __tablename__ = "group_rollup"
    group_id: Mapped[str] = mapped_column(ForeignKey("training_group.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"))
    billable_minutes: Mapped[int]
