"""Fixtures: one app on SQLite, or PostgreSQL with TEST_DATABASE_URL; tables emptied per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from core import create_app, ratelimit
from core.auth import Principal
from core.config import ARGON2_TESTING
from core.db import utcnow
from core.extensions import db as _db
from core.models import Organisation, Role, Trainee, User
from core.passwords import hash_password
from core.tokens import issue_token

PASSWORD = "correct horse battery"
TEST_SECRET = "test-secret-key-with-enough-length-0123456789"
TEST_JWT_SECRET = "test-jwt-secret-with-enough-length-0123456789"


def database_url(tmp_dir: str) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    return url or f"sqlite:///{tmp_dir}/test.db"


# The production-path run (`make test-postgres`, CI) gives Redis: the failed-attempt counters
# live there, as in production; the embedded run keeps them in memory.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.fixture
def redis_url() -> str:
    """Redis of the production-path run; a test needing it is skipped in the embedded run
    (`make test` runs both), and fails in CI if the production-path run lacks it."""
    if REDIS_URL:
        return REDIS_URL
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("CI") == "true":
        pytest.fail("CI's production-path run needs Redis: set TEST_REDIS_URL")
    pytest.skip("Redis: run by `make test-postgres` (TEST_REDIS_URL)")


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    url = database_url(str(tmp_path_factory.mktemp("db")))
    application = create_app(
        {
            "APP_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "JWT_SECRET": TEST_JWT_SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "ARGON2": ARGON2_TESTING,
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": "",
            "RATELIMIT_STORAGE_URI": REDIS_URL or "memory://",
            "SESSION_COOKIE_SECURE": False,
            "PUBLIC_BASE_URL": "http://localhost",
            "LEDGER_SEAL_DIR": str(tmp_path_factory.mktemp("seals")),
            "LEDGER_SEAL_DELAY_S": None,  # tests seal when they say so
        }
    )
    with application.app_context():
        _reset_schema()
        from flask_migrate import upgrade

        upgrade()
    return application


def _reset_schema() -> None:
    """Start from an empty database so the migrations build the whole schema."""
    engine = _db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        _db.drop_all()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(autouse=True)
def db(app: Flask) -> Iterator[object]:
    """The database, emptied after each test (real commits, so concurrency tests are honest)."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
    ratelimit.reset(app)
    # The seals' export lives outside the database: emptied with it.
    Path(app.config["LEDGER_SEAL_DIR"], "seals.jsonl").unlink(missing_ok=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


def bearer(
    app: Flask,
    user: User | Trainee,
    *,
    typ: str | None = None,
    dev: str | None = None,
    now: datetime | None = None,
    ttl_s: int = 3600,
) -> dict[str, str]:
    """An Authorization header for a staff user, or a trainee bound to invitation `dev`."""
    is_trainee = isinstance(user, Trainee)
    claims = {"role": user.role if isinstance(user, User) else Role.TRAINEE}
    if is_trainee:
        claims["dev"] = dev or ""
    token = issue_token(
        app.config["JWT_SECRET"],
        app.config["JWT_AUDIENCE"],
        subject=user.id,
        typ=typ or ("trainee" if is_trainee else "staff"),
        now=now or utcnow(),
        ttl_s=ttl_s,
        claims=claims,
    )
    return {"Authorization": f"Bearer {token}"}


def principal_of(user: User) -> Principal:
    return Principal(user.id, user.role, user.organisation_id, user.site_id, user.full_name)


_counter = iter(range(10**9))


def make_org(name: str = "Organisme") -> Organisation:
    n = next(_counter)
    org = Organisation(name=f"{name} {n}", siret=f"{10**13 + n:014d}")
    _db.session.add(org)
    _db.session.commit()
    return org


def make_user(
    role: str,
    org: Organisation | None = None,
    *,
    site_id: str | None = None,
    email: str | None = None,
) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role}{n}@example.fr",
        password_hash=hash_password(PASSWORD, ARGON2_TESTING),
        role=role,
        first_name="Prénom",
        last_name=f"Nom{n}",
        organisation_id=org.id if org else None,
        site_id=site_id,
    )
    _db.session.add(user)
    _db.session.commit()
    return user


