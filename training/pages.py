"""Browser pages of training data: orders, the trainer's and the trainee's sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template

from attendance import services as sessions
from attendance.rules import PARIS
from core.auth import Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Role
from training import access

bp = Blueprint("training_pages", __name__, template_folder="templates")


@bp.route("/commandes")
@roles_required(Role.ORG_ADMIN, Role.FINANCE, Role.REGION)
def orders(principal: Principal) -> Any:
    items = list(db.session.scalars(access.visible_orders(principal)))
    return render_template("orders.html", orders=items)


@bp.route("/seances")
@roles_required(Role.TRAINER, Role.SITE_STAFF)
def trainer_sessions(principal: Principal) -> Any:
    today = utcnow().astimezone(PARIS).date()
    start = datetime(today.year, today.month, today.day, tzinfo=PARIS)
    items = sessions.sessions_between(principal, start - timedelta(days=today.weekday()), 7)
    return render_template("trainer_sessions.html", sessions=items)


@bp.route("/mes-seances")
@roles_required(Role.TRAINEE)
def my_sessions(principal: Principal) -> Any:
    today = utcnow().astimezone(PARIS).date()
    start = datetime(today.year, today.month, today.day, tzinfo=PARIS)
    items = sessions.sessions_between(principal, start - timedelta(days=today.weekday()), 14)
    return render_template("my_sessions.html", sessions=items)
