"""Capacity under concurrency (issue 10, item 3): 100 booking requests released at the same
instant for a 10-seat slot, each on its own client, thread and database connection, give
exactly 10 confirmed and 90 refused or waitlisted, and no 500. The site's row lock serialises
them (SELECT … FOR UPDATE), never a check-then-insert side by side.

100 threads need PostgreSQL (TEST_DATABASE_URL=postgresql…); SQLite, one writer at a time and
no row locks, runs the test with a handful of threads only."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Trainee
from sites.models import Booking
from tests.attendance.test_concurrency import at_once
from tests.conftest import bearer, make_trainee
from tests.sites.support import create_site, free_slot, make_org_with_trainees

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
CASES = [
    pytest.param(
        100,
        10,
        id="100-requests-10-seats",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not ON_POSTGRES, reason="100 concurrent writers need PostgreSQL"),
        ],
    ),
]


class _Empty:
    """A 204 answer, which has no JSON body, as `at_once` reads answers."""

    def __init__(self, response) -> None:  # noqa: ANN001
        self.status_code = response.status_code

    def get_json(self) -> dict:
        return {}


def _trainees(org, n: int) -> list[Trainee]:  # noqa: ANN001
    return [make_trainee(org.org, f"T{i}") for i in range(n)]


@pytest.mark.parametrize(("requests", "seats"), CASES)
@pytest.mark.parametrize("waitlist", [False, True], ids=["refused", "waitlisted"])
def test_simultaneous_bookings_never_exceed_the_seats_R14(
    app, client, region, requests, seats, waitlist
):
    site = create_site(app, client, region, seats=seats)
    org = make_org_with_trainees(app, client, 0)
    trainees = _trainees(org, requests)
    h = bearer(app, org.admin)
    slot = free_slot()

    def request_for(trainee: Trainee):  # noqa: ANN202
        body = {"trainee_id": trainee.id, "waitlist": waitlist, **slot}
        return lambda c: c.post(f"/api/v1/sites/{site['id']}/bookings", json=body, headers=h)

    answers = at_once(app, [request_for(t) for t in trainees])
    statuses = Counter(status for status, _ in answers)
    assert statuses[201] == seats, statuses
    if waitlist:
        assert statuses[202] == requests - seats, statuses
    else:
        assert statuses[409] == requests - seats, statuses
        assert {body["error"]["code"] for status, body in answers if status == 409} == {"site_full"}
    db.session.rollback()
    stored = dict(
        db.session.execute(select(Booking.status, func.count()).group_by(Booking.status)).all()
    )
    assert stored.get("confirmed") == seats
    assert stored.get("waitlisted", 0) == (requests - seats if waitlist else 0)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent cancellations need PostgreSQL")
def test_simultaneous_cancellations_promote_each_waitlisted_once(app, client, region):
    site = create_site(app, client, region, seats=5)
    org = make_org_with_trainees(app, client, 0)
    trainees = _trainees(org, 15)
    h = bearer(app, org.admin)
    ids = []
    for t in trainees:
        r = client.post(
            f"/api/v1/sites/{site['id']}/bookings",
            json={"trainee_id": t.id, "waitlist": True, **free_slot()},
            headers=h,
        )
        ids.append((r.status_code, r.get_json()["id"]))
    confirmed = [i for s, i in ids if s == 201]
    assert len(confirmed) == 5
    answers = at_once(
        app,
        [lambda c, i=i: _Empty(c.delete(f"/api/v1/bookings/{i}", headers=h)) for i in confirmed],
    )
    assert Counter(s for s, _ in answers) == {204: 5}
    db.session.rollback()
    rows = db.session.execute(
        select(Booking.id, Booking.status).order_by(Booking.waitlisted_at, Booking.id)
    ).all()
    status = dict(rows)
    waitlisted_in_order = [i for s, i in ids if s == 202]
    assert [status[i] for i in waitlisted_in_order] == ["confirmed"] * 5 + ["waitlisted"] * 5
