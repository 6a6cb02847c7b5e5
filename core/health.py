"""What works right now: the database, and Redis (failed-attempt counters, live events).

The service keeps signing while Redis is away (counters in the process, live events dropped
and logged: core.ratelimit, core.live); the health report says so, so that an operator sees
the degraded state before a trainer does.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.extensions import db
from core.ratelimit import REDIS_TIMEOUT_S, limiter

MESSAGES = {
    "ok": "Le service fonctionne normalement.",
    "degraded": (
        "Redis ne répond pas : l'émargement continue, les tentatives échouées sont comptées "
        "par processus et les écrans en direct ne sont plus mis à jour (rechargez la page)."
    ),
    "down": "La base de données ne répond pas : le service ne peut pas enregistrer.",
}


def report(app: Flask | None = None) -> dict[str, Any]:
    """The state of each dependency, and the service's as a whole (`ok`, `degraded`, `down`)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    database = "ok" if _database_answers() else "down"
    redis_state = _redis_state(app)
    if database == "down":
        status = "down"
    elif redis_state == "down":
        status = "degraded"
    else:
        status = "ok"
    counters = "memory" if redis_state != "ok" or limiter(app).is_shared_down else "redis"
    return {
        "status": status,
        "database": database,
        "redis": redis_state,
        "failed_attempts": counters,
        "live_events": {"ok": "redis", "down": "dropped"}.get(redis_state, "in_process"),
        "message": MESSAGES[status],
    }


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        db.session.rollback()


def _redis_state(app: Flask) -> str:
    url = app.config["REDIS_URL"]
    if not url:
        return "not_configured"
    client = app.extensions.get("health_redis")
    if client is None:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
        )
        app.extensions["health_redis"] = client
    try:
        return "ok" if client.ping() else "down"
    except redis.RedisError:
        return "down"
