"""The Markdown report: printed, and written to docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench import settings
from bench.billing import BillingRun
from bench.billing import render as render_billing
from bench.certificates import CertificatesRun
from bench.certificates import render as render_certificates
from bench.cpu import Usage
from bench.data import LedgerCheck
from bench.ledger import LedgerRun, Step
from bench.openloop import OpenLoopResult
from bench.probe import Probe
from bench.profile import Breakdown
from bench.profile import render as render_breakdown
from bench.qrimages import QrRates
from bench.wrk import WrkResult

PACKAGES = (
    "flask",
    "gunicorn",
    "sqlalchemy",
    "flask-sqlalchemy",
    "psycopg",
    "pyjwt",
    "limits",
    "flask-socketio",
    "redis",
    "segno",
)


@dataclass
class ClosedLoop:
    """One server setting: the sign-in run, the health run, and the checks."""

    label: str
    workers: int
    sign_in: WrkResult
    health: WrkResult
    rows: int
    ledger: LedgerCheck
    redis_per_sign_in: float
    redis_commands: Counter[str]
    sign_in_cpu: Usage
    health_cpu: Usage
    worker_class: str = "sync"
    threads: int = 1

    @property
    def ratio(self) -> float:
        return self.sign_in.created_rate / self.health.rate if self.health.rate else 0.0

    @property
    def rows_match(self) -> bool:
        return self.rows == self.sign_in.created


@dataclass
class FixedRate:
    label: str
    health: OpenLoopResult
    sign_in: OpenLoopResult
    rows: int
    ledger: LedgerCheck
    health_cpu: Usage
    sign_in_cpu: Usage

    @property
    def rows_match(self) -> bool:
        return self.rows == self.sign_in.created


@dataclass
class Bare:
    """The bare sign-in (bench/bare.py): the floor a durable sign-in has on this machine."""

    label: str
    sign_in: WrkResult
    health: WrkResult
    rows: int
    sign_in_cpu: Usage
    health_cpu: Usage
    others: dict[str, float] = field(default_factory=dict)  # sign-ins/s under each setting
    setting: tuple[str, int, int] = ("sync", 1, 1)  # worker class, workers, threads
    open_loop: OpenLoopResult | None = None  # the fixed rate, on the best setting
    open_loop_rows: int = 0
    open_loop_cpu: Usage | None = None
    runs: list[Bare] = field(default_factory=list)  # every setting (this one among them)

    @property
    def ratio(self) -> float:
        return self.sign_in.created_rate / self.health.rate if self.health.rate else 0.0


@dataclass
class PairedRound:
    """One round of issue 8's CPU comparison: the service's sign-ins, then the bare ones (or
    the other way round), same setting, same load, both servers up."""

    label: str
    sign_in: WrkResult
    sign_in_cpu: Usage
    bare: WrkResult
    bare_cpu: Usage
    rows: int = 0
    bare_rows: int = 0
    bare_first: bool = False
    logs: list[str] = field(default_factory=list)

    @property
    def own(self) -> float:
        return _cost(self.sign_in_cpu, self.sign_in.answered)

    @property
    def floor(self) -> float:
        return _cost(self.bare_cpu, self.bare.answered)

    @property
    def ratio(self) -> float:
        return self.own / self.floor if self.floor else float("nan")

    @property
    def rows_match(self) -> bool:
        return self.rows == self.sign_in.created and self.bare_rows == self.bare.created


@dataclass
class Run:
    started: datetime
    wrk_version: str
    database: dict[str, str]
    redis_version: str
    pairs: int
    sessions: int
    prepare_s: float
    probe: Probe
    breakdown: Breakdown
    background_before: float
    background_after: float = 0.0
    closed: list[ClosedLoop] = field(default_factory=list)
    fixed: FixedRate | None = None
    bare: Bare | None = None
    qr: QrRates | None = None
    total_s: float = 0.0
    server_logs: list[str] = field(default_factory=list)
    loadavg_before: str = ""
    loadavg_after: str = ""
    ledger: LedgerRun | None = None
    paired: list[PairedRound] = field(default_factory=list)
    certificates: CertificatesRun | None = None  # issue 9
    billing: BillingRun | None = None  # issue 9

    @property
    def best(self) -> ClosedLoop:
        return max(self.closed, key=lambda c: c.sign_in.created_rate)

    @property
    def correct(self) -> bool:
        checks = [c.rows_match and c.ledger.ok for c in self.closed]
        if self.fixed:
            checks.append(self.fixed.rows_match and self.fixed.ledger.ok)
        if self.ledger:
            checks.append(self.ledger.ok)
        checks += [part.ok for part in (self.certificates, self.billing) if part is not None]
        checks += [r.rows_match for r in self.paired]
        return all(checks)

    def cpu_ratios(self) -> list[tuple[str, float, float]]:
        """(setting, the service's CPU per sign-in, the bare one's) for each setting both ran
        under, all processes (server, PostgreSQL, Redis, load generator)."""
        bare = {b.label: b for b in (self.bare.runs if self.bare else [])}
        out = []
        for c in self.closed:
            b = bare.get(c.label)
            if b is not None:
                own = _cost(c.sign_in_cpu, c.sign_in.answered)
                floor = _cost(b.sign_in_cpu, b.sign_in.answered)
                if floor:
                    out.append((c.label, own, floor))
        return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"nproc {os.cpu_count()}, {cpu_model()}{memory}, Linux {platform.release()}"


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    if value != value:  # NaN: nothing measured
        return "–"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _statuses(counts: dict[int, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items())) or "none"


def _cpu_row(name: str, use: Usage, requests: int) -> str:
    per = use.per_request_ms(requests)
    return (
        f"| {name} | {requests:,} | {per.get('gunicorn', 0):.2f} | {per.get('postgres', 0):.2f} "
        f"| {per.get('redis', 0):.2f} | {per.get('load generator', 0) + per.get('bench', 0):.2f} "
        f"| {use.cores('gunicorn'):.2f} | {use.cores('postgres'):.2f} "
        f"| {use.cores('other programs'):.2f} |"
    )


def _cost(use: Usage, requests: int) -> float:
    """CPU ms per request of the server, PostgreSQL, Redis and the load generator."""
    per = use.per_request_ms(requests)
    return sum(v for k, v in per.items() if k != "other programs")


def render(run: Run) -> str:
    lines = _header(run) + _targets(run) + _changes() + _closed(run) + _bare(run)
    lines += _paired(run) + _cpu(run)
    lines += _fixed(run) + _probe(run) + _qr(run)
    if run.ledger:
        lines += render_ledger(run.ledger)
    if run.certificates:
        lines += render_certificates(run.certificates)
    if run.billing:
        lines += render_billing(run.billing)
    lines += _method(run)
    logs = [log for log in run.server_logs if log]
    if logs:
        lines += ["", "## Server log (warnings and errors)", "", "```"]
        lines += [log[-3000:] for log in logs]
        lines += ["```"]
    return "\n".join(lines) + "\n"


def _header(run: Run) -> list[str]:
    db = run.database
    return [
        "# Benchmarks",
        "",
        "Reproduce with **`make bench`** (runs `.venv/bin/python -m bench`, then "
        "`bench.dashboards`; the first run also writes the billing benchmark's 20-million-entry "
        "year, about twenty minutes, kept for later runs in the database `bench_billing`; "
        "`BENCH_LEDGER_ENTRIES=0`, `BENCH_BILLING_ENTRIES=0`, `BENCH_CERTIFICATES_GROUPS=0` and "
        "`BENCH_SITES=0` leave parts out). It needs PostgreSQL on 127.0.0.1:5432 (user "
        "`postgres`), Redis on 127.0.0.1:6379 and `wrk` (`sudo apt-get install -y wrk`; the bench"
        " installs it itself when it runs as root). It empties and refills the database `bench` "
        "(created if missing) and Redis database 14. Each run rewrites this file.",
        "",
        f"- Date: {run.started:%Y-%m-%d %H:%M %Z}; the whole run took {run.total_s:.0f} s.",
        f"- Machine: {machine()}.",
        f"- Load averages (1, 5, 15 min, as `uptime` prints them): {run.loadavg_before} before "
        f"the run, {run.loadavg_after} after: other engineers share these 2 cores, and the same "
        "code measured 2 × apart on different days (FACTS.md). Compare figures of one run, "
        "and CPU times rather than rates.",
        f"- Other programs kept {100 * run.background_before:.0f} % of the CPUs busy just "
        f"before the run and {100 * run.background_after:.0f} % just after (see the CPU table "
        "for their share during each measurement): figures taken on a busy machine are low.",
        f"- Versions: {versions()}, PostgreSQL {db.get('server_version', '?')}, "
        f"Redis {run.redis_version}, {run.wrk_version}.",
        f"- PostgreSQL: synchronous_commit={db.get('synchronous_commit')}, "
        f"fsync={db.get('fsync')}, wal_sync_method={db.get('wal_sync_method')}, "
        f"ssl={db.get('ssl')}: left as configured, every commit is durable.",
    ]


def _targets(run: Run) -> list[str]:
    best, p = run.best, run.probe
    lines = [
        "",
        "## Targets of the issue",
        "",
        "Issue 8, item 7 first, then the earlier targets kept for comparison. Timings are "
        "reported, never asserted (a noisy machine must not fail the run); the bench exits "
        "non-zero only when a correctness check fails (last rows).",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| the QR sign-in stays at 2 round trips to PostgreSQL | {p.round_trips} "
        f"({len(p.statements)} statements, {p.transactions} BEGIN, {p.commits} COMMIT, "
        f"{p.pings} pings; in process, below) | {_met(p.round_trips <= 2)} |",
    ]
    if run.paired:
        values = [r.ratio for r in run.paired]
        middle = statistics.median(values)
        lines.append(
            "| CPU per sign-in, all processes, ≤ 2 × the bare sign-in's in the same run "
            f"| median {middle:.2f} × over {len(values)} rounds side by side "
            f"({run.paired[0].label}, both servers up, loaded in turn): "
            + "; ".join(f"{r.own:.2f} / {r.floor:.2f} ms = {r.ratio:.2f} ×" for r in run.paired)
            + f" | {_met(middle <= 2)} |"
        )
    ratios = run.cpu_ratios()
    if ratios:
        worst = max(own / floor for _, own, floor in ratios)
        within = sum(own / floor <= 2 for _, own, floor in ratios)
        lines.append(
            "| the same, each setting's runs (run minutes apart, so unevenly loaded by other "
            "programs) | "
            + "; ".join(
                f"{label}: {own:.2f} / {floor:.2f} ms = {own / floor:.2f} ×"
                for label, own, floor in ratios
            )
            + f" | {within} of {len(ratios)} within 2 × (worst {worst:.2f} ×) |"
        )
    bare_ol = run.bare.open_loop if run.bare else None
    bare_cpu = run.bare.open_loop_cpu if run.bare else None
    if run.fixed and run.bare and bare_ol and bare_cpu:
        fixed, b = run.fixed, run.bare
        own = _cost(fixed.sign_in_cpu, len(fixed.sign_in.latencies_ms))
        floor = _cost(bare_cpu, len(bare_ol.latencies_ms))
        lines.append(
            f"| the same, at {settings.FIXED_RATE}/s in open loop (each on its best setting) "
            f"| {own:.2f} ms ({fixed.label}) / {floor:.2f} ms ({b.label}) = {own / floor:.2f} × "
            f"| {_met(own <= 2 * floor)} |"
        )
    if run.fixed:
        f = run.fixed.sign_in
        cut = (
            f"; sending stopped after {f.gave_up_after_s:.1f} s: requests were "
            f"{settings.OPEN_LOOP_GIVE_UP_S:g} s late"
            if f.gave_up_after_s
            else ""
        )
        bare = ""
        if run.bare and run.bare.open_loop:
            o = run.bare.open_loop
            bare = f"; the bare sign-in: p99 {_ms(o.latency(99))}, p50 {_ms(o.latency(50))}"
        lines.append(
            f"| p99 < 250 ms at {settings.FIXED_RATE} sign-ins/s (open loop) | p99 "
            f"{_ms(f.latency(99))}, p50 {_ms(f.latency(50))} ({run.fixed.label}, "
            f"{_n(f.achieved)} answers/s{cut}){bare} "
            f"| {_met(f.latency(99) < 250 and not f.gave_up_after_s)} |"
        )
    if run.ledger:
        led = run.ledger
        seal, audit = led.seal, led.audit
        lines += [
            f"| a seal over {_n(seal.sessions)} changed sessions, timed | {seal.wall_s:.1f} s "
            f"(seal, commit and export; {_n(seal.entries)} entries of their chains recomputed, "
            f"{_n(seal.rate)} entries/s), {seal.maxrss_mib:.0f} MiB peak | timed |",
            f"| a full verify of {_n(audit.entries)} entries, timed | {audit.wall_s:.1f} s "
            f"({_n(audit.rate)} entries/s, {_n(audit.sessions)} sessions, "
            f"{audit.detail.get('seals', 0)} seals), {audit.maxrss_mib:.0f} MiB peak "
            f"| timed |",
        ]
    lines += [
        f"| (issue 7, withdrawn by issue 8) ≥ 1,000 durable sign-ins/s "
        f"| {_n(best.sign_in.created_rate)}/s (gunicorn {best.label}, the best of "
        f"{len(run.closed)} settings)"
        + (
            f"; the bare sign-in {_n(run.bare.sign_in.created_rate)}/s on this machine"
            if run.bare
            else ""
        )
        + " | withdrawn |",
        f"| (issue 7) sign-in ≥ 0.15 × the trivial endpoint | {best.ratio:.2f} × "
        f"({_n(best.sign_in.created_rate)} / {_n(best.health.rate)} req/s, {best.label}) "
        f"| {_met(best.ratio >= 0.15)} |",
    ]
    if run.qr:
        lines.append(
            f"| (issue 7) ≥ 250 SVG/s per core | {_n(run.qr.svg_one)} SVG per CPU-second on "
            f"one core | {_met(run.qr.svg_one >= 250)} |"
        )
    pairs = [(c.label, c.rows, c.sign_in.created) for c in run.closed]
    ledgers = [(c.label, c.ledger) for c in run.closed]
    if run.fixed:
        pairs.append((f"{run.fixed.label}, open loop", run.fixed.rows, run.fixed.sign_in.created))
        ledgers.append((f"{run.fixed.label}, open loop", run.fixed.ledger))
    lines.append(
        "| entries written by the sign-in runs = 201 answers, exactly | "
        + "; ".join(f"{label}: {r:,} entries, {c:,} × 201" for label, r, c in pairs)
        + f" | {_met(all(r == c for _, r, c in pairs))} |"
    )
    lines.append(
        "| the ledger verifies after each run (`ledger verify`: attendance.sealing.audit, "
        "every session) | "
        + "; ".join(
            f"{label}: " + ("ok" if v.ok else f"FAULT {v.fault}") + f" ({v.entries:,} entries)"
            for label, v in ledgers
        )
        + f" | {_met(all(v.ok for _, v in ledgers))} |"
    )
    if run.ledger:
        steps = [run.ledger.first_seal, run.ledger.seal, run.ledger.audit]
        lines.append(
            "| the ledger benchmark's seals refuse no chain and its verify passes | "
            + "; ".join(
                f"{name}: " + ("ok" if st.ok else f"FAULT {st.detail}")
                for name, st in zip(("first seal", "seal", "verify"), steps, strict=True)
            )
            + f" | {_met(run.ledger.ok)} |"
        )
    return lines


def _changes() -> list[str]:
    return [
        "",
        "## What changed since the previous figures (issue 8)",
        "",
        "- The service: every fact that sets hours is an entry of its session's chain (the "
        "plan, its edits, the opening and the close beside the signatures), entries are "
        "format 2 (every column hashed, the device facts and reasons as a salted commitment), "
        "and seals sign the chains' heads outside the database. A QR sign-in still appends "
        "one entry in one statement.",
        "- The bench database is what the service would have written: each session's chain "
        "starts with its `planned` entry (its plan's facts) and its `opened` entry, computed "
        "with the service's own code (bench/entries.py: attendance.journal.session_entry, "
        "attendance.projection.plan_facts, attendance.ledger.entry_hash and commitment); "
        "each sign-in run starts again from them. After each run `ledger verify` "
        "(attendance.sealing.audit: chains, the sessions' columns replayed from them, seals) "
        "must pass. The server runs with a sealing key (LEDGER_SIGNING_KEY) and an export "
        "folder, as in production.",
        "- The open-loop rate is issue 8's 300 sign-ins/s (it was 500/s; `BENCH_RATE` sets "
        "it); the trivial endpoint is `GET /api/v1/health/live` (`/api/v1/health` now checks "
        "the database and Redis).",
        "- CPU per sign-in is compared with the bare sign-in's under every gunicorn setting "
        "(issue 8's ≤ 2 ×), and at the open-loop rate.",
        "- New: the ledger's seal over 10,000 changed sessions and the full verify of "
        "1,000,000 entries, timed (bench/ledger.py, last section).",
    ]


def _closed(run: Run) -> list[str]:
    lines = [
        "",
        "## Closed loop: sign-ins and the trivial endpoint side by side",
        "",
        f"`wrk -t{settings.WRK_THREADS} -c{settings.WRK_CONNECTIONS} --latency` with a Lua "
        f"script, {settings.WRK_SECONDS:g} s of requests each. Sign-in: `POST /api/v1/sign-ins` "
        'with a trainee bearer and `{"qr": …}`, each request a distinct first sign-in. Health: '
        "`GET /api/v1/health/live`, same wrk settings and script, same server, right after. "
        "Rates count answers from the first request sent to the last answer received. *Busy "
        "elsewhere*: CPU cores other programs kept busy during the sign-in and the health run "
        "(out of the machine's cores); where it differs, so does the ratio.",
        "",
        "| server | sign-ins/s (201) | p50 | p99 | health req/s | p50 | p99 | sign-in / health "
        "| busy elsewhere | sign-in answers | rows | ledger | Redis commands / sign-in |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in run.closed:
        s, h = c.sign_in, c.health
        notes = []
        if s.socket_errors or s.timeouts:
            notes.append(f"socket errors {s.socket_errors}, timeouts {s.timeouts}")
        if s.exhausted:
            notes.append("all prepared pairs used")
        if s.cut_off:
            notes.append("cut off by wrk's time limit")
        note = f" ({'; '.join(notes)})" if notes else ""
        redis = ", ".join(
            f"{n / max(1, s.answered):.1f} {k.upper()}" for k, n in c.redis_commands.most_common(5)
        )
        lines.append(
            f"| {c.label} | {_n(s.created_rate)} | {_ms(s.p50_ms)} | {_ms(s.p99_ms)} "
            f"| {_n(h.rate)} | {_ms(h.p50_ms)} | {_ms(h.p99_ms)} | {c.ratio:.2f} "
            f"| {c.sign_in_cpu.cores('other programs'):.1f} / "
            f"{c.health_cpu.cores('other programs'):.1f} "
            f"| {_statuses(s.statuses)}{note} | {c.rows:,} "
            f"| {'ok' if c.ledger.ok else 'FAULT'} ({c.ledger.seconds:.2f} s) "
            f"| {c.redis_per_sign_in:.1f} ({redis}) |"
        )
    return lines


def _bare(run: Run) -> list[str]:
    if run.bare is None:
        return []
    b, best = run.bare, run.best
    own = _cost(best.sign_in_cpu, best.sign_in.answered)
    floor = _cost(b.sign_in_cpu, b.sign_in.answered)
    share = best.sign_in.created_rate / max(1.0, b.sign_in.created_rate)
    lines = [
        "",
        "## The floor: a bare sign-in on the same machine",
        "",
        "What any durable sign-in costs here, whatever the product: bench/bare.py verifies the "
        "bearer (PyJWT HS256), reads the JSON body, inserts one row and commits it durably, and "
        "answers 201 — FACTS.md's *bare sign-in*, without the service's checks (session, "
        "enrolment, QR, phone binding), ledger, live event or failed-attempt limit. The same "
        "gunicorn settings, wrk load and pairs, right after the service's runs; its best "
        f"setting ({b.label}) beside the service's best ({best.label}). Bare sign-ins/s under "
        "each setting: " + ", ".join(f"{k} {_n(v)}" for k, v in b.others.items()) + ".",
        "",
        "| | sign-ins/s (201) | p50 | p99 | trivial endpoint req/s | sign-in / trivial | rows "
        "| CPU per sign-in, all processes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| bare sign-in | {_n(b.sign_in.created_rate)} | {_ms(b.sign_in.p50_ms)} "
        f"| {_ms(b.sign_in.p99_ms)} | {_n(b.health.rate)} | {b.ratio:.2f} "
        f"| {b.rows:,} = {b.sign_in.created:,} × 201 | {floor:.2f} ms |",
        f"| the service's sign-in | {_n(best.sign_in.created_rate)} "
        f"| {_ms(best.sign_in.p50_ms)} | {_ms(best.sign_in.p99_ms)} | {_n(best.health.rate)} "
        f"| {best.ratio:.2f} | {best.rows:,} = {best.sign_in.created:,} × 201 | {own:.2f} ms |",
        "",
        f"The service's sign-in runs at {share:.0%} of the bare one's rate. A rate the bare "
        "sign-in does not reach on this machine, no sign-in doing more can reach here.",
    ]
    if b.open_loop:
        o = b.open_loop
        cut = f", sending stopped after {o.gave_up_after_s:.1f} s" if o.gave_up_after_s else ""
        lines += [
            "",
            f"The bare sign-in at {settings.FIXED_RATE} requests/s in open loop ({b.label}, the "
            f"client and settings of the open-loop section below): {_n(o.achieved)} answers/s, "
            f"p50 {_ms(o.latency(50))}, p99 {_ms(o.latency(99))}{cut}; "
            f"{b.open_loop_rows:,} rows for {o.created:,} × 201.",
        ]
    return lines


def _paired(run: Run) -> list[str]:
    if not run.paired:
        return []
    first = run.paired[0]
    lines = [
        "",
        "## CPU per sign-in against the bare sign-in, side by side (issue 8)",
        "",
        f"Both servers up at once under {first.label}, each loaded in turn with the same wrk "
        f"load and pairs for {settings.PAIRED_SECONDS:g} s, {len(run.paired)} rounds, "
        "alternating which goes first, every chain taken back to its opening before each "
        "round: other programs weigh on both alike, unlike the runs above, which are minutes "
        "apart. CPU of all processes (gunicorn, PostgreSQL, Redis, wrk) per answered sign-in, "
        "from /proc.",
        "",
        "| round | first | service sign-ins/s | service CPU / sign-in | bare sign-ins/s "
        "| bare CPU / sign-in | ratio | other programs (cores) | rows |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, r in enumerate(run.paired, start=1):
        lines.append(
            f"| {i} | {'bare' if r.bare_first else 'service'} | {_n(r.sign_in.created_rate)} "
            f"| {r.own:.2f} ms | {_n(r.bare.created_rate)} | {r.floor:.2f} ms | {r.ratio:.2f} × "
            f"| {r.sign_in_cpu.cores('other programs'):.1f} / "
            f"{r.bare_cpu.cores('other programs'):.1f} "
            f"| {r.rows:,} = {r.sign_in.created:,} × 201; {r.bare_rows:,} = {r.bare.created:,} "
            "× 201 |"
        )
    return lines


def _cpu(run: Run) -> list[str]:
    lines = [
        "",
        "## Where the CPU went",
        "",
        "CPU time per answered request, by process group, read from /proc during each "
        "measurement: gunicorn (master and workers), PostgreSQL (its own processes and the "
        "backends of the `bench` database), Redis, the load generator (wrk, or the open-loop "
        "client). The last columns are CPU cores kept busy on average (the machine has "
        f"{os.cpu_count()}); *other programs* is everything else that ran meanwhile.",
        "",
        "| run | answers | gunicorn ms | PostgreSQL ms | Redis ms | load generator ms "
        "| gunicorn cores | PostgreSQL cores | other programs cores |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in run.closed:
        lines.append(_cpu_row(f"sign-in, {c.label}", c.sign_in_cpu, c.sign_in.answered))
        lines.append(_cpu_row(f"health, {c.label}", c.health_cpu, c.health.answered))
    if run.bare:
        b = run.bare
        lines.append(_cpu_row(f"bare sign-in, {b.label}", b.sign_in_cpu, b.sign_in.answered))
        lines.append(_cpu_row(f"bare health, {b.label}", b.health_cpu, b.health.answered))
    costs = []
    for c in run.closed:
        sign_in = _cost(c.sign_in_cpu, c.sign_in.answered)
        if sign_in:
            costs.append(f"{c.label}: {_cost(c.health_cpu, c.health.answered) / sign_in:.2f}")
    if run.fixed:
        f = run.fixed
        lines.append(
            _cpu_row(
                f"sign-in {settings.FIXED_RATE}/s, {f.label}",
                f.sign_in_cpu,
                len(f.sign_in.latencies_ms),
            )
        )
        lines.append(
            _cpu_row(
                f"health {settings.FIXED_RATE}/s, {f.label}",
                f.health_cpu,
                len(f.health.latencies_ms),
            )
        )
    lines += [
        "",
        "CPU cost of a health request over that of a sign-in (server, PostgreSQL, Redis and "
        "load generator together; what the throughput ratio would be if both were bound by "
        "the CPU alone, and far less sensitive to other programs): " + "; ".join(costs) + ".",
    ]
    return lines


def _fixed(run: Run) -> list[str]:
    if not run.fixed:
        return []
    f = run.fixed
    lines = [
        "",
        f"## Open loop: {settings.FIXED_RATE} requests/s ({f.label})",
        "",
        "Debian has no `wrk2`, so a Python asyncio client (bench/openloop.py) sends request "
        "*i* at *start + i / rate* whatever the server does, one connection per request; "
        "latency runs from that due time to the answer's last byte, so a server that falls "
        "behind cannot hide its queue (no coordinated omission). At most "
        f"{settings.OPEN_LOOP_MAX_IN_FLIGHT} requests are in flight; when a request is "
        f"{settings.OPEN_LOOP_GIVE_UP_S:g} s late, sending stops (the server cannot sustain the "
        "rate) and every request sent is still awaited. The client's own cost is in the "
        "health row (same client and rate, trivial endpoint) and in its CPU per request; it "
        "shares the cores with the server.",
        "",
        "| endpoint | seconds | sent | answers/s | p50 | p90 | p99 | max | statuses | rows "
        "| ledger | client CPU / request | client CPU (one core) | sent late, p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r, rows, ledger in (
        ("health", f.health, "", ""),
        ("sign-in", f.sign_in, f"{f.rows:,}", "ok" if f.ledger.ok else "FAULT"),
    ):
        seconds = f"{r.seconds:g}" + (
            f" planned, sending stopped at {r.gave_up_after_s:.1f}" if r.gave_up_after_s else ""
        )
        lines.append(
            f"| {name} | {seconds} | {r.sent:,} | {_n(r.achieved)} | {_ms(r.latency(50))} "
            f"| {_ms(r.latency(90))} | {_ms(r.latency(99))} | {_ms(r.latency(100))} "
            f"| {_statuses(dict(r.statuses))} | {rows} | {ledger} "
            f"| {r.cpu_us_per_request:.0f} µs | {100 * r.cpu_share:.0f} % | {_ms(r.late(99))} |"
        )
    return lines


def _probe(run: Run) -> list[str]:
    p = run.probe
    ping = f", {_count(p.pings, 'ping')} of a pooled connection (only after it sat idle)"
    ratio = p.sign_in_cpu_ms / p.health_cpu_ms if p.health_cpu_ms else 0.0
    return [
        "",
        "## One sign-in, in process",
        "",
        "The same production configuration driven by Flask's test client in the bench's own "
        "process (no HTTP server, no load).",
        "",
        f"- {_count(len(p.statements), 'SQL statement')} ({p.statement_kinds}) in "
        f"{_count(p.transactions, 'transaction')} ({p.commits} COMMIT, {p.rollbacks} ROLLBACK), "
        f"{_count(p.checkouts, 'pool checkout')}: **{p.round_trips} round trips to PostgreSQL**, "
        f"counting BEGIN, COMMIT, ROLLBACK{ping}.",
        f"- {sum(p.redis_calls.values())} Redis commands: "
        + (", ".join(f"{n} {k.upper()}" for k, n in p.redis_calls.most_common()) or "none")
        + " (rate-limit counters, and the Socket.IO message queue's PUBLISH).",
        f"- Mean over 200 sign-ins: {p.sign_in_ms:.2f} ms wall, {p.sign_in_cpu_ms:.2f} ms of "
        f"this process's CPU; health {p.health_ms:.2f} ms wall, {p.health_cpu_ms:.2f} ms CPU: "
        f"a sign-in costs {ratio:.0f} × the trivial endpoint in Python.",
        f"- Python function calls (cProfile, 100 requests each; the same on any machine, however "
        f"busy): {p.sign_in_calls:,.0f} per sign-in, {p.health_calls:,.0f} per trivial request.",
        "",
        "```sql",
        *[s[:150] + (" …" if len(s) > 150 else "") for s in p.statements],
        "```",
        "",
        "Where the Python CPU of a sign-in goes: cProfile with a CPU clock over "
        f"{run.breakdown.sign_ins} sign-ins (waiting on PostgreSQL or Redis does not count), "
        f"shares scaled to the unprofiled {run.breakdown.cpu_ms:.2f} ms CPU per sign-in "
        "(`python -m bench.profile` prints the same with the top functions):",
        "",
        *render_breakdown(run.breakdown),
    ]


def _qr(run: Run) -> list[str]:
    if not run.qr:
        return []
    q = run.qr
    return [
        "",
        "## QR images (attendance/qr.py without its cache)",
        "",
        f"Distinct payloads of the real length ({q.payload_length} characters: "
        f"`{settings.PUBLIC_BASE_URL}/emarger#<token>` with 15 s window numbers), QR version "
        f"{q.version}, version and mask fixed as in attendance/qr.py; `svg.__wrapped__` and "
        "`png.__wrapped__` bypass the lru_cache. No server runs meanwhile. Images per second "
        "of the drawing process's own CPU time (what one core gives, even when another program "
        "took some of it meanwhile).",
        "",
        "| | SVG/s | PNG/s (scale 8) |",
        "| --- | --- | --- |",
        f"| one process pinned to one core | {_n(q.svg_one)} | {_n(q.png_one)} |",
        f"| two processes (one per core), each | {' / '.join(_n(r) for r in q.svg_two)} "
        f"| {' / '.join(_n(r) for r in q.png_two)} |",
        f"| two processes, total | {_n(sum(q.svg_two))} | {_n(sum(q.png_two))} |",
    ]


def _step_row(label: str, st: Step) -> str:
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in st.parts.items())
    return (
        f"| {label} | {_n(st.sessions)} | {_n(st.entries)} | {st.wall_s:.1f} s"
        + (f" ({parts})" if parts else "")
        + f" | {_n(st.rate)} | {st.cpu_s:.1f} s ({_n(st.entries / st.cpu_s if st.cpu_s else 0)}"
        " per CPU-second)"
        f" | {st.postgres_cpu_s:.1f} s "
        f"| {st.maxrss_mib:.0f} MiB ({st.base_rss_mib:.0f} before) "
        f"| {'ok' if st.ok else 'FAULT ' + str(st.detail.get('fault'))} |"
    )


def render_ledger(led: LedgerRun) -> list[str]:
    """The ledger benchmark's section (bench/ledger.py)."""
    seal, audit = led.seal, led.audit
    lines = [
        "",
        "## The ledger: a seal over changed sessions, a full verify",
        "",
        "bench/ledger.py (`python -m bench.ledger` alone) empties the bench database and "
        f"writes, with COPY, {_n(led.closed.sessions)} closed sessions of the past weeks, one "
        "per group and day (500 groups of 20 trainees): a full day is 46 entries (plan, "
        "opening, the trainer's two signatures, two per trainee present with the phone's "
        "facts, the close, the absences it records for the two absent trainees, a motivated "
        "correction), a morning 25. Every entry is computed with the service's own code "
        "(bench/entries.py), so `ledger verify` passes on it: "
        f"{_n(led.closed.entries)} entries in {led.closed.seconds:.0f} s "
        f"({_n(led.closed.rate)} entries/s, most of it attendance.ledger.entry_hash). "
        f"A first seal covers them all. Then {_n(led.changed.sessions)} of those sessions, "
        "spread over the weeks, change: the trainer gives the reason of an absence "
        f"(attendance.register.record_absence, one entry per half-day: {_n(led.changed.entries)} "
        "entries). The seal over them (attendance.sealing.seal) checks each changed chain "
        "from its last sealed head, signs the Merkle root of their heads with Ed25519, stores "
        "the seal and exports it as one JSON line outside the database. The verify is "
        "`flask --app wsgi ledger verify`'s "
        "attendance.sealing.audit over every session.",
        "",
        "Each operation runs in a fresh process: *peak* is its own maxrss (getrusage), with "
        "the app loaded (*before*: the peak before the operation); *CPU* is that process's "
        "user + system time; *PostgreSQL* is the CPU of the bench database's backends "
        "meanwhile.",
        "",
        "| operation | sessions | entries checked | wall | entries/s | CPU | PostgreSQL "
        "| peak memory | result |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        _step_row("first seal (every session)", led.first_seal),
        _step_row(f"seal over {_n(seal.sessions)} changed sessions", seal),
        _step_row(f"full verify ({audit.detail.get('seals', 0)} seals)", audit),
        "",
        f"The seal line for {_n(seal.sessions)} sessions weighs "
        f"{_n(seal.detail.get('export_bytes', 0) - led.first_seal.detail.get('export_bytes', 0))}"
        f" bytes in the export (the first one {_n(led.first_seal.detail.get('export_bytes', 0))}"
        f"). The verify found {_n(audit.detail.get('sealed', 0))} entries sealed and "
        f"{_n(audit.detail.get('unsealed', 0))} unsealed.",
    ]
    lines += _ledger_reading(led)
    if led.profile:
        shares = led.profile.detail.get("profile", [])
        cpu_per_entry = 1e6 * audit.cpu_s / audit.entries if audit.entries else 0.0
        lines += [
            "",
            f"Where the verify's CPU goes: cProfile (CPU clock) over one session in "
            f"{10} ({_n(led.profile.entries)} entries), shares of the whole audit; "
            f"≈ µs per entry scaled to the unprofiled verify's {cpu_per_entry:.0f} µs of "
            "CPU per entry. (A sample is not a whole region: the sample's own verdict, which "
            "counts the other sessions' entries as outside its chains, is not a result.)",
            "",
            "| step | share | ≈ µs CPU per entry |",
            "| --- | --- | --- |",
            *[
                f"| {label} | {100 * share:.0f} % | {share * cpu_per_entry:.1f} |"
                for label, share in shares
            ],
        ]
    return lines


