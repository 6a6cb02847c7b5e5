"""The Région-wide billing of a year (issue 9, item 10), beside the raw SQL aggregate over the
same rows, in the same run.

`python -m bench.billing [--entries N]` (and `make bench`) fills its own PostgreSQL database
(BENCH_BILLING_DATABASE_URL, default `bench_billing`; kept between runs when it already holds
a year of the same size) with a year of the Région: orders of 30 groups of 20 trainees, each
group's week a pattern of the service's session kinds, every session's chain written with
COPY. Then, month by month, side by side (alternating which goes first):

- **floor**: the plainest aggregate that bills the same rows (`floor_statement`): one
  `GROUP BY session_id` pass over the same entries of the same sessions (the month's, in the
  same orders) with the same "held" facts (opened, trainer signed, a trainee signed), then
  the sum per group of each held synchronous session's time from its start to the earlier
  of its end and close; no union of a group's overlapping sessions, no flags, no plan facts;
- **statement**: the billing's own statement (certificates.billing_services.
  chained_statement), rows fetched;
- **use case**: the Région's billing of every order of the month as finance's API answers it
  (certificates.billing_services.month_billings: the statement, the unions per group, the
  flags, every line), every order consumed.

The data: per group and week, Monday, Tuesday and Thursday a whole-group tutorat 09:00–17:00
(two half-days: the trainer's and the trainees' signatures per half, one trainee absent, the
absences the close records), Wednesday an autoformation 09:00–17:00 (each trainee signs in
and out per half), Friday a regroupement 09:00–12:00 at a site, then two sub-groups of ten in
parallel tutorats 13:30–16:30 (their union counts once). One session in 23 is never opened,
one in 31 opened without the trainer's signature, one in 37 signed by the trainer in the
morning only, one in 10 closed half an hour early; public holidays are not skipped (flagged).
The entries' fields are the service's (plan facts from attendance.projection.plan_facts);
their hashes, salts and commitments are placeholders of the real width: billing reads none
of them, and computing 20 million real hashes takes 15 minutes of this machine
(bench/ledger.py does that for the ledger's own benchmark).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text

from bench import cpu, settings

YEAR = 2025
TRAINEES = 20
GROUPS_PER_ORDER = 30
CHUNK = 5000  # sessions per COPY
DEFAULT_ENTRIES = settings.BILLING_ENTRIES
DATABASE_URL = os.environ.get(
    "BENCH_BILLING_DATABASE_URL", settings.DATABASE_URL.rsplit("/", 1)[0] + "/bench_billing"
)
INDEXED_LATER = ("signature",)  # its keys and indexes are built after the COPY
SIGNATURE_COLUMNS = (
    "id",
    "organisation_id",
    "session_id",
    "seq",
    "kind",
    "signer_kind",
    "signer_id",
    "half_day",
    "at",
    "method",
    "channel",
    "device",
    "author_id",
    "action",
    "reason",
    "justified",
    "v",
    "facts",
    "salt",
    "commitment",
    "prev_hash",
    "hash",
)
SESSION_COLUMNS = (
    "id",
    "created_at",
    "organisation_id",
    "group_id",
    "kind",
    "title",
    "starts_at",
    "ends_at",
    "status",
    "regroupement_reason",
    "site_id",
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
)


# --- the year's data -----------------------------------------------------------------------


@dataclass
class Group:
    org_id: str
    trainer_id: str
    group_id: str
    site_id: str
    trainees: list[str]
    devices: list[str]  # the JSON of each trainee's phone (device column)


@dataclass
class Planned:
    """One session of the pattern: kind, Paris times, participants (None: whole group)."""

    kind: str
    start: tuple[int, int]
    end: tuple[int, int]
    participants: range | None = None
    reason: str | None = None


WEEK: dict[int, list[Planned]] = {
    0: [Planned("tutorat", (9, 0), (17, 0))],
    1: [Planned("tutorat", (9, 0), (17, 0))],
    2: [Planned("autoformation", (9, 0), (17, 0))],
    3: [Planned("tutorat", (9, 0), (17, 0))],
    4: [
        Planned("regroupement", (9, 0), (12, 0), reason="examen"),
        Planned("tutorat", (13, 30), (16, 30), participants=range(0, 10)),
        Planned("tutorat", (13, 30), (16, 30), participants=range(10, 20)),
    ],
}


def entries_per_group(year: int = YEAR) -> int:
    """Entries a group's year makes (to size the Région from an entry count)."""
    counter = _Counter()
    group = Group("o" * 24, "t" * 24, "g" * 24, "s" * 24, ["x" * 24] * TRAINEES, ["{}"] * TRAINEES)
    return sum(len(chain) for _, chain, _ in _year_of(group, 0, year, counter))


