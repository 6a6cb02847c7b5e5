"""The access sites' benchmark (issue 10, item 10), on the same gunicorn server as the rest:

- availability of one department for one week over 200 sites holding a year of bookings
  (GET /api/v1/sites/availability?department=31&date=…&days=7), target p99 < 50 ms;
- booking throughput under contention: simultaneous POST /api/v1/sites/{id}/bookings, every
  request for one of a few slots of a few sites, so that they queue on the sites' row locks;
  checked afterwards: no slot holds more confirmed bookings than seats, no 5xx;
- the trivial endpoint /api/v1/health/live of the same server, by the same client, beside them.

`python -m bench.sites` runs this part alone (BENCH_DATABASE_URL, BENCH_REDIS_URL as for
`make bench`); `make bench` runs it after the sign-in parts and appends its section.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text

from bench import settings
from core.clock import PARIS
from core.db import new_id
from core.extensions import db
from core.models import Organisation, Role, User
from core.tokens import issue_token
from sites import rules

ENABLED = os.environ.get("BENCH_SITES", "1") != "0"
SITES = 200
BIG_DEPARTMENT = "31"  # Haute-Garonne holds the most sites
BIG_SHARE = 40
SEATS = 8
CONTENDED_SITES, CONTENDED_SEATS, CONTENDED_DAYS = 5, 10, 5
BOOKING_REQUESTS = 2000
CLIENTS = 8
SECONDS = 5.0
TARGET_P99_MS = 50.0


@dataclass
class Latencies:
    label: str
    ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{self.label}: {self.rate:,.0f}/s, p50 {self.pct(50):.1f} ms, "
            f"p99 {self.pct(99):.1f} ms, {dict(self.statuses)}"
        )

    def pct(self, p: int) -> float:
        if len(self.ms) < 2:
            return self.ms[0] if self.ms else 0.0
        return statistics.quantiles(self.ms, n=100, method="inclusive")[p - 1]


@dataclass
class SitesResult:
    sites: int
    department_sites: int
    bookings: int
    prepare_s: float
    availability: Latencies
    health: Latencies
    booking: Latencies
    health_after: Latencies
    over_capacity_slots: int
    confirmed: int
    seats_offered: int
    availability_busy: Latencies
    health_busy: Latencies
    availability_cold: Latencies
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        no_5xx = all(s < 500 for s in (*self.availability.statuses, *self.booking.statuses))
        return no_5xx and self.over_capacity_slots == 0 and self.confirmed == self.seats_offered


def _weekdays(first: date, last: date) -> list[date]:
    holidays = {**rules_holidays(first.year), **rules_holidays(last.year)}
    days, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += timedelta(days=1)
    return days


def rules_holidays(year: int) -> dict[date, str]:
    from core.public_holidays import french_holidays

    return french_holidays(year)


def populate(app: Flask, seed: int = 10) -> tuple[dict[str, Any], float]:
    """200 sites (40 in the 31), a year of bookings around today (COPY), the contended sites,
    an organisation with its referent and trainees."""
    started = time.perf_counter()
    rnd = random.Random(seed)
    with app.app_context():
        org = Organisation(name="Organisme du banc d'essai", siret="99999999900010")
        db.session.add(org)
        db.session.flush()
        admin = User(
            email="referent@banc.example",
            password_hash="!",  # noqa: S106 - no login: the bench signs its own token
            role=Role.ORG_ADMIN,
            first_name="Réf",
            last_name="Banc",
            organisation_id=org.id,
        )
        db.session.add(admin)
        db.session.commit()
        org_id, admin_id = org.id, admin.id
        others = [d for d in rules.DEPARTMENTS if d != BIG_DEPARTMENT]
        departments = [BIG_DEPARTMENT] * BIG_SHARE + [
            others[i % len(others)] for i in range(SITES - BIG_SHARE)
        ]
        hours = rules.normalize_hours({"lun-ven": "08:30-12:30, 13:30-17:30"})
        site_ids = [new_id() for _ in range(SITES + CONTENDED_SITES)]
        trainee_ids = [new_id() for _ in range(600 + BOOKING_REQUESTS)]
        raw: Any = db.session.connection().connection.dbapi_connection  # psycopg: COPY
        now = datetime.now(UTC)
        with raw.cursor() as cur:
            with cur.copy(
                "COPY site (id, created_at, name, department, city, seats, opening_hours, "
                "address, equipment) FROM STDIN"
            ) as copy:
                for i, site_id in enumerate(site_ids):
                    contended = i >= SITES
                    copy.write_row(
                        (
                            site_id,
                            now.replace(tzinfo=None),
                            f"{'Contention' if contended else 'Site'} {i}",
                            "32" if contended else departments[i],
                            f"Commune {i}",
                            CONTENDED_SEATS if contended else SEATS,
                            json.dumps(hours),
                            f"{i} rue du banc",
                            "[]",
                        )
                    )
            with cur.copy(
                "COPY trainee (id, created_at, organisation_id, first_name, last_name, email) "
                "FROM STDIN"
            ) as copy:
                for i, trainee_id in enumerate(trainee_ids):
                    copy.write_row(
                        (
                            trainee_id,
                            now.replace(tzinfo=None),
                            org_id,
                            "Stagiaire",
                            f"N{i}",
                            f"s{i}@banc.example",
                        )
                    )
            today = now.astimezone(PARIS).date()
            days = _weekdays(today - timedelta(days=182), today + timedelta(days=182))
            count = 0
            with cur.copy(
                "COPY site_booking (id, created_at, site_id, organisation_id, trainee_id, title, "
                "starts_at, ends_at, status, created_by_id) FROM STDIN"
            ) as copy:
                for site_id in site_ids[:SITES]:
                    for day in days:
                        for start, end in (
                            (time_of(day, 8, 30), time_of(day, 12, 30)),
                            (time_of(day, 13, 30), time_of(day, 17, 30)),
                        ):
                            for _ in range(rnd.randint(0, SEATS)):
                                copy.write_row(
                                    (
                                        new_id(),
                                        now.replace(tzinfo=None),
                                        site_id,
                                        org_id,
                                        rnd.choice(trainee_ids[:600]),
                                        "Autoformation",
                                        start,
                                        end,
                                        "confirmed",
                                        admin_id,
                                    )
                                )
                                count += 1
        raw.commit()
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    world = {
        "org_id": org_id,
        "admin_id": admin_id,
        "contended": site_ids[SITES:],
        "trainees": trainee_ids[600:],
        "bookings": count,
        "department_sites": departments.count(BIG_DEPARTMENT),
    }
    return world, time.perf_counter() - started


def time_of(day: date, hour: int, minute: int = 0) -> datetime:
    """A Paris wall-clock time as the naive UTC the database stores."""
    return (
        datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)
        .astimezone(UTC)
        .replace(tzinfo=None)
    )


def _request(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def closed_loop(
    label: str, port: int, make: Any, seconds: float = SECONDS, clients: int = CLIENTS
) -> Latencies:
    """`clients` threads send requests back to back for `seconds`; each request's latency."""
    result, lock = Latencies(label), threading.Lock()
    deadline = time.perf_counter() + seconds

    def run(index: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            method, path, headers, body = make(index, n)
            began = time.perf_counter()
            status = _request(port, method, path, headers, body)
            took = (time.perf_counter() - began) * 1000
            with lock:
                result.ms.append(took)
                result.statuses[status] += 1
            n += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    return result


def fixed_requests(
    label: str,
    port: int,
    requests: list[tuple[str, str, dict[str, str], bytes]],
    clients: int = CLIENTS * 4,
) -> Latencies:
    """Send a fixed list of requests from `clients` threads at once (as fast as answered)."""
    result, lock = Latencies(label), threading.Lock()
    queue = iter(requests)
    barrier = threading.Barrier(clients)

    def run() -> None:
        barrier.wait()
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            began = time.perf_counter()
            status = _request(port, *item)
            took = (time.perf_counter() - began) * 1000
            with lock:
                result.ms.append(took)
                result.statuses[status] += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    return result


def measure(
    app: Flask,
    env: dict[str, str],
    server_setting: tuple[str, int, int] = ("sync", 3, 1),
    say: Any = print,
) -> SitesResult:
    from bench.server import Server

    world, prepare_s = populate(app)
    say(
        f"{SITES} sites ({world['department_sites']} in the {BIG_DEPARTMENT}), "
        f"{world['bookings']:,} bookings over a year ({prepare_s:.1f} s)"
    )
    token = issue_token(
        env["JWT_SECRET"],
        "competences-plus-api",
        subject=world["admin_id"],
        typ="staff",
        now=datetime.now(UTC),
        ttl_s=3600,
        claims={"role": "org_admin"},
    )
    auth = {"Authorization": f"Bearer {token}"}
    monday = datetime.now(PARIS).date()
    monday -= timedelta(days=monday.weekday())
    weeks = [monday + timedelta(weeks=w) for w in range(-20, 20)]

    def availability(index: int, n: int) -> tuple[str, str, dict[str, str], None]:
        week = weeks[(index * 7 + n) % len(weeks)]
        return (
            "GET",
            f"/api/v1/sites/availability?department={BIG_DEPARTMENT}&date={week}&days=7",
            auth,
            None,
        )

    def health(index: int, n: int) -> tuple[str, str, dict[str, str], None]:
        return "GET", "/api/v1/health/live", {}, None

    cold_days = [
        d
        for d in (monday + timedelta(days=k) for k in range(-180, 180))
        if d.weekday() != 0  # the warm searches start on Mondays: these are never cached
    ]

    def cold(index: int, n: int) -> tuple[str, str, dict[str, str], None]:
        day = cold_days[(index * len(cold_days) // 2 + n) % len(cold_days)]
        return (
            "GET",
            f"/api/v1/sites/availability?department={BIG_DEPARTMENT}&date={day}&days=7",
            auth,
            None,
        )

    booking_requests = []
    day0 = datetime.now(PARIS).date() + timedelta(days=7)
    slots = [
        (site, day, half)
        for site in world["contended"]
        for day in _weekdays(day0, day0 + timedelta(days=10))[:CONTENDED_DAYS]
        for half in ((9, 12), (14, 17))
    ]
    for i, trainee in enumerate(world["trainees"][:BOOKING_REQUESTS]):
        site, day, (start, end) = slots[i % len(slots)]
        body = json.dumps(
            {
                "trainee_id": trainee,
                "waitlist": i % 2 == 0,
                "starts_at": datetime(
                    day.year, day.month, day.day, start, tzinfo=PARIS
                ).isoformat(),
                "ends_at": datetime(day.year, day.month, day.day, end, tzinfo=PARIS).isoformat(),
            }
        ).encode()
        booking_requests.append(
            (
                "POST",
                f"/api/v1/sites/{site}/bookings",
                {**auth, "Content-Type": "application/json"},
                body,
            )
        )
    random.Random(3).shuffle(booking_requests)

    worker_class, workers, threads = server_setting
    with Server(env, workers, worker_class, threads) as server:
        closed_loop("warm-up", server.port, availability, seconds=1.0)
        closed_loop("warm-up", server.port, health, seconds=1.0)
        avail = closed_loop("availability, 2 clients", server.port, availability, clients=2)
        bare = closed_loop("health, 2 clients", server.port, health, clients=2)
        say(avail.summary())
        say(bare.summary())
        avail_cold = closed_loop(
            "availability, 2 clients, cache cold", server.port, cold, clients=2
        )
        say(avail_cold.summary())
        busy = closed_loop(f"availability, {CLIENTS} clients", server.port, availability)
        busy_bare = closed_loop(f"health, {CLIENTS} clients", server.port, health)
        say(busy.summary())
        say(busy_bare.summary())
        booking = fixed_requests("bookings under contention", server.port, booking_requests)
        say(booking.summary())
        bare_after = closed_loop(f"health, {CLIENTS} clients, after", server.port, health)
    cpu_ms = in_process_cpu(app, auth, weeks)
    say(", ".join(f"{k} {v:.2f} ms" for k, v in cpu_ms.items()) + " of CPU per request")
    with app.app_context():
        over = db.session.execute(
            text(
                "SELECT count(*) FROM (SELECT b.site_id, b.starts_at FROM site_booking b "
                "JOIN site s ON s.id = b.site_id WHERE b.status = 'confirmed' "
                "AND b.site_id = ANY(:ids) GROUP BY b.site_id, b.starts_at, s.seats "
                "HAVING count(*) > s.seats) AS x"
            ),
            {"ids": world["contended"]},
        ).scalar_one()
        confirmed = db.session.execute(
            text(
                "SELECT count(*) FROM site_booking "
                "WHERE status = 'confirmed' AND site_id = ANY(:ids)"
            ),
            {"ids": world["contended"]},
        ).scalar_one()
        db.session.remove()
    return SitesResult(
        SITES,
        world["department_sites"],
        world["bookings"],
        prepare_s,
        avail,
        bare,
        booking,
        bare_after,
        over,
        confirmed,
        len(slots) * CONTENDED_SEATS,
        busy,
        busy_bare,
        avail_cold,
        cpu_ms,
    )


def in_process_cpu(app: Flask, auth: dict[str, str], weeks: list[date]) -> dict[str, float]:
    """CPU per request in this process (`app.test_client()`, one at a time, so neither the
    load of the machine nor the waits on PostgreSQL count): the department's week computed
    (the cache emptied first: every week a miss), then the same weeks again (every one a hit),
    and the health endpoint, side by side."""
    from sites import availability

    client = app.test_client()

    def cpu_of(paths: list[str], headers: dict[str, str]) -> float:
        began = time.process_time()
        for path in paths:
            assert client.get(path, headers=headers).status_code == 200  # noqa: S101
        return 1000 * (time.process_time() - began) / len(paths)

    paths = [
        f"/api/v1/sites/availability?department={BIG_DEPARTMENT}&date={w}&days=7" for w in weeks
    ]
    cpu_of(paths[:5] + ["/api/v1/health/live"] * 5, auth)  # warm the process
    with app.app_context():
        availability.forget_all(app)
    miss = cpu_of(paths, auth)
    hit = cpu_of(paths, auth)
    health = cpu_of(["/api/v1/health/live"] * len(paths), {})
    return {"miss": miss, "hit": hit, "health": health}


def render(result: SitesResult, label: str = "sync -w 3") -> str:
    """The section of docs/benchmarks.md this part writes."""
    a, h, b, h2 = result.availability, result.health, result.booking, result.health_after
    out = io.StringIO()
    met = "met" if a.pct(99) < TARGET_P99_MS else "NOT met"
    out.write("\n## Access sites (issue 10)\n\n")
    out.write(
        f"Data: {result.sites} sites ({result.department_sites} in the {BIG_DEPARTMENT}), "
        f"{result.bookings:,} bookings over a year ({result.prepare_s:.1f} s to load). "
        f"Server: gunicorn {label}; client: Python threads (2, then {CLIENTS}), closed loop, "
        f"{SECONDS:.0f} s each, on the same 2 cores; weeks from 20 before to 20 after today.\n\n"
    )
    out.write(
        "| what | answered/s | p50 ms | p99 ms | statuses |\n| --- | --- | --- | --- | --- |\n"
    )
    rows = (a, h, result.availability_cold, result.availability_busy, result.health_busy, b, h2)
    for row in rows:
        out.write(
            f"| {row.label} | {row.rate:,.0f} | {row.pct(50):.1f} | {row.pct(99):.1f} "
            f"| {dict(row.statuses)} |\n"
        )
    out.write(
        f"\nAvailability of one department for one week, 2 clients: p99 {a.pct(99):.1f} ms, "
        "target < "
        f"{TARGET_P99_MS:.0f} ms: **{met}** (health p99 {h.pct(99):.1f} ms on the same server); "
        f"every request a cache miss (a week never asked before), p99 "
        f"{result.availability_cold.pct(99):.1f} ms.\n"
        f"Bookings under contention ({BOOKING_REQUESTS:,} requests from {CLIENTS * 4} threads at "
        f"once on {CONTENDED_SITES} sites × {CONTENDED_DAYS} days × 2 slots of "
        f"{CONTENDED_SEATS} seats): {b.rate:,.0f}/s; confirmed {result.confirmed} for "
        f"{result.seats_offered} seats, slots over capacity: {result.over_capacity_slots}; "
        f"{'correct' if result.ok else 'CHECK FAILED'}.\n"
    )
    cpu = result.cpu_ms
    if cpu:
        out.write(
            f"In process, one request at a time (40 weeks, `app.test_client()`), "
            f"CPU per request: the department's week computed (cache miss) {cpu['miss']:.2f} ms, "
            f"answered from the cache (hit) {cpu['hit']:.2f} ms "
            f"({cpu['miss'] / cpu['hit']:.1f} × less), health {cpu['health']:.2f} ms.\n"
        )
    return out.getvalue()


def main() -> int:
    env = settings.apply_env()
    from bench import data
    from core import create_app

    data.ensure_database()
    app = create_app()
    data.rebuild_schema(app)
    result = measure(app, env, say=lambda t: print(f"[bench] sites: {t}", flush=True))
    print(render(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
