"""Configuration read from the environment, with safe defaults for development only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - refused by check_config outside LOCAL_ENVS
DEFAULT_JWT_SECRET = "dev-jwt-secret-change-me-please-32b"  # noqa: S105

# Argon2id parameters (RFC 9106 "second recommended option": 64 MiB, 3 passes).
ARGON2_PRODUCTION = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
# Tests hash hundreds of passwords: same algorithm, small cost.
ARGON2_TESTING = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
# The only environments allowed the built-in secrets, plain-HTTP cookies and the demo data.
LOCAL_ENVS = ("development", "testing")


API_DESCRIPTION = """API du service d'émargement Compétences Plus (Région Occitanie).

**Authentification** : `POST /api/v1/auth/login` (personnel) ou `POST /api/v1/auth/trainee`
(stagiaire, code d'invitation) donne un jeton à envoyer dans l'en-tête
`Authorization: Bearer <jeton>` (bouton « Authorize »). `x-roles` nomme les rôles admis.

**Erreurs** : `{"error": {"code": "…", "message": "…", "rule": "R…"}}` ; 400 données
invalides, 401 non authentifié, 403 non autorisé, 404 introuvable (ou d'un autre organisme),
409 conflit avec l'état, 410 code ou lien expiré, 413 requête trop volumineuse, 422 refus
par une règle du programme (R1 à R24), 429 trop de tentatives.

**Listes** : `?limit=&cursor=` ; la réponse donne `items` et `next_cursor`.
"""


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete: the app must not start."""


def default_sqlite_url(instance_path: str) -> str:
    """SQLite file in the instance folder: the embedded default."""
    return "sqlite:///" + str(Path(instance_path) / "competences.db")


def load_config(instance_path: str) -> dict[str, Any]:
    """Build the configuration mapping from environment variables."""
    env = os.environ.get("APP_ENV", "production")
    return {
        "APP_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEFAULT_SECRET),
        "JWT_SECRET": os.environ.get("JWT_SECRET", DEFAULT_JWT_SECRET),
        "JWT_AUDIENCE": os.environ.get("JWT_AUDIENCE", "competences-plus-api"),
        "JWT_STAFF_TTL_S": int(os.environ.get("JWT_STAFF_TTL_S", 8 * 3600)),
        "JWT_TRAINEE_TTL_S": int(os.environ.get("JWT_TRAINEE_TTL_S", 200 * 86400)),
        "INVITATION_TTL_S": int(os.environ.get("INVITATION_TTL_S", 14 * 86400)),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL")
        or default_sqlite_url(instance_path),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "SOCKETIO_WRITE_ONLY": os.environ.get("SOCKETIO_WRITE_ONLY", "") in ("1", "true", "yes"),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        "ARGON2": ARGON2_PRODUCTION,
        "SIGN_IN_MARGIN_MIN": int(os.environ.get("SIGN_IN_MARGIN_MIN", 15)),
        "QR_ROTATE_S": int(os.environ.get("QR_ROTATE_S", 15)),
        "QR_GRACE_S": float(os.environ.get("QR_GRACE_S", 5)),
        "SIGN_OUT_GRACE_MIN": int(os.environ.get("SIGN_OUT_GRACE_MIN", 30)),
        # The ledger's seals (attendance.sealing): the signing key never enters the database.
        "LEDGER_SIGNING_KEY": os.environ.get("LEDGER_SIGNING_KEY", ""),
        "LEDGER_PUBLIC_KEY": os.environ.get("LEDGER_PUBLIC_KEY", ""),
        "LEDGER_SEAL_DIR": os.environ.get("LEDGER_SEAL_DIR", ""),
        "LEDGER_SEAL_DELAY_S": _optional_float(os.environ.get("LEDGER_SEAL_DELAY_S", "60")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env not in LOCAL_ENVS,
        "PERMANENT_SESSION_LIFETIME": 200 * 86400,
        # A pooled connection is checked before use only after sitting idle (core.db).
        "DB_PING_AFTER_IDLE_S": float(os.environ.get("DB_PING_AFTER_IDLE_S", 10)),
        "API_TITLE": "Compétences Plus — émargement",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        # The documentation page for people (Swagger UI), its assets served by the app.
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        "OPENAPI_SWAGGER_UI_CONFIG": {
            "validatorUrl": None,
            "docExpansion": "none",
            "showExtensions": True,  # x-roles: who may call each operation
        },
        "API_SPEC_OPTIONS": {"info": {"description": API_DESCRIPTION}},
        "WTF_CSRF_TIME_LIMIT": None,
        # No body of the API or of a page comes near these (core.guards): 413 and 400 beyond.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "JSON_MAX_DEPTH": 32,
        # The virtual class (virtualclass/, R16).
        "CLASS_ALLOWED_ORIGINS": _words(os.environ.get("CLASS_ALLOWED_ORIGINS", "")),
        "CLASS_CHECK_WINDOW_S": int(os.environ.get("CLASS_CHECK_WINDOW_S", 120)),
        "CLASS_CHAT_RATE": os.environ.get("CLASS_CHAT_RATE", "20/10 seconds"),
        "CLASS_FILE_MAX_BYTES": int(os.environ.get("CLASS_FILE_MAX_BYTES", 5 * 1024 * 1024)),
        # A Socket.IO packet beyond this closes its connection (the class refuses any message
        # over 64 KB in its handlers, with an error the page shows).
        # The Redis pub/sub channel of the Socket.IO processes (one per deployment).
        "SOCKETIO_CHANNEL": os.environ.get("SOCKETIO_CHANNEL", "flask-socketio"),
        "SOCKETIO_MAX_BUFFER_BYTES": int(os.environ.get("SOCKETIO_MAX_BUFFER_BYTES", 96 * 1024)),
        "CLASS_REVERIFY_S": float(os.environ.get("CLASS_REVERIFY_S", 30)),
        "JANUS_URL": os.environ.get("JANUS_URL", ""),  # Janus's HTTP API, as the server reaches it
        "JANUS_PUBLIC_URL": os.environ.get("JANUS_PUBLIC_URL", ""),  # as browsers reach it
        "JANUS_ADMIN_URL": os.environ.get("JANUS_ADMIN_URL", ""),
        "JANUS_ADMIN_SECRET": os.environ.get("JANUS_ADMIN_SECRET", ""),
        "JANUS_API_SECRET": os.environ.get("JANUS_API_SECRET", ""),
        "JANUS_ROOM_SECRET": os.environ.get("JANUS_ROOM_SECRET", ""),
        # STUN and TURN servers given to browsers: space-separated stun:/turn: URLs.
        "CLASS_ICE_URLS": _words(os.environ.get("CLASS_ICE_URLS", "")),
        "CLASS_TURN_USERNAME": os.environ.get("CLASS_TURN_USERNAME", ""),
        "CLASS_TURN_CREDENTIAL": os.environ.get("CLASS_TURN_CREDENTIAL", ""),
        # Access sites' notifications (sites.mail): empty keeps them in the outbox page.
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "ne-pas-repondre@competences-plus.fr"),
        "SMTP_INLINE": False,
    }


def _words(value: str) -> list[str]:
    """A space- or comma-separated list."""
    return [word for word in value.replace(",", " ").split() if word]


def _optional_float(value: str) -> float | None:
    """A number of seconds, or None for "off" (an empty value or `off`)."""
    return None if value.strip().lower() in ("", "off", "none") else float(value)


def check_config(config: dict[str, Any]) -> None:
    """Refuse to start outside development and testing with a default or weak secret."""
    env = config.get("APP_ENV")
    if env in LOCAL_ENVS:
        return
    for name, default in (("SECRET_KEY", DEFAULT_SECRET), ("JWT_SECRET", DEFAULT_JWT_SECRET)):
        value = config.get(name) or ""
        if value == default or len(value) < 32:
            raise ConfigError(
                f"{name} doit valoir une chaîne aléatoire d'au moins 32 caractères "
                f"(APP_ENV={env!r} n'est ni development ni testing ; "
                "pour un essai local, APP_ENV=development)."
            )