def make_trainee(org: Organisation, first_name: str = "Amina") -> Trainee:
    n = next(_counter)
    trainee = Trainee(
        organisation_id=org.id,
        first_name=first_name,
        last_name=f"Stagiaire{n}",
        email=f"stagiaire{n}@example.fr",
    )
    _db.session.add(trainee)
    _db.session.commit()
    return trainee


THIS_YEAR = date.today().year
ORDER_START = date(THIS_YEAR, 1, 5)  # a Monday-ish date, far from year end


def order_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "number": f"BC-{next(_counter)}",
        "title": "Anglais professionnel",
        "modality": "e_formation",
        "start_date": ORDER_START.isoformat(),
        "end_date": date(THIS_YEAR, 11, 30).isoformat(),
        "centre_hours": 100.0,
        "min_synchronous_share": 0.5,
    }
    data.update(overrides)
    return data


def paris(day: date, hour: int, minute: int = 0) -> str:
    """An ISO 8601 Paris time of day, as clients send it."""
    from zoneinfo import ZoneInfo

    return datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo("Europe/Paris")
    ).isoformat()


@dataclass
class Tenant:
    org: Organisation
    admin: User
    trainer: User
    finance: User
    trainee: Trainee
    invitation_id: str
    order_id: str
    group_id: str
    enrolment_id: str
    session_id: str


def make_tenant(app: Flask, client: FlaskClient, name: str) -> Tenant:
    """A whole organisation through the API: order, group, trainee bound to a device, a session."""
    org = make_org(name)
    admin, trainer = make_user(Role.ORG_ADMIN, org), make_user(Role.TRAINER, org)
    finance = make_user(Role.FINANCE, org)
    trainee = make_trainee(org)
    h = bearer(app, admin)
    order = client.post("/api/v1/orders", json=order_data(), headers=h).get_json()
    group = client.post(
        f"/api/v1/orders/{order['id']}/groups",
        headers=h,
        json={"name": "Groupe A", "component": "Anglais", "trainer_ids": [trainer.id]},
    ).get_json()
    enrolment = client.post(
        f"/api/v1/groups/{group['id']}/enrolments",
        headers=h,
        json={
            "trainee_id": trainee.id,
            "entry_date": ORDER_START.isoformat(),
            "planned_centre_hours": 100,
            "planned_company_hours": 20,
        },
    ).get_json()
    day = ORDER_START + timedelta(days=3)
    session = client.post(
        f"/api/v1/groups/{group['id']}/sessions",
        headers=h,
        json={
            "kind": "tutorat",
            "title": "Tutorat",
            "starts_at": paris(day, 9),
            "ends_at": paris(day, 12),
        },
    ).get_json()
    invitation = client.post(f"/api/v1/trainees/{trainee.id}/invitations", headers=h).get_json()
    redeemed = client.post("/api/v1/auth/trainee", json={"code": invitation["code"]})
    assert redeemed.status_code == 200, redeemed.get_json()
    return Tenant(
        org,
        admin,
        trainer,
        finance,
        trainee,
        invitation["id"],
        order["id"],
        group["id"],
        enrolment["id"],
        session["id"],
    )


@pytest.fixture
def tenant_a(app: Flask, client: FlaskClient) -> Tenant:
    return make_tenant(app, client, "Alpha")


@pytest.fixture
def tenant_b(app: Flask, client: FlaskClient) -> Tenant:
    return make_tenant(app, client, "Bêta")


@pytest.fixture
def region(db: object) -> User:
    return make_user(Role.REGION)


def aware(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def api_error(response, status: int, code: str | None = None, rule: str | None = None) -> dict:  # noqa: ANN001
    """Assert the contract's error body `{"error": {code, message, rule?}}` and return it."""
    import re

    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "rule", "details"}, body
    assert re.fullmatch(r"[a-z][a-z0-9_]*", str(error.get("code"))), body
    assert " " in str(error.get("message", "")).strip(), "a sentence for a person"
    if code is not None:
        assert error["code"] == code, body
    if rule is not None:
        assert error.get("rule") == rule, body
    return error
