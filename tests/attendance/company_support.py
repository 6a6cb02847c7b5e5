"""Helpers of the company period tests (R2): a period recorded through the API, hours
declared, the trainee's and the tutor's signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.attendance.support import DAY, Clock, Learner, at
from tests.conftest import THIS_YEAR, Tenant, bearer
from tests.page_support import install_clock

PERIOD = {
    "company_name": "Menuiserie Durand",
    "siret": "12345678901234",
    "tutor_name": "Paul Durand",
    "tutor_email": "paul.durand@example.fr",
    "tutor_phone": "05 61 00 00 00",
    "start_date": date(THIS_YEAR, 3, 2).isoformat(),
    "end_date": date(THIS_YEAR, 3, 27).isoformat(),
    "planned_hours": 35,
}
WEEK = {  # the week before DAY (a Tuesday): Monday 2 to Friday 6 March
    "first_day": date(THIS_YEAR, 3, 2).isoformat(),
    "last_day": date(THIS_YEAR, 3, 6).isoformat(),
    "hours": 14,
}


def ok(answer: Any, status: int = 201) -> Any:
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_json()


@dataclass
class Company:
    """A tenant's period in a company, as far as `company_state` took it."""

    tenant: Tenant
    clock: Clock
    learner: Learner
    period_id: str
    hours_id: str | None = None
    tutor_code: str | None = None

    @property
    def admin_h(self) -> dict[str, str]:
        from flask import current_app

        return bearer(current_app, self.tenant.admin)


COMPANY_STATES = ("planned", "pending", "trainee_signed", "tutor_signed", "both_signed")
COMPANY_STATE_TEXT = {  # what the period's page says of its hours, state by state
    "planned": "Aucune heure déclarée pour l'instant : la période est prévue.",
    "pending": "en attente des signatures du stagiaire et du tuteur",
    "trainee_signed": "en attente du tuteur",
    "tutor_signed": "en attente du stagiaire",
    "both_signed": "Comptées",
}


def company_state(
    app: Flask,
    client: FlaskClient,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    state: str,
    clock: Clock | None = None,
) -> Company:
    """A period recorded for the tenant's trainee, then taken to `state` (COMPANY_STATES)."""
    clock = clock or install_clock(monkeypatch, Clock(at(DAY, 17)))
    admin_h = bearer(app, tenant.admin)
    learner = Learner(tenant.trainee, bearer(app, tenant.trainee, dev=tenant.invitation_id))
    period = ok(
        client.post(
            f"/api/v1/enrolments/{tenant.enrolment_id}/company-periods",
            json=PERIOD,
            headers=admin_h,
        )
    )
    found = Company(tenant, clock, learner, period["id"])
    if state == "planned":
        return found
    found.hours_id = ok(
        client.post(f"/api/v1/company-periods/{period['id']}/hours", json=WEEK, headers=admin_h)
    )["id"]
    found.tutor_code = ok(
        client.post(f"/api/v1/company-periods/{period['id']}/tutor-codes", headers=admin_h)
    )["code"]
    if state in ("trainee_signed", "both_signed"):
        trainee_sign(client, found)
    if state in ("tutor_signed", "both_signed"):
        tutor_sign(client, found)
    return found


def trainee_sign(client: FlaskClient, found: Company, status: int = 201) -> Any:
    url = f"/api/v1/company-hours/{found.hours_id}/trainee-signature"
    return ok(client.post(url, headers=found.learner.headers), status)


def tutor_sign(client: FlaskClient, found: Company, status: int = 201) -> Any:
    body = {"code": found.tutor_code, "hours_ids": [found.hours_id]}
    return ok(client.post("/api/v1/company-tutor/signatures", json=body), status)
