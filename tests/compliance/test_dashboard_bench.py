"""The dashboard benchmark's own code runs (a tiny year), so that `make bench` cannot rot; its
figures are not asserted (benchmarks are not timed tests)."""

from __future__ import annotations

import os

import pytest

from bench import dashboards


def test_the_dashboard_bench_fills_a_year_and_reports(monkeypatch):
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the dashboard bench fills PostgreSQL with COPY: run by `make test-postgres`")
    bench_url = url.rsplit("/", 1)[0] + "/bench_dashboards_smoke"
    monkeypatch.setattr(dashboards, "URL", bench_url)
    app = dashboards.app_for(bench_url)
    built = dashboards.fill(app, 4_000)
    assert built["sessions"] == 4_000
    rows = dashboards.measure(app, built, 1)
    text = dashboards.report(built, rows)
    assert "| region, the whole year |" in text
    assert "4,000 closed sessions" in text
