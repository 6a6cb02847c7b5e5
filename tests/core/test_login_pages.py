"""Browser sign-in: where login sends back, how long a staff cookie lasts, a revoked phone."""

from __future__ import annotations

import pytest

from core.models import Role
from tests.conftest import PASSWORD, bearer, make_user

REVOKED = "Ce téléphone n&#39;est plus relié à votre compte"


def staff_login(client, user, **query: str):  # noqa: ANN001, ANN201
    return client.post(
        "/connexion", query_string=query, data={"email": user.email, "password": PASSWORD}
    )


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/x\r\nSet-Cookie: a=b",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "\t//evil.example",
        " /commandes",
        "javascript:alert(1)",
        "commandes",
    ],
    ids=[
        "tab",
        "newline",
        "crlf",
        "two-slashes",
        "backslash",
        "https",
        "leading-tab",
        "leading-space",
        "javascript",
        "relative",
    ],
)
def test_login_sends_home_when_next_is_not_a_plain_local_path(client, target):
    answer = staff_login(client, make_user(Role.REGION), next=target)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


def test_login_with_a_nul_character_in_next_is_refused_and_goes_nowhere(client):
    answer = staff_login(client, make_user(Role.REGION), next="/\x00/evil.example")
    assert answer.status_code == 400  # core.guards: no NUL anywhere in a request
    assert "Location" not in answer.headers


def test_login_sends_back_to_a_local_path_with_its_query(client):
    answer = staff_login(client, make_user(Role.REGION), next="/commandes?page=2")
    assert answer.headers["Location"] == "/commandes?page=2"


def test_a_staff_browser_session_ends_after_the_staff_token_lifetime(app, client):
    staff_login(client, make_user(Role.REGION))
    assert client.get("/commandes").status_code == 200
    with client.session_transaction() as cookie:
        cookie["since"] -= app.config["JWT_STAFF_TTL_S"] + 1
    answer = client.get("/commandes")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/connexion?next=/commandes"
    with client.session_transaction() as cookie:
        assert "uid" not in cookie, "the stale cookie is signed out"


def test_a_staff_cookie_without_its_login_time_is_signed_out(client):
    staff_login(client, make_user(Role.REGION))
    with client.session_transaction() as cookie:
        del cookie["since"]
    assert client.get("/commandes").headers["Location"] == "/connexion?next=/commandes"


def test_a_revoked_phone_is_told_why_and_sent_to_the_invitation_page(app, client, tenant_a):
    with client.session_transaction() as cookie:
        cookie.update(kind="trainee", uid=tenant_a.trainee.id, dev=tenant_a.invitation_id)
    assert client.get("/").headers["Location"] != "/invitation"
    revoke = f"/api/v1/invitations/{tenant_a.invitation_id}/revoke"
    assert client.post(revoke, headers=bearer(app, tenant_a.admin)).status_code == 200
    answer = client.get("/")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/invitation")
    page = client.get("/invitation").get_data(as_text=True)
    assert REVOKED in page
    assert "demandez un nouveau code à votre organisme" in page
    later = client.get("/mes-seances")  # signed out now: an ordinary login, told only once
    assert later.headers["Location"].startswith("/connexion")
    assert REVOKED not in client.get("/invitation").get_data(as_text=True)
