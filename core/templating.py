"""French display of dates, times and hours for the pages, in Europe/Paris time.

Babel is not installed: the day and month names live here, in one place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import ua_parser
from flask import Blueprint, Flask
from flask.blueprints import BlueprintSetupState

from core.clock import PARIS, local_day

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def paris_day(value: date | datetime) -> date:
    """The calendar day of a date, or the Paris day of an aware datetime."""
    if isinstance(value, datetime):
        return local_day(value)
    return value


def french_date(value: date | datetime | None, year: bool = False) -> str:
    """« lundi 30 novembre » (with the year when asked): the day in Paris."""
    if value is None:
        return ""
    day = paris_day(value)
    text = f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def french_time(value: datetime | None) -> str:
    """« 09:00 »: the Paris wall-clock time of an aware datetime."""
    return value.astimezone(PARIS).strftime("%H:%M") if value else ""


def french_datetime(value: datetime | None) -> str:
    """« lundi 30 novembre, 09:00 » in Paris time."""
    return f"{french_date(value)}, {french_time(value)}" if value else ""


def french_hours(value: float | None) -> str:
    """« 3 h », « 2 h 30 », « 140 h »: a number of hours as people write it."""
    if value is None:
        return ""
    minutes = round(value * 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def french_minutes(minutes: int | None) -> str:
    """« moins d'une minute », « 41 min », « 1 h 25 »: a duration counted in minutes."""
    if not minutes:
        return "moins d'une minute"
    return f"{minutes} min" if minutes < 60 else french_hours(minutes / 60)


def short_date(value: date | datetime | None) -> str:
    """« 30/11/2026 », for tables and forms."""
    return paris_day(value).strftime("%d/%m/%Y") if value else ""


def device_name(user_agent: str | None) -> str:
    """« Android 14 · Chrome »: the system and browser named by a user-agent string
    (ua-parser, on the regular expressions of the uap-core project)."""
    system = ua_parser.parse_os(user_agent) if user_agent else None
    browser = ua_parser.parse_user_agent(user_agent) if user_agent else None
    parts = []
    if system and system.family != "Other":
        parts.append(f"{system.family} {system.major}" if system.major else system.family)
    if browser and browser.family != "Other":
        # « Chrome Mobile », « Mobile Safari »: the phone is said by the system already.
        parts.append(" ".join(word for word in browser.family.split() if word != "Mobile"))
    return " · ".join(parts) or "appareil non reconnu"


def register_template_filters(app: Flask) -> None:
    """Make the French filters available to every template."""
    app.add_template_filter(french_date, "fr_date")
    app.add_template_filter(french_time, "fr_time")
    app.add_template_filter(french_datetime, "fr_datetime")
    app.add_template_filter(french_hours, "fr_hours")
    app.add_template_filter(french_minutes, "fr_minutes")
    app.add_template_filter(short_date, "fr_short_date")
    app.add_template_filter(device_name, "device_name")


def template_constants(bp: Blueprint, **values: Any) -> None:
    """Make constants (labels) Jinja globals when `bp` is registered.

    Not a context processor: its variables reach the page's own template only, and a macro
    imported with `{% from "_x.html" import m %}` (no context) renders them undefined: a 500 on
    every page that calls it. Globals reach every template, imported macros included. Context
    processors are kept for what depends on the request (the signed-in principal).
    """

    def register(state: BlueprintSetupState) -> None:
        state.app.jinja_env.globals.update(values)

    bp.record_once(register)
