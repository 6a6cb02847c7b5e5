"""Training sessions (séances) of a group."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin, UTCDateTime, new_id
from core.extensions import Model
from training.models import Enrolment, Group


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
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_by_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    # Per-session secret of the rotating QR tokens, drawn when the session opens.
    qr_key: Mapped[str | None] = mapped_column(String(64), default=None)
    # Head of this session's shard of the signature ledger (see docs/ledger.md).
    chain_length: Mapped[int] = mapped_column(default=0, server_default="0")
    chain_head: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Who takes part: the whole group (enrolled on the day), or the trainees listed in
    # session_participant (a sub-group, one trainee). The trainer who leads it.
    whole_group: Mapped[bool] = mapped_column(default=True, server_default=true())
    lead_trainer_id: Mapped[str | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    # A trainer of the organisation who replaces the group's trainers for this session (CCTP
    # §4.1.2): runs it as they do; chained as a `substituted` entry.
    substitute_trainer_id: Mapped[str | None] = mapped_column(
        ForeignKey("app_user.id"), default=None
    )

    group: Mapped[Group] = relationship(lazy="joined")
    participants: Mapped[list[SessionParticipant]] = relationship(
        cascade="all, delete-orphan", order_by="SessionParticipant.trainee_id"
    )

    @property
    def participant_ids(self) -> list[str] | None:
        """The listed participants, or None for the whole group."""
        return None if self.whole_group else [p.trainee_id for p in self.participants]

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600

    def is_run_by(self, user_id: str) -> bool:
        """A trainer of the group, or the session's substitute, runs it."""
        return self.substitute_trainer_id == user_id or self.group.has_trainer(user_id)

    def is_synchronous(self) -> bool:
        return self.kind != SessionKind.AUTOFORMATION

    def is_open(self) -> bool:
        return self.status == "open"


class SessionParticipant(Model):
    """A trainee listed as a participant of a session for part of its group."""

    __tablename__ = "session_participant"
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), primary_key=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), primary_key=True, index=True)


class Signature(Model):
    """One entry of the émargement ledger: the session's plan and its edits, its opening and
    close, a signature, sign-out, absence or correction.

    Entries are appended, never updated: each carries its place in its session's hash chain,
    and every stored column is covered by its hash (the personal part through a salted
    commitment, so that it can be purged: attendance/ledger.py).
    """

    __tablename__ = "signature"
    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))  # sign_in, sign_out, absence, correction
    signer_kind: Mapped[str] = mapped_column(String(10))  # trainee or trainer
    signer_id: Mapped[str] = mapped_column(String(24), index=True)
    half_day: Mapped[str] = mapped_column(String(2))  # am or pm (Europe/Paris, split at 13:00)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(40))
    device: Mapped[dict] = mapped_column(JSON, default=dict)
    author_id: Mapped[str | None] = mapped_column(String(24), default=None)
    action: Mapped[str | None] = mapped_column(String(20), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    justified: Mapped[bool | None] = mapped_column(default=None)
    # Hash format (attendance/ledger.py): 1 for entries written before version 2.
    v: Mapped[int] = mapped_column(default=2, server_default="1")
    facts: Mapped[dict | None] = mapped_column(JSON, default=None)  # a plan or its edit
    salt: Mapped[str | None] = mapped_column(String(32), default=None)  # erased by a purge
    commitment: Mapped[str | None] = mapped_column(String(64), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        # Exactly once: one sign-in and one sign-out per signer, session and half-day,
        # enforced by the database whatever the number of concurrent requests.
        Index(
            "uq_signature_once",
            "session_id",
            "signer_id",
            "half_day",
            "kind",
            unique=True,
            sqlite_where=text("kind IN ('sign_in', 'sign_out')"),
            postgresql_where=text("kind IN ('sign_in', 'sign_out')"),
            # Billing (R11) asks whether any trainee signed a session: answered from this
            # index alone, no row read (docs/exports.md, "How it is computed").
            postgresql_include=["signer_kind"],
        ),
        # Billing (R11) reads a session's own entries (plan, opening, close) and its
        # trainers' signatures, never its trainees' (most of its entries): these alone, in
        # chain order, with what billing needs of them (docs/exports.md).
        Index(
            "ix_signature_session_facts",
            "session_id",
            "seq",
            sqlite_where=text("signer_kind <> 'trainee'"),
            postgresql_where=text("signer_kind <> 'trainee'"),
            postgresql_include=["kind", "signer_kind", "half_day", "at", "facts"],
        ),
        # Billing (R11) reads again the sessions where a correction cancelled a signature:
        # these few rows find them.
        Index(
            "ix_signature_absent_corrections",
            "session_id",
            sqlite_where=text("kind = 'correction' AND action = 'mark_absent'"),
            postgresql_where=text("kind = 'correction' AND action = 'mark_absent'"),
        ),
    )


class SignInCode(IdMixin, Model):
    """A single-use personal code for a trainee without a phone (site PCs, kiosks)."""

    __tablename__ = "sign_in_code"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"))
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    used_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LedgerSeal(Model):
    """A seal of the ledger as stored in the database; the same seal is appended to an export
    outside it (attendance.sealing). Seals are only ever inserted."""

    __tablename__ = "ledger_seal"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    previous: Mapped[str] = mapped_column(String(64))
    root: Mapped[str] = mapped_column(String(64))
    count: Mapped[int]
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(100))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    sessions: Mapped[list] = mapped_column(JSON, default=list)  # [[session id, length, head]]


