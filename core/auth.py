"""Who is asking: the principal behind a bearer token (API) or a session cookie (pages)."""

from __future__ import annotations

import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Request, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import bindparam, select

from core.errors import DomainError, Forbidden, Unauthenticated
from core.extensions import db
from core.models import Invitation, Role, Trainee, User
from core.tokens import decode_token

F = TypeVar("F", bound=Callable[..., Any])


class PageSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, for the pages only: the API authenticates by bearer
    and never reads the cookie, so its requests skip opening (verifying) one."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a staff user or a trainee on a bound device."""

    id: str
    role: str
    organisation_id: str | None
    site_id: str | None
    name: str
    device_id: str | None = None

    @property
    def is_trainee(self) -> bool:
        return self.role == Role.TRAINEE

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


def principal_for_user(user_id: str) -> Principal | None:
    """The principal of an active staff account, or None."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return Principal(user.id, user.role, user.organisation_id, user.site_id, user.full_name)


# Built once: building a statement and its cache key costs more than running it.
DEVICE_PRINCIPAL = (
    select(Trainee.organisation_id, Trainee.first_name, Trainee.last_name)
    .join_from(Trainee, Invitation, Invitation.trainee_id == Trainee.id)
    .where(
        Invitation.id == bindparam("invitation_id"),
        Trainee.id == bindparam("trainee_id"),
        Invitation.revoked_at.is_(None),
    )
)


def principal_for_device(trainee_id: str, invitation_id: str) -> Principal | None:
    """The principal of a trainee whose device binding still stands, or None.

    One column query on every trainee request (the sign-in hot path): no ORM objects built.
    """
    row = (
        db.session.connection()
        .execute(DEVICE_PRINCIPAL, {"invitation_id": invitation_id, "trainee_id": trainee_id})
        .first()
    )
    if row is None:
        return None
    organisation_id, first_name, last_name = row
    name = f"{first_name} {last_name}"
    return Principal(trainee_id, Role.TRAINEE, organisation_id, None, name, invitation_id)


REQUEST_SCOPED = ("principal", "bearer_claims", "device_revoked")


def forget_earlier_request() -> None:
    """Drop what an earlier request cached on g (an app context can outlive one request)."""
    if g.get("request_environ") is not request.environ:
        for name in REQUEST_SCOPED:
            g.pop(name, None)
        g.request_environ = request.environ


def verify_bearer(header: str) -> dict[str, Any]:
    """The claims of a valid `Authorization: Bearer …` value, or raise 401."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("En-tête Authorization attendu : « Bearer <jeton> ».")
    cfg = current_app.config
    return decode_token(cfg["JWT_SECRET"], cfg["JWT_AUDIENCE"], token, typ=("staff", "trainee"))


def verified_claims(header: str) -> dict[str, Any]:
    """The claims of `header`, decoded once per request (g.bearer_claims), or raise 401."""
    forget_earlier_request()
    cached = g.get("bearer_claims")
    if cached is None or cached[0] != header:
        g.bearer_claims = cached = (header, verify_bearer(header))
    return cached[1]


def principal_from_bearer(header: str) -> Principal:
    """Verify `Authorization: Bearer …` and load its principal, or raise 401."""
    claims = verified_claims(header)
    if claims["typ"] == "trainee":
        principal = principal_for_device(str(claims["sub"]), str(claims.get("dev", "")))
    else:
        principal = principal_for_user(str(claims["sub"]))
    if principal is None:
        raise Unauthenticated("Ce compte ou cet appareil n'est plus autorisé.", code="revoked")
    return principal


def device_claim() -> tuple[str, str] | None:
    """(trainee id, invitation id) of a trainee's bearer, verified but not looked up: for the
    sign-in hot path, whose one query checks the binding itself. None for other callers."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    claims = verified_claims(header)
    if claims["typ"] != "trainee":
        return None
    return str(claims["sub"]), str(claims.get("dev", ""))


def principal_from_cookie() -> Principal | None:
    """The principal of the browser session, or None when signed out, expired or revoked."""
    kind = session.get("kind")
    if kind == "trainee":
        return bound_trainee()
    if kind == "staff":
        return fresh_staff()
    return None


def fresh_staff() -> Principal | None:
    """The staff member of a cookie younger than JWT_STAFF_TTL_S; an older one is signed out."""
    since = session.get("since")
    if not isinstance(since, int) or time.time() - since > current_app.config["JWT_STAFF_TTL_S"]:
        session.clear()
        return None
    return principal_for_user(session.get("uid", ""))


def bound_trainee() -> Principal | None:
    """The trainee of this phone while its binding stands; a revoked phone is signed out."""
    principal = principal_for_device(session.get("uid", ""), session.get("dev", ""))
    if principal is None:
        session.clear()
        forget_earlier_request()
        g.device_revoked = True
    return principal


def device_revoked() -> bool:
    """Whether this request came from a phone whose binding was just found revoked."""
    forget_earlier_request()
    return bool(g.get("device_revoked"))


def current_principal() -> Principal | None:
    """The caller of this request (bearer for the API, cookie for pages), cached on g."""
    forget_earlier_request()
    if "principal" not in g:
        if request.path.startswith("/api/"):
            header = request.headers.get("Authorization")
            g.principal = principal_from_bearer(header) if header else None
        else:
            g.principal = principal_from_cookie()
    return g.principal


def roles_required(*roles: str) -> Callable[[F], F]:
    """Refuse anonymous callers (401) and callers without one of `roles` (403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise Unauthenticated()
            if roles and principal.role not in roles:
                raise Forbidden()
            return view(*args, principal=principal, **kwargs)

        # Document the bearer requirement and the roles in the OpenAPI description.
        wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
        manual = wrapper._apidoc.setdefault("manual_doc", {})  # type: ignore[attr-defined]
        manual["security"] = [{"bearerAuth": []}]
        manual["x-roles"] = list(roles) or "any signed-in user"
        return wrapper  # type: ignore[return-value]

    return decorator


ANY_ROLE: tuple[str, ...] = ()


def principal_from_socket(auth: Any) -> Principal | None:
    """Who opens a Socket.IO connection: `auth: {token}` (the API's bearer), else the page's
    cookie session; None when neither stands (the connection is then refused).

    `before_request` does not run for Socket.IO, so every namespace calls this on connect,
    and `still_valid` again in its handlers."""
    token = auth.get("token") if isinstance(auth, dict) else None
    try:
        if token:
            return principal_from_bearer(f"Bearer {token}")
        return principal_from_cookie()
    except DomainError:
        return None


def still_valid(principal: Principal) -> Principal | None:
    """The same principal read again: None once the account is deactivated or the trainee's
    device binding revoked (long-lived connections check it again)."""
    if principal.is_trainee:
        return principal_for_device(principal.id, principal.device_id or "")
    return principal_for_user(principal.id)
