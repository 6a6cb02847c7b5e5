"""French public holidays (metropolitan calendar, the `holidays` package): sessions planned on
one are flagged, access sites are closed on them."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as holiday_calendars


def french_holidays(year: int) -> dict[date, str]:
    """French public holidays of a year (metropolitan calendar), named in French."""
    return dict(_holidays(year))


@lru_cache(maxsize=32)
def _holidays(year: int) -> tuple[tuple[date, str], ...]:
    # Building the calendar costs milliseconds; a year's holidays never change.
    return tuple(holiday_calendars.country_holidays("FR", years=year, language="fr").items())