class _Counter:
    def __init__(self, prefix: int = 0) -> None:
        self.prefix, self.value = prefix, 0

    def next_id(self) -> str:
        self.value += 1
        return f"{self.prefix:08x}{self.value:016x}"


def _paris(day: date, hm: tuple[int, int]) -> datetime:
    from core.clock import PARIS

    return datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=PARIS).astimezone(UTC)


def _year_of(
    group: Group, g: int, year: int, ids: _Counter
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]], list[str]]]:
    """Each session of the group's year: its row, its chain's rows (COPY order), its listed
    participants."""
    from attendance import projection

    day, k = date(year, 1, 1), 0
    while day.year == year:
        for planned in WEEK.get(day.weekday(), []):
            k += 1
            starts, ends = _paris(day, planned.start), _paris(day, planned.end)
            listed = (
                None
                if planned.participants is None
                else [group.trainees[t] for t in planned.participants]
            )
            facts = projection.plan_facts(
                kind=planned.kind,
                starts_at=starts,
                ends_at=ends,
                site_id=group.site_id if planned.kind == "regroupement" else None,
                regroupement_reason=planned.reason,
                participants=listed,
                lead_trainer_id=group.trainer_id,
            )
            session_id = ids.next_id()
            chain = _chain(group, g + k, session_id, planned, starts, ends, facts, ids)
            opened = next((row[8] for row in chain if row[4] == "opened"), None)
            closed = next((row[8] for row in chain if row[4] == "closed"), None)
            row = (
                session_id,
                (starts - timedelta(days=7)).replace(tzinfo=None),
                group.org_id,
                group.group_id,
                planned.kind,
                f"{planned.kind.capitalize()} bench",
                starts.replace(tzinfo=None),
                ends.replace(tzinfo=None),
                "closed" if closed else ("open" if opened else "planned"),
                planned.reason,
                facts["site_id"],
                False,
                group.trainer_id,
                opened,
                group.trainer_id if opened else None,
                closed,
                group.trainer_id if closed else None,
                len(chain),
                chain[-1][-1],
                listed is None,
                group.trainer_id,
            )
            yield row, chain, listed or []
        day += timedelta(days=1)


def _chain(
    group: Group,
    k: int,
    session_id: str,
    planned: Planned,
    starts: datetime,
    ends: datetime,
    facts: dict[str, Any],
    ids: _Counter,
) -> list[tuple[Any, ...]]:
    """A session's entries: plan; unless never opened, the opening, the signatures per
    half-day, the close and the absences it records."""
    org, trainer = group.org_id, group.trainer_id
    out: list[tuple[Any, ...]] = []

    def add(
        kind: str,
        signer_kind: str,
        signer_id: str,
        half: str,
        at: datetime,
        method: str,
        device: str = "{}",
        author: str | None = None,
        facts_json: str | None = None,
        justified: bool | None = None,
    ) -> None:
        seq = len(out) + 1
        personal = device != "{}"
        out.append(
            (
                ids.next_id(),
                org,
                session_id,
                seq,
                kind,
                signer_kind,
                signer_id,
                half,
                at.replace(tzinfo=None),
                method,
                "home" if signer_kind else "",
                device,
                author,
                None,
                None,
                justified,
                2,
                facts_json,
                f"{seq:032x}" if personal else None,
                f"{k:032x}{seq:032x}" if personal else None,
                f"{k:032x}{seq - 1:032x}",
                f"{k:032x}{seq:032x}",
            )
        )

    plan_json = json.dumps(facts, separators=(",", ":"), ensure_ascii=False)
    add(
        "planned",
        "",
        "",
        "",
        starts - timedelta(days=7),
        "plan",
        author=trainer,
        facts_json=plan_json,
    )
    if k % 23 == 0:
        return out  # never opened: not held
    add("opened", "", "", "", starts - timedelta(minutes=10), "session", author=trainer)
    halves = (
        ["am", "pm"]
        if ends - starts > timedelta(hours=4)
        else (["am"] if _paris_hour(starts) < 13 else ["pm"])
    )
    who = list(planned.participants or range(TRAINEES))
    away = who[k % len(who)] if planned.participants is None else None
    for h, half in enumerate(halves):
        at = starts + timedelta(hours=4 * h, minutes=1)
        trainer_signs = (
            planned.kind != "autoformation" and k % 31 != 0 and not (k % 37 == 0 and half == "pm")
        )
        if trainer_signs:
            add("sign_in", "trainer", trainer, half, at, "trainer", author=trainer)
        for t in who:
            if t == away:
                continue
            add("sign_in", "trainee", group.trainees[t], half, at, "qr", group.devices[t])
            if planned.kind == "autoformation":
                out_at = at + timedelta(hours=3, minutes=t)
                add("sign_out", "trainee", group.trainees[t], half, out_at, "qr", group.devices[t])
    closed = ends + timedelta(minutes=5) if k % 10 else ends - timedelta(minutes=30)
    add("closed", "", "", "", closed, "session", author=trainer)
    if away is not None:
        for half in halves:
            add("absence", "trainee", group.trainees[away], half, closed, "close", author=trainer)
    return out


