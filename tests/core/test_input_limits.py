"""Input the database or the code cannot hold is refused with 400 (or 413), never a 500.

Each class of issue 7, item 5: dates outside what the code computes with, integers and texts
outside their columns, a NUL character anywhere (PostgreSQL refuses it in text), JSON nested
deeper than any real body, bodies larger than any real one. A refused request stores nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Role, Trainee, User
from tests.conftest import api_error, bearer, make_tenant, make_user, order_data
from training.models import Order, RegroupementAuthorisation


@pytest.fixture
def tenant(app, client):
    return make_tenant(app, client, "Limites")


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_a_date_out_of_range_is_refused(app, client, tenant, start):
    answer = client.get(f"/api/v1/sessions?start={start}", headers=bearer(app, tenant.trainer))
    error = api_error(answer, 400, "invalid_input")
    assert "start" in error["details"]["query"]


def test_dates_in_the_supported_range_are_answered(app, client, tenant):
    for start in ("1900-01-01", "2100-12-31"):
        answer = client.get(f"/api/v1/sessions?start={start}", headers=bearer(app, tenant.trainer))
        assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "2200-01-01T09:00:00+01:00"]
)
def test_a_datetime_out_of_range_is_refused(app, client, tenant, when):
    answer = client.post(
        f"/api/v1/groups/{tenant.group_id}/sessions",
        headers=bearer(app, tenant.admin),
        json={"kind": "tutorat", "title": "Hors limites", "starts_at": when, "ends_at": when},
    )
    api_error(answer, 400, "invalid_input")


@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_an_order_date_out_of_range_is_refused(app, client, tenant, field):
    data = order_data(**{field: "0001-01-01"})
    answer = client.post("/api/v1/orders", json=data, headers=bearer(app, tenant.admin))
    api_error(answer, 400, "invalid_input")
    assert Order.query.filter_by(number=data["number"]).count() == 0


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("headcount", [2**31, -1, 0, 10**20])
def test_an_integer_out_of_its_column_is_refused(app, client, tenant, headcount):
    data = order_data(forecast_headcount=headcount)
    answer = client.post("/api/v1/orders", json=data, headers=bearer(app, tenant.admin))
    api_error(answer, 400, "invalid_input")
    patched = client.patch(
        f"/api/v1/orders/{tenant.order_id}",
        json={"forecast_headcount": headcount},
        headers=bearer(app, tenant.admin),
    )
    api_error(patched, 400, "invalid_input")
    assert Order.query.filter_by(number=data["number"]).count() == 0


def test_infinite_hours_are_refused(app, client, tenant):
    body = '{"trainee_id": "%s", "entry_date": "2025-01-06", "planned_centre_hours": 1e400}'
    answer = client.post(
        f"/api/v1/groups/{tenant.group_id}/enrolments",
        data=body % tenant.trainee.id,
        content_type="application/json",
        headers=bearer(app, tenant.admin),
    )
    api_error(answer, 400, "invalid_input")


# --- texts -------------------------------------------------------------------------------


def test_a_text_longer_than_its_column_is_refused(app, client, tenant):
    answer = client.post(
        "/api/v1/trainees",
        headers=bearer(app, tenant.admin),
        json={"first_name": "A", "last_name": "B", "email": "a@b.fr", "phone": "+33 6 12 34 56 78"},
    )
    assert answer.status_code == 201, answer.get_json()
    long_mail = "a" * 64 + "@" + ("b" * 60 + ".") * 4 + "fr"
    answer = client.post(
        "/api/v1/trainees",
        headers=bearer(app, tenant.admin),
        json={"first_name": "A", "last_name": "B", "email": long_mail},
    )
    api_error(answer, 400, "invalid_input")


NUL = "\u0000"


def nul_requests(tenant, region):
    """(who, method, path, json) of one text field per JSON route that stores text."""
    return [
        (tenant.admin, "post", "/api/v1/trainees",
         {"first_name": f"Ami{NUL}na", "last_name": "Nom", "email": "nul@example.fr"}),
        (tenant.admin, "patch", f"/api/v1/trainees/{tenant.trainee.id}", {"last_name": f"X{NUL}"}),
        (tenant.admin, "post", "/api/v1/orders", order_data(number=f"BC{NUL}1")),
        (tenant.admin, "patch", f"/api/v1/orders/{tenant.order_id}", {"title": f"T{NUL}"}),
        (tenant.admin, "post", f"/api/v1/orders/{tenant.order_id}/groups",
         {"name": f"G{NUL}", "component": "Anglais"}),
        (region, "post", f"/api/v1/groups/{tenant.group_id}/regroupement-authorisations",
         {"session_date": "2025-03-03", "reason": f"Examen{NUL} final"}),
        (tenant.trainer, "post", f"/api/v1/sessions/{tenant.session_id}/sign-in-codes",
         {"trainee_ids": [f"{tenant.trainee.id}{NUL}"]}),
        (tenant.trainer, "post", f"/api/v1/sessions/{tenant.session_id}/absences",
         {"trainee_id": tenant.trainee.id, "reason": f"Malade{NUL}", "justified": True}),
        (None, "post", "/api/v1/sign-ins", {"code": f"ABCD{NUL}EFGH"}),
        (None, "post", "/api/v1/sign-outs", {"code": f"ABCD{NUL}EFGH"}),
        (None, "post", "/api/v1/auth/login", {"email": f"a{NUL}@b.fr", "password": "x"}),
        (None, "post", "/api/v1/auth/trainee", {"code": f"ABCD{NUL}EFGH"}),
        (region, "post", "/api/v1/organisations", {"name": f"O{NUL}F", "siret": "12345678901234"}),
        (region, "post", "/api/v1/users",
         {"email": "nul@example.fr", "password": "p", "role": "region",
          "first_name": f"A{NUL}", "last_name": "B"}),
        (tenant.admin, "post", "/api/v1/trainees",
         {f"first{NUL}_name": "A", "last_name": "Nom", "email": "nul@example.fr"}),
    ]  # fmt: skip


def test_a_nul_character_in_any_json_text_is_refused_and_nothing_stored(app, client, tenant):
    region = make_user(Role.REGION)
    before = counts()
    for who, method, path, body in nul_requests(tenant, region):
        headers = bearer(app, who) if who else {}
        answer = getattr(client, method)(path, json=body, headers=headers)
        error = api_error(answer, 400, "invalid_input")
        assert "caractère" in error["message"], (path, error)
    assert counts() == before


def counts() -> tuple[int, ...]:
    def count(query: Any) -> int:
        return int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    return (
        count(select(Trainee)),
        count(select(Order)),
        count(select(User)),
        count(select(RegroupementAuthorisation)),
        count(select(Trainee).where(Trainee.last_name.like("X%"))),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders?cursor=%00",
        "/api/v1/sessions?start=2025-01-01%00",
        "/api/v1/sessions/%00",
        "/api/v1/trainees/abc%00def",
        "/api/v1/orders?limit=5&x%00=1",
    ],
)
def test_a_nul_character_in_the_address_is_refused(app, client, tenant, path):
    api_error(client.get(path, headers=bearer(app, tenant.admin)), 400, "invalid_input")


def test_the_login_form_refuses_a_nul_character_in_french(client):
    before = counts()
    answer = client.post("/connexion", data={"email": f"a{NUL}@b.fr", "password": "x"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "<html" in page
    assert "caractère" in page
    assert counts() == before


def test_a_page_address_with_a_nul_character_is_refused_in_french(app, client, tenant):
    with client.session_transaction() as cookie:
        cookie.update({"kind": "staff", "uid": tenant.admin.id, "since": 2**40})
    answer = client.get("/stagiaires/%00")
    assert answer.status_code == 400
    assert "caractère" in answer.get_data(as_text=True)


def test_a_lone_surrogate_is_refused(app, client, tenant):
    body = '{"first_name": "A\\ud800", "last_name": "Nom", "email": "s@example.fr"}'
    answer = client.post(
        "/api/v1/trainees",
        data=body,
        content_type="application/json",
        headers=bearer(app, tenant.admin),
    )
    api_error(answer, 400, "invalid_input")


def test_ordinary_escapes_are_accepted(app, client, tenant):
    body = json.dumps({"first_name": "Éloïse", "last_name": "N\\u00e9", "email": "e@example.fr"})
    answer = client.post(
        "/api/v1/trainees",
        data=body,
        content_type="application/json",
        headers=bearer(app, tenant.admin),
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["first_name"] == "Éloïse"


# --- depth and size of bodies ------------------------------------------------------------


def json_routes(app, tenant):
    """Every API route taking a body, with the tenant's ids in its path."""
    ids = {
        "order_id": tenant.order_id,
        "group_id": tenant.group_id,
        "session_id": tenant.session_id,
        "trainee_id": tenant.trainee.id,
        "enrolment_id": tenant.enrolment_id,
        "invitation_id": tenant.invitation_id,
        "organisation_id": tenant.org.id,
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: ids.get(m[1], "x"), rule.rule)
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield method.lower(), path


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_deeply_nested_json_is_refused_on_every_route(app, client, tenant, depth):
    routes = list(json_routes(app, tenant))
    assert {("post", "/api/v1/sign-ins"), ("post", "/api/v1/auth/login")} <= set(routes)
    for anonymous in (True, False):
        headers = {} if anonymous else bearer(app, tenant.admin)
        for method, path in routes:
            answer = getattr(client, method)(
                path, data=nested(depth), content_type="application/json", headers=headers
            )
            error = api_error(answer, 400, "invalid_input")
            assert "imbriqu" in error["message"], (path, error)


def test_reasonably_nested_json_reaches_the_schema(app, client, tenant):
    answer = client.post(
        "/api/v1/trainees",
        data=json.dumps({"first_name": [[[[["A"]]]]], "last_name": "N", "email": "n@example.fr"}),
        content_type="application/json",
        headers=bearer(app, tenant.admin),
    )
    error = api_error(answer, 400, "invalid_input")
    assert "first_name" in error["details"]["json"]


def test_a_body_too_large_is_refused_with_413(app, client, tenant):
    big = json.dumps({"code": "A" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    admin = bearer(app, tenant.admin)
    for path, headers in (("/api/v1/sign-ins", {}), ("/api/v1/trainees", admin)):
        answer = client.post(path, data=big, content_type="application/json", headers=headers)
        api_error(answer, 413, "too_large")
