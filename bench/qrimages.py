"""QR images per second of CPU: attendance/qr.svg and qr.png without their lru_cache, on
distinct payloads of the real length, in one process pinned to one core, then in two."""

from __future__ import annotations

import multiprocessing as mp
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bench import settings


@dataclass(frozen=True)
class QrRates:
    payload_length: int
    version: int
    svg_one: float
    png_one: float
    svg_two: list[float]
    png_two: list[float]


def payloads(count: int) -> list[str]:
    """Distinct sign-in payloads shaped like the server's: `<base>/emarger#<token>`, with the
    production window numbers (15 s rotation), so the text, hence the QR version, is real."""
    from attendance import rules
    from core.db import new_id

    window = rules.qr_window(time.time(), settings.PRODUCTION_ROTATE_S)
    key = secrets.token_bytes(32)
    session_id = new_id()
    return [
        f"{settings.PUBLIC_BASE_URL}/emarger#{rules.make_qr_token(session_id, window + i, key)}"
        for i in range(count)
    ]


def rate(kind: str, seconds: float, texts: list[str]) -> float:
    """Images per second of one kind, each from a payload not drawn before."""
    from attendance import qr

    draw: Any = qr.svg.__wrapped__ if kind == "svg" else qr.png.__wrapped__
    draw(texts[-1])  # version lookup cached, imports done
    done, deadline = 0, time.perf_counter() + seconds
    cpu = time.process_time()
    while time.perf_counter() < deadline:
        draw(texts[done % (len(texts) - 1)])
        done += 1
    # Per CPU-second of this process: what a core gives, whatever else ran on it meanwhile.
    return done / (time.process_time() - cpu)


def _worker(core: int, kind: str, seconds: float, barrier: Any, out: Any) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    texts = payloads(4000)
    barrier.wait()
    out.put((core, rate(kind, seconds, texts)))


def _parallel(kind: str, seconds: float, processes: int) -> list[float]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    workers = [
        ctx.Process(target=_worker, args=(cores[i % len(cores)], kind, seconds, barrier, out))
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    rates = [out.get(timeout=120)[1] for _ in workers]
    for w in workers:
        w.join(timeout=30)
    return rates


def measure(seconds: float = 1.5) -> QrRates:
    """One core (this process, pinned), then two processes on two cores."""
    from attendance import qr

    texts = payloads(4000)
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if affinity:
            os.sched_setaffinity(0, {min(affinity)})
        svg_one = rate("svg", seconds, texts)
        png_one = rate("png", seconds, texts)
    finally:
        if affinity:
            os.sched_setaffinity(0, affinity)
    version = qr._version(len(texts[0]))
    return QrRates(
        payload_length=len(texts[0]),
        version=version,
        svg_one=svg_one,
        png_one=png_one,
        svg_two=_parallel("svg", seconds, 2),
        png_two=_parallel("png", seconds, 2),
    )
