"""Failed attempts limited per client: one cheap check per guarded request, a count on failure.

Built on `limits` (fixed windows; Redis in production, so every worker sees the same counts):
login, invitation codes and sign-ins count only what fails, and the check sits on the
service's hottest path, so no per-request extension hook runs for the other endpoints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, request, session
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

from core.auth import verified_claims
from core.errors import DomainError, TooManyAttempts, Unauthenticated

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

# A Redis that does not answer within this time is taken as down (the request goes on).
REDIS_TIMEOUT_S = 0.5


class ResilientLimiter:
    """Fixed-window counters in shared storage (Redis), and in this process while it is away.

    Logins and sign-ins must keep working when Redis is down: its first error switches the
    counting to memory, with one warning, for `retry_s`; then Redis is tried again, and a
    success is logged once. Counts made meanwhile stay in the process (each worker counts its
    own: the limit is at worst the number of workers times looser, never absent).
    """

    def __init__(self, uri: str, retry_s: float = 10.0) -> None:
        self.uri = uri
        self.retry_s = retry_s
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self.shared: FixedWindowRateLimiter | None = None
        if not uri.startswith("memory://"):
            storage = storage_from_string(
                uri,
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                socket_timeout=REDIS_TIMEOUT_S,
            )
            self.shared = FixedWindowRateLimiter(storage)
        self.down_until = 0.0  # monotonic time until which the shared storage is not tried
        self._lock = threading.Lock()

    @property
    def is_shared_down(self) -> bool:
        return self.shared is not None and time.monotonic() < self.down_until

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        return bool(self._call("test", item, *identifiers))

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        return bool(self._call("hit", item, *identifiers))

    def reset(self) -> None:
        """Forget every count (tests)."""
        self.local.storage.reset()
        if self.shared is not None and not self.is_shared_down:
            self._call("reset")

    def _call(self, name: str, *args: Any) -> Any:
        if self.shared is not None and time.monotonic() >= self.down_until:
            strategy = self.shared if name != "reset" else self.shared.storage
            try:
                result = getattr(strategy, name)(*args)
            except StorageError as error:
                self._went_down(error)
            else:
                self._came_back()
                return result
        target = self.local if name != "reset" else self.local.storage
        return getattr(target, name)(*args)

    def _went_down(self, error: StorageError) -> None:
        with self._lock:
            was_up = self.down_until == 0.0
            self.down_until = time.monotonic() + self.retry_s
        if was_up:
            log.warning(
                "Redis unreachable for failed-attempt counters (%s): counting in this "
                "process until it answers again",
                error.storage_error,
            )

    def _came_back(self) -> None:
        if self.down_until:
            with self._lock:
                self.down_until = 0.0
            log.warning("Redis answers again: failed attempts are counted there again")


def init_app(app: Flask) -> None:
    """One counter store per app: Redis in production (shared by every worker), else memory."""
    app.extensions["failure_limits"] = ResilientLimiter(app.config["RATELIMIT_STORAGE_URI"])


def limiter(app: Flask) -> ResilientLimiter:
    limits: ResilientLimiter = app.extensions["failure_limits"]
    return limits


def reset(app: Flask) -> None:
    """Forget every count (tests)."""
    limiter(app).reset()


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
