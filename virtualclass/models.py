"""What the virtual class stores: connections (presence as proof), presence checks and their
answers, the whiteboard's strokes, shared files, and each session's room settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import IdMixin, UTCDateTime
from core.extensions import Model


class ClassConnection(IdMixin, Model):
    """One Socket.IO connection of a person to a session's class: from joining to leaving.

    `left_at` stays empty while connected; a process that died leaves rows open, closed by the
    next start of the class's sweeper (`services.close_stale`)."""

    __tablename__ = "class_connection"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"))
    person_kind: Mapped[str] = mapped_column(String(10))  # trainee or trainer
    person_id: Mapped[str] = mapped_column(String(24))
    sid: Mapped[str] = mapped_column(String(64))  # the Socket.IO connection
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())  # last sign of life

    __table_args__ = (
        Index("ix_class_connection_session_person", "session_id", "person_id"),
        Index("ix_class_connection_sid", "sid"),
    )


class PresenceCheck(IdMixin, Model):
    """A presence check the trainer launched: trainees answer before `closes_at`."""

    __tablename__ = "presence_check"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), index=True)
    launched_by_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    launched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PresenceAnswer(Model):
    """A trainee's timely answer to a check, and the sign-in it made (or found)."""

    __tablename__ = "presence_answer"
    check_id: Mapped[str] = mapped_column(ForeignKey("presence_check.id"), primary_key=True)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"), primary_key=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signature_id: Mapped[str | None] = mapped_column(String(24), default=None)


class BoardStroke(Model):
    """One stroke of the whiteboard (or a clear), replayed to late joiners in order."""

    __tablename__ = "board_stroke"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), index=True)
    author_id: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    stroke: Mapped[dict] = mapped_column(JSON)


class ClassFile(IdMixin, Model):
    """A file shared in a session's class, readable by its participants only."""

    __tablename__ = "class_file"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), index=True)
    uploaded_by_id: Mapped[str] = mapped_column(String(24))
    uploader_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ClassRoom(Model):
    """A session's class settings: an external conference link (instead of, or beside, the
    Janus room, whose number is derived from the session's id: virtualclass.media)."""

    __tablename__ = "class_room"
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    conference_url: Mapped[str | None] = mapped_column(String(500), default=None)


class RemoteControl(IdMixin, Model):
    """The trainer guiding a participant's shared screen or board (R16 remote control, as far
    as a browser can go): asked, consented to or refused, ended, each with its time and who
    acted. The row is the proof of the participant's consent."""

    __tablename__ = "class_remote_control"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_session.id"), index=True)
    controller_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))  # the trainer
    owner_id: Mapped[str] = mapped_column(ForeignKey("trainee.id"))  # whose screen is guided
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    granted: Mapped[bool | None] = mapped_column(default=None)  # None: not answered yet
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_by_id: Mapped[str | None] = mapped_column(String(24), default=None)

    @property
    def state(self) -> str:
        """requested, granted, refused or ended."""
        if self.ended_at is not None:
            return "ended"
        if self.granted is None:
            return "requested"
        return "granted" if self.granted else "refused"
