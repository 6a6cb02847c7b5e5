"""The class bench's CPU cap (bench/cgroup.py): a capped process gets no more than its share of
a core, and leaves no group behind. On a machine without writable cgroups (a laptop, no root)
the bench runs uncapped and says so; CI runs as root on a machine that has them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench import cgroup

BURN = "import time\nt = time.time()\nwhile time.time() - t < 1.5:\n    pass\n"


def test_a_capped_process_gets_at_most_its_share_of_a_core() -> None:
    if not cgroup.available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI: the class bench's cap needs writable CPU cgroups here")
        pytest.skip("no writable CPU cgroup on this machine")
    busy = subprocess.Popen([sys.executable, "-c", BURN])  # noqa: S603 - our interpreter, our loop
    with cgroup.CpuCap(0.25) as cap:
        cap.add([busy.pid])
        started = time.monotonic()
        _, status, usage = os.wait4(busy.pid, 0)
        elapsed = time.monotonic() - started
        throttled = cap.throttled_s()
        path = cap.path
    busy.returncode = os.waitstatus_to_exitcode(status)  # reaped here, with its CPU usage
    assert busy.returncode == 0
    cpu = usage.ru_utime + usage.ru_stime
    # 1.5 s of busy loop at a quarter of a core: at most ~0.4 s of CPU (a margin for the start
    # before the move), and the group throttled it; a busy machine only lowers the CPU.
    assert cpu <= 0.25 * elapsed + 0.15, (cpu, elapsed)
    assert throttled > 0
    assert not path.exists()


def test_a_group_left_by_a_killed_run_is_removed_by_the_next() -> None:
    if not cgroup.available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI: the class bench's cap needs writable CPU cgroups here")
        pytest.skip("no writable CPU cgroup on this machine")
    with cgroup.CpuCap(0.25) as killed:  # as if SIGKILL: its group stays, empty
        left = killed.path.with_name(killed.path.name + "-killed")
        left.mkdir()
    assert left.exists()
    with cgroup.CpuCap(0.25) as cap:
        assert cap.path.exists()
        assert not left.exists()
    assert not cap.path.exists()
