"""Fixtures of the access-site tests: the browser tests' Chromium and live server."""

from tests.test_browser import browser, live_url  # noqa: F401 - fixtures shared with tests/
