"""Staff login, trainee invitations (one device each), account and organisation creation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import services
from core.db import utcnow
from core.errors import Gone
from core.models import Invitation, Organisation, Role, User
from sites.models import Site
from tests.conftest import PASSWORD, api_error, bearer, make_org, make_trainee, make_user


def login(client, email: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def me(client, token: str):  # noqa: ANN001, ANN201
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


# --- staff login -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ORG_ADMIN, Role.TRAINER, Role.FINANCE, Role.REGION])
def test_staff_login_returns_a_bearer_token_for_its_role(app, client, role):
    user = make_user(role, make_org() if role != Role.REGION else None)
    answer = login(client, user.email)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["token_type"] == "Bearer"
    assert body["role"] == role
    assert body["expires_in"] == app.config["JWT_STAFF_TTL_S"]
    who = me(client, body["access_token"])
    assert who.status_code == 200
    assert (who.get_json()["id"], who.get_json()["role"]) == (user.id, role)


def test_login_email_is_not_case_sensitive(client):
    user = make_user(Role.REGION)
    assert login(client, user.email.upper()).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(client):
    user = make_user(Role.REGION)
    wrong = api_error(login(client, user.email, "not the password"), 401, "invalid_credentials")
    unknown = api_error(login(client, "nobody@example.fr"), 401, "invalid_credentials")
    assert wrong == unknown


def test_deactivated_account_cannot_log_in(db, client):
    user = make_user(Role.TRAINER, make_org())
    token = login(client, user.email).get_json()["access_token"]
    user.is_active = False
    db.session.commit()
    api_error(login(client, user.email), 401, "invalid_credentials")
    api_error(me(client, token), 401)


@pytest.mark.parametrize(
    "body", [{}, {"email": "pas-une-adresse", "password": "x"}, {"email": "a@b.fr"}]
)
def test_malformed_login_is_400(client, body):
    api_error(client.post("/api/v1/auth/login", json=body), 400, "invalid_input")


def test_eleventh_login_attempt_within_a_minute_is_429(client):
    user = make_user(Role.REGION)
    for _ in range(10):
        api_error(login(client, user.email, "guess"), 401, "invalid_credentials")
    error = api_error(login(client, user.email), 429, "too_many_attempts")
    assert "minute" in error["message"]


# --- trainee invitations -----------------------------------------------------------------------


def invite(client, headers, trainee_id: str):  # noqa: ANN001, ANN201
    return client.post(f"/api/v1/trainees/{trainee_id}/invitations", headers=headers)


def redeem(client, code: str):  # noqa: ANN001, ANN201
    return client.post("/api/v1/auth/trainee", json={"code": code})


def test_invitation_gives_a_link_with_the_code_after_the_hash(app, db, client, tenant_a):
    trainee = make_trainee(tenant_a.org)
    answer = invite(client, bearer(app, tenant_a.admin), trainee.id)
    assert answer.status_code == 201
    body = answer.get_json()
    assert {"url", "code", "expires_at"} <= set(body)
    base, _, secret = body["url"].partition("#")
    assert secret == body["code"]
    assert base == f"{app.config['PUBLIC_BASE_URL']}/invitation"
    assert body["code"] not in base, "the secret never reaches server logs"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None
    ttl = timedelta(seconds=app.config["INVITATION_TTL_S"])
    assert abs(expires_at - (utcnow() + ttl)) < timedelta(minutes=1)
    stored = list(db.session.scalars(select(Invitation.code_digest)))
    assert all(body["code"] not in digest for digest in stored), "only a digest is stored"


def test_invitation_binds_one_device_once(app, client, tenant_a):
    trainee = make_trainee(tenant_a.org, first_name="Chloé")
    code = invite(client, bearer(app, tenant_a.admin), trainee.id).get_json()["code"]
    first = redeem(client, code)
    assert first.status_code == 200
    body = first.get_json()
    assert (body["token_type"], body["role"]) == ("Bearer", "trainee")
    assert body["expires_in"] == app.config["JWT_TRAINEE_TTL_S"]
    who = me(client, body["access_token"]).get_json()
    assert (who["id"], who["role"], who["name"]) == (trainee.id, "trainee", trainee.full_name)
    error = api_error(redeem(client, code), 409, "invitation_used")
    assert "appareil" in error["message"]
    assert "access_token" not in str(error)


def test_code_is_read_without_dash_or_case(app, client, tenant_a):
    trainee = make_trainee(tenant_a.org)
    code = invite(client, bearer(app, tenant_a.admin), trainee.id).get_json()["code"]
    assert redeem(client, code.replace("-", "").lower()).status_code == 200


def test_unknown_code_is_404(client):
    api_error(redeem(client, "ABCDE-FGHJK"), 404, "invalid_code")


def test_expired_invitation_is_410(app, db, client, tenant_a):
    trainee = make_trainee(tenant_a.org)
    body = invite(client, bearer(app, tenant_a.admin), trainee.id).get_json()
    invitation = db.session.get(Invitation, body["id"])
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    error = api_error(redeem(client, body["code"]), 410, "invitation_expired")
    assert "expiré" in error["message"]


def test_invitation_expires_after_its_lifetime(app, client, tenant_a):
    trainee = make_trainee(tenant_a.org)
    code = invite(client, bearer(app, tenant_a.admin), trainee.id).get_json()["code"]
    later = utcnow() + timedelta(seconds=app.config["INVITATION_TTL_S"] + 1)
    with pytest.raises(Gone) as excinfo:
        services.redeem_invitation(
            code, now=later, secret_key=app.config["SECRET_KEY"], device="test"
        )
    assert (excinfo.value.status, excinfo.value.code) == (410, "invitation_expired")
    assert redeem(client, code).status_code == 200, "still valid today"


def test_revoking_the_invitation_signs_the_device_out(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    trainee_h = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    assert client.get("/api/v1/me", headers=trainee_h).status_code == 200
    answer = client.post(f"/api/v1/invitations/{tenant_a.invitation_id}/revoke", headers=h)
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "revoked"
    error = api_error(client.get("/api/v1/me", headers=trainee_h), 401, "revoked")
    assert "appareil" in error["message"]
    api_error(client.get("/api/v1/enrolments", headers=trainee_h), 401)


def test_revoked_code_cannot_be_redeemed(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    trainee = make_trainee(tenant_a.org)
    body = invite(client, h, trainee.id).get_json()
    assert client.post(f"/api/v1/invitations/{body['id']}/revoke", headers=h).status_code == 200
    api_error(redeem(client, body["code"]), 410, "invitation_revoked")


def test_a_new_invitation_cancels_the_older_unused_one(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    trainee = make_trainee(tenant_a.org)
    old = invite(client, h, trainee.id).get_json()["code"]
    new = invite(client, h, trainee.id).get_json()["code"]
    assert old != new
    api_error(redeem(client, old), 410, "invitation_revoked")
    assert redeem(client, new).status_code == 200


def test_a_new_invitation_leaves_the_bound_phone_working(app, client, tenant_a):
    trainee_h = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    assert invite(client, bearer(app, tenant_a.admin), tenant_a.trainee.id).status_code == 201
    assert client.get("/api/v1/me", headers=trainee_h).status_code == 200


def test_token_of_another_device_binding_is_refused(app, client, tenant_a, tenant_b):
    """A trainee token names its binding: another trainee's binding does not fit."""
    forged = bearer(app, tenant_a.trainee, dev=tenant_b.invitation_id)
    api_error(client.get("/api/v1/me", headers=forged), 401, "revoked")


