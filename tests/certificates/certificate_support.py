"""Helpers of the certificate tests: a month of sessions held and signed, read back as the
database and as the PDFs say it."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from tests.attendance.support import DAY, Clock, Learner, at, enrol, plan, qr_token
from tests.conftest import Tenant, bearer
from tests.page_support import install_clock

MONTH = DAY.strftime("%Y-%m")


@dataclass
class Month:
    """tenant's month: a tutorat (Amina 9:00 → close 11:00; Bruno absent, a reason) and an
    autoformation (Amina 14:00 → sign-out 15:30), both closed."""

    tenant: Tenant
    clock: Clock
    amina: Learner
    bruno: Learner
    tutorat_id: str
    autoformation_id: str
    bruno_enrolment_id: str

    @property
    def admin_h(self) -> dict[str, str]:
        return self.headers_of(self.tenant.admin)

    def headers_of(self, user) -> dict[str, str]:  # noqa: ANN001
        from flask import current_app

        return bearer(current_app, user)


def ok(answer, status: int = 201):  # noqa: ANN001, ANN201
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer


def held_month(
    app: Flask, client: FlaskClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> Month:
    """Plan, open, sign and close two sessions of the test day (see Month)."""
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    trainer_h = bearer(app, tenant.trainer)
    amina = Learner(tenant.trainee, bearer(app, tenant.trainee, dev=tenant.invitation_id))
    bruno = enrol(app, client, tenant, "Bruno")
    tutorat = plan(app, client, tenant)
    auto = plan(app, client, tenant, kind="autoformation", start=(14, 0), end=(16, 0))
    ok(client.post(f"/api/v1/sessions/{tutorat}/open", headers=trainer_h), 200)
    clock.set(9, 0)
    ok(client.post(f"/api/v1/sessions/{tutorat}/trainer-signature", headers=trainer_h))
    ok(
        client.post(
            "/api/v1/sign-ins",
            json={"qr": qr_token(client, trainer_h, tutorat)},
            headers=amina.headers,
        )
    )
    clock.set(11, 0)
    ok(client.post(f"/api/v1/sessions/{tutorat}/close", headers=trainer_h), 200)
    absence = {"trainee_id": bruno.id, "reason": "Rendez-vous France Travail", "justified": True}
    ok(client.post(f"/api/v1/sessions/{tutorat}/absences", json=absence, headers=trainer_h))
    clock.set(13, 50)
    ok(client.post(f"/api/v1/sessions/{auto}/open", headers=trainer_h), 200)
    clock.set(14, 0)
    ok(
        client.post(
            "/api/v1/sign-ins",
            json={"qr": qr_token(client, trainer_h, auto)},
            headers=amina.headers,
        )
    )
    clock.set(15, 30)
    ok(
        client.post(
            "/api/v1/sign-outs",
            json={"qr": qr_token(client, trainer_h, auto)},
            headers=amina.headers,
        ),
        200,
    )
    clock.set(16, 5)
    ok(client.post(f"/api/v1/sessions/{auto}/close", headers=trainer_h), 200)
    clock.set(17, 0)
    enrolments = client.get(
        f"/api/v1/groups/{tenant.group_id}/enrolments", headers=bearer(app, tenant.admin)
    )
    bruno_enrolment = next(
        e["id"] for e in enrolments.get_json()["items"] if e["trainee_id"] == bruno.id
    )
    return Month(tenant, clock, amina, bruno, tutorat, auto, bruno_enrolment)


def database_minutes(
    client: FlaskClient, app: Flask, month: Month, trainee_id: str
) -> dict[str, int]:
    """Minutes per session kind as the attendance sheets of the API say (the database)."""
    found = {"tutorat": 0, "autoformation": 0}
    admin_h = bearer(app, month.tenant.admin)
    for kind, session_id in (
        ("tutorat", month.tutorat_id),
        ("autoformation", month.autoformation_id),
    ):
        sheet = ok(client.get(f"/api/v1/sessions/{session_id}/attendance", headers=admin_h), 200)
        found[kind] += sum(
            i["minutes"] for i in sheet.get_json()["items"] if i["trainee_id"] == trainee_id
        )
    return found


def pdf_text(data: bytes) -> str:
    """The PDF's text, as a reader extracts it, spaces normalised."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text)


def hours_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"