class SealedState(Model):
    """Each session's chain as the last seal saw it: tells the sealer which sessions changed
    since. An index only: verification reads the seals themselves (and their export)."""

    __tablename__ = "ledger_sealed_state"
    # No foreign key: a session deleted behind the service's back must stay visible here.
    session_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    length: Mapped[int]
    head: Mapped[str] = mapped_column(String(64))
    seal_seq: Mapped[int]


class CompanyPeriod(IdMixin, Model):
    """A trainee's period in a company (R2), part of one enrolment: the company, its tutor,
    the dates and the planned hours. Its facts and every hour recorded and signed in it are
    entries of its own hash chain (CompanyEntry), like a session's (docs/ledger.md)."""

    __tablename__ = "company_period"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolment.id"), index=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14), default=None)
    tutor_name: Mapped[str] = mapped_column(String(200))
    tutor_email: Mapped[str] = mapped_column(String(254))
    tutor_phone: Mapped[str | None] = mapped_column(String(30), default=None)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    planned_hours: Mapped[float]
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    # Head of this period's chain (as TrainingSession's).
    chain_length: Mapped[int] = mapped_column(default=0, server_default="0")
    chain_head: Mapped[str] = mapped_column(String(64), default="", server_default="")

    enrolment: Mapped[Enrolment] = relationship(lazy="joined")
    lines: Mapped[list[CompanyHours]] = relationship(
        order_by="CompanyHours.first_day", viewonly=True
    )


class CompanyHours(IdMixin, Model):
    """Hours realised in a company period over some days (a day or a week, inside one month).
    They count once both the trainee and the tutor signed them; the signature columns are a
    projection of the period's chain, which alone sets the hours."""

    __tablename__ = "company_hours"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    period_id: Mapped[str] = mapped_column(ForeignKey("company_period.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int]
    recorded_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    trainee_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    tutor_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_counted(self) -> bool:
        signed = self.trainee_signed_at is not None and self.tutor_signed_at is not None
        return signed and self.cancelled_at is None

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class CompanyEntry(Model):
    """One entry of a company period's chain: its plan, a line of hours, a signature of the
    trainee or of the tutor, a certificate counting it. Hashed as the ledger's entries are
    (attendance/ledger.py, with `period_id` in the place of the session), only inserted."""

    __tablename__ = "company_entry"
    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    period_id: Mapped[str] = mapped_column(ForeignKey("company_period.id"))
    seq: Mapped[int]
    v: Mapped[int] = mapped_column(default=2)
    kind: Mapped[str] = mapped_column(String(20))  # company_plan, company_hours, company_sign…
    signer_kind: Mapped[str] = mapped_column(String(10))  # period, trainee or tutor
    signer_id: Mapped[str] = mapped_column(String(24))
    # The line a signature is for: with `signer_kind`, the once-only key of a signature.
    hours_id: Mapped[str | None] = mapped_column(String(24), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[str | None] = mapped_column(String(24), default=None)
    facts: Mapped[dict | None] = mapped_column(JSON, default=None)
    device: Mapped[dict] = mapped_column(JSON, default=dict)
    salt: Mapped[str | None] = mapped_column(String(32), default=None)  # erased by a purge
    commitment: Mapped[str | None] = mapped_column(String(64), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("period_id", "seq"),
        # Exactly once: one signature of the trainee and one of the tutor per line.
        Index(
            "uq_company_entry_once",
            "hours_id",
            "signer_kind",
            unique=True,
            sqlite_where=text("kind = 'company_sign'"),
            postgresql_where=text("kind = 'company_sign'"),
        ),
    )


class TutorCode(IdMixin, Model):
    """A personal code for a company tutor (who has no account): it signs, once, the hours of
    its period that wait for the tutor's signature. Only its keyed digest is stored."""

    __tablename__ = "company_tutor_code"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    period_id: Mapped[str] = mapped_column(ForeignKey("company_period.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
