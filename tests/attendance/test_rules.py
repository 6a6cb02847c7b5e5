"""Session planning rules, pure: Paris days, R6 autoformation cap, R10 regroupements, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from attendance import rules
from core.errors import InvalidInput, RuleViolation

PARIS = ZoneInfo("Europe/Paris")
FIRST, LAST = date(2026, 1, 5), date(2026, 11, 30)


@pytest.fixture(autouse=True)
def db() -> None:
    """Rules need no app and no database: this shadows the suite's autouse `db` fixture."""
    return None


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def refused(call, *args) -> InvalidInput:  # noqa: ANN001
    with pytest.raises(InvalidInput) as excinfo:
        call(*args)
    assert excinfo.value.status == 400
    assert excinfo.value.message.strip()
    return excinfo.value


# --- session times ----------------------------------------------------------------------------


def test_a_morning_session_inside_the_order_passes():
    day = date(2026, 3, 10)
    rules.check_session_times(at(day, 9), at(day, 12), FIRST, LAST)


def test_a_session_ending_before_or_at_its_start_is_refused():
    day = date(2026, 3, 10)
    assert refused(rules.check_session_times, at(day, 9), at(day, 9), FIRST, LAST).code == (
        "invalid_dates"
    )
    refused(rules.check_session_times, at(day, 12), at(day, 9), FIRST, LAST)


def test_naive_times_are_refused():
    naive = datetime(2026, 3, 10, 9)
    refused(rules.check_session_times, naive, naive + timedelta(hours=2), FIRST, LAST)


def test_a_session_crossing_paris_midnight_is_refused_even_on_one_utc_day():
    # 23:30 → 00:30 Paris in June is 21:30 → 22:30 UTC: one UTC day, two Paris days.
    starts = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)
    ends = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)
    refused(rules.check_session_times, starts, ends, FIRST, LAST)


def test_a_session_on_one_paris_day_passes_even_across_utc_midnight():
    # 00:30 → 03:00 Paris on 11 June starts at 22:30 UTC on 10 June.
    starts = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)
    ends = datetime(2026, 6, 11, 1, 0, tzinfo=UTC)
    rules.check_session_times(starts, ends, FIRST, LAST)
    assert rules.local_day(starts) == date(2026, 6, 11)


def test_twelve_hours_pass_and_a_minute_more_is_refused():
    day = date(2026, 3, 10)
    rules.check_session_times(at(day, 8), at(day, 20), FIRST, LAST)
    refused(rules.check_session_times, at(day, 8), at(day, 20, 1), FIRST, LAST)


def test_daylight_saving_days_are_measured_in_real_hours():
    # 29 March 2026 lasts 23 h in Paris: 00:00 → 12:30 on the clock is 11 h 30 of real time.
    spring = date(2026, 3, 29)
    rules.check_session_times(at(spring, 0), at(spring, 12, 30), FIRST, LAST)
    # 25 October 2026 lasts 25 h: 00:00 → 12:00 on the clock is 13 h of real time.
    autumn = date(2026, 10, 25)
    refused(rules.check_session_times, at(autumn, 0), at(autumn, 12), FIRST, LAST)


def test_sessions_on_the_first_and_last_days_of_the_order_pass():
    rules.check_session_times(at(FIRST, 9), at(FIRST, 12), FIRST, LAST)
    rules.check_session_times(at(LAST, 9), at(LAST, 12), FIRST, LAST)


@pytest.mark.parametrize("day", [FIRST - timedelta(days=1), LAST + timedelta(days=1)])
def test_a_session_outside_the_order_is_refused(day):
    error = refused(rules.check_session_times, at(day, 9), at(day, 12), FIRST, LAST)
    assert error.code == "session_outside_order"
    assert "30/11/2026" in error.message


def test_the_order_end_is_a_paris_day_not_a_utc_one():
    # 00:30 Paris on 1 December is still 30 November in UTC: outside the order.
    starts = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    refused(rules.check_session_times, starts, starts + timedelta(hours=1), FIRST, LAST)


