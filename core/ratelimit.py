"""Failed attempts limited per client: a cheap check on every request, a count on failure.

Flask-Limiter counts every request it guards; sign-in must count only failures, and its
check sits on the hottest path of the service. This uses the same `limits` strategy and the
same storage as Flask-Limiter (Redis in production, so every worker sees the same counts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request, session
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

from core.errors import DomainError, TooManyAttempts
from core.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])


def client_key() -> str:
    """Per bearer (a phone, a kiosk) or browser session when there is one, otherwise per
    address: a class behind one network address is not blocked by one trainee's typos."""
    header = request.headers.get("Authorization", "")
    if header:
        return "auth:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    if session.get("uid"):
        return f"session:{session.get('kind')}:{session['uid']}"
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
