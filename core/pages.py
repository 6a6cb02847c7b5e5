"""Browser pages of accounts: staff login, trainee invitation, logout, home by role."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from core import services
from core.auth import current_principal
from core.db import utcnow
from core.errors import DomainError, Unauthenticated
from core.extensions import db
from core.forms import is_local_path
from core.models import ROLE_LABELS, Role
from core.ratelimit import failed_logins, failed_redemptions
from core.templating import template_constants

bp = Blueprint("pages", __name__)


HOME_BY_ROLE = {
    Role.ORG_ADMIN: "training_pages.orders",
    Role.FINANCE: "training_pages.orders",
    Role.REGION: "training_pages.orders",
    Role.TRAINER: "attendance_pages.trainer_sessions",
    Role.TRAINEE: "attendance_pages.my_sessions",
    Role.SITE_STAFF: "attendance_pages.trainer_sessions",
}


template_constants(bp, role_labels=ROLE_LABELS)


@bp.app_context_processor
def inject_principal() -> dict[str, Any]:
    """The signed-in principal: per request, so a context variable (macros take it as an
    argument; constants are Jinja globals, see core.templating.template_constants)."""
    principal = current_principal() if not request.path.startswith("/api/") else None
    return {"principal": principal}


@bp.route("/")
def home() -> Any:
    principal = current_principal()
    if principal is None:
        raise Unauthenticated()  # to the login, or a revoked phone to its invitation page
    return redirect(url_for(HOME_BY_ROLE[Role(principal.role)]))


def safe_next() -> str | None:
    """The page asked for before login, only if it is a path of this site."""
    target = request.args.get("next", "")
    return target if is_local_path(target) else None


@bp.route("/connexion", methods=["GET", "POST"])
@failed_logins
def login() -> Any:
    """Staff login form; the password is checked with Argon2id."""
    error = None
    if request.method == "POST":
        try:
            user = services.authenticate(
                request.form.get("email", ""),
                request.form.get("password", ""),
                current_app.config["ARGON2"],
            )
        except DomainError as exc:
            error = exc.message
        else:
            session.clear()
            session.update(kind="staff", uid=user.id, since=int(time.time()))
            return redirect(safe_next() or url_for("pages.home"))
    return render_template("login.html", error=error), 401 if error else 200


@bp.route("/invitation", methods=["GET", "POST"])
@failed_redemptions
def invitation() -> Any:
    """The trainee's first visit: the code (filled from the link) binds this phone."""
    error = None
    if request.method == "POST":
        try:
            invitation = services.redeem_invitation(
                request.form.get("code", ""),
                now=utcnow(),
                secret_key=current_app.config["SECRET_KEY"],
                device=request.user_agent.string or "navigateur",
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            session.clear()
            session.permanent = True
            session.update(kind="trainee", uid=invitation.trainee_id, dev=invitation.id)
            return redirect(url_for("pages.home"))
    return render_template("invitation.html", error=error), 400 if error else 200


@bp.route("/deconnexion", methods=["POST"])
def logout() -> Any:
    session.clear()
    g.pop("principal", None)
    return redirect(url_for("pages.login"))