# --- R6: autoformation ≤ 20 % of centre hours, 50 % in e-formation ----------------------------


@pytest.mark.parametrize(
    ("modality", "cap"), [("e_formation", 0.5), ("hybride", 0.2), ("presentiel", 0.2)]
)
def test_r6_cap_by_modality(modality, cap):
    assert rules.autoformation_cap(modality) == cap


@pytest.mark.parametrize(
    ("modality", "planned", "new"),
    [("e_formation", 40, 10), ("e_formation", 0, 50), ("hybride", 17, 3), ("presentiel", 0, 20)],
)
def test_r6_autoformation_up_to_the_cap_passes(modality, planned, new):
    rules.check_autoformation_share(modality, 100, planned, new)


@pytest.mark.parametrize(
    ("modality", "planned", "new", "percent"),
    [
        ("e_formation", 40, 10.5, "50 %"),
        ("hybride", 20, 0.5, "20 %"),
        ("presentiel", 0, 21, "20 %"),
    ],
)
def test_r6_autoformation_over_the_cap_is_refused(modality, planned, new, percent):
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_autoformation_share(modality, 100, planned, new)
    error = excinfo.value
    assert (error.status, error.rule, error.code) == (422, "R6", "autoformation_cap")
    assert percent in error.message


# --- R10: regroupements in e-formation --------------------------------------------------------

DAY_ONE = date(2026, 1, 5)
LATER = date(2026, 2, 10)


def r10(reason, day, authorised=frozenset(), modality="e_formation") -> None:  # noqa: ANN001
    rules.check_regroupement(modality, reason, day, DAY_ONE, authorised)


def r10_refusal(*args, **kwargs) -> RuleViolation:  # noqa: ANN002, ANN003
    with pytest.raises(RuleViolation) as excinfo:
        r10(*args, **kwargs)
    assert excinfo.value.status == 422
    assert excinfo.value.rule == "R10"
    assert excinfo.value.message.strip()
    return excinfo.value


@pytest.mark.parametrize("reason", [None, "", "fete", "team_building"])
def test_r10_regroupement_without_an_accepted_reason_is_refused(reason):
    assert r10_refusal(reason, LATER).code == "regroupement_not_allowed"


def test_r10_welcome_day_only_on_the_group_first_day():
    r10("accueil", DAY_ONE)
    error = r10_refusal("accueil", DAY_ONE + timedelta(days=1))
    assert "05/01/2026" in error.message


@pytest.mark.parametrize("day", [DAY_ONE, LATER, date(2026, 11, 30)])
def test_r10_exam_any_day(day):
    r10("examen", day)


def test_r10_authorised_needs_the_region_authorisation_for_that_day():
    assert r10_refusal("autorise", LATER).code == "regroupement_not_authorised"
    r10_refusal("autorise", LATER, authorised={LATER + timedelta(days=1)})
    r10("autorise", LATER, authorised={LATER})


@pytest.mark.parametrize("modality", ["hybride", "presentiel"])
def test_r10_only_applies_to_e_formation(modality):
    r10(None, LATER, modality=modality)
    r10("accueil", LATER, modality=modality)


# --- public holidays --------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher): independent of the holidays lib."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_french_public_holidays_are_recognised(year):
    calendar = holidays.country_holidays("FR", years=year)
    easter_monday = easter_sunday(year) + timedelta(days=1)
    for day in (date(year, 7, 14), date(year, 5, 1), date(year, 12, 25), easter_monday):
        assert rules.is_public_holiday(day, calendar), day
    assert not rules.is_public_holiday(date(year, 7, 15), calendar)


def test_public_holiday_uses_the_calendar_it_is_given():
    assert rules.is_public_holiday(date(2026, 3, 10), {date(2026, 3, 10)})
    assert not rules.is_public_holiday(date(2026, 7, 14), set())
