"""The Région's dashboard on a year of the region (issue 13, item 6).

`python -m bench.dashboards [--sessions N] [--repeat K]` empties its own PostgreSQL database
(`BENCH_DASHBOARDS_URL`, default `bench_dashboards`), migrates it and fills it in bulk (COPY)
with a year of closed sessions and the rollups the service keeps as they close: 40
organisations, 200 orders over the 13 departments, 2,000 groups, and by default 700,000
sessions (tutorat mornings, autoformation afternoons, 14 trainees each: at 28 ledger entries a
session, the ≈ 20 million entries of a year of the region; the dashboard reads the rollups,
never the entries). Then, in one process, beside the trivial endpoint `/api/v1/health/live`:

- `GET /api/v1/dashboards?scope=region&month=…` (a month of the whole region),
- `GET /api/v1/dashboards?scope=region&year=…` (the whole year),
- `GET /api/v1/dashboards?scope=organisation&month=…` (an organisation's month),

each `--repeat` times: median and slowest time, against the target (under 2 s). Benchmarks are
not timed tests: nothing fails on a slow machine; the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import insert

from bench import data
from core import create_app
from core.db import new_id
from core.extensions import db
from core.models import Organisation, Role, User
from core.tokens import issue_token
from training.models import Group, Order
from training.rules import DEPARTMENTS

URL = os.environ.get(
    "BENCH_DASHBOARDS_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_dashboards"
)
PARIS = ZoneInfo("Europe/Paris")
YEAR = 2025
ORGANISATIONS, ORDERS_PER_ORG, GROUPS_PER_ORDER = 40, 5, 10
TRAINEES = 14
TARGET_S = 2.0


def app_for(url: str) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-dashboards-secret-key-0123456789abcdef",
            "JWT_SECRET": "bench-dashboards-jwt-secret-0123456789abcdef",
            "APP_ENV": "testing",
            "REDIS_URL": "",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def working_days(year: int) -> list[date]:
    day, days = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _copy(conn: Any, table: str, columns: list[str], rows: Any) -> int:
    raw = conn.connection.dbapi_connection
    count = 0
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def fill(app: Flask, sessions: int) -> dict[str, Any]:
    """The year: organisations, orders, groups, closed sessions, their rollups."""
    data.ensure_database(URL)
    data.rebuild_schema(app)
    now = datetime(YEAR + 1, 1, 15, tzinfo=UTC)
    departments = list(DEPARTMENTS)
    days = working_days(YEAR)
    groups_total = ORGANISATIONS * ORDERS_PER_ORG * GROUPS_PER_ORDER
    per_group = max(1, sessions // groups_total)
    started = time.perf_counter()
    with app.app_context():
        orgs, users, orders, groups = [], [], [], []
        for o in range(ORGANISATIONS):
            org_id, trainer_id = new_id(), new_id()
            orgs.append(
                {
                    "id": org_id,
                    "created_at": now,
                    "name": f"Organisme {o:02d}",
                    "siret": f"{o:014d}",
                }
            )
            users.append(
                {
                    "id": trainer_id,
                    "created_at": now,
                    "email": f"f{o}@bench.invalid",
                    "password_hash": "!",
                    "role": Role.TRAINER,
                    "first_name": "F",
                    "last_name": f"{o}",
                    "organisation_id": org_id,
                }
            )
            for k in range(ORDERS_PER_ORG):
                order_id = new_id()
                orders.append(
                    {
                        "id": order_id,
                        "created_at": now,
                        "organisation_id": org_id,
                        "number": f"BC-{o:02d}-{k}",
                        "title": "Bench",
                        "modality": "e_formation",
                        "start_date": date(YEAR, 1, 1),
                        "end_date": date(YEAR, 12, 31),
                        "centre_hours": 2000.0,
                        "min_synchronous_share": 0.5,
                        "department": departments[(o * ORDERS_PER_ORG + k) % 13],
                    }
                )
                for g in range(GROUPS_PER_ORDER):
                    groups.append(
                        {
                            "id": new_id(),
                            "created_at": now,
                            "organisation_id": org_id,
                            "order_id": order_id,
                            "name": f"G{o}-{k}-{g}",
                            "component": "Bench",
                            "trainer": trainer_id,
                        }
                    )
        region_id = new_id()
        users.append(
            {
                "id": region_id,
                "created_at": now,
                "email": "region@bench.invalid",
                "password_hash": "!",
                "role": Role.REGION,
                "first_name": "R",
                "last_name": "Région",
                "organisation_id": None,
            }
        )
        db.session.execute(insert(Organisation), orgs)
        db.session.execute(insert(User), users)
        db.session.execute(insert(Order), orders)
        db.session.execute(
            insert(Group),
            [{k: v for k, v in g.items() if k != "trainer"} for g in groups],
        )
        db.session.commit()
        order_of = {o["id"]: o for o in orders}

        def session_rows() -> Any:
            for n, group in enumerate(groups):
                for i in range(per_group):
                    day = days[(i // 2 + n) % len(days)]
                    morning = i % 2 == 0
                    start = datetime(
                        day.year, day.month, day.day, 9 if morning else 14, tzinfo=PARIS
                    )
                    end = start + timedelta(hours=3)
                    yield group, morning, start.astimezone(UTC), end.astimezone(UTC), i

        sid_rows: list[tuple[Any, ...]] = []
        rollup_rows: list[tuple[Any, ...]] = []
        billable: dict[tuple[str, str], int] = {}
        conn = db.session.connection()
        session_columns = [
            "id",
            "created_at",
            "organisation_id",
            "group_id",
            "kind",
            "title",
            "starts_at",
            "ends_at",
            "status",
            "on_public_holiday",
            "created_by_id",
            "opened_at",
            "opened_by_id",
            "closed_at",
            "closed_by_id",
            "chain_length",
            "chain_head",
            "whole_group",
            "lead_trainer_id",
        ]
        rollup_columns = [
            "session_id",
            "organisation_id",
            "order_id",
            "group_id",
            "department",
            "month",
            "kind",
            "whole_group",
            "planned_minutes",
            "realised_minutes",
            "participants",
            "present",
            "absent_not_signed",
            "absent_justified",
            "absent_unjustified",
            "held",
            "billable_start",
            "billable_stop",
            "updated_at",
        ]
        for group, morning, start, end, i in session_rows():
            sid = new_id()
            naive_start, naive_end = start.replace(tzinfo=None), end.replace(tzinfo=None)
            kind = "tutorat" if morning else "autoformation"
            sid_rows.append(
                (
                    sid,
                    now.replace(tzinfo=None),
                    group["organisation_id"],
                    group["id"],
                    kind,
                    "Bench",
                    naive_start,
                    naive_end,
                    "closed",
                    False,
                    group["trainer"],
                    naive_start,
                    group["trainer"],
                    naive_end,
                    group["trainer"],
                    28,
                    "0" * 64,
                    True,
                    group["trainer"],
                )
            )
            present = TRAINEES - (i % 3)
            held = morning
            month = f"{start.astimezone(PARIS):%Y-%m}"
            order = order_of[group["order_id"]]
            rollup_rows.append(
                (
                    sid,
                    group["organisation_id"],
                    group["order_id"],
                    group["id"],
                    order["department"],
                    month,
                    kind,
                    True,
                    180,
                    present * 180,
                    TRAINEES,
                    present,
                    TRAINEES - present,
                    0,
                    0,
                    held,
                    naive_start if held else None,
                    naive_end if held else None,
                    now.replace(tzinfo=None),
                )
            )
            if held:
                key = (group["id"], month)
                billable[key] = billable.get(key, 0) + 180
        _copy(conn, "training_session", session_columns, sid_rows)
        _copy(conn, "session_rollup", rollup_columns, rollup_rows)
        group_org = {x["id"]: x["organisation_id"] for x in groups}
        group_order = {x["id"]: x["order_id"] for x in groups}
        _copy(
            conn,
            "group_rollup",
            ["group_id", "month", "organisation_id", "order_id", "billable_minutes"],
            [(g, m, group_org[g], group_order[g], minutes) for (g, m), minutes in billable.items()],
        )
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return {
        "sessions": len(sid_rows),
        "entries_equivalent": len(sid_rows) * 28,
        "groups": groups_total,
        "organisation_id": orgs[0]["id"],
        "region_id": region_id,
        "fill_s": time.perf_counter() - started,
    }


def _token(app: Flask, user_id: str, role: str) -> str:
    return issue_token(
        app.config["JWT_SECRET"],
        app.config["JWT_AUDIENCE"],
        subject=user_id,
        typ="staff",
        now=datetime.now(UTC),
        ttl_s=3600,
        claims={"role": role},
    )


def timed(client: Any, url: str, headers: dict[str, str], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return statistics.median(times), max(times)


def measure(app: Flask, built: dict[str, Any], repeat: int) -> list[tuple[str, float, float]]:
    with app.app_context():
        region = _token(app, built["region_id"], Role.REGION)
        admin_id = new_id()
        db.session.execute(
            insert(User),
            [
                {
                    "id": admin_id,
                    "created_at": datetime.now(UTC),
                    "email": "admin@bench.invalid",
                    "password_hash": "!",
                    "role": Role.ORG_ADMIN,
                    "first_name": "A",
                    "last_name": "B",
                    "organisation_id": built["organisation_id"],
                }
            ],
        )
        db.session.commit()
        admin = _token(app, admin_id, Role.ORG_ADMIN)
    client = app.test_client()
    region_h = {"Authorization": f"Bearer {region}"}
    admin_h = {"Authorization": f"Bearer {admin}"}
    return [
        (
            "trivial endpoint (/api/v1/health/live)",
            *timed(client, "/api/v1/health/live", {}, repeat),
        ),
        (
            "region, one month",
            *timed(client, f"/api/v1/dashboards?scope=region&month={YEAR}-03", region_h, repeat),
        ),
        (
            "region, the whole year",
            *timed(client, f"/api/v1/dashboards?scope=region&year={YEAR}", region_h, repeat),
        ),
        (
            "one organisation, one month",
            *timed(client, f"/api/v1/dashboards?month={YEAR}-03", admin_h, repeat),
        ),
    ]


def report(built: dict[str, Any], rows: list[tuple[str, float, float]]) -> str:
    lines = [
        f"Year {YEAR} of the region: {built['sessions']:,} closed sessions in "
        f"{built['groups']:,} groups (≈ {built['entries_equivalent']:,} ledger entries), "
        f"filled in {built['fill_s']:.1f} s.",
        "",
        "| request | median | slowest | target |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, median, slowest in rows:
        target = (
            ""
            if name.startswith("trivial")
            else (f"< {TARGET_S:g} s: {'met' if slowest < TARGET_S else 'NOT met'}")
        )
        lines.append(f"| {name} | {median * 1000:,.0f} ms | {slowest * 1000:,.0f} ms | {target} |")
    return "\n".join(lines)


BEGIN, END = "<!-- bench.dashboards -->", "<!-- /bench.dashboards -->"


def record(section: str, command: str) -> None:
    """Put this run's section in docs/benchmarks.md (between its markers, or at the end):
    `make bench` writes the rest of the file first."""
    from bench.settings import DOC

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(open("/proc/loadavg").read().split()[:3])  # noqa: SIM115
    block = (
        f"{BEGIN}\n## The Région's dashboards (issue 13)\n\n"
        f"`{command}` ({stamp}, load averages {load}): {__doc__.split(chr(10) + chr(10))[1]}\n\n"
        f"{section}\n{END}\n"
    )
    text = DOC.read_text() if DOC.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=700_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-record", action="store_true", help="leave docs/benchmarks.md")
    args = parser.parse_args()
    app = app_for(URL)
    built = fill(app, args.sessions)
    section = report(built, measure(app, built, args.repeat))
    print(section)
    if not args.no_record:
        record(section, f"python -m bench.dashboards --sessions {args.sessions}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
