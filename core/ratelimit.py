"""Failed attempts limited per client: a cheap check on every request, a count on failure.

Flask-Limiter counts every request it guards; sign-in must count only failures, and its
check sits on the hottest path of the service. This uses the same `limits` strategy and the
same storage as Flask-Limiter (Redis in production, so every worker sees the same counts).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request, session
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

from core.auth import verified_claims
from core.errors import DomainError, TooManyAttempts, Unauthenticated
from core.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])


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
    """`rate` failed attempts per client, then 429 until the window ends."""

    def __init__(self, rate: str, scope: str) -> None:
        self.item: RateLimitItem = parse(rate)
        self.scope = scope

    def _strategy(self) -> FixedWindowRateLimiter:
        cached = current_app.extensions.get("failure_limiter")
        if cached is None or cached.storage is not limiter.storage:
            cached = FixedWindowRateLimiter(limiter.storage)
            current_app.extensions["failure_limiter"] = cached
        return cached

    def __call__(self, view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            strategy, key = self._strategy(), client_key()
            if not strategy.test(self.item, self.scope, key):
                raise TooManyAttempts()
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except (DomainError, HTTPException):
                strategy.hit(self.item, self.scope, key)
                raise
            if response.status_code >= 400:
                strategy.hit(self.item, self.scope, key)
            return response

        return guarded  # type: ignore[return-value]
