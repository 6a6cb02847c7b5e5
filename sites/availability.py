"""A department's free seats over days (the organisations' search, GET
/api/v1/sites/availability), answered from a cache keyed by the versions of its sites.

Every change that alters a site's availability (a booking placed, moved, cancelled or
promoted, a closure announced or withdrawn, the site's seats or hours edited) bumps the site's
`version` in its own transaction (sites.models._bump_site_versions). A request reads the
department's sites and their versions first, then, on a miss, the bookings: what it computes
is at least as new as the versions it is stored under, and once a change commits no later
request reads the old versions again. A stale count is never served: correct by construction,
not by expiry (the time to live only frees memory).

The cache is Redis when `REDIS_URL` is set (shared by the workers), else this process's
memory; Redis down or failing, the answer is computed as if nothing were cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import select

from core.extensions import db
from sites import reports
from sites.models import Site

TTL_S = 3600
MEMORY_ENTRIES = 256
REDIS_TIMEOUT_S = 0.2
PREFIX = "sites:availability:"


def department_days(department: str, first: date, days: int) -> bytes:
    """The JSON answer of a department's availability from `first` over `days` days."""
    versions = db.session.execute(
        select(Site.id, Site.version)
        .where(Site.department == department)
        .order_by(Site.name, Site.id)
    ).all()
    key = _key(department, first, days, versions)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = _get(app, key)
    if cached is not None:
        return cached
    body = _compute(app, [site_id for site_id, _ in versions], first, days)
    _put(app, key, body)
    return body


def _key(department: str, first: date, days: int, versions: Sequence[Any]) -> str:
    text = ",".join(f"{site_id}:{version}" for site_id, version in versions)
    digest = hashlib.sha256(f"{department}|{first}|{days}|{text}".encode()).hexdigest()
    return PREFIX + digest


def _compute(app: Flask, ids: list[str], first: date, days: int) -> bytes:
    by_id = {s.id: s for s in db.session.scalars(select(Site).where(Site.id.in_(ids)))}
    sites = [by_id[site_id] for site_id in ids if site_id in by_id]
    grid = reports.availability(sites, first, days)
    items = [
        {"site": _brief(site), "days": [_compact(d) for d in row]}
        for site, row in zip(sites, grid, strict=True)
    ]
    return app.json.dumps({"items": items}).encode()


def _brief(site: Site) -> dict[str, Any]:
    return {"id": site.id, "name": site.name, "city": site.city, "seats": site.seats}


def _compact(day: reports.DayAvailability) -> dict[str, Any]:
    return {
        "date": day.day.isoformat(),
        "open": day.closed_reason is None,
        "closed_reason": day.closed_reason,
        "slots": [
            {
                "starts": slot.starts,
                "ends": slot.ends,
                "booked": slot.booked,
                "free": slot.free,
                "waitlisted": slot.waitlisted,
            }
            for slot in day.slots
        ],
    }


# The store: Redis when configured, else this process's memory.

_memory: OrderedDict[str, bytes] = OrderedDict()
_memory_lock = threading.Lock()


def _redis(app: Flask) -> redis.Redis | None:
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("sites_availability_redis")
    if client is None:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
        )
        app.extensions["sites_availability_redis"] = client
    return client


def _get(app: Flask, key: str) -> bytes | None:
    client = _redis(app)
    if client is None:
        with _memory_lock:
            body = _memory.get(key)
            if body is not None:
                _memory.move_to_end(key)
            return body
    try:
        return client.get(key)  # type: ignore[return-value]
    except redis.RedisError:
        return None


def _put(app: Flask, key: str, body: bytes) -> None:
    client = _redis(app)
    if client is None:
        with _memory_lock:
            _memory[key] = body
            while len(_memory) > MEMORY_ENTRIES:
                _memory.popitem(last=False)
        return
    try:
        client.set(key, body, ex=TTL_S)
    except redis.RedisError:
        return


def forget_all(app: Flask) -> None:
    """Empty the cache (the benchmark measures the misses)."""
    with _memory_lock:
        _memory.clear()
    client = _redis(app)
    if client is not None:
        for key in client.scan_iter(PREFIX + "*"):
            client.delete(key)
