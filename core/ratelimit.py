"""Failed attempts limited per client: one cheap check per guarded request, a count on failure.

Built on `limits` (fixed windows; Redis in production, so every worker sees the same counts):
login, invitation codes and sign-ins count only what fails, and the check sits on the
service's hottest path, so no per-request extension hook runs for the other endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, request, session
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

from core.auth import verified_claims
from core.errors import DomainError, TooManyAttempts, Unauthenticated

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """One counter store per app: Redis in production (shared by every worker), else memory."""
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["failure_limits"] = FixedWindowRateLimiter(storage)


def reset(app: Flask) -> None:
    """Forget every count (tests)."""
    app.extensions["failure_limits"].storage.reset()


def client_key() -> str:
    """Per verified bearer on the API, per browser session on pages, otherwise per address."""
    if request.path.startswith("/api/"):
        return bearer_key() or address_key()
    if session.get("uid"):
        return f"session:{session.get('kind')}:{session['uid']}"
    return address_key()


def bearer_key() -> str | None:
    """A staff account, or a trainee's bound phone, from a verified bearer; None without one."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    try:
        claims = verified_claims(header)
    except Unauthenticated:
        return None  # forged or expired: counted on the address, like an anonymous caller
    if claims["typ"] == "trainee":
        return f"trainee:{claims['sub']}:{claims.get('dev', '')}"
    return f"staff:{claims['sub']}"


def address_key() -> str:
    """The client's address (ProxyFix gives the real one behind TRUSTED_PROXIES proxies)."""
    return "ip:" + (request.remote_addr or "")


class FailureLimit:
    """`rate` failed attempts per client, then 429 until the window ends.

    `guessable(request)` says whether this request carries a secret that can be guessed (a
    password, an invitation or personal code; the default: every request). A client over the
    limit is refused before such a request is tried, even a right guess. A request whose secret
    cannot be guessed (a signed QR token) skips that look-up: its failures are counted all the
    same, and one beyond the limit is answered 429.
    """

    def __init__(
        self,
        rate: str,
        scope: str,
        methods: tuple[str, ...] = ("POST",),
        guessable: Callable[[], bool] = lambda: True,
    ) -> None:
        self.item: RateLimitItem = parse(rate)
        self.scope = scope
        self.methods = methods
        self.guessable = guessable

    def __call__(self, view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if request.method not in self.methods:
                return view(*args, **kwargs)
            strategy, key = current_app.extensions["failure_limits"], client_key()
            if self.guessable() and not strategy.test(self.item, self.scope, key):
                raise TooManyAttempts()
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except (DomainError, HTTPException):
                if not strategy.hit(self.item, self.scope, key):
                    raise TooManyAttempts() from None
                raise
            if response.status_code >= 400 and not strategy.hit(self.item, self.scope, key):
                raise TooManyAttempts()
            return response

        return guarded  # type: ignore[return-value]


# Wrong passwords and wrong invitation codes, on the API and the pages alike.
failed_logins = FailureLimit("10/minute", scope="login")
failed_redemptions = FailureLimit("10/minute", scope="invitation")
