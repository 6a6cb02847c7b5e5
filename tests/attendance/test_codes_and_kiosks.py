"""Personal codes serve one half-day (one signature per trainee, session and half-day) and a
site's kiosk signs only the sessions held at its site."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attendance.signin_pages
from core.extensions import db
from core.models import Role
from sites.models import Site
from tests.attendance.support import DAY, at, count_rows, enrol, open_session, plan
from tests.conftest import PASSWORD, api_error, bearer, make_user

SIGN_INS = "/api/v1/sign-ins"
SIGN_OUTS = "/api/v1/sign-outs"
OPENS, ENDS = at(DAY, 8, 45), at(DAY, 17, 0)  # a 09:00–17:00 session signs from 08:45


def issue_code(client, headers, session_id, trainee_id) -> str:  # noqa: ANN001
    answer = client.post(
        f"/api/v1/sessions/{session_id}/sign-in-codes",
        json={"trainee_ids": [trainee_id]},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()[0]["code"]


@pytest.fixture
def day_session(app, client, tenant_a, clock, trainer_h):
    """A tutorat 09:00–17:00 (Paris), across 13:00: two half-days; opened at 08:50."""
    sid = plan(app, client, tenant_a, start=(9, 0), end=(17, 0))
    open_session(client, trainer_h, sid)
    return sid


def half_of(moment: datetime) -> str:
    return "am" if moment < at(DAY, 13, 0) else "pm"


# --- R: a personal code serves one half-day ------------------------------------------------------


def test_a_code_used_in_the_morning_does_not_sign_the_afternoon(
    client, day_session, trainer_h, amina, clock
):
    """Issue 7, defect 2: 09:05 → 201 am; the same code at 14:00 was 201 pm (a 2nd signature)."""
    code = issue_code(client, trainer_h, day_session, amina.id)
    clock.set(9, 5)
    morning = client.post(SIGN_INS, json={"code": code})
    assert (morning.status_code, morning.get_json()["half_day"]) == (201, "am")
    clock.set(14, 0)
    error = api_error(client.post(SIGN_INS, json={"code": code}), 409, "code_used")
    assert "matin" in error["message"]
    assert count_rows(day_session, kind="sign_in") == 1
    fresh = issue_code(client, trainer_h, day_session, amina.id)
    afternoon = client.post(SIGN_INS, json={"code": fresh})
    assert (afternoon.status_code, afternoon.get_json()["half_day"]) == (201, "pm")


def test_a_morning_code_does_not_sign_an_afternoon_departure(
    client, day_session, trainer_h, amina, clock
):
    code = issue_code(client, trainer_h, day_session, amina.id)
    clock.set(9, 5)
    assert client.post(SIGN_INS, json={"code": code}).status_code == 201
    clock.set(15, 0)
    api_error(client.post(SIGN_OUTS, json={"code": code}), 409, "code_used")
    assert count_rows(day_session, kind="sign_out") == 0


moments = st.integers(min_value=0, max_value=int((ENDS - OPENS).total_seconds()) - 1).map(
    lambda s: OPENS + timedelta(seconds=s)
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=moments, second=moments, departure=st.booleans())
def test_property_a_code_signs_once_per_half_day_whatever_the_times(
    app, client, tenant_a, day_session, trainer_h, clock, first, second, departure
):
    """Whatever two times a code is typed at (arrival then arrival, or arrival then departure),
    it makes at most one record of each kind, all in the half-day of its first use."""
    first, second = sorted((first, second))
    learner = enrol(app, client, tenant_a, "Inès")
    code = issue_code(client, trainer_h, day_session, learner.id)
    clock.now = first
    assert client.post(SIGN_INS, json={"code": code}).status_code == 201
    clock.now = second
    again = client.post(SIGN_OUTS if departure else SIGN_INS, json={"code": code})
    if half_of(second) != half_of(first):
        assert again.status_code == 409, again.get_json()
        assert again.get_json()["error"]["code"] == "code_used"
    else:
        assert again.status_code == 200, again.get_json()
        assert again.get_json()["half_day"] == half_of(first)
    assert count_rows(day_session, signer_id=learner.id, kind="sign_in") == 1
    signed_out = count_rows(day_session, signer_id=learner.id, kind="sign_out")
    assert signed_out == (1 if departure and half_of(second) == half_of(first) else 0)


# --- Kiosks: only the sessions held at their site ------------------------------------------------


def make_site(name: str = "Figeac") -> Site:
    site = Site(name=f"Site de {name}", department="46", city=name, seats=8, opening_hours={})
    db.session.add(site)
    db.session.commit()
    return site


@pytest.fixture
def session_at_site(app, client, tenant_a, clock, trainer_h):
    site = make_site()
    sid = plan(app, client, tenant_a, site_id=site.id)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    return sid, site


def test_a_kiosk_refuses_a_code_of_a_regroupement_held_at_no_site_and_records_nothing(
    app, client, tenant_a, clock, trainer_h, amina
):
    """Issue 7, defect 3: the animator of a site typed a code of a session held at no site →
    it was 201 `kiosk` attributed to that site. A regroupement held in a room (no site) is
    still refused: 403 `wrong_site`, the code unused. (A distance session followed from the
    site's PC is accepted since issue 10, item 5: tests/sites/test_kiosk.py.)"""
    sid = plan(app, client, tenant_a, kind="regroupement", regroupement_reason="examen")
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    code = issue_code(client, trainer_h, sid, amina.id)
    staff = make_user(Role.SITE_STAFF, site_id=make_site("Millau").id)
    api_error(
        client.post(SIGN_INS, json={"code": code}, headers=bearer(app, staff)), 403, "wrong_site"
    )
    assert count_rows(sid) == 0
    at_centre = client.post(SIGN_INS, json={"code": code})  # the code was not used up
    assert (at_centre.status_code, at_centre.get_json()["channel"]) == (201, "centre")


def test_a_kiosk_refuses_a_code_of_a_session_held_at_another_site(
    app, client, session_at_site, trainer_h, amina
):
    sid, _ = session_at_site
    code = issue_code(client, trainer_h, sid, amina.id)
    staff = make_user(Role.SITE_STAFF, site_id=make_site("Rodez").id)
    for path in (SIGN_INS, SIGN_OUTS):
        api_error(
            client.post(path, json={"code": code}, headers=bearer(app, staff)), 403, "wrong_site"
        )
    assert count_rows(sid) == 0


def test_a_kiosk_signs_a_session_held_at_its_site(app, client, session_at_site, trainer_h, amina):
    sid, site = session_at_site
    code = issue_code(client, trainer_h, sid, amina.id)
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    answer = client.post(SIGN_INS, json={"code": code}, headers=bearer(app, staff))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["method"], body["channel"], body["trainee_id"]) == (
        "kiosk",
        f"site:{site.id}",
        amina.id,
    )


def test_the_kiosk_page_says_why_in_french_and_records_nothing(
    app, client, tenant_a, clock, trainer_h, amina, monkeypatch
):
    sid = plan(app, client, tenant_a, kind="regroupement", regroupement_reason="examen")
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    monkeypatch.setattr(attendance.signin_pages, "utcnow", clock)
    code = issue_code(client, trainer_h, sid, amina.id)
    staff = make_user(Role.SITE_STAFF, site_id=make_site("Albi").id)
    assert (
        client.post("/connexion", data={"email": staff.email, "password": PASSWORD}).status_code
        == 302
    )
    page = client.post("/code", data={"code": code, "action": "sign_in"})
    assert page.status_code == 403
    assert "n'a pas lieu sur ce site" in page.get_data(as_text=True).replace("&#39;", "'")
    assert count_rows(sid) == 0
