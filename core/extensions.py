"""Extension singletons, bound to the app in create_app (init_app pattern)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.engine import Connection

from core.db import Base

# Objects stay readable after the request's one commit (no reload query per answer).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
socketio = SocketIO()
csrf = CSRFProtect()

_lent: ContextVar[Connection | None] = ContextVar("lent_connection", default=None)


def connection() -> Connection:
    """Where the running use case's statements go: the connection `autocommitting` lent it,
    else the request's database session's."""
    return _lent.get() or db.session.connection()


@contextmanager
def autocommitting() -> Iterator[Connection]:
    """A pooled connection of its own, in autocommit, for a use case whose one write is a
    single statement (a QR sign-in): no ORM unit of work, no BEGIN, no COMMIT. Statements sent
    through `connection()` meanwhile go to it; it returns to the pool afterwards, reset."""
    with db.engine.connect() as lent:
        lent.execution_options(isolation_level="AUTOCOMMIT")
        token = _lent.set(lent)
        try:
            yield lent
        finally:
            _lent.reset(token)


if TYPE_CHECKING:  # Flask-SQLAlchemy's db.Model is dynamic; mypy sees the declarative base
    Model = Base
else:
    Model = db.Model
