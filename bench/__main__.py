"""`python -m bench`: prepare, serve, load, check, report (see bench/__init__.py)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import settings


def main() -> int:
    started = time.perf_counter()
    env = settings.apply_env()  # before the app is created: the same secrets as the server

    from bench import cpu, data, openloop, probe, profile, qrimages, report, wrk
    from bench.server import Server
    from core import create_app

    wrk_bin = wrk.ensure_wrk()
    load_before = _loadavg()
    background = cpu.background_load()
    step("machine", f"{100 * background:.0f} % of the CPUs busy before the run (other programs)")
    data.ensure_database()
    _flush_redis()
    app = create_app()
    data.rebuild_schema(app)
    world = data.populate(app, settings.GROUPS, settings.TRAINEES_PER_GROUP)
    step("data", f"{len(world.pairs):,} pairs, {world.sessions} sessions ({world.seconds:.1f} s)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    pairs_file, script = workdir / "pairs.tsv", workdir / "sign_in.lua"
    data.write_pairs(world.pairs, pairs_file)
    script.write_text(wrk.LUA)

    sign_in_probe = probe.sign_in_probe(
        app, world.pairs[:2], world.pairs[2:202], world.pairs[602:702]
    )
    breakdown = profile.measure(app, world.pairs[202:402], world.pairs[402:602])
    data.reset_signatures(app)
    step(
        "probe",
        f"{len(sign_in_probe.statements)} SQL statements, {sign_in_probe.round_trips} round trips "
        f"to PostgreSQL, {sum(sign_in_probe.redis_calls.values())} Redis commands per sign-in; "
        f"in process {sign_in_probe.sign_in_cpu_ms:.1f} ms CPU (health "
        f"{sign_in_probe.health_cpu_ms:.2f} ms); {sign_in_probe.sign_in_calls:,.0f} Python calls "
        f"per sign-in ({sign_in_probe.health_calls:,.0f} per health request)",
    )

    run = report.Run(
        started=datetime.now().astimezone(),
        wrk_version=wrk.version(wrk_bin),
        database=_database_settings(app),
        redis_version=_redis_version(),
        pairs=len(world.pairs),
        sessions=world.sessions,
        prepare_s=world.seconds,
        probe=sign_in_probe,
        breakdown=breakdown,
        background_before=background,
        loadavg_before=load_before,
    )

    def load(server: Server, mode: str, seconds: float) -> tuple[wrk.WrkResult, cpu.Usage]:
        pids = [server.pid, *server.worker_pids()]
        before = cpu.snapshot(pids, settings.DATABASE_NAME)
        result = wrk.run(
            wrk_bin,
            server.url,
            script,
            mode,
            pairs_file if mode == "sign-in" else None,
            threads=settings.WRK_THREADS,
            connections=settings.WRK_CONNECTIONS,
            seconds=seconds,
        )
        after = cpu.snapshot(pids, settings.DATABASE_NAME)
        return result, cpu.usage(before, after, pids)

    def warm_up(server: Server) -> None:
        load(server, "health", settings.WARMUP_SECONDS)
        load(server, "sign-in", settings.WARMUP_SECONDS)
        data.reset_signatures(app)

    for worker_class, workers, threads in settings.SERVERS:
        with Server(env, workers, worker_class, threads) as server:
            warm_up(server)
            redis_before = probe.redis_calls()
            sign_in, sign_in_cpu = load(server, "sign-in", settings.WRK_SECONDS)
            redis_used = probe.redis_delta(redis_before, probe.redis_calls())
            rows, ledger = data.count_signatures(app), data.verify_ledger(app)
            data.reset_signatures(app)
            health, health_cpu = load(server, "health", settings.WRK_SECONDS)
        run.server_logs.append(server.log_text())
        closed = report.ClosedLoop(
            label=server.label,
            workers=workers,
            sign_in=sign_in,
            health=health,
            rows=rows,
            ledger=ledger,
            redis_per_sign_in=sum(redis_used.values()) / max(1, sign_in.answered),
            redis_commands=redis_used,
            sign_in_cpu=sign_in_cpu,
            health_cpu=health_cpu,
            worker_class=worker_class,
            threads=threads,
        )
        run.closed.append(closed)
        step(
            server.label,
            f"sign-in {sign_in.created_rate:,.0f}/s (p50 {sign_in.p50_ms:.1f} ms, p99 "
            f"{sign_in.p99_ms:.1f} ms), health {health.rate:,.0f}/s, ratio {closed.ratio:.2f}; "
            f"201: {sign_in.created:,}, rows: {rows:,}, ledger {'ok' if ledger.ok else 'FAULT'}; "
            f"other programs {sign_in_cpu.cores('other programs'):.1f} cores",
        )

    best = run.best
    items = [(p.authorization, p.body) for p in world.pairs]
    run.bare = bare_floor(env, load, items)
    step(
        f"bare sign-in, best {run.bare.label}",
        f"{run.bare.sign_in.created_rate:,.0f}/s (p50 {run.bare.sign_in.p50_ms:.1f} ms), health "
        f"{run.bare.health.rate:,.0f}/s, ratio {run.bare.ratio:.2f}; 201: "
        f"{run.bare.sign_in.created:,}, rows: {run.bare.rows:,}; the service's sign-in does "
        f"{best.sign_in.created_rate / max(1.0, run.bare.sign_in.created_rate):.0%} of it"
        + (
            f"; at {settings.FIXED_RATE}/s open loop p99 {run.bare.open_loop.latency(99):.1f} ms"
            if run.bare.open_loop
            else ""
        ),
    )

    run.paired = paired_cpu(env, load, app)
    run.server_logs += run.paired[0].logs
    ratios = [r.ratio for r in run.paired]
    step(
        f"CPU per sign-in, service / bare, {run.paired[0].label}, side by side",
        ", ".join(f"{r.own:.2f} / {r.floor:.2f} ms" for r in run.paired)
        + f": median {statistics.median(ratios):.2f} ×",
    )

    rate, seconds = settings.FIXED_RATE, settings.FIXED_SECONDS
    with Server(env, best.workers, best.worker_class, best.threads) as server:
        warm_up(server)
        pids = [server.pid, *server.worker_pids()]
        before = cpu.snapshot(pids, settings.DATABASE_NAME)
        in_flight, give_up = settings.OPEN_LOOP_MAX_IN_FLIGHT, settings.OPEN_LOOP_GIVE_UP_S
        health_ol = openloop.run(
            "127.0.0.1",
            server.port,
            None,
            rate,
            seconds / 2,
            max_in_flight=in_flight,
            give_up_s=give_up,
        )
        middle = cpu.snapshot(pids, settings.DATABASE_NAME)
        sign_in_ol = openloop.run(
            "127.0.0.1",
            server.port,
            items,
            rate,
            seconds,
            max_in_flight=in_flight,
            give_up_s=give_up,
        )
        after = cpu.snapshot(pids, settings.DATABASE_NAME)
        rows, ledger = data.count_signatures(app), data.verify_ledger(app)
        data.reset_signatures(app)
    run.server_logs.append(server.log_text())
    run.fixed = report.FixedRate(
        label=server.label,
        health=health_ol,
        sign_in=sign_in_ol,
        rows=rows,
        ledger=ledger,
        health_cpu=cpu.usage(before, middle, pids),
        sign_in_cpu=cpu.usage(middle, after, pids),
    )
    step(
        f"{rate}/s open loop",
        f"sign-in p50 {sign_in_ol.latency(50):.1f} ms, p99 {sign_in_ol.latency(99):.1f} ms"
        + (
            f" (stopped after {sign_in_ol.gave_up_after_s:.1f} s)"
            if sign_in_ol.gave_up_after_s
            else ""
        )
        + f"; 201: {sign_in_ol.created:,}, rows: {rows:,}, ledger {'ok' if ledger.ok else 'FAULT'}"
        f"; health p99 {health_ol.latency(99):.1f} ms; client {health_ol.cpu_us_per_request:.0f} "
        "µs CPU/request",
    )

    run.qr = qrimages.measure()
    step("qr", f"{run.qr.svg_one:,.0f} SVG/s, {run.qr.png_one:,.0f} PNG/s on one core")
    from bench import classroom  # issue 11: rooms of 16, on one Socket.IO process and on two

    class_outcomes = classroom.measure(app, env, say=lambda text: step("class", text))
    shutil.rmtree(workdir, ignore_errors=True)

    if settings.LEDGER_ENTRIES > 0:  # BENCH_LEDGER_ENTRIES=0 leaves the ledger part out
        from bench import ledger as ledger_bench

        run.ledger = ledger_bench.measure(app, say=lambda text: step("ledger", text))

    if settings.CERTIFICATES_GROUPS > 0:  # BENCH_CERTIFICATES_GROUPS=0 leaves it out
        from bench import certificates as certificates_bench

        run.certificates = certificates_bench.measure(
            app, settings.CERTIFICATES_GROUPS, say=lambda text: step("certificates", text)
        )
    if settings.BILLING_ENTRIES > 0:  # BENCH_BILLING_ENTRIES=0 leaves it out
        from bench import billing as billing_bench

        run.billing = billing_bench.measure(say=lambda text: step("billing", text))
    from bench import sites as sites_bench  # issue 10; BENCH_SITES=0 leaves it out

    sites_result = None
    if sites_bench.ENABLED:
        say_sites = lambda text: step("sites", text)  # noqa: E731
        sites_result = sites_bench.measure(app, env, settings.PAIRED_SETTING, say=say_sites)

    run.background_after = cpu.background_load()
    run.loadavg_after = _loadavg()
    run.total_s = time.perf_counter() - started
    settings.clean_up()
    text = report.render(run)
    if sites_result is not None:
        text += sites_bench.render(sites_result)
    path = report.write(text)
    classroom.record(classroom.render(class_outcomes))
    print()
    print(text)
    print(f"Written to {path.relative_to(settings.ROOT)}")
    if sites_result is not None and not sites_result.ok:
        print("CORRECTNESS CHECK FAILED: access-site bookings over capacity, or a 5xx.")
        return 1
    if not run.correct:
        print(
            "CORRECTNESS CHECK FAILED: rows != 201 answers, or the ledger does not verify "
            "(sign-in runs, or the ledger benchmark's seals and verify)."
        )
        return 1
    return 0


def bare_floor(env: dict[str, str], load: Any, items: list[tuple[str, str]]) -> Any:
    """The bare sign-in (bench/bare.py) under every server setting, same load; then, on its
    best setting, the issue's open-loop rate with the same client: the machine's floor."""
    from bench import bare, cpu, openloop, report
    from bench.server import Server

    runs = []
    for worker_class, workers, threads in settings.SERVERS:
        bare.reset()
        with Server(env, workers, worker_class, threads, app="bench.bare:app") as server:
            load(server, "health", settings.WARMUP_SECONDS)
            load(server, "sign-in", settings.WARMUP_SECONDS)
            bare.reset()
            sign_in, sign_in_cpu = load(server, "sign-in", settings.WRK_SECONDS)
            rows = bare.count()
            bare.reset()
            health, health_cpu = load(server, "health", settings.WRK_SECONDS)
        runs.append(report.Bare(server.label, sign_in, health, rows, sign_in_cpu, health_cpu))
        runs[-1].setting = (worker_class, workers, threads)
    best = max(runs, key=lambda r: r.sign_in.created_rate)
    best.others = {r.label: r.sign_in.created_rate for r in runs}
    best.runs = runs
    worker_class, workers, threads = best.setting
    with Server(env, workers, worker_class, threads, app="bench.bare:app") as server:
        load(server, "sign-in", settings.WARMUP_SECONDS)
        bare.reset()
        pids = [server.pid, *server.worker_pids()]
        before = cpu.snapshot(pids, settings.DATABASE_NAME)
        best.open_loop = openloop.run(
            "127.0.0.1",
            server.port,
            items,
            settings.FIXED_RATE,
            settings.FIXED_SECONDS,
            max_in_flight=settings.OPEN_LOOP_MAX_IN_FLIGHT,
            give_up_s=settings.OPEN_LOOP_GIVE_UP_S,
        )
        best.open_loop_cpu = cpu.usage(before, cpu.snapshot(pids, settings.DATABASE_NAME), pids)
        best.open_loop_rows = bare.count()
    bare.reset()
    return best


def paired_cpu(env: dict[str, str], load: Any, app: Any) -> list[Any]:
    """Issue 8's comparison, side by side: the service's server and the bare sign-in's, both
    up under the same setting, loaded in turn with the same wrk load and pairs; CPU per
    sign-in of all processes for each, round after round (alternating which goes first)."""
    from bench import bare, data, report
    from bench.server import Server

    worker_class, workers, threads = settings.PAIRED_SETTING
    rounds = []
    bare.reset()
    data.reset_signatures(app)
    with (
        Server(env, workers, worker_class, threads) as service,
        Server(env, workers, worker_class, threads, app="bench.bare:app") as floor,
    ):
        load(service, "sign-in", settings.WARMUP_SECONDS)
        load(floor, "sign-in", settings.WARMUP_SECONDS)
        for i in range(settings.PAIRED_ROUNDS):
            data.reset_signatures(app)
            bare.reset()
            results = {}
            for name, server in (("service", service), ("bare", floor))[:: 1 if i % 2 else -1]:
                results[name] = load(server, "sign-in", settings.PAIRED_SECONDS)
            (own, own_cpu), (base, base_cpu) = results["service"], results["bare"]
            rounds.append(
                report.PairedRound(
                    service.label,
                    own,
                    own_cpu,
                    base,
                    base_cpu,
                    rows=data.count_signatures(app),
                    bare_rows=bare.count(),
                    bare_first=i % 2 == 0,
                )
            )
    run_logs = [service.log_text(), floor.log_text()]
    data.reset_signatures(app)
    bare.reset()
    rounds[0].logs = [log for log in run_logs if log]
    return rounds


def _loadavg() -> str:
    """The load averages over 1, 5 and 15 minutes (what `uptime` prints)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def step(name: str, text: str) -> None:
    print(f"[bench] {name}: {text}", flush=True)


def _flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.ConnectionError as error:
        raise SystemExit(f"Redis is not reachable ({settings.REDIS_URL}): {error}") from None
    finally:
        client.close()


def _redis_version() -> str:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()


def _database_settings(app: object) -> dict[str, str]:
    from flask import Flask
    from sqlalchemy import text

    from core.extensions import db

    assert isinstance(app, Flask)
    names = ("server_version", "synchronous_commit", "fsync", "wal_sync_method", "ssl")
    with app.app_context():
        found = {name: str(db.session.scalar(text(f"SHOW {name}"))) for name in names}
        db.session.remove()
    return found


if __name__ == "__main__":
    raise SystemExit(main())
