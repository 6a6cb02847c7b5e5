"""Open-loop load at a fixed rate (wrk has no rate option and Debian has no wrk2).

Request i is due at start + i / rate whatever the server does; its latency runs from that due
time to the last byte of the answer, so a stalled server cannot hide its queue (no
coordinated omission). One asyncio loop, one connection per request (gunicorn's sync workers
close the connection after each answer anyway).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    sent: int
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    lateness_ms: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    answer_span_s: float = 0.0  # from the first due time to the last answer
    gave_up_after_s: float | None = None  # sending stopped: the server fell too far behind

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    def latency(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def late(self, q: float) -> float:
        return percentile(self.lateness_ms, q)

    @property
    def achieved(self) -> float:
        """Answers per second, from the first due time to the last answer."""
        return len(self.latencies_ms) / self.answer_span_s if self.answer_span_s else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.client_cpu_s / self.sent if self.sent else 0.0

    @property
    def cpu_share(self) -> float:
        """The client's CPU as a share of one core over the run."""
        return self.client_cpu_s / self.wall_s if self.wall_s else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def requests_for(host: str, port: int, items: list[tuple[str, str]] | None) -> list[bytes]:
    """Raw HTTP/1.1 requests: sign-ins from (Authorization, body) pairs, or one health GET."""
    if items is None:
        head = (
            f"GET /api/v1/health/live HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        )
        return [head.encode()]
    out = []
    for authorization, body in items:
        payload = body.encode()
        head = (
            f"POST /api/v1/sign-ins HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        out.append(head.encode() + payload)
    return out


async def _one(
    host: str,
    port: int,
    raw: bytes,
    due: float,
    result: OpenLoopResult,
    slots: asyncio.Semaphore,
) -> None:
    loop = asyncio.get_running_loop()
    status = 0
    try:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(raw)
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
        finally:
            writer.close()
    except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
        status = 0
    finally:
        slots.release()
    result.latencies_ms.append((loop.time() - due) * 1000)
    result.statuses[status] += 1


async def _run(
    host: str,
    port: int,
    raws: list[bytes],
    rate: float,
    n: int,
    max_in_flight: int,
    give_up_s: float,
) -> OpenLoopResult:
    loop = asyncio.get_running_loop()
    result = OpenLoopResult(rate=rate, seconds=n / rate, sent=0)
    slots = asyncio.Semaphore(max_in_flight)
    tasks = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start = loop.time() + 0.05
    for i in range(n):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:  # a saturated server fills the slots: wait, but not beyond `give_up_s` late
            await asyncio.wait_for(
                slots.acquire(), timeout=max(1e-3, due + give_up_s - loop.time())
            )
        except TimeoutError:
            result.gave_up_after_s = loop.time() - start
            break
        result.lateness_ms.append(max(0.0, (loop.time() - due) * 1000))
        result.sent += 1
        raw = raws[i % len(raws)]
        tasks.append(asyncio.create_task(_one(host, port, raw, due, result, slots)))
    await asyncio.gather(*tasks)
    result.client_cpu_s = time.process_time() - cpu0
    result.wall_s = time.perf_counter() - wall0
    result.answer_span_s = loop.time() - start
    return result


def run(
    host: str,
    port: int,
    items: list[tuple[str, str]] | None,
    rate: float,
    seconds: float,
    *,
    max_in_flight: int = 256,
    give_up_s: float = 5.0,
) -> OpenLoopResult:
    """Send `rate` requests a second for `seconds`; sign-ins take one pair each, in order.

    A server that cannot keep up fills `max_in_flight` connections; sending then stops once a
    request is `give_up_s` late (its latency would be at least that): the run is cut short
    instead of queueing for minutes, and every request sent is still awaited."""
    raise_open_files()
    raws = requests_for(host, port, items)
    n = int(rate * seconds)
    if items is not None and n > len(raws):
        raise ValueError(f"{n} sign-ins needed, {len(raws)} pairs prepared")
    return asyncio.run(_run(host, port, raws, rate, n, max_in_flight, give_up_s))