def _paris_hour(moment: datetime) -> int:
    from core.clock import PARIS

    return moment.astimezone(PARIS).hour


@dataclass
class Build:
    orders: int
    groups: int
    sessions: int
    entries: int
    seconds: float
    reused: bool = False


def ensure(app: Flask, entries: int, year: int = YEAR, say: Any = print) -> Build:
    """The year in the billing database, built unless it holds this size already."""
    from core.extensions import db

    groups = max(1, round(entries / entries_per_group(year)))
    marker = f"bench-billing year={year} groups={groups} trainees={TRAINEES} v=4"
    with app.app_context():
        found = db.session.execute(
            text("SELECT obj_description(to_regclass('signature'), 'pg_class')")
        ).scalar()
        if found == marker:
            counts = db.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM training_order), (SELECT count(*) FROM "
                    "training_session), (SELECT count(*) FROM signature)"
                )
            ).one()
            db.session.remove()
            return Build(counts[0], groups, counts[1], counts[2], 0.0, reused=True)
        db.session.remove()
    return build(app, groups, year, marker, say)


def build(app: Flask, groups: int, year: int, marker: str, say: Any = print) -> Build:
    """Empty the billing database and write the year (COPY, indexes built afterwards)."""
    from bench import data
    from core.extensions import db

    started = time.perf_counter()
    data.rebuild_schema(app)
    bases = []
    for o in range(0, groups, GROUPS_PER_ORDER):
        count = min(GROUPS_PER_ORDER, groups - o)
        bases.append(data.base(app, count, TRAINEES, datetime(year, 1, 1, 8, tzinfo=UTC), o + 1))
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE training_order SET start_date = :first, end_date = :last, "
                "centre_hours = 800, number = 'BC-' || substr(id, 13, 12)"
            ),
            {"first": date(year, 1, 1), "last": date(year, 12, 31)},
        )
        conn.execute(
            text("UPDATE training_group SET start_date = :first"), {"first": date(year, 1, 2)}
        )
        sites = [base.org_id for base in bases]  # one site per order, named after it
        conn.execute(
            text(
                "INSERT INTO site (id, created_at, name, department, city, seats, opening_hours) "
                "VALUES (:id, now(), 'Site bench', '31', 'Toulouse', 15, '{}')"
            ),
            [{"id": site} for site in sites],
        )
    rebuild = _drop_indexes(app)
    sessions = written = 0
    ids = _Counter(prefix=1)
    groups_of = [
        Group(
            base.org_id,
            base.trainer_id,
            group_id,
            base.org_id,
            base.trainee_ids[g],
            [_device(g, t) for t in range(TRAINEES)],
        )
        for base in bases
        for g, group_id in enumerate(base.group_ids)
    ]
    # Every group's sessions merged in time order, written in that order: a month's entries
    # lie together in the table, as the service writes them (they are signed as they happen).
    year_sessions = heapq.merge(
        *(_year_of(group, g, year, ids) for g, group in enumerate(groups_of)),
        key=lambda item: item[0][6],
    )
    with app.app_context(), db.engine.begin() as conn:
        raw: Any = conn.connection.dbapi_connection  # psycopg's own connection (COPY)
        with raw.cursor() as cursor:
            for chunk in _chunks(year_sessions, CHUNK):
                rows = [row for row, _, _ in chunk]
                listed = [(row[0], person) for row, _, people in chunk for person in people]
                _copy(cursor, "training_session", SESSION_COLUMNS, rows)
                _copy(cursor, "session_participant", ("session_id", "trainee_id"), listed)
                _copy(cursor, "signature", SIGNATURE_COLUMNS, (e for _, c, _ in chunk for e in c))
                sessions += len(rows)
                written += sum(len(c) for _, c, _ in chunk)
            say(
                f"{sessions:,} sessions, {written:,} entries copied "
                f"({time.perf_counter() - started:.0f} s)"
            )
    _restore_indexes(app, rebuild)
    with app.app_context(), db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text(f"COMMENT ON TABLE signature IS '{marker}'"))
    return Build(len(bases), groups, sessions, written, time.perf_counter() - started)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _device(g: int, t: int) -> str:
    return json.dumps(
        {
            "ua": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/131.0 Mobile Safari/537.36",
            "ip": f"10.{g % 250}.{t}.{(g * 7 + t) % 250 + 1}",
        },
        separators=(",", ":"),
    )


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: Any) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _drop_indexes(app: Flask) -> list[str]:
    """Drop the constraints and indexes of the entries' table (written back after the COPY):
    answers the statements that restore them, keys first."""
    from core.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        constraints = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE conrelid::regclass::text = ANY(:tables) "
                "AND contype IN ('p', 'u', 'f')"
            ),
            {"tables": list(INDEXED_LATER)},
        ).all()
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:tables) "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ),
            {"tables": list(INDEXED_LATER)},
        ).all()
        for table, name, _, _ in sorted(constraints, key=lambda c: c[2] != "f"):
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    keys = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, kind, definition in sorted(constraints, key=lambda c: c[2] == "f")
    ]
    return keys + [definition for _, definition in indexes]


