"""Helpers of the access-site tests: a site, an organisation whose sessions lie ahead (bookings
are for the future), bookings through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from core.models import Organisation, Role, Trainee, User
from core.public_holidays import french_holidays
from tests.conftest import bearer, make_org, make_trainee, make_user, paris

HOURS = {"lun-ven": "08:30-12:30, 13:30-17:30"}


def next_workday(after_days: int = 7) -> date:
    """A Monday-to-Friday day some days ahead, not a public holiday, whose next day and the
    same day a week later are working days too: the tests book the day after and the week
    after, on any day they run (a Friday's next day is a Saturday, when sites are closed)."""
    day = date.today() + timedelta(days=after_days)
    holidays = french_holidays(day.year) | french_holidays(day.year + 1)

    def working(d: date) -> bool:
        return d.weekday() < 5 and d not in holidays

    while not all(working(day + timedelta(days=n)) for n in (0, 1, 7)):
        day += timedelta(days=1)
    return day


DAY = next_workday()


def next_saturday(after: date = DAY) -> date:
    return after + timedelta(days=(5 - after.weekday()) % 7 or 7)


def create_site(app: Flask, client: FlaskClient, region: User, **overrides: Any) -> dict:
    body = {
        "name": "Espace e-formation",
        "department": "46",
        "city": "Figeac",
        "address": "2 place Vival",
        "seats": 2,
        "opening_hours": HOURS,
    }
    body.update(overrides)
    response = client.post("/api/v1/sites", json=body, headers=bearer(app, region))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@dataclass
class Org:
    org: Organisation
    admin: User
    trainer: User
    group_id: str
    trainees: list[Trainee]

    @property
    def h(self) -> dict[str, str]:
        from flask import current_app

        return bearer(current_app, self.admin)


def make_org_with_trainees(app: Flask, client: FlaskClient, n: int = 3, name: str = "Alpha") -> Org:
    """An organisation with an order running from today, a group and `n` enrolled trainees."""
    org = make_org(name)
    admin, trainer = make_user(Role.ORG_ADMIN, org), make_user(Role.TRAINER, org)
    h = bearer(app, admin)
    today = date.today()
    order = client.post(
        "/api/v1/orders",
        headers=h,
        json={
            "number": f"BC-{org.id}",
            "title": "Bureautique",
            "modality": "e_formation",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=200)).isoformat(),
            "centre_hours": 150,
            "min_synchronous_share": 0.3,
        },
    ).get_json()
    group = client.post(
        f"/api/v1/orders/{order['id']}/groups",
        headers=h,
        json={"name": "Groupe 1", "component": "Bureautique", "trainer_ids": [trainer.id]},
    ).get_json()
    trainees = []
    for i in range(n):
        trainee = make_trainee(org, f"Stagiaire{i}")
        enrolled = client.post(
            f"/api/v1/groups/{group['id']}/enrolments",
            headers=h,
            json={
                "trainee_id": trainee.id,
                "entry_date": today.isoformat(),
                "planned_centre_hours": 100,
                "planned_company_hours": 0,
            },
        )
        assert enrolled.status_code == 201, enrolled.get_json()
        trainees.append(trainee)
    return Org(org, admin, trainer, group["id"], trainees)


def plan_session(
    app: Flask,
    client: FlaskClient,
    org: Org,
    day: date = DAY,
    start: int = 9,
    end: int = 12,
    kind: str = "tutorat",
    **extra: Any,
) -> dict:
    body = {
        "kind": kind,
        "title": f"{kind.capitalize()} {start}h",
        "starts_at": paris(day, start),
        "ends_at": paris(day, end),
    }
    body.update(extra)
    response = client.post(
        f"/api/v1/groups/{org.group_id}/sessions", headers=bearer(app, org.admin), json=body
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def book(app: Flask, client: FlaskClient, org: Org, site_id: str, trainee: Trainee, **body: Any):  # noqa: ANN201
    payload = {"trainee_id": trainee.id, **body}
    return client.post(
        f"/api/v1/sites/{site_id}/bookings", json=payload, headers=bearer(app, org.admin)
    )


def free_slot(day: date = DAY, start: int = 9, end: int = 12) -> dict[str, str]:
    return {"starts_at": paris(day, start), "ends_at": paris(day, end)}
