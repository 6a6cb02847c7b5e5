"""CPU time per process group during a run (from /proc): where the machine's cycles went,
and how much of them other programs took (a noisy machine shows here, not as a failure)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = ("gunicorn", "postgres", "redis", "load generator", "bench", "other programs")


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _named(prefix: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(prefix):
            found.append(int(entry.name))
    return found


def _postgres(database: str) -> list[int]:
    """The PostgreSQL server's own processes and its backends of `database` (not those of
    other databases: another program's tests count as other programs)."""
    found = []
    for pid in _named("postgres"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        role = title.split(": ", 2)[2] if title.count(": ") >= 2 else ""
        words = role.split()
        is_backend = len(words) >= 3 and ("(" in words[2] or words[2] == "[local]")
        if not is_backend or words[1] == database:
            found.append(pid)
    return found


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICK


def background_load(seconds: float = 1.0) -> float:
    """Share of all the CPUs busy over `seconds` (this process sleeps meanwhile)."""
    before, started = _machine_busy(), time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    return (_machine_busy() - before) / (elapsed * (os.cpu_count() or 1))


@dataclass
class Snapshot:
    at: float
    busy: float
    per_pid: dict[int, float]
    children: float
    own: float
    postgres: set[int]
    redis: set[int]


def snapshot(pids: Iterable[int], database: str) -> Snapshot:
    """Now: the machine's busy time, and that of the given pids, PostgreSQL (for `database`)
    and Redis."""
    postgres, redis = set(_postgres(database)), set(_named("redis-server"))
    wanted = set(pids) | postgres | redis
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return Snapshot(
        at=time.perf_counter(),
        busy=_machine_busy(),
        per_pid={pid: _proc_cpu(pid) for pid in wanted},
        children=children.ru_utime + children.ru_stime,
        own=own.ru_utime + own.ru_stime,
        postgres=postgres,
        redis=redis,
    )


@dataclass
class Usage:
    """CPU seconds per group between two snapshots, and the wall time."""

    wall: float
    groups: dict[str, float] = field(default_factory=dict)

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {k: 1000 * v / requests for k, v in self.groups.items()} if requests else {}

    def cores(self, group: str) -> float:
        return self.groups.get(group, 0.0) / self.wall if self.wall else 0.0


def usage(before: Snapshot, after: Snapshot, server_pids: Iterable[int]) -> Usage:
    """Split the machine's busy time: the server, PostgreSQL, Redis, the load generator (wrk,
    a finished child), this process (the open-loop client), and whatever else ran."""
    server = set(server_pids)

    def delta(pid: int) -> float:
        return max(0.0, after.per_pid.get(pid, 0.0) - before.per_pid.get(pid, 0.0))

    groups = {
        "gunicorn": sum(delta(p) for p in server),
        "postgres": sum(delta(p) for p in after.postgres - server),
        "redis": sum(delta(p) for p in after.redis),
        "load generator": max(0.0, after.children - before.children),
        "bench": max(0.0, after.own - before.own),
    }
    busy = max(0.0, after.busy - before.busy)
    groups["other programs"] = max(0.0, busy - sum(groups.values()))
    return Usage(wall=after.at - before.at, groups=groups)