def test_only_the_organisation_admin_invites(app, client, tenant_a, tenant_b):
    api_error(invite(client, bearer(app, tenant_a.trainer), tenant_a.trainee.id), 403)
    api_error(invite(client, bearer(app, tenant_a.admin), tenant_b.trainee.id), 404)
    revoke = f"/api/v1/invitations/{tenant_b.invitation_id}/revoke"
    api_error(client.post(revoke, headers=bearer(app, tenant_a.admin)), 404)


# --- POST /api/v1/users ------------------------------------------------------------------------


def user_body(role: str, **fields: object) -> dict[str, object]:
    n = fields.pop("n", 0)
    return {
        "email": f"nouveau.{role}{n}@example.fr",
        "password": "un mot de passe solide",
        "role": role,
        "first_name": "Paul",
        "last_name": "Séverac",
        **fields,
    }


def count_users(db) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("role", [Role.TRAINER, Role.FINANCE, Role.ORG_ADMIN])
def test_org_admin_creates_staff_of_its_own_organisation(app, client, tenant_a, role):
    answer = client.post("/api/v1/users", json=user_body(role), headers=bearer(app, tenant_a.admin))
    assert answer.status_code == 201, answer.get_json()
    user = answer.get_json()
    assert (user["role"], user["organisation_id"]) == (role, tenant_a.org.id)
    assert "password" not in user
    assert "password_hash" not in user
    assert login(client, user["email"], "un mot de passe solide").get_json()["role"] == role


@pytest.mark.parametrize("role", [Role.REGION, Role.SITE_STAFF])
def test_org_admin_cannot_create_region_or_site_accounts(app, db, client, tenant_a, role):
    before = count_users(db)
    answer = client.post("/api/v1/users", json=user_body(role), headers=bearer(app, tenant_a.admin))
    api_error(answer, 403)
    assert count_users(db) == before


def test_org_admin_cannot_create_staff_in_another_organisation(app, db, client, tenant_a):
    other = make_org("Omega")
    before = count_users(db)
    body = user_body(Role.TRAINER, organisation_id=other.id)
    error = api_error(
        client.post("/api/v1/users", json=body, headers=bearer(app, tenant_a.admin)), 404
    )
    assert other.id not in str(error)
    assert count_users(db) == before


