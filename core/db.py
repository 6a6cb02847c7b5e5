"""Declarative base, id generation and the timezone-aware UTC datetime column type."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, TypeDecorator, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A 24-character id that sorts by creation time (ms clock, then 48 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


def ping_after_idle(engine: Engine, idle_s: float) -> None:
    """Check a pooled connection before lending it only when it sat idle `idle_s` or longer.

    SQLAlchemy's `pool_pre_ping` checks at every checkout: one more round trip to the database
    per request, the sign-in's included. A connection in steady use needs no check; one that
    sat idle (the database restarted, a firewall dropped it meanwhile) is pinged with the
    dialect's own ping and, if dead, replaced (DisconnectionError: the pool connects afresh).
    A connection that dies while in use fails its statement and is invalidated, with the rest
    of the pool; a sign-in then runs once more on a fresh one (attendance.web.once).
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return  # just connected, or back from a request moments ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means: connect afresh
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the database did not answer the ping")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of every model: naming convention for constraints, string ids."""

    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    """A string primary key generated in Python (ids are strings in the API)."""

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