def _restore_indexes(app: Flask, statements: list[str]) -> None:
    from core.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for statement in statements:
            conn.execute(text(statement))


# --- the measure ---------------------------------------------------------------------------


def floor_statement() -> str:
    """The raw SQL aggregate over the same rows as the billing statement (see the module's
    docstring): the same sessions, the same entries read the same way (the session's own and
    its trainers' from ix_signature_session_facts, one probe of the exactly-once index for
    "a trainee signed"), the same "held"; then each group's held synchronous sessions summed
    from the sessions' columns. Neither the last plan's facts nor the unions nor the flags."""
    return """
        SELECT s.group_id,
               sum(CASE WHEN c.opened AND c.trainer AND s.kind <> 'autoformation'
                             AND EXISTS (SELECT 1 FROM signature t
                                         WHERE t.session_id = c.session_id
                                           AND t.kind = 'sign_in' AND t.signer_kind = 'trainee')
                        THEN extract(epoch FROM least(s.ends_at, coalesce(c.closed_at, s.ends_at))
                                              - s.starts_at) END) AS billable_seconds,
               count(*) AS sessions
        FROM (
            SELECT e.session_id,
                   bool_or(e.kind = 'opened') AS opened,
                   max(CASE WHEN e.kind = 'closed' THEN e.at END) AS closed_at,
                   bool_or(e.kind = 'sign_in' AND e.signer_kind = 'trainer') AS trainer
            FROM signature e
            JOIN training_session m ON m.id = e.session_id
            WHERE m.starts_at >= :first AND m.starts_at < :after
              AND m.group_id IN (SELECT id FROM training_group WHERE order_id IN
                                 (SELECT id FROM training_order))
              AND e.signer_kind <> 'trainee'
            GROUP BY e.session_id
        ) c
        JOIN training_session s ON s.id = c.session_id
        GROUP BY s.group_id
    """