@pytest.mark.parametrize("who", ["trainer", "finance"])
def test_other_organisation_roles_cannot_create_users(app, client, tenant_a, who):
    answer = client.post(
        "/api/v1/users",
        json=user_body(Role.TRAINER),
        headers=bearer(app, getattr(tenant_a, who)),
    )
    api_error(answer, 403)


def test_region_creates_any_role(app, db, client, region):
    h = bearer(app, region)
    org = make_org("Sigma")
    site = Site(name="Site de Figeac", department="46", city="Figeac", seats=8)
    db.session.add(site)
    db.session.commit()
    bodies = [
        user_body(Role.REGION),
        user_body(Role.ORG_ADMIN, organisation_id=org.id),
        user_body(Role.TRAINER, organisation_id=org.id),
        user_body(Role.FINANCE, organisation_id=org.id),
        user_body(Role.SITE_STAFF, site_id=site.id),
    ]
    for body in bodies:
        answer = client.post("/api/v1/users", json=body, headers=h)
        assert answer.status_code == 201, answer.get_json()
        created = answer.get_json()
        assert created["role"] == body["role"]
        assert created["organisation_id"] == body.get("organisation_id")
        assert created["site_id"] == body.get("site_id")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (user_body(Role.TRAINER), 400, "organisation_required"),
        (user_body(Role.SITE_STAFF), 400, "site_required"),
        (user_body(Role.SITE_STAFF, site_id="000000000000000000000000"), 404, None),
        (user_body(Role.TRAINEE), 400, "invalid_role"),
        (user_body(Role.REGION, password="court"), 400, "weak_password"),
        (user_body("superuser"), 400, "invalid_input"),
        (user_body(Role.REGION, is_active=True), 400, "invalid_input"),
    ],
)
def test_region_user_creation_refusals(app, db, client, region, body, status, code):
    before = count_users(db)
    api_error(client.post("/api/v1/users", json=body, headers=bearer(app, region)), status, code)
    assert count_users(db) == before


def test_duplicate_email_is_409(app, client, region):
    h = bearer(app, region)
    assert client.post("/api/v1/users", json=user_body(Role.REGION), headers=h).status_code == 201
    body = user_body(Role.REGION) | {"email": user_body(Role.REGION)["email"].upper()}
    api_error(client.post("/api/v1/users", json=body, headers=h), 409, "duplicate_email")


def test_weak_password_message_is_french(app, client, region):
    body = user_body(Role.REGION, password="court")
    error = api_error(client.post("/api/v1/users", json=body, headers=bearer(app, region)), 400)
    assert "au moins 10 caractères" in error["message"]


# --- POST /api/v1/organisations ----------------------------------------------------------------


def test_region_registers_an_organisation(app, db, client, region):
    body = {"name": "Occitanie Formation", "siret": "12345678901234"}
    answer = client.post("/api/v1/organisations", json=body, headers=bearer(app, region))
    assert answer.status_code == 201
    created = answer.get_json()
    assert (created["name"], created["siret"]) == (body["name"], body["siret"])
    assert db.session.get(Organisation, created["id"]) is not None


def test_duplicate_siret_is_409(app, client, region):
    h = bearer(app, region)
    body = {"name": "Occitanie Formation", "siret": "12345678901234"}
    assert client.post("/api/v1/organisations", json=body, headers=h).status_code == 201
    again = client.post("/api/v1/organisations", json=body | {"name": "Autre"}, headers=h)
    error = api_error(again, 409, "duplicate_siret")
    assert "SIRET" in error["message"]


@pytest.mark.parametrize("siret", ["1234567890123A", "123", "123456789012345"])
def test_invalid_siret_is_400(app, client, region, siret):
    body = {"name": "Occitanie Formation", "siret": siret}
    answer = client.post("/api/v1/organisations", json=body, headers=bearer(app, region))
    api_error(answer, 400)


@pytest.mark.parametrize("who", ["admin", "trainer", "finance"])
def test_only_the_region_registers_organisations(app, db, client, tenant_a, who):
    before = db.session.scalar(select(func.count()).select_from(Organisation))
    body = {"name": "Pirate", "siret": "99999999999999"}
    answer = client.post(
        "/api/v1/organisations", json=body, headers=bearer(app, getattr(tenant_a, who))
    )
    api_error(answer, 403)
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == before


def test_members_see_their_own_organisation_only(app, client, tenant_a, tenant_b, region):
    h = bearer(app, tenant_a.trainer)
    own = client.get(f"/api/v1/organisations/{tenant_a.org.id}", headers=h)
    assert own.get_json()["siret"] == tenant_a.org.siret
    api_error(client.get(f"/api/v1/organisations/{tenant_b.org.id}", headers=h), 404)
    seen = client.get(f"/api/v1/organisations/{tenant_b.org.id}", headers=bearer(app, region))
    assert seen.get_json()["id"] == tenant_b.org.id
