"""Helpers of the plan tests: a submission through the API at a chosen day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import compliance.pages
import compliance.routes
from tests.conftest import ORDER_START, Tenant, bearer, paris

WEEK = {"tutorat": 6, "autoformation": 2, "regroupement": 0}


def on_day(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """The API's and the pages' clock reads noon (UTC) of `day`."""
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    for module in (compliance.routes, compliance.pages):
        monkeypatch.setattr(module, "utcnow", lambda: moment)


def submit(
    app: Flask, client: FlaskClient, tenant: Tenant, status: int = 201, **body: Any
) -> dict[str, Any]:
    data = {"typical_week": WEEK, "component_kind": "formation", "component_hours": 100}
    data.update(body)
    answer = client.post(
        f"/api/v1/groups/{tenant.group_id}/plan-submissions",
        json=data,
        headers=bearer(app, tenant.admin),
    )
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


IN_TIME = ORDER_START - timedelta(days=20)
LATE = ORDER_START - timedelta(days=10)


def add_session(
    client: FlaskClient,
    headers: dict[str, str],
    group_id: str,
    day: date,
    start: tuple[int, int],
    end: tuple[int, int],
    kind: str = "tutorat",
    title: str = "Séance",
) -> dict[str, Any]:
    """Plan a session of the group on a Paris day, from `start` to `end` (hour, minute)."""
    answer = client.post(
        f"/api/v1/groups/{group_id}/sessions",
        headers=headers,
        json={
            "kind": kind,
            "title": title,
            "starts_at": paris(day, *start),
            "ends_at": paris(day, *end),
        },
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()
