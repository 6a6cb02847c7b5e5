"""Browser pages of the access sites."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sites_pages", __name__, template_folder="templates")
