"""Account endpoints: login, trainee device binding, organisations, users, invitations."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app

from core import services
from core.api import Blueprint, ErrorSchema
from core.auth import ANY_ROLE, Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.health import report as health_report
from core.models import Role
from core.ratelimit import failed_logins, failed_redemptions
from core.schemas import (
    InvitationStatusSchema,
    LoginSchema,
    MeSchema,
    OrganisationInSchema,
    OrganisationSchema,
    TokenSchema,
    TraineeLoginSchema,
    UserInSchema,
    UserSchema,
)
from core.tokens import issue_token

LiveSchema = ma.Schema.from_dict({"status": ma.fields.String()}, name="Live")
HealthSchema = ma.Schema.from_dict(
    {
        "status": ma.fields.String(metadata={"enum": ["ok", "degraded", "down"]}),
        "database": ma.fields.String(metadata={"enum": ["ok", "down"]}),
        "redis": ma.fields.String(metadata={"enum": ["ok", "down", "not_configured"]}),
        "failed_attempts": ma.fields.String(
            metadata={"description": "Where failed attempts are counted: redis or memory"}
        ),
        "live_events": ma.fields.String(
            metadata={"description": "redis, in_process (no Redis configured) or dropped"}
        ),
        "message": ma.fields.String(metadata={"description": "French sentence for a person"}),
    },
    name="Health",
)
blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Comptes et accès")


def staff_token(user_id: str, role: str) -> dict[str, Any]:
    """The login answer for a staff account."""
    cfg = current_app.config
    ttl = cfg["JWT_STAFF_TTL_S"]
    token = issue_token(
        cfg["JWT_SECRET"],
        cfg["JWT_AUDIENCE"],
        subject=user_id,
        typ="staff",
        now=utcnow(),
        ttl_s=ttl,
        claims={"role": role},
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "role": role}


def trainee_token(trainee_id: str, invitation_id: str) -> dict[str, Any]:
    """The answer of a device binding: a long-lived token tied to that invitation."""
    cfg = current_app.config
    ttl = cfg["JWT_TRAINEE_TTL_S"]
    token = issue_token(
        cfg["JWT_SECRET"],
        cfg["JWT_AUDIENCE"],
        subject=trainee_id,
        typ="trainee",
        now=utcnow(),
        ttl_s=ttl,
        claims={"role": Role.TRAINEE, "dev": invitation_id},
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "role": Role.TRAINEE}


@blp.route("/auth/login", methods=["POST"])
@failed_logins
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="invalid_credentials")
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts: 10 failures a minute")
def login(data: dict[str, Any]) -> Any:
    """Staff login: a bearer token for the API."""
    user = services.authenticate(data["email"], data["password"], current_app.config["ARGON2"])
    return staff_token(user.id, user.role)


@blp.route("/auth/trainee", methods=["POST"])
@failed_redemptions
@blp.arguments(TraineeLoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(404, schema=ErrorSchema, description="invalid_code")
@blp.alt_response(409, schema=ErrorSchema, description="invitation_used: already bound a device")
@blp.alt_response(410, schema=ErrorSchema, description="invitation_revoked, invitation_expired")
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts: 10 failures a minute")
def trainee_login(data: dict[str, Any]) -> Any:
    """Redeem an invitation code: binds this device, once."""
    invitation = services.redeem_invitation(
        data["code"],
        now=utcnow(),
        secret_key=current_app.config["SECRET_KEY"],
        device=data["device"] or "API",
    )
    db.session.commit()
    return trainee_token(invitation.trainee_id, invitation.id)


@blp.route("/health/live", methods=["GET"])
@blp.response(200, LiveSchema)
def live() -> Any:
    """Liveness probe: the process answers (public; touches nothing)."""
    return {"status": "ok"}


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database does not answer")
def health() -> Any:
    """What works: the database and Redis (public; 503 only when the database is down)."""
    state = health_report()
    return state, 503 if state["status"] == "down" else 200


@blp.route("/me", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, MeSchema)
def me(principal: Principal) -> Any:
    """Who the token belongs to."""
    return principal


@blp.route("/organisations", methods=["POST"])
@roles_required(Role.REGION)
@blp.arguments(OrganisationInSchema)
@blp.response(201, OrganisationSchema)
@blp.alt_response(409, schema=ErrorSchema, description="duplicate_siret")
def create_organisation(data: dict[str, Any], principal: Principal) -> Any:
    """The Région registers a training organisation."""
    organisation = services.create_organisation(principal, data["name"], data["siret"])
    db.session.commit()
    return organisation


@blp.route("/organisations/<organisation_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, OrganisationSchema)
def get_organisation(organisation_id: str, principal: Principal) -> Any:
    """One organisation: the Région's view, or a member's own."""
    return services.get_organisation(principal, organisation_id)


@blp.route("/users", methods=["POST"])
@roles_required(Role.REGION, Role.ORG_ADMIN)
@blp.arguments(UserInSchema)
@blp.response(201, UserSchema)
@blp.alt_response(404, schema=ErrorSchema, description="The organisation or the site")
@blp.alt_response(409, schema=ErrorSchema, description="duplicate_email")
def create_user(data: dict[str, Any], principal: Principal) -> Any:
    """Create a staff account (the Région any role; an org admin its own staff)."""
    user = services.create_user(principal, data, current_app.config["ARGON2"])
    db.session.commit()
    return user


@blp.route("/invitations/<invitation_id>/revoke", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.response(200, InvitationStatusSchema)
def revoke_invitation(invitation_id: str, principal: Principal) -> Any:
    """Unbind a trainee's device (lost or changed phone)."""
    invitation = services.revoke_invitation(principal, invitation_id, now=utcnow())
    db.session.commit()
    return invitation