@dataclass
class Month:
    month: int
    floor_s: list[float] = field(default_factory=list)
    statement_s: list[float] = field(default_factory=list)
    use_case_s: list[float] = field(default_factory=list)
    sessions: int = 0
    lines: int = 0
    billable_minutes: int = 0
    floor_minutes: int = 0
    # CPU seconds (this process and PostgreSQL) of each step, per round
    cpu: dict[str, list[float]] = field(
        default_factory=lambda: {"floor_s": [], "statement_s": [], "use_case_s": []}
    )


@dataclass
class BillingRun:
    build: Build
    months: list[Month]
    rounds: int
    entries_read: int = 0
    seconds: float = 0.0

    def total(self, name: str) -> float:
        """Seconds for the year: the sum over the months of each month's median."""
        return sum(statistics.median(getattr(m, name)) for m in self.months)

    def cpu_total(self, name: str) -> float:
        """CPU seconds for the year (this process and PostgreSQL), sum of monthly medians."""
        return sum(statistics.median(m.cpu[name]) for m in self.months)

    @property
    def cpu_ratio(self) -> float:
        return self.cpu_total("use_case_s") / max(1e-9, self.cpu_total("floor_s"))

    @property
    def ratio(self) -> float:
        return self.total("use_case_s") / max(1e-9, self.total("floor_s"))

    @property
    def statement_ratio(self) -> float:
        return self.total("statement_s") / max(1e-9, self.total("floor_s"))

    @property
    def ok(self) -> bool:
        """Something billed every month, never more than the floor's sum of the same held
        sessions (a union of intervals is at most their sum)."""
        return all(0 < m.billable_minutes <= m.floor_minutes for m in self.months)


