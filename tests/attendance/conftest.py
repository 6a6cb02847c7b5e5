"""Fixtures of the émargement tests: a controllable clock, the tenant's trainer and trainee."""

from __future__ import annotations

import pytest

from tests.attendance.support import DAY, at, install_clock, tenant_learner
from tests.conftest import bearer


@pytest.fixture
def clock(monkeypatch):
    """What the routes take for "now": 08:50 (Paris) on the test day, until a test moves it."""
    return install_clock(monkeypatch, at(DAY, 8, 50))


@pytest.fixture
def trainer_h(app, tenant_a):
    return bearer(app, tenant_a.trainer)


@pytest.fixture
def amina(app, tenant_a):
    """tenant_a's trainee, on her bound phone."""
    return tenant_learner(app, tenant_a)
