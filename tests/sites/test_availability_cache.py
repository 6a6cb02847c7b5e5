"""R14: a department's availability is cached per version of its sites, and never served stale:
every change of a booking, a closure or a site bumps the site's version in its transaction."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.models import Role
from sites import reports
from sites.models import Site
from tests.conftest import bearer, make_user, paris
from tests.sites.support import (
    DAY,
    book,
    create_site,
    free_slot,
    make_org_with_trainees,
    plan_session,
)


@pytest.fixture
def computed(monkeypatch):
    """How many times the availability was computed (not answered from the cache)."""
    calls = []
    real = reports.availability

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(reports, "availability", counting)
    return calls


def _morning_free(client, org, site_id):  # noqa: ANN001, ANN202
    body = client.get(
        f"/api/v1/sites/availability?department=46&date={DAY}&days=1", headers=org.h
    ).get_json()
    [item] = [i for i in body["items"] if i["site"]["id"] == site_id]
    day = item["days"][0]
    return day["slots"][0]["free"] if day["open"] else day["closed_reason"]


def test_r14_a_repeated_search_is_answered_from_the_cache(app, client, region, computed):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    assert _morning_free(client, org, site["id"]) == 2
    assert _morning_free(client, org, site["id"]) == 2
    assert len(computed) == 1


def test_r14_every_change_of_seats_is_seen_at_once(app, client, region, computed):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    assert _morning_free(client, org, site["id"]) == 1
    first = book(app, client, org, site["id"], org.trainees[0], **free_slot()).get_json()
    assert _morning_free(client, org, site["id"]) == 0  # booked
    book(app, client, org, site["id"], org.trainees[1], waitlist=True, **free_slot())
    assert client.delete(f"/api/v1/bookings/{first['id']}", headers=org.h).status_code == 204
    assert _morning_free(client, org, site["id"]) == 0  # cancelled, the waitlist promoted
    closed = client.post(
        f"/api/v1/sites/{site['id']}/closures",
        json={"day": str(DAY), "reason": "Travaux"},
        headers=bearer(app, staff),
    )
    assert closed.status_code == 201
    assert _morning_free(client, org, site["id"]) == "Travaux"  # closed
    withdrawn = client.delete(
        f"/api/v1/sites/{site['id']}/closures/{DAY}", headers=bearer(app, region)
    )
    assert withdrawn.status_code == 204
    assert _morning_free(client, org, site["id"]) == 1  # open again, its bookings cancelled
    edited = client.patch(
        f"/api/v1/sites/{site['id']}", json={"seats": 3}, headers=bearer(app, region)
    )
    assert edited.status_code == 200
    assert _morning_free(client, org, site["id"]) == 3  # more seats
    assert len(computed) == 6  # each change computed once, never served from before it


def test_r14_a_moved_session_moves_its_seat_in_the_cached_availability(
    app, client, region, computed
):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 1)
    session = plan_session(app, client, org)
    book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    assert _morning_free(client, org, site["id"]) == 0
    moved = client.patch(
        f"/api/v1/sessions/{session['id']}",
        json={"starts_at": paris(DAY, 14), "ends_at": paris(DAY, 16)},
        headers=org.h,
    )
    assert moved.status_code == 200
    assert _morning_free(client, org, site["id"]) == 1


def test_r14_a_new_site_of_the_department_appears_at_once(app, client, region, computed):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    assert _morning_free(client, org, site["id"]) == 2
    other = create_site(app, client, region, name="Cyber-base", city="Cahors")
    assert _morning_free(client, org, other["id"]) == 2
    assert db.session.get(Site, other["id"]).version == 0
