"""Session endpoints: plan, edit, list and read sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_smorest import Blueprint

from attendance import services
from attendance.models import TrainingSession
from attendance.rules import PARIS
from attendance.schemas import SessionInSchema, SessionPatchSchema, SessionRangeArgs, SessionSchema
from core.api import ErrorSchema, PageArgs, page_schema
from core.auth import ANY_ROLE, Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Role
from core.pagination import paginate
from training.services import get_group

blp = Blueprint("attendance", __name__, url_prefix="/api/v1", description="Séances et émargement")


@blp.route("/groups/<group_id>/sessions", methods=["POST"])
@roles_required(Role.ORG_ADMIN, Role.TRAINER)
@blp.arguments(SessionInSchema)
@blp.response(201, SessionSchema)
@blp.alt_response(422, schema=ErrorSchema, description="R6 or R10 refuses")
def plan_session(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Plan a tutorat, autoformation or regroupement session for a group (R6, R10)."""
    session = services.plan_session(principal, group_id, data)
    db.session.commit()
    return session


@blp.route("/groups/<group_id>/sessions", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(SessionSchema, "SessionPage"))
def list_group_sessions(args: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Sessions of a group, in time order."""
    group = get_group(principal, group_id)
    query = services.visible_sessions(principal).where(TrainingSession.group_id == group.id)
    items, cursor = paginate(
        query, TrainingSession.starts_at, TrainingSession.id, args["limit"], args["cursor"]
    )
    return {"items": items, "next_cursor": cursor}


@blp.route("/sessions", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(SessionRangeArgs, location="query")
@blp.response(200, page_schema(SessionSchema, "SessionRangePage"))
def list_sessions(args: dict[str, Any], principal: Principal) -> Any:
    """The caller's sessions from `start` (default today, Paris) for `days` days."""
    day = args["start"] or utcnow().astimezone(PARIS).date()
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    return {"items": services.sessions_between(principal, start, args["days"]), "next_cursor": None}


@blp.route("/sessions/<session_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, SessionSchema)
def get_session(session_id: str, principal: Principal) -> Any:
    return services.get_session(principal, session_id)


@blp.route("/sessions/<session_id>", methods=["PATCH"])
@roles_required(Role.ORG_ADMIN, Role.TRAINER)
@blp.arguments(SessionPatchSchema)
@blp.response(200, SessionSchema)
def update_session(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """Change a planned session (R6 and R10 checked again)."""
    session = services.update_session(principal, session_id, data)
    db.session.commit()
    return session
