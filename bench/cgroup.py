"""A CPU cap per server process (Linux cgroups), so that a 2-core machine can show what a second
process adds: capped alike, one process and two are compared at the same share of a core each,
while the clients and Redis keep the rest of the machine.

Without a cap, two servers, the hundreds of bench clients and Redis share the same two cores:
the second process has no core of its own and the ratio measures the machine. With a cap, each
server gets at most `share` of a core (CFS bandwidth control: `share × period` of CPU time per
period, a short period so that throttling adds milliseconds, not tens of them).

cgroup v2 (`cpu.max` in a directory of /sys/fs/cgroup) or v1 (`cpu.cfs_quota_us` under
/sys/fs/cgroup/cpu); `available()` says whether this process may create one (root, writable).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 20_000  # 20 ms: a capped process waits at most this long when throttled


def _hierarchy() -> tuple[Path, str] | None:
    """Where CPU cgroups are made here, and which interface ("v2" or "v1")."""
    if (ROOT / "cgroup.controllers").exists():
        controllers = (ROOT / "cgroup.subtree_control").read_text().split()
        return (ROOT, "v2") if "cpu" in controllers else None
    if (ROOT / "cpu" / "cpu.cfs_quota_us").exists():
        return ROOT / "cpu", "v1"
    return None


def available() -> bool:
    """True when a capped group can be created and processes moved into it."""
    found = _hierarchy()
    return found is not None and os.access(found[0], os.W_OK)


class CpuCap:
    """`with CpuCap(0.4) as cap: cap.add(pid)`: the processes added get at most 0.4 of a core
    together; they leave the group (back to the root's) on exit, and the group is removed."""

    def __init__(self, share: float, name: str = "") -> None:
        found = _hierarchy()
        if found is None or not 0 < share <= 64:
            raise ValueError("no CPU cgroup here, or a share out of bounds")
        self.base, self.version = found
        self.share = share
        self.path = self.base / (name or f"bench-cap-{secrets.token_hex(4)}")
        self.pids: list[int] = []

    def __enter__(self) -> CpuCap:
        for left in self.base.glob("bench-cap-*"):  # a run killed by a signal left its group
            with contextlib.suppress(OSError):  # still holding a process: not removed
                left.rmdir()
        self.path.mkdir()
        quota = max(1_000, int(self.share * PERIOD_US))
        if self.version == "v2":
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        return self

    def add(self, pids: Iterable[int]) -> None:
        for pid in pids:
            (self.path / "cgroup.procs").write_text(str(pid))
            self.pids.append(pid)

    def throttled_s(self) -> float:
        """Seconds the group's processes spent throttled (waiting for their next period)."""
        stat = dict(
            line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line
        )
        if self.version == "v2":
            return int(stat.get("throttled_usec", 0)) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for pid in self.pids:
            with contextlib.suppress(OSError):  # the process is gone
                (self.base / "cgroup.procs").write_text(str(pid))
        for _ in range(50):  # a stopped server's worker may take a moment to leave it
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)