def _ledger_reading(led: LedgerRun) -> list[str]:
    """What the figures say, and what would make them smaller."""
    seal, audit, first = led.seal, led.audit, led.first_seal
    hours = audit.wall_s * 10 / 60
    return [
        "",
        f"Reading them: both are CPU-bound in the Python process (CPU {seal.cpu_s:.0f} s of "
        f"{seal.wall_s:.0f} s for the seal, {audit.cpu_s:.0f} s of {audit.wall_s:.0f} s for "
        "the verify; PostgreSQL's share is small), and both cost per entry hashed again, about "
        f"{1e6 * audit.cpu_s / max(1, audit.entries):.0f} µs of CPU each. The verify of "
        f"{_n(audit.entries)} entries is practical ({audit.wall_s / 60:.1f} min, memory flat: "
        "the entries are streamed, one session at a time); ten times the ledger would take "
        f"about {hours:.0f} min. The seal over {_n(seal.sessions)} changed sessions checks "
        f"{_n(seal.entries)} entries, those after each chain's last sealed head (every verify "
        "checks the sealed prefixes); the first seal of the whole ledger took "
        f"{first.wall_s:.0f} s.",
        "",
        "Done since the first figures of this benchmark: the seal checks only what changed "
        "(one query per thousand sessions); the canonical form tests exact types first (about "
        "30 % faster); the orphan check is `NOT EXISTS` (an anti-join), no longer `NOT IN`, "
        "which PostgreSQL runs as a hashed subplan only while the session ids fit in hash "
        "memory (about 85,000–170,000 sessions here) and then checks the id list once per "
        "entry (measured: under 1 s hashed, cancelled after 60 s unhashed). Not done: the "
        "verify on both cores (chains are independent: split the sessions by id range over "
        "processes and combine the heads, close to 2 ×).",
    ]


