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
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue  # the document itself and its page for people
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


def each_operation(spec):  # noqa: ANN001, ANN201
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", path, operation


def test_every_operation_has_a_summary(spec):
    missing = [
        label for label, _, operation in each_operation(spec) if not operation.get("summary")
    ]
    assert not missing, f"operations without a summary (the view's docstring): {missing}"


def test_every_operation_lists_its_statuses_without_a_catch_all(spec):
    """The statuses each operation answers are listed: no `default` that would allow any."""
    for label, path, operation in each_operation(spec):
        answers = operation["responses"]
        assert "default" not in answers, label
        assert "400" in answers, label  # any request can be malformed (core.guards)
        if operation.get("security"):
            assert "401" in answers, label
        if isinstance(operation.get("x-roles"), list):
            assert "403" in answers, label
        if "{" in path:
            assert "404" in answers, label
        if "requestBody" in operation:
            assert "413" in answers, label


def test_invalid_arguments_are_documented_as_400_not_422(spec):
    orders = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert "400" in orders
    assert "422" not in orders


@pytest.mark.parametrize("image", ["png", "svg"])
def test_qr_images_are_documented_with_their_media_types(spec, image):
    answer = spec["paths"][f"/api/v1/sessions/{{session_id}}/qr.{image}"]["get"]["responses"]
    media = {"png": "image/png", "svg": "image/svg+xml"}[image]
    assert list(answer["200"]["content"]) == [media]


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)""", re.I)


def test_the_documentation_page_is_served_by_the_app_alone(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert not EXTERNAL.search(html), "the page loads nothing from another site"
    assert '"validatorUrl": null' in html, "no badge fetched from the Swagger validator"
    assets = re.findall(r"""(?:src|href)="([^"]+)""", html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui.css", "swagger-ui-bundle.js"}
    for asset in assets:
        with client.get(asset) as answer:  # a file: closed with the answer
            assert answer.status_code == 200, asset
            assert answer.mimetype in ("text/css", "text/javascript"), asset
            text = answer.get_data(as_text=True)
        urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text)
        assert all(url.startswith("data:") for url in urls), asset
    spec_url = re.search(r'url: "([^"]+)"', html)[1]
    assert client.get(spec_url).is_json


def test_only_the_assets_of_the_page_are_served(client):
    for name in ("index.html", "swagger-initializer.js", "..%2F__init__.py", "nothing.js"):
        assert client.get(f"/api/v1/docs/assets/{name}").status_code == 404, name
