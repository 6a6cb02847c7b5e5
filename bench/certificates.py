"""Certificates per second in bulk (issue 9, item 10), beside the same layout drawn without
data access, in the same run.

`python -m bench.certificates [--groups N] [--days D]` (and `make bench`) empties the bench
database and writes, with COPY (bench/ledger.py's closed sessions: every entry computed with
the service's own code), two identical orders of `groups` groups of 20 trainees, each group
with one closed full-day session a day for the `days` first days of last month (46 entries:
plan, opening, the signatures of both half-days, two absences, a correction). Then:

1. **bulk, one process**: certificates.bulk.run over the first order's month (each
   trainee's attendance certificate of the month and certificate of realisation: read from
   the chains, drawn, recorded in the ledger, committed), `workers=1`, in this process;
2. **bulk, two processes**: the same over the second order, `workers=2` (the command's
   workers, forked from this process, their start included);
3. **layout only**: the same documents (pdf.Document, every line as issued) drawn again by
   certificates.pdf.render, no database, in one process, then in two (started beforehand);
4. **layout only, signed with an image**: the same documents in one process, each bearing an
   800 × 320 PNG signature with transparency instead of the typed name (an organisation may
   upload one: certificates.pdf.Signature encodes it once per process).

Rates are certificates per second of wall time; CPU is that of this process, of its workers
(children) and of PostgreSQL's backends, read from /proc. Not a timed test: nothing fails on a
slow machine; the checks are that every certificate was issued and verifies.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from bench import cpu, data, settings

TRAINEES = 20
GROUPS = 10
DAYS = 20


@dataclass
class Rate:
    """Certificates drawn in some wall time, with the CPU each part used."""

    label: str
    count: int
    wall_s: float
    processes: int
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.wall_s if self.wall_s else 0.0

    @property
    def per_core(self) -> float:
        """Certificates per CPU-second of this process, its workers and PostgreSQL: what one
        core does, whatever else the machine runs meanwhile."""
        spent = self.ms_cpu + self.ms_postgres
        return 1000 / spent if spent else 0.0

    @property
    def ms_cpu(self) -> float:
        """Python CPU per certificate (this process and its workers, finished or not), ms."""
        python = sum(self.cpu_s.get(name, 0.0) for name in ("bench", "load generator", "pool"))
        return 1000 * python / self.count if self.count else 0.0

    @property
    def ms_postgres(self) -> float:
        return 1000 * self.cpu_s.get("postgres", 0.0) / self.count if self.count else 0.0


@dataclass
class CertificatesRun:
    groups: int
    days: int
    entries: int
    one: Rate
    two: Rate
    layout_one: Rate
    layout_two: Rate
    layout_signed: Rate | None = None  # one process, an image signature on each
    pages: int = 0
    pdf_bytes: int = 0
    ok: bool = True
    seconds: float = 0.0

    @property
    def scaling(self) -> float:
        return self.two.rate / self.one.rate if self.one.rate else 0.0

    @property
    def layout_scaling(self) -> float:
        return self.layout_two.rate / self.layout_one.rate if self.layout_one.rate else 0.0

    @property
    def share_of_layout(self) -> float:
        """Bulk per core over the layout alone per core (1.0: data access costs nothing)."""
        return self.one.per_core / self.layout_one.per_core if self.layout_one.per_core else 0.0


def render(run: CertificatesRun) -> list[str]:
    """The certificates benchmark's section of docs/benchmarks.md."""
    lines = [
        "",
        "## Certificates in bulk (issue 9)",
        "",
        f"bench/certificates.py (`python -m bench.certificates --groups N` alone): two orders "
        f"of {run.groups} groups of {TRAINEES} trainees, one closed full day a day for "
        f"{run.days} days of last month ({run.entries:,} entries, the service's own code); "
        "every attendance certificate of the month and certificate of realisation of the "
        "first order issued by certificates.bulk.run in one process, of the second in two "
        "(the command's workers, forked, their start included); then the same documents "
        "drawn again by certificates.pdf.render alone (no database), in one process and in "
        "two. *Per core* is certificates per CPU-second of the Python processes and "
        "PostgreSQL's backends and own processes (the bulk workers' backends are gone before "
        "they can be read: with two processes, their PostgreSQL CPU is missing).",
        "",
        "| run | certificates | wall s | per second | Python CPU ms each | PostgreSQL ms each "
        "| per core |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rate in (run.one, run.two, run.layout_one, run.layout_two, run.layout_signed):
        if rate is None:
            continue
        lines.append(
            f"| {rate.label} | {rate.count} | {rate.wall_s:.1f} | {rate.rate:.1f} | "
            f"{rate.ms_cpu:.1f} | {rate.ms_postgres:.1f} | {rate.per_core:.1f} |"
        )
    lines += [
        "",
        f"Targets: ≥ 60 certificates/s per core in bulk ({run.one.per_core:.1f}: "
        f"{'met' if run.one.per_core >= 60 else 'not met'}; the layout alone "
        f"{run.layout_one.per_core:.1f}), two processes ≥ 1.8 × one ({run.scaling:.2f} ×: "
        f"{'met' if run.scaling >= 1.8 else 'not met'}; the layout alone "
        f"{run.layout_scaling:.2f} × on this machine). Every certificate issued and recorded "
        f"in the ledger: {'yes' if run.ok else 'NO'}.",
    ]
    if run.layout_signed is not None:
        signed, typed = run.layout_signed.per_core, run.layout_one.per_core
        lines += [
            "",
            f"Signed with an image instead of the typed name, the layout alone draws "
            f"{signed:.1f} certificates/s per core against {typed:.1f} "
            f"({signed / typed if typed else 0:.2f} ×).",
        ]
    return lines


def last_month(today: datetime) -> tuple[str, datetime]:
    """`YYYY-MM` of the month before today's, and the moment whose previous `DAYS` days are
    that month's first days (08:00 UTC)."""
    first_of_this = today.replace(day=1)
    previous = (first_of_this - timedelta(days=1)).replace(day=1)
    return previous.strftime("%Y-%m"), datetime(
        previous.year, previous.month, 1, 8, tzinfo=UTC
    ) + timedelta(days=DAYS + 1)


def build(app: Flask, groups: int, days: int, anchor: datetime, tag: int) -> tuple[data.Base, int]:
    """One organisation and order, `groups` groups of 20 trainees, a closed full day a day."""
    from bench import ledger

    world = data.base(app, groups, TRAINEES, anchor, tag)
    built, _ = ledger.build_closed(app, world, groups * days * ledger.FULL_DAY, anchor)
    return world, built.entries


def line(rate: Rate) -> str:
    return (
        f"{rate.label}: {rate.count} certificates in {rate.wall_s:.1f} s, {rate.rate:.1f}/s; "
        f"CPU per certificate {rate.ms_cpu:.1f} ms Python + {rate.ms_postgres:.1f} ms "
        f"PostgreSQL: {rate.per_core:.1f}/s per core"
    )


def timed(label: str, processes: int, count: int, work: Any, pool: list[int] | None = None) -> Rate:
    """Run `work`, timed; CPU of this process, its finished children, the `pool`'s live
    processes and PostgreSQL (none for the layout alone: nothing of it is the drawing's)."""
    before = cpu.snapshot(pool or [], settings.DATABASE_NAME)
    work()
    after = cpu.snapshot(pool or [], settings.DATABASE_NAME)
    groups = cpu.usage(before, after, pool or []).groups
    groups["pool"] = groups.pop("gunicorn", 0.0)  # the processes given, here the pool's
    if label.startswith("layout"):
        groups.pop("postgres", None)
    return Rate(label, count, after.at - before.at, processes, groups)


def bulk_rate(app: Flask, world: data.Base, month: str, workers: int) -> tuple[Rate, list[Any]]:
    from certificates import bulk, services
    from core.db import utcnow
    from core.extensions import db
    from training.models import Order

    with app.app_context():
        order = db.session.get_one(Order, world.order_id)
        planned = bulk.targets(order, month)
        db.session.remove()
    found: list[Any] = []

    def work() -> None:
        with app.app_context():
            found.extend(bulk.run(app, planned, services.OPERATOR, utcnow(), workers=workers))
            db.session.remove()

    label = f"bulk, {workers} process{'es' if workers > 1 else ''}"
    return timed(label, workers, len(planned), work), found


def documents(app: Flask, outcomes: list[Any], month: str) -> list[Any]:
    """The documents of the issued certificates, read again (not timed)."""
    from certificates import rules, services
    from certificates.models import Certificate
    from core.extensions import db
    from training.models import Enrolment

    out = []
    with app.app_context():
        base_url = app.config["PUBLIC_BASE_URL"]
        for outcome in outcomes:
            certificate = db.session.get_one(Certificate, outcome.certificate_id)
            enrolment = db.session.get_one(Enrolment, certificate.enrolment_id)
            kind = certificate.kind
            facts = services.read_facts(
                enrolment, kind, month if kind == rules.ATTENDANCE else "", certificate.issued_at
            )
            out.append(services.document(certificate, facts, None, base_url))
        db.session.remove()
    return out


def signature_png(size: tuple[int, int] = (800, 320)) -> bytes:
    """A signatory's uploaded image: a dark stroke over a transparent field."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", size, (255, 255, 255, 0))
    width, height = size
    stroke = [
        (width // 40, height * 3 // 4),
        (width * 3 // 8, height // 5),
        (width - 10, height * 5 // 8),
    ]
    ImageDraw.Draw(image).line(stroke, fill="#102040", width=8)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _render_all(docs: list[Any]) -> int:
    from certificates import pdf

    return sum(len(pdf.render(doc)) for doc in docs)


def _warm() -> None:
    from certificates import pdf

    pdf.fonts()


def layout_rate(docs: list[Any], processes: int) -> Rate:
    if processes == 1:
        _render_all(docs[:2])  # fonts registered, as a bulk worker has them after its first
        return timed("layout only, 1 process", 1, len(docs), lambda: _render_all(docs))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_warm) as pool:
        list(pool.map(_render_all, [docs[:2]] * processes))  # started and warm
        chunks = [docs[i::processes] for i in range(processes)]
        return timed(
            f"layout only, {processes} processes",
            processes,
            len(docs),
            lambda: list(pool.map(_render_all, chunks)),
            pool=list(pool._processes),  # noqa: SLF001 - the workers' pids, to read their CPU
        )


def verified(app: Flask, outcomes: list[Any]) -> bool:
    """Every certificate issued (none unchanged, none empty) and recorded in the ledger."""
    from certificates import services
    from certificates.models import Certificate
    from core.extensions import db

    with app.app_context():
        try:
            for outcome in outcomes:
                if outcome.certificate_id is None or not outcome.created:
                    return False
            sample = outcomes[:: max(1, len(outcomes) // 10)]
            now = datetime.now(UTC)
            return all(
                services.read_record(db.session.get_one(Certificate, o.certificate_id), now).valid
                for o in sample
            )
        finally:
            db.session.remove()


def measure(
    app: Flask, groups: int = GROUPS, days: int = DAYS, say: Any = print
) -> CertificatesRun:
    started = time.perf_counter()
    # Issuing only: no seal started by the issues meanwhile (attendance.sealing.seal_soon, in
    # whichever process is still up after LEDGER_SEAL_DELAY_S); the ledger benchmark times
    # the seals.
    seal_delay = app.config.get("LEDGER_SEAL_DELAY_S")
    app.config["LEDGER_SEAL_DELAY_S"] = None
    try:
        return _measure(app, groups, days, say, started)
    finally:
        app.config["LEDGER_SEAL_DELAY_S"] = seal_delay


def _measure(app: Flask, groups: int, days: int, say: Any, started: float) -> CertificatesRun:
    data.rebuild_schema(app)
    month, anchor = last_month(datetime.now(UTC))
    first, entries = build(app, groups, days, anchor, 1)
    second, more = build(app, groups, days, anchor, 2)
    say(
        f"2 orders of {groups} groups × {TRAINEES} trainees, {days} days of {month}: "
        f"{entries + more:,} entries"
    )
    one, issued = bulk_rate(app, first, month, 1)
    say(line(one))
    two, issued_two = bulk_rate(app, second, month, 2)
    say(line(two))
    docs = documents(app, issued, month)
    layout_one = layout_rate(docs, 1)
    say(line(layout_one))
    layout_two = layout_rate(docs, 2)
    say(line(layout_two))
    signed = [replace(doc, signature_image=signature_png()) for doc in docs]
    _render_all(signed[:2])  # the image encoded, as a bulk worker has it after its first
    layout_signed = timed(
        "layout only, signed with an image, 1 process",
        1,
        len(signed),
        lambda: _render_all(signed),
    )
    say(line(layout_signed))
    from certificates import pdf

    sizes = [len(pdf.render(doc)) for doc in docs[:2]]
    run = CertificatesRun(
        groups,
        days,
        entries + more,
        one,
        two,
        layout_one,
        layout_two,
        layout_signed,
        pdf_bytes=sum(sizes) // len(sizes),
        ok=verified(app, issued) and verified(app, issued_two),
        seconds=time.perf_counter() - started,
    )
    say(
        f"bulk {one.per_core:.1f}/s per core (layout alone {layout_one.per_core:.1f}/s: bulk "
        f"does {run.share_of_layout:.0%} of it); 2 processes {run.scaling:.2f} × 1 (layout alone "
        f"{run.layout_scaling:.2f} ×); " + ("all issued and recorded" if run.ok else "FAULT")
    )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.certificates", description=__doc__)
    parser.add_argument("--groups", type=int, default=GROUPS)
    parser.add_argument("--days", type=int, default=DAYS)
    args = parser.parse_args(argv)
    settings.apply_env()
    from core import create_app

    data.ensure_database()
    app = create_app()
    run = measure(app, args.groups, args.days)
    settings.clean_up()
    print("\n".join(render(run)))  # the section of docs/benchmarks.md
    return 0 if run.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
