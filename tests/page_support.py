"""Helpers of the page tests: one clock for the pages and the API, browsers of each role."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

import core.db
from core.extensions import db
from core.models import Trainee, User
from tests.attendance.support import Clock
from tests.conftest import PASSWORD, bearer

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"
)
T = TypeVar("T")
PACKAGES = ("core", "training", "sites", "attendance", "certificates", "virtualclass", "compliance")


def install_clock(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Clock:
    """Every module of the project that took `core.db.utcnow` reads `clock` instead: the pages
    ("today", "can it open yet?") and the API (opening, QR windows) agree on the time."""
    real = core.db.utcnow
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in PACKAGES and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", clock)
    return clock


def staff_browser(app: Flask, user: User) -> FlaskClient:
    """A browser where `user` signed in through the login form."""
    browser = app.test_client()
    form = {"email": user.email, "password": PASSWORD}
    assert browser.post("/connexion", data=form).status_code == 302
    return browser


def phone_browser(
    app: Flask, admin: User, trainee: Trainee, user_agent: str = ANDROID_CHROME
) -> FlaskClient:
    """A trainee's phone, bound by redeeming a fresh invitation on the invitation page."""
    phone = app.test_client()
    issued = phone.post(f"/api/v1/trainees/{trainee.id}/invitations", headers=bearer(app, admin))
    assert issued.status_code == 201, issued.get_json()
    phone.environ_base["HTTP_USER_AGENT"] = user_agent
    redeemed = phone.post("/invitation", data={"code": issued.get_json()["code"]})
    assert redeemed.status_code == 302, redeemed.get_data(as_text=True)
    return phone


def eventually(read: Callable[[], T | None], seconds: float = 5.0) -> T | None:
    """What `read` answers once it answers something, read afresh every 50 ms (for what a
    background thread of the app writes), or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        db.session.rollback()  # a new transaction: see what was committed meanwhile
        found = read()
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
