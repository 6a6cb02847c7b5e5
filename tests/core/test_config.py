"""Configuration: outside development and testing, a default or short secret refuses to start."""

from __future__ import annotations

import pytest

from core import create_app
from core.config import (
    DEFAULT_JWT_SECRET,
    DEFAULT_SECRET,
    ConfigError,
    check_config,
    load_config,
)

STRONG = "a-random-secret-of-at-least-32-characters!"


@pytest.fixture(autouse=True)
def db() -> None:
    """No database needed: this shadows the suite's autouse `db` fixture."""
    return None


@pytest.mark.parametrize(
    ("secrets", "culprit"),
    [
        ({"SECRET_KEY": DEFAULT_SECRET, "JWT_SECRET": STRONG}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 31, "JWT_SECRET": STRONG}, "SECRET_KEY"),
        ({"SECRET_KEY": "", "JWT_SECRET": STRONG}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET": DEFAULT_JWT_SECRET}, "JWT_SECRET"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET": "short"}, "JWT_SECRET"),
    ],
    ids=["default-secret", "31-chars", "empty", "default-jwt", "short-jwt"],
)
def test_production_app_refuses_weak_secrets(secrets, culprit):
    with pytest.raises(ConfigError, match=culprit):
        create_app({"APP_ENV": "production", **secrets})


def test_production_from_the_environment_without_secrets_refuses_to_start(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_an_unset_environment_means_production(monkeypatch, tmp_path):
    monkeypatch.delenv("APP_ENV", raising=False)
    config = load_config(str(tmp_path))
    assert config["APP_ENV"] == "production"
    assert config["SESSION_COOKIE_SECURE"] is True
    with pytest.raises(ConfigError):
        check_config(config)


def test_production_with_strong_secrets_passes():
    check_config({"APP_ENV": "production", "SECRET_KEY": STRONG, "JWT_SECRET": STRONG})
    check_config({"APP_ENV": "production", "SECRET_KEY": "s" * 32, "JWT_SECRET": "j" * 32})


@pytest.mark.parametrize("env", ["production", "prod", "staging", "Production", "dev", ""])
def test_every_environment_but_development_and_testing_refuses_the_built_in_secrets(
    monkeypatch, tmp_path, env
):
    monkeypatch.setenv("APP_ENV", env)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET", raising=False)
    config = load_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        check_config(config)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"APP_ENV": env})


@pytest.mark.parametrize("env", ["development", "testing"])
def test_development_and_testing_may_use_the_defaults(monkeypatch, tmp_path, env):
    monkeypatch.setenv("APP_ENV", env)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = load_config(str(tmp_path))
    assert config["SECRET_KEY"] == DEFAULT_SECRET
    assert config["SESSION_COOKIE_SECURE"] is False
    check_config(config)


def test_database_url_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db/competences")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    monkeypatch.delenv("DATABASE_URL")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_a_missing_configuration_fails_with_one_clear_line_not_a_traceback(tmp_path):
    """Issue 7, defect 8: `flask --app wsgi ledger verify` without APP_ENV nor secrets ended in
    a traceback; the operator gets one French line naming what is missing, and exit 1."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "SECRET_KEY", "JWT_SECRET")}
    env["INSTANCE_PATH"] = str(tmp_path)
    flask = Path(sys.executable).with_name("flask")
    for command in (
        [sys.executable, "-c", "import wsgi"],
        [str(flask), "--app", "wsgi", "ledger", "verify"],
    ):
        run = subprocess.run(  # noqa: S603 - our own interpreter and entry point
            command,
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1, (command, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, run.stderr
        assert lines[0].startswith("Configuration refusée : SECRET_KEY")
        assert "APP_ENV=development" in lines[0]
