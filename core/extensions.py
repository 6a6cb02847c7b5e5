"""Extension singletons, bound to the app in create_app (init_app pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from core.db import Base

# Objects stay readable after the request's one commit (no reload query per answer).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
socketio = SocketIO()
csrf = CSRFProtect()

if TYPE_CHECKING:  # Flask-SQLAlchemy's db.Model is dynamic; mypy sees the declarative base
    Model = Base
else:
    Model = db.Model