def _method(run: Run) -> list[str]:
    return [
        "",
        "## Method and settings",
        "",
        f"- Data, inserted in bulk through the app's models in {run.prepare_s:.1f} s after "
        "`DROP SCHEMA public CASCADE` and `flask_migrate.upgrade()`: one organisation, one "
        f"e_formation order, {run.sessions} groups each with one open tutorat session for the "
        "whole group (planned the day before, started 5 min ago, ending in 2 h, opened now; "
        "its chain holds its `planned` and `opened` entries, format 2, computed with the "
        "service's own code: bench/entries.py) and "
        f"{run.pairs // max(1, run.sessions)} enrolled trainees with redeemed invitations: "
        f"{run.pairs:,} distinct (trainee, session) pairs, each with its bearer header "
        "(core/tokens.issue_token, typ trainee) and the session's QR token "
        "(attendance/rules.make_qr_token). Consecutive requests go to different sessions.",
        "- Server: `python -m gunicorn wsgi:app --worker-class K --workers N --threads T "
        "--backlog 2048` on 127.0.0.1 (a free port), APP_ENV=production, random SECRET_KEY and "
        f"JWT_SECRET, DATABASE_URL={settings.DATABASE_URL}, REDIS_URL={settings.REDIS_URL} "
        "(rate-limit storage and Socket.IO message queue: the production path), "
        "SOCKETIO_WRITE_ONLY=1 (API workers publish, they do not serve Socket.IO). Sync "
        "workers close the connection after each answer; gthread workers keep it alive "
        "(FACTS.md saw gthread vary ±50 % between runs, sync ±3 %). The open-loop run uses "
        "the setting with the best sign-in rate. Each server is warmed up (1 s of each load) "
        "before it is measured.",
        f"- QR_ROTATE_S={settings.QR_ROTATE_S} and QR_GRACE_S={settings.QR_GRACE_S} on the "
        "server, so that the tokens drawn before the run stay valid through it, even across "
        "a window boundary; checking a token (one HMAC-SHA256 and a window comparison) costs "
        "the same whatever the window length.",
        "- Before each sign-in run every chain is taken back to its plan and opening (entries "
        "after the second deleted, each session's length and head set back), so every "
        "request is a first sign-in. wrk stops at its `-d` "
        "duration whatever is in flight, and a sign-in in flight would still be committed "
        "without its 201 being counted: so the Lua script stops sending after the run's "
        "seconds, waits for every answer, then ends the run. After it the rows of "
        "`signature` the run wrote are counted and compared with the 201 answers counted by "
        "the script's `response` callback, and `ledger verify` (attendance.sealing.audit) "
        "recomputes every session's chain and its columns.",
        "- wrk and the open-loop client run on the same cores as gunicorn, PostgreSQL and "
        "Redis: the figures are for the whole machine, load generator included.",
    ]


def write(text: str) -> Path:
    settings.DOC.write_text(text)
    return settings.DOC
