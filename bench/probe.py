"""Where a sign-in's work goes, measured in-process with the Flask test client (same
production configuration: PostgreSQL, Redis rate limits and Socket.IO message queue)."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask
from sqlalchemy import event

from bench import settings
from bench.data import Pair
from core.extensions import db, socketio


@dataclass
class Probe:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    commits: int = 0
    rollbacks: int = 0
    checkouts: int = 0
    pings: int = 0
    redis_calls: Counter[str] = field(default_factory=Counter)
    sign_in_ms: float = 0.0
    health_ms: float = 0.0
    sign_in_cpu_ms: float = 0.0
    health_cpu_ms: float = 0.0
    sign_in_calls: float = 0.0  # Python function calls per request (cProfile): the same on
    health_calls: float = 0.0  # any machine, however busy, unlike times
    status: int = 0

    @property
    def round_trips(self) -> int:
        """To PostgreSQL: statements, BEGIN, COMMIT, ROLLBACK, and pings of pooled connections."""
        return len(self.statements) + self.transactions + self.commits + self.rollbacks + self.pings

    @property
    def statement_kinds(self) -> str:
        kinds = Counter(s.split(None, 1)[0].upper() for s in self.statements)
        return ", ".join(f"{n} {k}" for k, n in kinds.most_common())


_client: redis.Redis | None = None


def redis_calls() -> Counter[str]:
    """Calls per command since the Redis server started (INFO commandstats), read on one
    kept connection so that reading adds nothing but INFO (left out of the deltas)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    stats: dict[str, Any] = _client.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


def redis_delta(before: Counter[str], after: Counter[str]) -> Counter[str]:
    delta = Counter({k: after[k] - before.get(k, 0) for k in after})
    delta.pop("info", None)
    return +delta


def sign_in_probe(
    app: Flask, pairs: list[Pair], timing_pairs: list[Pair], calls_pairs: list[Pair]
) -> Probe:
    """Statements, round trips and Redis commands of one sign-in, then the mean in-process
    time (wall and this process's CPU) of a sign-in and of the health endpoint. Uses its own
    pairs; reset the ledger afterwards."""
    probe = Probe()
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    do_ping = engine.dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        probe.pings += 1
        return do_ping(dbapi_connection)

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        probe.statements.append(" ".join(sql.split()))

    def on_the_wire(conn: Any) -> bool:
        """In autocommit the driver sends no BEGIN, COMMIT or ROLLBACK, whatever SQLAlchemy's
        events say."""
        return not getattr(conn.connection.dbapi_connection, "autocommit", False)

    def begin(conn: Any) -> None:
        probe.transactions += on_the_wire(conn)

    def commit(conn: Any) -> None:
        probe.commits += on_the_wire(conn)

    def rollback(conn: Any) -> None:
        probe.rollbacks += on_the_wire(conn)

    def checkout(*args: Any) -> None:
        probe.checkouts += 1

    hooks: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", statement),
        ("begin", begin),
        ("commit", commit),
        ("rollback", rollback),
        ("checkout", checkout),
    ]

    warm = pairs[0]
    live = socketio.server.manager
    client.post("/api/v1/sign-ins", data=warm.body, headers=_headers(warm))
    client.get("/api/v1/health/live")
    if hasattr(live, "flush"):
        live.flush()  # the sender thread has connected to Redis: not counted below
    for name, hook in hooks:
        event.listen(engine, name, hook)
    engine.dialect.do_ping = ping  # type: ignore[method-assign]
    before = redis_calls()
    try:
        answer = client.post("/api/v1/sign-ins", data=pairs[1].body, headers=_headers(pairs[1]))
        if hasattr(live, "flush"):
            live.flush()  # the live event leaves after the answer (core.live)
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)
        del engine.dialect.do_ping
    probe.redis_calls = redis_delta(before, redis_calls())
    probe.status = answer.status_code

    n = len(timing_pairs)
    started, cpu = time.perf_counter(), time.process_time()
    for pair in timing_pairs:
        client.post("/api/v1/sign-ins", data=pair.body, headers=_headers(pair))
    probe.sign_in_ms = 1000 * (time.perf_counter() - started) / n
    probe.sign_in_cpu_ms = 1000 * (time.process_time() - cpu) / n
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        client.get("/api/v1/health/live")
    probe.health_ms = 1000 * (time.perf_counter() - started) / n
    probe.health_cpu_ms = 1000 * (time.process_time() - cpu) / n
    probe.sign_in_calls = _calls(
        lambda: [
            client.post("/api/v1/sign-ins", data=pair.body, headers=_headers(pair))
            for pair in calls_pairs
        ]
    ) / len(calls_pairs)
    probe.health_calls = _calls(
        lambda: [client.get("/api/v1/health/live") for _ in calls_pairs]
    ) / len(calls_pairs)
    with app.app_context():
        db.session.remove()
    return probe


def _calls(run: Any) -> int:
    """Python function calls (and C functions called from Python) while `run` runs."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run()
    finally:
        profiler.disable()
    return int(pstats.Stats(profiler).total_calls)  # type: ignore[attr-defined]


def _headers(pair: Pair) -> dict[str, str]:
    return {"Authorization": pair.authorization, "Content-Type": "application/json"}