def render(run: BillingRun) -> list[str]:
    """The billing benchmark's section of docs/benchmarks.md."""
    built = run.build
    lines = [
        "",
        "## Billing: the Région-wide year (issue 9)",
        "",
        f"bench/billing.py (`python -m bench.billing --entries N` alone): {built.orders} "
        f"orders, {_n(built.groups)} groups of {TRAINEES} trainees, {_n(built.sessions)} "
        f"sessions and {_n(built.entries)} entries of {YEAR} in their own database "
        "(BENCH_BILLING_DATABASE_URL, kept between runs), written in time order with COPY. "
        "Per month, side by side (alternating which goes first), the median of "
        f"{run.rounds}: the *floor* (bench.billing.floor_statement: the same sessions, the "
        'same entries read the same way, the same "held", each group\'s held synchronous '
        "time summed; no plan facts, no union, no flags), the billing *statement* "
        "(certificates.billing_services.chained_statement, rows fetched) and the *use case* "
        "(billing_services.month_billings for the Région: every order, group, line and flag).",
        "",
        "| what | seconds for the year | × the floor | CPU seconds (Python + PostgreSQL) "
        "| × the floor's CPU |",
        "| --- | --- | --- | --- | --- |",
    ]
    floor, floor_cpu = run.total("floor_s"), run.cpu_total("floor_s")
    for label, name in (
        ("floor (raw SQL aggregate)", "floor_s"),
        ("billing statement", "statement_s"),
        ("the whole use case", "use_case_s"),
    ):
        lines.append(
            f"| {label} | {run.total(name):.1f} | {run.total(name) / floor:.2f} | "
            f"{run.cpu_total(name):.1f} | {run.cpu_total(name) / max(1e-9, floor_cpu):.2f} |"
        )
    lines += [
        "",
        "| month | sessions | lines | floor s | statement s | use case s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in run.months:
        lines.append(
            f"| {YEAR}-{m.month:02d} | {_n(m.sessions)} | {_n(m.lines)} | "
            f"{statistics.median(m.floor_s):.2f} | {statistics.median(m.statement_s):.2f} | "
            f"{statistics.median(m.use_case_s):.2f} |"
        )
    lines += [
        "",
        f"Targets: the use case ≤ 1.5 × the floor ({run.ratio:.2f} ×: "
        f"{'met' if run.ratio <= 1.5 else 'not met'}), under 10 s for the year "
        f"({run.total('use_case_s'):.1f} s: {'met' if run.total('use_case_s') < 10 else 'not met'}"
        f"); in CPU, {run.cpu_ratio:.2f} × the floor and {run.cpu_total('use_case_s'):.1f} s. "
        f"Billed never more than the floor's sum, every month: {'yes' if run.ok else 'NO'}. "
        "Both run without PostgreSQL's parallel workers (all of its CPU in one backend, "
        "counted).",
    ]
    return lines


def _n(value: float) -> str:
    return f"{value:,.0f}"


def measure_month(app: Flask, year: int, month: int, rounds: int, found: Month) -> None:
    from certificates import billing, billing_services
    from core.auth import Principal
    from core.extensions import db
    from core.models import Role

    region = Principal("region-bench", Role.REGION, None, None, "Région bench")
    first, after = billing.month_bounds(year, month)
    now = datetime(year + 1, 2, 1, tzinfo=UTC)

    def floor() -> None:
        billing_services.without_jit()
        rows = db.session.execute(text(floor_statement()), {"first": first, "after": after}).all()
        found.floor_minutes = sum(int((r.billable_seconds or 0) // 60) for r in rows)

    def statement() -> None:
        from sqlalchemy import select

        from training.models import Order

        billing_services.without_jit()
        query = billing_services.chained_statement(select(Order.id), first, after)
        found.sessions = len(db.session.connection().execute(query).all())

    def use_case() -> None:
        orders = list(billing_services.month_billings(region, year, month, now))
        found.lines = sum(len(g.lines) for o in orders for g in o.groups)
        found.billable_minutes = sum(o.totals["billable_minutes"] for o in orders)

    steps = {"floor_s": floor, "statement_s": statement, "use_case_s": use_case}
    database = DATABASE_URL.rsplit("/", 1)[1]
    with app.app_context():
        for r in range(rounds):
            names = list(steps) if (month + r) % 2 else list(reversed(steps))
            for name in names:
                # One backend does all of PostgreSQL's work (no parallel workers, whose CPU
                # would be gone before it could be read): CPU is then comparable, whatever
                # else the machine runs.
                db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
                start = cpu.snapshot([], database)
                steps[name]()
                end = cpu.snapshot([], database)
                used = cpu.usage(start, end, []).groups
                getattr(found, name).append(end.at - start.at)
                found.cpu[name].append(used["bench"] + used["postgres"])
                db.session.rollback()
        db.session.remove()


def measure(
    entries: int = DEFAULT_ENTRIES, rounds: int = 3, year: int = YEAR, say: Any = print
) -> BillingRun:
    """Build (or reuse) the year, then time the floor, the statement and the use case per
    month."""
    from bench import data
    from core import create_app

    started = time.perf_counter()
    data.ensure_database(DATABASE_URL)
    app = create_app({"SQLALCHEMY_DATABASE_URI": DATABASE_URL})
    built = ensure(app, entries, year, say)
    say(
        f"{built.orders} orders, {built.groups:,} groups, {built.sessions:,} sessions, "
        f"{built.entries:,} entries "
        + ("(reused)" if built.reused else f"written in {built.seconds:.0f} s")
    )
    months = []
    for month in range(1, 13):
        found = Month(month)
        measure_month(app, year, month, rounds, found)
        months.append(found)
        say(
            f"{year}-{month:02d}: floor {statistics.median(found.floor_s):.2f} s "
            f"(CPU {statistics.median(found.cpu['floor_s']):.2f}), statement "
            f"{statistics.median(found.statement_s):.2f} s "
            f"(CPU {statistics.median(found.cpu['statement_s']):.2f}), use case "
            f"{statistics.median(found.use_case_s):.2f} s "
            f"(CPU {statistics.median(found.cpu['use_case_s']):.2f}; {found.sessions:,} sessions)"
        )
    run = BillingRun(built, months, rounds, seconds=time.perf_counter() - started)
    say(
        f"year: floor {run.total('floor_s'):.1f} s, statement {run.total('statement_s'):.1f} s "
        f"({run.statement_ratio:.2f} ×), use case {run.total('use_case_s'):.1f} s "
        f"({run.ratio:.2f} ×); CPU: floor {run.cpu_total('floor_s'):.1f} s, use case "
        f"{run.cpu_total('use_case_s'):.1f} s ({run.cpu_ratio:.2f} ×)"
    )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__)
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    settings.apply_env()
    os.environ["DATABASE_URL"] = DATABASE_URL
    run = measure(args.entries, args.rounds)
    print("\n".join(render(run)))  # the section of docs/benchmarks.md
    return 0 if run.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
