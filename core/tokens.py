"""Signed bearer tokens (PyJWT, HS256 pinned): issue and verify, nothing swallowed silently."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt

from core.errors import Unauthenticated

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "aud", "sub", "typ"]


def issue_token(
    secret: str,
    audience: str,
    *,
    subject: str,
    typ: str,
    now: datetime,
    ttl_s: int,
    claims: dict[str, Any] | None = None,
) -> str:
    """A token of type `typ` for `subject`, valid `ttl_s` seconds from `now`."""
    payload = {
        **(claims or {}),
        "sub": subject,
        "typ": typ,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(secret: str, audience: str, token: str, *, typ: str | tuple[str, ...]) -> dict:
    """Verify signature, algorithm, audience, expiry, required claims and type; or raise 401."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated(
            "Votre session a expiré. Reconnectez-vous.", code="token_expired"
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("Jeton d'accès invalide.", code="invalid_token") from exc
    allowed = (typ,) if isinstance(typ, str) else typ
    if claims.get("typ") not in allowed:
        raise Unauthenticated("Jeton d'accès invalide.", code="invalid_token")
    return claims
