"""The dashboard benchmark's own code runs (a tiny year), so that `make bench` cannot rot; its
figures are not asserted (benchmarks are not timed tests). In a child process: the bench builds
an app of its own, which must not take over this process's Socket.IO server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def test_the_dashboard_bench_fills_a_year_and_reports():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the dashboard bench fills PostgreSQL with COPY: run by `make test-postgres`")
    env = {**os.environ, "BENCH_DASHBOARDS_URL": url.rsplit("/", 1)[0] + "/bench_dashboards_smoke"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.dashboards",
            "--sessions",
            "4000",
            "--repeat",
            "1",
            "--no-record",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| region, the whole year |" in done.stdout
    assert "4,000 closed sessions" in done.stdout
