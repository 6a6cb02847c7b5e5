"""Command line: the first account from standard input, and the demo data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from attendance.models import TrainingSession
from core.clock import PARIS
from core.db import utcnow
from core.models import Invitation, Organisation, Trainee, User
from demo import PASSWORD as DEMO_PASSWORD
from demo import STAFF
from tests.conftest import make_org
from training.models import Enrolment, Group, Order

STRONG = "un mot de passe solide"
CODE = r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b"  # an invitation code as printed


def create(runner, email: str, *options: str, password: str = STRONG):  # noqa: ANN001, ANN201
    args = ["user", "create", email, *options, "--password-stdin"]
    return runner.invoke(args=args, input=f"{password}\n")


def count(db, model) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(model))


def test_user_create_reads_the_password_from_stdin_and_the_user_logs_in(runner, client):
    result = create(runner, "Premiere.Region@example.fr", "--role", "region")
    assert result.exit_code == 0, result.output
    assert "Compte créé" in result.output
    assert STRONG not in result.output
    answer = client.post(
        "/api/v1/auth/login", json={"email": "premiere.region@example.fr", "password": STRONG}
    )
    assert answer.status_code == 200
    assert answer.get_json()["role"] == "region"


def test_user_create_for_an_organisation(runner, client):
    org = make_org()
    result = create(runner, "ref@example.fr", "--role", "org_admin", "--organisation-id", org.id)
    assert result.exit_code == 0, result.output
    token = client.post(
        "/api/v1/auth/login", json={"email": "ref@example.fr", "password": STRONG}
    ).get_json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["organisation_id"] == org.id


def test_short_password_is_refused_in_french_and_creates_nothing(db, runner):
    before = count(db, User)
    result = create(runner, "court@example.fr", "--role", "region", password="court")
    assert result.exit_code != 0
    assert "Le mot de passe compte au moins 10 caractères" in result.output
    assert count(db, User) == before


def test_duplicate_email_is_refused(db, runner):
    assert create(runner, "double@example.fr", "--role", "region").exit_code == 0
    result = create(runner, "double@example.fr", "--role", "region")
    assert result.exit_code != 0
    assert "existe déjà" in result.output
    assert count(db, User) == 1


def test_password_is_never_taken_from_the_command_line(db, runner):
    result = runner.invoke(
        args=["user", "create", "x@example.fr", "--role", "region", "--password", STRONG]
    )
    assert result.exit_code != 0
    without_flag = runner.invoke(
        args=["user", "create", "x@example.fr", "--role", "region"], input=f"{STRONG}\n"
    )
    assert without_flag.exit_code != 0
    assert count(db, User) == 0


def test_trainee_is_not_a_staff_role(db, runner):
    result = create(runner, "stagiaire@example.fr", "--role", "trainee")
    assert result.exit_code != 0
    assert count(db, User) == 0


DEMO_MODELS = (Organisation, User, Trainee, Order, Group, Enrolment, TrainingSession, Invitation)


def test_demo_loads_once_and_prints_the_logins(db, runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    for email, *_ in STAFF.values():
        assert email in first.output
    assert DEMO_PASSWORD in first.output
    counts = {model.__name__: count(db, model) for model in DEMO_MODELS}
    assert counts["Organisation"] == 1
    assert counts["Trainee"] == counts["Enrolment"] == 12
    assert counts["TrainingSession"] >= 6
    assert counts["User"] == len(STAFF)

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "déjà chargées" in second.output
    assert STAFF["admin"][0] in second.output
    # A session runs now already: nothing more planned; three fresh codes are printed.
    assert len(re.findall(CODE, second.output)) == 3
    again = {model.__name__: count(db, model) for model in DEMO_MODELS}
    assert again == {**counts, "Invitation": counts["Invitation"] + 3}

    login = client.post(
        "/api/v1/auth/login", json={"email": STAFF["admin"][0], "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    orders = client.get("/api/v1/orders", headers=headers).get_json()["items"]
    assert len(orders) == 1
    assert orders[0]["modality"] == "e_formation"


def test_demo_invitation_codes_work(db, runner, client):
    output = runner.invoke(args=["demo"]).output
    codes = re.findall(CODE, output)
    assert len(codes) == 3
    answer = client.post("/api/v1/auth/trainee", json={"code": codes[0]})
    assert answer.status_code == 200
    assert answer.get_json()["role"] == "trainee"


def test_demo_is_refused_outside_development_and_testing(app, db, runner, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert "APP_ENV=development" in result.output
    assert DEMO_PASSWORD not in result.output
    assert count(db, User) == count(db, Organisation) == 0


def running_now(db, now) -> list[str]:  # noqa: ANN001
    query = select(TrainingSession.title).where(
        TrainingSession.starts_at <= now, TrainingSession.ends_at > now
    )
    return list(db.session.scalars(query))


def test_demo_on_a_later_day_plans_that_week_and_a_running_session(db, runner, monkeypatch):
    """Issue 7, defect 8: `make run` on a later day had no running session to try."""
    import demo

    assert runner.invoke(args=["demo"]).exit_code == 0
    before = count(db, TrainingSession)
    today = utcnow().astimezone(PARIS).date()
    tuesday = today - timedelta(days=today.weekday()) + timedelta(days=15)  # in two weeks
    later = datetime.combine(tuesday, time(15, 7), tzinfo=PARIS).astimezone(UTC)
    monkeypatch.setattr(demo, "utcnow", lambda: later)
    output = runner.invoke(args=["demo"]).output
    assert running_now(db, later) == ["Atelier de conversation (en cours)"]
    # That week's five sessions without the welcome day (R10: only the group's first day),
    # and the running one (15:05–17:05: nothing else that afternoon).
    assert count(db, TrainingSession) == before + 6
    codes = re.findall(CODE, output)
    assert len(codes) == 3
    answer = runner.app.test_client().post("/api/v1/auth/trainee", json={"code": codes[0]})
    assert answer.status_code == 200, answer.get_json()


def test_demo_after_its_order_ended_says_how_to_start_over(db, runner, monkeypatch):
    import demo

    assert runner.invoke(args=["demo"]).exit_code == 0
    before = count(db, TrainingSession)
    monkeypatch.setattr(demo, "utcnow", lambda: utcnow() + timedelta(days=200))
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "make demo-reset" in result.output
    assert count(db, TrainingSession) == before


def test_cli_help_is_in_one_language(runner):
    """Issue 7, defect 8: our commands' help mixed French with Flask's and click's English."""
    for args in (
        ["--help"],
        ["user", "--help"],
        ["user", "create", "--help"],
        ["ledger", "--help"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        for french in ("Gérer", "Lire", "Registre", "Limiter", "é"):
            assert french not in result.output.replace("Région", ""), (args, result.output)
