"""Issued certificates (realisation, attendance), the organisation's signatory, bulk batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from core.db import IdMixin, UTCDateTime
from core.extensions import Model


class Certificate(IdMixin, Model):
    """One issued PDF: what it certifies, its SHA-256 and where the ledger recorded it.

    Never edited but for `superseded_by_id`: a certificate issued again on other facts (a
    correction since) is a new row of the next `generation`, and the old one points to it.
    The (enrolment, kind, month, generation) key lets one of two concurrent issues win.
    """

    __tablename__ = "certificate"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"))
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolment.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # realisation | attendance
    month: Mapped[str] = mapped_column(String(7), default="")  # YYYY-MM (attendance)
    generation: Mapped[int] = mapped_column(default=1)
    short_id: Mapped[str] = mapped_column(String(10), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # rules.fingerprint of its facts
    minutes: Mapped[int]  # realised minutes, every modality
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by_id: Mapped[str] = mapped_column(String(24))  # a user, a trainee, or "operator"
    entries: Mapped[list] = mapped_column(JSON, default=list)  # [[session id, seq], …]
    superseded_by_id: Mapped[str | None] = mapped_column(ForeignKey("certificate.id"), default=None)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # None once purged

    __table_args__ = (
        UniqueConstraint("enrolment_id", "kind", "month", "generation"),
        Index("ix_certificate_order_month", "order_id", "month"),
    )

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)

    def is_superseded(self) -> bool:
        return self.superseded_by_id is not None


class Signatory(Model):
    """Who signs the organisation's certificates: its legal representative, the place of
    signature, and an optional image of the signature (PNG or JPEG)."""

    __tablename__ = "certificate_signatory"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    signature_image: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CertificateBatch(IdMixin, Model):
    """Every certificate of an order for a month, issued in one action: its progress."""

    __tablename__ = "certificate_batch"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    started_by_id: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(10), default="running")  # running, done, failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class PurgedOrder(Model):
    """An order whose personal data was purged (attendance/retention.py): its certificates are
    never issued again (their facts lost the absences' reasons, not corrected), their PDFs are
    gone (410), and their verification still stands on the ledger."""

    __tablename__ = "certificate_purged_order"
    order_id: Mapped[str] = mapped_column(ForeignKey("training_order.id"), primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime())
