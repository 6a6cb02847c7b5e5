"""Where a sign-in's Python CPU goes, in process: cProfile with a CPU clock
(time.process_time, so waiting on PostgreSQL or Redis does not count), grouped by step.

`make bench` runs it on 200 sign-ins; `python -m bench.profile [N]` runs it alone on the bench
database that `make bench` left (its sessions stay open 2 h) and also prints the functions
with the most own CPU. The profiler slows Python down about twofold, evenly enough for the
shares to hold; they are scaled to the unprofiled CPU time per sign-in.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.exc import DBAPIError

from bench import settings
from bench.data import Pair

# (label, end of the file name, function name): cumulative CPU of these calls.
STEPS = (
    ("whole request (Flask.wsgi_app)", "flask/app.py", "wsgi_app"),
    ("├ failed-attempt check (core.ratelimit → Redis GET)", "limits/strategies.py", "test"),
    ("├ body parsing (core.api.load_json, marshmallow)", "core/api.py", "load_json"),
    ("├ view attendance.routes.sign_in", "attendance/routes.py", "sign_in"),
    ("│ ├ bearer → verified claims (core.auth.device_claim)", "core/auth.py", "device_claim"),
    ("│ │ └ JWT decode (core.tokens.decode_token, PyJWT)", "core/tokens.py", "decode_token"),
    ("│ ├ use case (attendance.signing.sign_in)", "attendance/signing.py", "sign_in"),
    (
        "│ │ ├ credential, session, path and phone checks (credentials.resolve)",
        "attendance/credentials.py",
        "resolve",
    ),
    ("│ │ └ ledger append (attendance.journal.append)", "attendance/journal.py", "append"),
    ("│ │   ├ entry hash (ledger.entry_hash)", "attendance/ledger.py", "entry_hash"),
    ("│ ├ commit", "sqlalchemy/orm/scoping.py", "commit"),
    ("│ └ announce (web.announce)", "attendance/web.py", "announce"),
    (
        "│   └ Socket.IO emit (queued: core.live sends it after the answer)",
        "flask_socketio/__init__.py",
        "emit",
    ),
    ("├ response (marshmallow dump)", "marshmallow/schema.py", "dump"),
    (
        "├ teardown (session removed, connection back to the pool)",
        "flask_sqlalchemy/extension.py",
        "_teardown_session",
    ),
    (
        "across the request: SQLAlchemy statement execution",
        "sqlalchemy/engine/base.py",
        "_execute_context",
    ),
    ("across the request: of which psycopg execute", "psycopg/cursor.py", "execute"),
    ("across the request: Redis commands", "redis/client.py", "execute_command"),
    ("across the request: pool checkouts", "sqlalchemy/pool/base.py", "checkout"),
)


@dataclass
class Breakdown:
    sign_ins: int  # profiled
    cpu_ms: float
    wall_ms: float
    steps: list[tuple[str, float]] = field(default_factory=list)  # (label, share)
    top: str = ""

    def ms(self, share: float) -> float:
        return share * self.cpu_ms


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float | None:
    """Cumulative time of the function, or None when it was not called (renamed, removed)."""
    found = None
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, _tt, ct, _callers) in table.items():
        if function == name and filename.endswith(suffix):
            found = (found or 0.0) + ct
    return found


def measure(app: Flask, timed: list[Pair], profiled: list[Pair]) -> Breakdown:
    """Unprofiled CPU and wall time per sign-in over `timed`, then shares over `profiled`.
    Every pair must be a first sign-in; reset the ledger afterwards."""
    client = app.test_client()

    def sign(batch: list[Pair]) -> None:
        for pair in batch:
            answer = client.post(
                "/api/v1/sign-ins",
                data=pair.body,
                headers={"Authorization": pair.authorization, "Content-Type": "application/json"},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"sign-in answered {answer.status_code}: {answer.get_data()!r}")

    cpu, wall = time.process_time(), time.perf_counter()
    sign(timed)
    cpu_ms = 1000 * (time.process_time() - cpu) / len(timed)
    wall_ms = 1000 * (time.perf_counter() - wall) / len(timed)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    sign(profiled)
    profiler.disable()

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    whole = _cumulative(stats, "flask/app.py", "wsgi_app") or 1.0
    steps, top_level = [], 0.0
    for label, suffix, name in STEPS:
        spent = _cumulative(stats, suffix, name)
        if spent is not None:
            steps.append((label, spent / whole))
            top_level += spent / whole if label.startswith("├ ") else 0.0
        if label.startswith("├ teardown"):
            rest = "└ the rest: Flask, Werkzeug, engine.io middleware"
            steps.append((rest, max(0.0, 1.0 - top_level)))
    stats.sort_stats("tottime").print_stats(15)
    return Breakdown(len(profiled), cpu_ms, wall_ms, steps, out.getvalue())


def render(b: Breakdown) -> list[str]:
    lines = [
        "| step | share of the request's CPU | ≈ ms CPU |",
        "| --- | --- | --- |",
    ]
    for label, share in b.steps:
        lines.append(f"| {label} | {100 * share:.0f} % | {b.ms(share):.2f} |")
    return lines


def main(n: int = 500) -> None:
    settings.apply_env()
    from bench import data
    from core import create_app
    from core.extensions import db

    data.ensure_database()
    app = create_app()
    try:
        pairs = data.read_pairs(app, 2 * n + 20)
    except DBAPIError:  # no schema yet
        pairs = []
    if len(pairs) < 2 * n + 21:  # a new database, or sessions past their end: fill it again
        data.rebuild_schema(app)
        data.populate(app, settings.GROUPS, settings.TRAINEES_PER_GROUP)
        pairs = data.read_pairs(app, 2 * n + 20)
    n = min(n, (len(pairs) - 21) // 2)
    data.reset_signatures(app)
    try:
        measure(app, pairs[:20], pairs[20:21])  # warm up
        result = measure(app, pairs[21 : 21 + n], pairs[21 + n : 21 + 2 * n])
    except RuntimeError as error:
        raise SystemExit(
            f"{error}\n(the bench sessions stay open 2 h after `make bench`)"
        ) from None
    finally:
        data.reset_signatures(app)
        with app.app_context():
            db.session.remove()
    print(f"{result.cpu_ms:.2f} ms CPU, {result.wall_ms:.2f} ms wall per sign-in ({n} sign-ins)")
    print("\n".join(render(result)))
    print("\nTop functions by own CPU time (profiled):")
    print(result.top)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
