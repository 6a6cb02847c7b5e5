"""The OpenAPI description is served, valid, and generated from the code's routes."""

from __future__ import annotations

import re

import pytest

CONTRACT_PATHS = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/trainee"),
    ("post", "/api/v1/trainees/{trainee_id}/invitations"),
    ("post", "/api/v1/organisations"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/orders"),
    ("post", "/api/v1/orders/{order_id}/groups"),
    ("post", "/api/v1/trainees"),
    ("post", "/api/v1/groups/{group_id}/enrolments"),
    ("post", "/api/v1/groups/{group_id}/sessions"),
    ("get", "/api/v1/groups/{group_id}/sessions"),
}
PUBLIC = {("post", "/api/v1/auth/login"), ("post", "/api/v1/auth/trainee")}


@pytest.fixture
def spec(client) -> dict:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.is_json
    return answer.get_json()


def test_it_is_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"]
    assert spec["info"]["version"] == "v1"


def test_it_holds_every_contract_path(spec):
    present = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert not CONTRACT_PATHS - present, CONTRACT_PATHS - present


def test_it_describes_every_api_route_of_the_app(app, spec):
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("/openapi.json"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, f"routes missing from the OpenAPI description: {missing}"


def test_protected_operations_declare_the_bearer_scheme(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for method, path in CONTRACT_PATHS - PUBLIC:
        assert {"bearerAuth": []} in spec["paths"][path][method].get("security", []), path


def test_rule_refusals_are_documented(spec):
    enrol = spec["paths"]["/api/v1/groups/{group_id}/enrolments"]["post"]["responses"]
    assert "422" in enrol
    assert "201" in enrol


def test_it_is_a_valid_openapi_document(spec):
    from openapi_spec_validator import validate

    validate(spec)
