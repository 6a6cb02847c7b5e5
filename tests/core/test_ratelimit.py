"""Failed sign-in attempts are counted per verified phone or account, never per raw header."""

from __future__ import annotations

from datetime import timedelta

import core.auth
from core.db import utcnow
from tests.conftest import api_error, bearer

SIGN_INS = "/api/v1/sign-ins"
FORGED_QR = "0" * 24 + ".1." + "A" * 22  # well formed, of no session: qr_invalid


def scan(client, phone: dict[str, str]):  # noqa: ANN001, ANN201
    """A phone sends a forged QR code: a failed attempt."""
    return client.post(SIGN_INS, json={"qr": FORGED_QR}, headers=phone)


def junk(n: int) -> dict[str, str]:
    """A different made-up Authorization header on each attempt."""
    return {"Authorization": f"Bearer junk-{n}" if n % 2 else f"Basic {n:08d}"}


def test_junk_authorization_headers_do_not_escape_the_api_sign_in_limit(client):
    for n in range(10):
        api_error(client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}, headers=junk(n)), 401)
    answer = client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}, headers=junk(10))
    api_error(answer, 429, "too_many_attempts")
    api_error(client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}), 429, "too_many_attempts")


def test_junk_authorization_headers_do_not_escape_the_code_page_limit(client):
    for n in range(10):
        answer = client.post("/code", data={"code": "ZZZZ-ZZZZ"}, headers=junk(n))
        assert 400 <= answer.status_code < 429, answer.status_code
    answer = client.post("/code", data={"code": "ZZZZ-ZZZZ"}, headers=junk(10))
    assert answer.status_code == 429
    assert "Trop de tentatives" in answer.get_data(as_text=True)


def test_two_valid_phones_are_counted_apart(app, client, tenant_a, tenant_b):
    phone_a = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    phone_b = bearer(app, tenant_b.trainee, dev=tenant_b.invitation_id)
    for _ in range(10):
        api_error(scan(client, phone_a), 400, "qr_invalid")
    api_error(scan(client, phone_a), 429, "too_many_attempts")
    api_error(scan(client, phone_b), 400, "qr_invalid")


def test_a_phone_is_counted_once_whatever_token_it_presents(app, client, tenant_a):
    for n in range(10):
        issued = utcnow() - timedelta(seconds=n)  # a distinct token each time
        phone = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id, now=issued)
        api_error(scan(client, phone), 400, "qr_invalid")
    phone = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id, ttl_s=7200)
    api_error(scan(client, phone), 429, "too_many_attempts")


def test_a_sign_in_decodes_the_bearer_once(app, client, tenant_a, monkeypatch):
    decoded = []
    original = core.auth.decode_token

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        decoded.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(core.auth, "decode_token", counting)
    phone = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    api_error(scan(client, phone), 400, "qr_invalid")
    kiosk = bearer(app, tenant_a.trainer)
    api_error(client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}, headers=kiosk), 400)
    assert len(decoded) == 2, "one decode per request"
