"""Time as the programme counts it: stored in UTC, shown and counted in Europe/Paris days
(SPEC.md, "Time and hours"). Pure: the current time is an argument everywhere else."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_day(moment: datetime) -> date:
    """The Europe/Paris calendar day of an aware datetime."""
    return moment.astimezone(PARIS).date()


def union_minutes(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """Clock time covered by the intervals, overlaps counted once, in whole minutes (floor)."""
    total = timedelta(0)
    reach: datetime | None = None
    for start, stop in sorted(intervals):
        if reach is not None and stop <= reach:
            continue
        if reach is not None and start < reach:
            start = reach
        if stop > start:
            total += stop - start
        reach = stop if reach is None else max(reach, stop)
    return int(total.total_seconds() // 60)
