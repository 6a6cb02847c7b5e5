"""Who gets a certificate: the organisation's admin (its own enrolments only) and the trainee
(their own only); others 403, another tenant's or trainee's 404, the public only verifies."""

from __future__ import annotations

import pytest

from core.models import Role
from tests.certificates.certificate_support import MONTH, held_month, ok
from tests.conftest import api_error, bearer, make_tenant, make_user


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def urls(enrolment_id: str) -> list[str]:
    return [
        f"/api/v1/enrolments/{enrolment_id}/certificate.pdf",
        f"/api/v1/enrolments/{enrolment_id}/attendance-certificate.pdf?month={MONTH}",
    ]


def test_the_trainee_gets_their_own_certificates_only(app, client, month):
    for url in urls(month.tenant.enrolment_id):
        assert ok(client.get(url, headers=month.amina.headers), 200).mimetype == "application/pdf"
    for url in urls(month.bruno_enrolment_id):
        api_error(client.get(url, headers=month.amina.headers), 404)


def test_another_organisations_admin_gets_404(app, client, month):
    other = make_tenant(app, client, "Gamma")
    for url in urls(month.tenant.enrolment_id):
        api_error(client.get(url, headers=bearer(app, other.admin)), 404)
    for url in urls("no-such-enrolment"):
        api_error(client.get(url, headers=month.admin_h), 404)


@pytest.mark.parametrize("role", ["trainer", "finance", "region", "site_staff"])
def test_other_roles_are_refused(app, client, month, role):
    user = {
        "trainer": month.tenant.trainer,
        "finance": month.tenant.finance,
        "region": make_user(Role.REGION),
        "site_staff": make_user(Role.SITE_STAFF),
    }[role]
    for url in urls(month.tenant.enrolment_id):
        api_error(client.get(url, headers=bearer(app, user)), 403)


def test_the_public_gets_401_for_a_pdf_and_the_verification_only(app, client, month):
    for url in urls(month.tenant.enrolment_id):
        api_error(client.get(url), 401)
    short_id = ok(
        client.get(urls(month.tenant.enrolment_id)[0], headers=month.admin_h), 200
    ).headers["X-Certificate-Id"]
    answer = ok(client.get(f"/api/v1/certificates/{short_id}/verify"), 200).get_json()
    shown = str(answer)
    for secret in (
        month.tenant.enrolment_id,
        month.amina.id,
        month.tenant.org.id,
        month.tenant.trainee.last_name,
    ):
        assert secret not in shown
