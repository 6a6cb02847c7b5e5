"""Behind a reverse proxy (TRUSTED_PROXIES): each client keeps its own address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config
from tests.conftest import TEST_JWT_SECRET, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]

# A separate process: the extensions are singletons bound to the suite's app.
SCRIPT = """
import json, sys
from werkzeug.middleware.proxy_fix import ProxyFix
from core import create_app
from core.config import ARGON2_TESTING
from core.extensions import db

url, hops, secret, jwt_secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
app = create_app({
    "APP_ENV": "testing", "TESTING": True, "SECRET_KEY": secret, "JWT_SECRET": jwt_secret,
    "SQLALCHEMY_DATABASE_URI": url, "ARGON2": ARGON2_TESTING, "REDIS_URL": "",
    "RATELIMIT_STORAGE_URI": "memory://", "TRUSTED_PROXIES": hops,
})
with app.app_context():
    db.create_all()
client = app.test_client()

def login(address):
    forwarded = {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}
    body = {"email": "personne@example.fr", "password": "pas le bon"}
    return client.post("/api/v1/auth/login", json=body, headers=forwarded).status_code

statuses = [login("203.0.113.7") for _ in range(11)] + [login("198.51.100.9")]
print(json.dumps({"outermost": isinstance(app.wsgi_app, ProxyFix), "statuses": statuses}))
"""


def run_app(tmp_path: Path, hops: int) -> dict:
    """Eleven failed logins from one client, then one from another, behind `hops` proxies."""
    url = f"sqlite:///{tmp_path}/proxy.db"
    env = {**os.environ, "APP_ENV": "testing"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT, url, str(hops), TEST_SECRET, TEST_JWT_SECRET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def db() -> None:
    """No database of the suite needed: this shadows the autouse `db` fixture."""
    return None


def test_behind_one_trusted_proxy_each_client_has_its_own_rate_limit(tmp_path):
    result = run_app(tmp_path, hops=1)
    assert result["outermost"], "ProxyFix must see the request before Socket.IO's middleware"
    assert result["statuses"][:10] == [401] * 10
    assert result["statuses"][10] == 429, "the same client is limited"
    assert result["statuses"][11] == 401, "another client behind the proxy is not"


def test_without_trusted_proxies_forwarded_addresses_are_ignored(tmp_path):
    result = run_app(tmp_path, hops=0)
    assert not result["outermost"]
    assert result["statuses"][10:] == [429, 429], "a forged X-Forwarded-For escapes nothing"


def test_trusted_proxies_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 1
