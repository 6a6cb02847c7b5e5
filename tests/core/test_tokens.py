"""Bearer tokens: every forged, stale or malformed token gets 401 and no data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from tests.conftest import bearer

PROTECTED = ["/api/v1/me", "/api/v1/orders"]
AUTH_ERRORS = {"invalid_token", "token_expired", "not_authenticated", "revoked"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def raw_token(header: dict[str, Any], payload: dict[str, Any], key: bytes, digest=hashlib.sha256):  # noqa: ANN001, ANN201
    """A JWT assembled by hand, so that the header can lie about the algorithm."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def claims(app, tenant_a) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": tenant_a.admin.id,
        "typ": "staff",
        "aud": app.config["JWT_AUDIENCE"],
        "iat": now - 10,
        "exp": now + 3600,
        "role": "org_admin",
    }


@pytest.fixture
def secret(app) -> str:
    return app.config["JWT_SECRET"]


def refused(client, token_or_header: str, *, raw_header: bool = False) -> None:  # noqa: ANN001
    """Both protected endpoints answer 401 with an error code and nothing else."""
    header = token_or_header if raw_header else f"Bearer {token_or_header}"
    for url in PROTECTED:
        answer = client.get(url, headers={"Authorization": header})
        assert answer.status_code == 401, (url, answer.get_json())
        body = answer.get_json()
        assert set(body) == {"error"}, body
        assert body["error"]["code"] in AUTH_ERRORS, body
        assert body["error"]["message"].strip()


def test_a_valid_token_is_accepted(app, client, tenant_a, claims, secret):
    token = jwt.encode(claims, secret, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).get_json()["id"] == tenant_a.admin.id
    orders = client.get("/api/v1/orders", headers=headers).get_json()
    assert [o["id"] for o in orders["items"]] == [tenant_a.order_id]


def test_the_scheme_name_is_not_case_sensitive(client, claims, secret):
    token = jwt.encode(claims, secret, algorithm="HS256")
    assert client.get("/api/v1/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_alg_none_is_refused(client, claims):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    refused(client, f"{header}.{payload}.")
    refused(client, f"{header}.{payload}")


def test_token_signed_with_another_key_is_refused(client, claims):
    refused(client, jwt.encode(claims, "another-secret-of-sufficient-length-0123456789"))


def test_hs512_token_is_refused_even_with_the_right_key(client, claims, secret):
    refused(
        client, raw_token({"alg": "HS512", "typ": "JWT"}, claims, secret.encode(), hashlib.sha512)
    )


def test_rs256_declared_header_is_refused(client, claims, secret):
    """Algorithm confusion: an RS256 header over an HMAC made with the shared secret."""
    token = raw_token({"alg": "RS256", "typ": "JWT"}, claims, secret.encode())
    refused(client, token)


def test_hand_made_hs256_token_is_accepted_so_the_forgeries_above_are_meaningful(
    client, claims, secret
):
    token = raw_token({"alg": "HS256", "typ": "JWT"}, claims, secret.encode())
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_tampered_payload_is_refused(client, claims, secret, region):
    token = jwt.encode(claims, secret, algorithm="HS256")
    header, _, signature = token.split(".")
    forged = dict(claims, sub=region.id, role="region")
    refused(client, f"{header}.{b64(json.dumps(forged).encode())}.{signature}")


def test_wrong_audience_is_refused(client, claims, secret):
    refused(client, jwt.encode(dict(claims, aud="another-api"), secret, algorithm="HS256"))


@pytest.mark.parametrize("typ", ["qr", "refresh", "", "STAFF"])
def test_wrong_token_type_is_refused(client, claims, secret, typ):
    refused(client, jwt.encode(dict(claims, typ=typ), secret, algorithm="HS256"))


def test_staff_subject_in_a_trainee_token_is_refused(client, claims, secret):
    refused(client, jwt.encode(dict(claims, typ="trainee"), secret, algorithm="HS256"))


def test_expired_token_is_refused_with_its_own_code(app, client, tenant_a):
    headers = bearer(app, tenant_a.admin, ttl_s=-1)
    for url in PROTECTED:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 401
        assert answer.get_json()["error"]["code"] == "token_expired"
        assert "expiré" in answer.get_json()["error"]["message"]


def test_token_issued_in_the_future_is_refused(client, claims, secret):
    later = int(time.time()) + 3600
    refused(client, jwt.encode(dict(claims, iat=later, exp=later + 60), secret, algorithm="HS256"))


@pytest.mark.parametrize("claim", ["exp", "iat", "aud", "sub", "typ"])
def test_token_missing_a_required_claim_is_refused(client, claims, secret, claim):
    partial = {k: v for k, v in claims.items() if k != claim}
    refused(client, jwt.encode(partial, secret, algorithm="HS256"))


def test_token_of_an_unknown_user_is_refused(client, claims, secret):
    refused(client, jwt.encode(dict(claims, sub="0" * 24), secret, algorithm="HS256"))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer ",
        "Bearer",
        "garbage",
        "Token abc",
        "Bearer eyJhbGciOiJIUzI1NiJ9..",
    ],
)
def test_garbage_authorization_headers_are_refused(client, header):
    refused(client, header, raw_header=True)


def test_basic_scheme_with_valid_credentials_is_refused(client, tenant_a):
    from tests.conftest import PASSWORD

    basic = base64.b64encode(f"{tenant_a.admin.email}:{PASSWORD}".encode()).decode()
    refused(client, f"Basic {basic}", raw_header=True)


def test_token_in_the_query_string_is_not_read(client, claims, secret):
    token = jwt.encode(claims, secret, algorithm="HS256")
    for url in PROTECTED:
        answer = client.get(f"{url}?access_token={token}")
        assert answer.status_code == 401
        assert set(answer.get_json()) == {"error"}


def test_each_request_is_judged_on_its_own_token(app, client, tenant_a, tenant_b):
    """The caller of one request never carries over to the next one."""
    first = client.get("/api/v1/me", headers=bearer(app, tenant_a.admin)).get_json()
    second = client.get("/api/v1/me", headers=bearer(app, tenant_b.trainer)).get_json()
    assert (first["id"], second["id"]) == (tenant_a.admin.id, tenant_b.trainer.id)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer x"}).status_code == 401
