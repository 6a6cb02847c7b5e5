"""Time as the programme counts it: stored in UTC, shown and counted in Europe/Paris days
(SPEC.md, "Time and hours"). Pure: the current time is an argument everywhere else."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_day(moment: datetime) -> date:
    """The Europe/Paris calendar day of an aware datetime."""
    return moment.astimezone(PARIS).date()
