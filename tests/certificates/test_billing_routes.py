"""Who reads billing and realisation: finance, the organisation's admin and the Région; each
organisation its own orders only (404 for another's), trainers and trainees never (403). The
API answers as its OpenAPI document says (schemathesis)."""

from __future__ import annotations

import pytest

from core.models import Role
from tests.attendance.support import DAY, at, install_clock, plan, tenant_learner
from tests.certificates.billing_support import MONTH, hold
from tests.conftest import api_error, bearer, make_user
from tests.core.test_schemathesis import operations, run_operation, seed

ORDER_URLS = ["/api/v1/orders/{order}/billing", "/api/v1/orders/{order}/realisation"]


@pytest.mark.parametrize("url", ORDER_URLS)
@pytest.mark.parametrize("role", ["finance", "admin"])
def test_an_organisation_reads_its_own_orders_and_never_anothers(
    app, client, tenant_a, tenant_b, url, role
):
    headers = bearer(app, getattr(tenant_a, role))
    own = client.get(
        url.format(order=tenant_a.order_id), query_string={"month": MONTH}, headers=headers
    )
    assert own.status_code == 200, own.get_json()
    other = client.get(
        url.format(order=tenant_b.order_id), query_string={"month": MONTH}, headers=headers
    )
    api_error(other, 404)
    assert tenant_b.order_id not in other.get_data(as_text=True)


@pytest.mark.parametrize("url", [*ORDER_URLS, "/api/v1/billing"])
def test_trainers_trainees_and_site_staff_are_refused(app, client, tenant_a, url):
    learner = tenant_learner(app, tenant_a)
    site_staff = make_user(Role.SITE_STAFF)
    for headers in (bearer(app, tenant_a.trainer), learner.headers, bearer(app, site_staff)):
        answer = client.get(
            url.format(order=tenant_a.order_id), query_string={"month": MONTH}, headers=headers
        )
        api_error(answer, 403)


@pytest.mark.parametrize("url", [*ORDER_URLS, "/api/v1/billing"])
def test_anonymous_callers_are_refused(client, tenant_a, url):
    answer = client.get(url.format(order=tenant_a.order_id), query_string={"month": MONTH})
    api_error(answer, 401)


@pytest.mark.parametrize("month", ["", "2026-13", "26-03", "0001-01", "2026-3"])
def test_a_month_not_written_yyyy_mm_is_refused(app, client, tenant_a, month):
    answer = client.get(
        f"/api/v1/orders/{tenant_a.order_id}/billing",
        query_string={"month": month},
        headers=bearer(app, tenant_a.finance),
    )
    api_error(answer, 400, "invalid_input")


MONTH_DOWNLOADS = [
    ("/api/v1/orders/{order}/billing", "csv"),
    ("/api/v1/orders/{order}/billing", "xlsx"),
    ("/api/v1/billing", "csv"),
    ("/api/v1/billing", "xlsx"),
    ("/api/v1/orders/{order}/realisation", "csv"),
]


@pytest.mark.parametrize(("url", "fmt"), MONTH_DOWNLOADS)
@pytest.mark.parametrize("month", [f"{MONTH}\n", f"{MONTH}\r\n", f"{MONTH}\n\n"])
def test_r11_r18_a_month_with_a_trailing_newline_is_400_not_a_broken_download(
    app, client, tenant_a, url, fmt, month
):
    answer = client.get(
        url.format(order=tenant_a.order_id),
        query_string={"month": month, "format": fmt},
        headers=bearer(app, tenant_a.finance),
    )
    error = api_error(answer, 400, "invalid_input")
    assert error["details"]["query"]["month"] == ["Mois attendu au format AAAA-MM (1900 à 2100)."]


@pytest.mark.parametrize(("url", "fmt"), MONTH_DOWNLOADS)
def test_r11_r18_a_download_is_named_from_the_parsed_month(app, client, tenant_a, url, fmt):
    answer = client.get(
        url.format(order=tenant_a.order_id),
        query_string={"month": MONTH, "format": fmt},
        headers=bearer(app, tenant_a.finance),
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].endswith(f'-{MONTH}.{fmt}"')


def test_the_400_details_are_in_french(app, client, tenant_a):
    answer = client.get(
        f"/api/v1/orders/{tenant_a.order_id}/billing",
        query_string={"month": MONTH, "format": "pdf"},
        headers=bearer(app, tenant_a.finance),
    )
    details = api_error(answer, 400, "invalid_input")["details"]["query"]
    assert details["format"] == ["Choisissez une des valeurs proposées."]
    missing = client.get("/api/v1/billing", headers=bearer(app, tenant_a.finance))
    details = api_error(missing, 400, "invalid_input")["details"]["query"]
    assert details["month"] == ["Ce champ est obligatoire."]


def test_the_region_reads_every_order_and_an_organisation_its_own(
    app, client, tenant_a, tenant_b, region, monkeypatch
):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    for tenant in (tenant_a, tenant_b):
        sid = plan(app, client, tenant)
        hold(app, client, tenant, clock, sid, [tenant_learner(app, tenant)], close=(10, 0))
    everything = client.get(
        "/api/v1/billing", query_string={"month": MONTH}, headers=bearer(app, region)
    )
    assert everything.status_code == 200
    body = everything.get_json()
    assert {o["order_id"] for o in body["orders"]} == {tenant_a.order_id, tenant_b.order_id}
    assert body["totals"]["billable_hours"] == 2.0
    own = client.get(
        "/api/v1/billing", query_string={"month": MONTH}, headers=bearer(app, tenant_a.finance)
    ).get_json()
    assert [o["order_id"] for o in own["orders"]] == [tenant_a.order_id]
    assert own["totals"]["billable_hours"] == 1.0
    assert tenant_b.order_id not in str(own)


def test_the_billing_api_answers_as_its_document_says(app, client, monkeypatch):
    import schemathesis

    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    world = seed(app, client, monkeypatch)
    found = operations(api_schema, "billing")
    assert len(found) == 3
    failures = []
    for operation in found:
        failures += run_operation(app, operation, world)
    assert not failures, "\n\n".join(failures)
