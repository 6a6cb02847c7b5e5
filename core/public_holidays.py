"""French public holidays (metropolitan calendar, the `holidays` package): sessions planned on
one are flagged, access sites are closed on them."""

from __future__ import annotations

from datetime import date

import holidays as holiday_calendars


def french_holidays(year: int) -> dict[date, str]:
    """French public holidays of a year (metropolitan calendar), named in French."""
    return dict(holiday_calendars.country_holidays("FR", years=year, language="fr"))
