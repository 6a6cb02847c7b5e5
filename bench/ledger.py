"""The ledger's seal and verify, timed on a large ledger (issue 8, item 7).

`python -m bench.ledger` (and `make bench`, after the sign-in runs) empties the bench
database and fills it in bulk (COPY), every entry computed with the service's own code
(bench/entries.py), so that `flask --app wsgi ledger verify` passes on it:

1. Closed sessions of the past weeks, one per group and day (500 groups of 20 trainees):
   46 entries for a full day (plan, opening, the trainer's two signatures, two per trainee
   present, the close, the absences it records, a motivated correction), 25 for a morning;
   `entries` minus the changes below in all. Sealed (seal 1, timed: the first seal of a
   whole ledger).
2. `changed` of them, spread over the weeks, changed since that seal: the trainer gives the
   reason of an absence (attendance.register.record_absence: one entry per half-day, so
   two for a full day). Timed: the seal over them (attendance.sealing.seal, which checks
   each changed chain from its last sealed head and signs the Merkle root of their heads),
   its commit, and its export outside the database (attendance.sealing.export).
3. The full verify of `ledger verify`, timed: attendance.sealing.audit over every session
   (the seals' signatures and chain against their export, every chain recomputed, every
   session's columns replayed from its chain, every sealed head still in its chain).

Each timed operation runs in a fresh process (`python -m bench.ledger --step …`), so that
its peak memory (getrusage maxrss) is its own; PostgreSQL's CPU meanwhile is read from /proc.
Then the verify runs again under cProfile on one session in ten: where its CPU goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

from flask import Flask
from sqlalchemy import Table, insert, select, text

from bench import cpu, data, entries, settings

TRAINEES = 20  # per group, as in the sign-in runs
GROUPS = 500
FULL_DAY = 46  # entries of a closed full-day session of 20 trainees (see _closed_session)
MORNING = 25  # entries of a closed morning session
BATCH = 500  # sessions per bulk insert
PROFILE_SHARE = 10  # --profile verifies one session in this many


@dataclass
class Build:
    """Rows written in bulk (not timed as a target: how fast the bench fills its database)."""

    sessions: int
    entries: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0


@dataclass
class Step:
    """One timed operation, in its own process."""

    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0  # the process's own CPU (user + system)
    postgres_cpu_s: float = 0.0  # the bench database's backends and PostgreSQL's own processes
    maxrss_mib: float = 0.0  # the process's peak resident memory, app loaded
    base_rss_mib: float = 0.0  # its peak before the operation (Python, the app, its imports)
    entries: int = 0  # entries read and hashed again
    sessions: int = 0
    ok: bool = True
    parts: dict[str, float] = field(default_factory=dict)  # seconds of each part
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.entries / self.wall_s if self.wall_s else 0.0


@dataclass
class LedgerRun:
    closed: Build  # the closed sessions written
    first_seal: Step  # over all of them
    changed: Build  # the changes since
    seal: Step  # over the sessions changed since the first seal
    audit: Step
    profile: Step | None = None
    seconds: float = 0.0

    @property
    def total_entries(self) -> int:
        return self.closed.entries + self.changed.entries

    @property
    def ok(self) -> bool:
        return all(step.ok for step in (self.first_seal, self.seal, self.audit))


# --- building the ledger -------------------------------------------------------------------


def _sessions_table() -> Table:
    from attendance.models import TrainingSession

    return TrainingSession.__table__  # type: ignore[return-value]


def _copy_entries(conn: Any, rows: list[dict[str, Any]]) -> None:
    """COPY the entries over the SQLAlchemy connection's own psycopg connection."""
    raw = conn.connection.dbapi_connection
    columns = ", ".join(entries.COLUMNS)
    with raw.cursor() as cursor, cursor.copy(f"COPY signature ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(entries.copy_values(row))


def _device(g: int, t: int) -> dict[str, Any]:
    return {
        "ua": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Mobile Safari/537.36",
        "ip": f"10.{g % 250}.{t}.{(g * 7 + t) % 250 + 1}",
    }


def _session_row(
    world: data.Base, g: int, starts: datetime, ends: datetime, planned_at: datetime
) -> dict[str, Any]:
    return {
        "id": "",  # drawn when the session is planned (new_id orders ids by time)
        "created_at": planned_at,
        "organisation_id": world.org_id,
        "group_id": world.group_ids[g],
        "kind": "tutorat",
        "title": "Tutorat bench",
        "starts_at": starts,
        "ends_at": ends,
        "status": "planned",
        "on_public_holiday": False,
        "created_by_id": world.trainer_id,
        "opened_at": None,
        "opened_by_id": None,
        "closed_at": None,
        "closed_by_id": None,
        "qr_key": None,
        "chain_length": 0,
        "chain_head": "",
        "whole_group": True,
        "lead_trainer_id": world.trainer_id,
    }


def _trainee_row(
    world: data.Base, g: int, t: int, kind: str, half: str, at: datetime
) -> dict[str, Any]:
    """A trainee's QR sign-in (or sign-out) from a bound phone, as attendance.signing writes it."""
    return entries.row(
        organisation_id=world.org_id,
        kind=kind,
        signer_kind="trainee",
        signer_id=world.trainee_ids[g][t],
        half_day=half,
        at=at,
        method="qr",
        channel="home",
        device=_device(g, t),
    )


def _trainer_row(world: data.Base, half: str, at: datetime) -> dict[str, Any]:
    return entries.row(
        organisation_id=world.org_id,
        kind="sign_in",
        signer_kind="trainer",
        signer_id=world.trainer_id,
        half_day=half,
        at=at,
        method="trainer",
        channel="home",
        device={"ua": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "ip": "192.0.2.10"},
        author_id=world.trainer_id,
    )


def _by_trainer(world: data.Base, g: int, t: int, half: str, **values: Any) -> dict[str, Any]:
    """An absence or a correction, as attendance.register._append writes it."""
    return entries.row(
        organisation_id=world.org_id,
        signer_kind="trainee",
        signer_id=world.trainee_ids[g][t],
        half_day=half,
        channel="home",
        device={},
        author_id=world.trainer_id,
        **values,
    )


def _day_times(day: datetime, full: bool) -> tuple[datetime, datetime]:
    """09:00 to 17:00 (full day) or 09:00 to 12:00, Paris winter time (UTC+1)."""
    starts = datetime.combine(day.date(), clock(8, 0), tzinfo=UTC)
    return starts, starts + timedelta(hours=8 if full else 3)


def _plan(row: dict[str, Any], world: data.Base) -> list[dict[str, Any]]:
    from core.db import new_id

    row["id"] = new_id()
    return [entries.plan_row(data.session_object(row), world.trainer_id, row["created_at"])]


def _closed_session(row: dict[str, Any], world: data.Base, g: int, full: bool) -> list[Any]:
    """A past session, closed: plan (a week before), opening, the trainer's signature and
    the trainees' per half-day (two absent all day), the close and the absences it records
    (attendance.register.close_session), then a motivated correction of one absence."""
    starts, ends = row["starts_at"], row["ends_at"]
    halves = ("am", "pm") if full else ("am",)
    away = set(absent(g))
    opened = starts - timedelta(minutes=10)
    closed = ends + timedelta(minutes=5)
    out = _plan(row, world)
    row.update(status="open", opened_at=opened, opened_by_id=world.trainer_id)
    row["qr_key"] = secrets.token_hex(32)
    session = data.session_object(row)
    out.append(entries.session_row(session, world.trainer_id, "opened", opened))
    for h, half in enumerate(halves):
        at = starts + timedelta(hours=5 * h, minutes=1)
        out.append(_trainer_row(world, half, at))
        for t in range(TRAINEES):
            if t not in away:
                out.append(_trainee_row(world, g, t, "sign_in", half, at + timedelta(seconds=t)))
    out.append(entries.session_row(session, world.trainer_id, "closed", closed))
    row.update(status="closed", closed_at=closed, closed_by_id=world.trainer_id)
    for t in sorted(away):
        for half in halves:
            out.append(
                _by_trainer(
                    world, g, t, half, kind="absence", method="close", justified=False, at=closed
                )
            )
    late = absent(g)[0]
    out.append(
        _by_trainer(
            world,
            g,
            late,
            "am",
            kind="correction",
            method="correction",
            action="mark_present",
            reason="Présent, connexion depuis le poste du centre (panne de téléphone).",
            justified=None,
            at=closed + timedelta(hours=1),
        )
    )
    return out


def _write(app: Flask, sessions: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    from core.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        if sessions:
            conn.execute(insert(_sessions_table()), sessions)
        _copy_entries(conn, rows)


def absent(g: int) -> tuple[int, int]:
    """The two trainees of group g absent all day from its past sessions."""
    return (g * 3) % TRAINEES, (g * 3 + 7) % TRAINEES


@dataclass
class Chain:
    """What the bench keeps of a session it wrote: enough to append to its chain."""

    id: str
    g: int
    halves: tuple[str, ...]
    length: int
    head: str


def change(app: Flask, world: data.Base, chains: list[Chain], count: int, now: datetime) -> Build:
    """`count` of the full-day sessions, spread over them, each changed since the seal: the trainer
    gives the reason of an absence (attendance.register.record_absence: one justified
    absence per half-day of the session). The sessions' heads moved to match."""
    from core.extensions import db

    started = time.perf_counter()
    full = [chain for chain in chains if len(chain.halves) == 2] or chains
    step = max(1, len(full) // max(1, count))
    chosen = full[::step][:count]
    written = 0
    for start in range(0, len(chosen), BATCH):
        rows, moved = [], []
        for chain in chosen[start : start + BATCH]:
            t = absent(chain.g)[1]
            more = [
                _by_trainer(
                    world,
                    chain.g,
                    t,
                    half,
                    kind="absence",
                    method="trainer",
                    reason="Arrêt de travail transmis au centre le lendemain.",
                    justified=True,
                    at=now,
                )
                for half in chain.halves
            ]
            chained, chain.length, chain.head = entries.chain(
                chain.id, more, chain.length, chain.head
            )
            rows += chained
            moved.append({"id": chain.id, "length": chain.length, "head": chain.head})
        with app.app_context(), db.engine.begin() as conn:
            _copy_entries(conn, rows)
            conn.execute(
                text(
                    "UPDATE training_session SET chain_length = :length, chain_head = :head "
                    "WHERE id = :id"
                ),
                moved,
            )
        written += len(rows)
    return Build(len(chosen), written, time.perf_counter() - started)


def sizes(remaining: int) -> tuple[int, int]:
    """How many full-day and morning sessions make exactly `remaining` entries (as close as
    possible when none do)."""
    for mornings in range(FULL_DAY):
        rest = remaining - MORNING * mornings
        if rest >= 0 and rest % FULL_DAY == 0:
            return rest // FULL_DAY, mornings
    return remaining // FULL_DAY, 0


def build_closed(
    app: Flask, world: data.Base, total: int, now: datetime
) -> tuple[Build, list[Chain]]:
    """Closed sessions of the past days, one per group and day (no trainee in two sessions
    at once), the most recent first, making `total` entries."""
    started = time.perf_counter()
    full_days, mornings = sizes(total)
    groups = len(world.group_ids)
    count, written, chains = full_days + mornings, 0, []

    def sessions() -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        for i in range(count):
            g, full = i % groups, i >= mornings
            starts, ends = _day_times(now - timedelta(days=1 + i // groups), full)
            row = _session_row(world, g, starts, ends, starts - timedelta(days=7))
            out = _closed_session(row, world, g, full)
            chained, row["chain_length"], row["chain_head"] = entries.chain(row["id"], out)
            halves = ("am", "pm") if full else ("am",)
            chains.append(Chain(row["id"], g, halves, row["chain_length"], row["chain_head"]))
            yield row, chained

    batch: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for item in sessions():
        batch.append(item)
        if len(batch) == BATCH:
            written += _flush(app, batch)
            batch = []
    written += _flush(app, batch)
    return Build(count, written, time.perf_counter() - started), chains


def _flush(app: Flask, batch: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    if not batch:
        return 0
    rows = [e for _, chained in batch for e in chained]
    _write(app, [row for row, _ in batch], rows)
    return len(rows)


def _vacuum(app: Flask) -> None:
    from core.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


# --- the timed operations, each in its own process ------------------------------------------


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _step_seal(app: Flask, step: Step) -> None:
    from attendance import sealing
    from attendance.models import SealedState
    from core.db import utcnow
    from core.extensions import db

    with app.app_context():
        before = dict(db.session.execute(select(SealedState.session_id, SealedState.length)).all())
        t0, c0 = time.perf_counter(), _own_cpu()
        outcome = sealing.seal(utcnow())
        t1 = time.perf_counter()
        db.session.commit()
        t2 = time.perf_counter()
        exported = sealing.export()
        t3 = time.perf_counter()
        step.cpu_s = _own_cpu() - c0
        step.wall_s = t3 - t0
        step.parts = {"seal": t1 - t0, "commit": t2 - t1, "export": t3 - t2}
        made = outcome.seal
        step.sessions = made.count if made else 0
        checked = (c.length - before.get(c.session_id, 0) for c in made.sessions) if made else ()
        step.entries = sum(checked)  # the seal checks each chain after its last sealed head
        step.ok = made is not None and not outcome.refused and exported == 1
        step.detail = {
            "seal": made.seq if made else None,
            "refused": len(outcome.refused),
            "exported": exported,
            "export_bytes": sealing.export_path().stat().st_size,
        }
        db.session.remove()


def _step_audit(app: Flask, step: Step, share: int = 1) -> Any:
    from sqlalchemy import func

    from attendance import sealing
    from attendance.models import TrainingSession
    from core.extensions import db

    query = select(TrainingSession)
    if share > 1:  # one session in `share`, by id (a profile's sample)
        query = query.where(func.abs(func.hashtext(TrainingSession.id)) % share == 0)
    with app.app_context():
        t0, c0 = time.perf_counter(), _own_cpu()
        result = sealing.audit(query, whole_region=share == 1)
        step.wall_s = time.perf_counter() - t0
        step.cpu_s = _own_cpu() - c0
        step.entries, step.sessions, step.ok = result.length, result.sessions, result.ok
        fault = result.fault
        step.detail = {
            "sealed": result.sealed,
            "unsealed": result.unsealed,
            "seals": result.seals,
            "seals_checked": result.seals_checked,
            "fault": None if fault is None else f"{fault.session_id} #{fault.seq}: {fault.reason}",
        }
        db.session.remove()
    return result


# (label, end of the file name, function name): cumulative CPU of these calls in the verify.
CHAINS = "├ chains and columns (attendance.journal.verify)"
CHECKS = (
    "│ ├ each chain (attendance.ledger.verify_chain)",
    "│ ├ columns against the chain (journal._projection_fault)",
    "│ └ an entry outside every chain (journal._orphan_entry, one query)",
)
READING = "│ ├ rows read, decoded, grouped by session (the rest of journal.verify)"
PROFILE_STEPS = (
    ("whole verify (attendance.sealing.audit)", "attendance/sealing.py", "audit"),
    ("├ seals: signatures, chain, export (sealing._check_sources)", "sealing.py", "_check_sources"),
    (CHAINS, "attendance/journal.py", "verify"),
    (CHECKS[0], "attendance/ledger.py", "verify_chain"),
    ("│ │ ├ entry hash (ledger.entry_hash)", "attendance/ledger.py", "entry_hash"),
    ("│ │ │ ├ canonical JSON (ledger.canonical)", "attendance/ledger.py", "canonical"),
    ("│ │ │ └ of which ledger._value (isinstance checks, times)", "attendance/ledger.py", "_value"),
    ("│ │ └ personal part (ledger.personal_fault)", "attendance/ledger.py", "personal_fault"),
    (CHECKS[1], "journal.py", "_projection_fault"),
    ("│ │ ├ replay (projection.step)", "attendance/projection.py", "step"),
    ("│ │ └ out of turn (projection.out_of_turn)", "attendance/projection.py", "out_of_turn"),
    (CHECKS[2], "attendance/journal.py", "_orphan_entry"),
    ("├ a sealed session gone (sealing._sealed_but_gone)", "sealing.py", "_sealed_but_gone"),
    ("└ sealed entries (sealing._sealed_entries)", "attendance/sealing.py", "_sealed_entries"),
    ("across: sha256 (hashlib)", "~", "<built-in method _hashlib.openssl_sha256>"),
    ("across: json.dumps", "json/__init__.py", "dumps"),
    ("across: JSON columns decoded (json.loads)", "json/__init__.py", "loads"),
)


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float | None:
    found = None
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, _tt, ct, _callers) in table.items():
        if function == name and filename.endswith(suffix):
            found = (found or 0.0) + ct
    return found


def _step_profile(app: Flask, step: Step) -> None:
    """The verify of one session in PROFILE_SHARE under cProfile (CPU clock): where it goes."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    _step_audit(app, step, PROFILE_SHARE)
    profiler.disable()
    step.ok = True  # a sample's verdict means nothing (other sessions' entries are "outside")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    whole = _cumulative(stats, "attendance/sealing.py", "audit") or 1.0
    shares: list[tuple[str, float]] = []
    for label, suffix, name in PROFILE_STEPS:
        spent = _cumulative(stats, suffix, name)
        if spent is not None:
            shares.append((label, spent / whole))
    found = dict(shares)
    if CHAINS in found:  # what journal.verify spends besides the checks: reading the rows
        rest = found[CHAINS] - sum(found.get(label, 0.0) for label in CHECKS)
        at = [label for label, _ in shares].index(CHAINS) + 1
        shares.insert(at, (READING, rest))
    stats.sort_stats("tottime").print_stats(12)
    step.detail["profile"] = [list(share) for share in shares]
    step.detail["top"] = out.getvalue()


def child(name: str) -> None:
    """One timed operation (`--step NAME`), its figures printed as one JSON line."""
    settings.apply_env()
    from core import create_app
    from core.extensions import db

    app = create_app()
    with app.app_context():  # connect first: the backend's CPU is read before and after
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    step = Step(name, base_rss_mib=_rss_mib())
    before = cpu.snapshot([], settings.DATABASE_NAME)
    {"seal": _step_seal, "audit": _step_audit, "profile": _step_profile}[name](app, step)
    after = cpu.snapshot([], settings.DATABASE_NAME)
    step.postgres_cpu_s = cpu.usage(before, after, []).groups.get("postgres", 0.0)
    step.maxrss_mib = _rss_mib()
    print("BENCH-LEDGER " + json.dumps(asdict(step)), flush=True)


def run_step(name: str) -> Step:
    """`python -m bench.ledger --step NAME` in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ledger", "--step", name],
        cwd=settings.ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH-LEDGER ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"bench.ledger --step {name} failed:\n{proc.stdout}\n{proc.stderr}")
    return Step(**json.loads(line.removeprefix("BENCH-LEDGER ")))


# --- the whole ledger benchmark ------------------------------------------------------------


def measure(
    app: Flask,
    changed: int = settings.LEDGER_CHANGED_SESSIONS,
    total: int = settings.LEDGER_ENTRIES,
    *,
    profile: bool = True,
    say: Any = print,
) -> LedgerRun:
    """Empty the bench database, build the ledger, and time its seals and its verify."""
    started = time.perf_counter()
    data.rebuild_schema(app)
    _empty_seal_export()
    now = datetime.now(UTC)
    world = data.base(app, GROUPS, TRAINEES, now)
    per_change = 2  # a full day's two half-days (most sessions)
    closed, chains = build_closed(app, world, max(0, total - per_change * changed), now)
    _vacuum(app)
    say(
        f"{closed.sessions:,} closed sessions, {closed.entries:,} entries written "
        f"({closed.seconds:.1f} s, {closed.rate:,.0f} entries/s)"
    )
    first_seal = run_step("seal")
    say(
        f"first seal over {first_seal.sessions:,} sessions ({first_seal.entries:,} entries): "
        f"{first_seal.wall_s:.1f} s"
    )
    moved = change(app, world, chains, changed, now)
    _vacuum(app)
    seal = run_step("seal")
    say(
        f"seal over {seal.sessions:,} changed sessions ({seal.entries:,} entries): "
        f"{seal.wall_s:.2f} s, {seal.maxrss_mib:.0f} MiB peak"
    )
    audit = run_step("audit")
    say(
        f"verify of {audit.entries:,} entries in {audit.sessions:,} sessions: "
        f"{audit.wall_s:.1f} s ({audit.rate:,.0f} entries/s), {audit.maxrss_mib:.0f} MiB peak, "
        + ("ok" if audit.ok else f"FAULT {audit.detail.get('fault')}")
    )
    run = LedgerRun(closed, first_seal, moved, seal, audit)
    if profile:
        run.profile = run_step("profile")
    run.seconds = time.perf_counter() - started
    return run


def _empty_seal_export() -> None:
    """The export belongs to the database it seals: a new ledger starts a new file."""
    folder = os.environ.get("LEDGER_SEAL_DIR")
    if folder:
        from attendance.sealing import EXPORT_NAME

        path = os.path.join(folder, EXPORT_NAME)
        if os.path.exists(path):
            os.unlink(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    parser.add_argument("--step", choices=("seal", "audit", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--sessions", type=int, default=settings.LEDGER_CHANGED_SESSIONS)
    parser.add_argument("--entries", type=int, default=settings.LEDGER_ENTRIES)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    if args.step:
        child(args.step)
        return 0
    settings.apply_env()
    from bench.report import render_ledger
    from core import create_app

    data.ensure_database()
    app = create_app()
    try:
        run = measure(app, args.sessions, args.entries, profile=not args.no_profile)
    finally:
        settings.clean_up()
    print("\n".join(render_ledger(run)))
    return 0 if run.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
