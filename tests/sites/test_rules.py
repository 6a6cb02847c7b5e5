"""The access sites' pure rules: opening hours, closures and holidays, seats under overlap,
R15's deadlines, CSV lines. No app, no database."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.clock import PARIS
from core.errors import Conflict, InvalidInput
from sites import rules


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


MONDAY = date(2027, 3, 8)
HOURS = {"lun-ven": "08:30-12:30, 13:30-17:30", "sam": "09h00-12h00"}


def test_hours_are_read_as_people_write_them():
    assert rules.normalize_hours(HOURS) == {
        **{
            d: [["08:30", "12:30"], ["13:30", "17:30"]] for d in ("lun", "mar", "mer", "jeu", "ven")
        },
        "sam": [["09:00", "12:00"]],
    }
    assert rules.hours_text(HOURS)[0] == ("lundi", "08:30–12:30, 13:30–17:30")


@pytest.mark.parametrize(
    "bad",
    [
        {"lundo": "08:00-12:00"},
        {"lun": "8-12"},
        {"lun": "12:00-08:00"},
        {"lun": "08:00-12:00, 11:00-13:00"},
    ],
)
def test_unreadable_or_impossible_hours_are_refused(bad):
    with pytest.raises(InvalidInput) as refused:
        rules.normalize_hours(bad)
    assert refused.value.code == "invalid_opening_hours"


def test_a_span_must_fit_in_one_opening_range_R14():
    span = rules.Span(at(MONDAY, 9), at(MONDAY, 12))
    assert rules.closed_reason(HOURS, {}, {}, span) is None
    across_lunch = rules.Span(at(MONDAY, 12), at(MONDAY, 14))
    assert "horaires" in rules.closed_reason(HOURS, {}, {}, across_lunch)
    assert "Inventaire" in rules.closed_reason(HOURS, {MONDAY: "Inventaire"}, {}, span)
    assert "férié" in rules.closed_reason(HOURS, {}, {MONDAY: "Lundi de Pâques"}, span)
    with pytest.raises(Conflict) as closed:
        rules.check_open(
            HOURS, {}, {}, rules.Span(at(date(2027, 3, 14), 9), at(date(2027, 3, 14), 10))
        )
    assert (closed.value.code, closed.value.rule) == ("site_closed", "R14")


def test_the_peak_of_overlapping_bookings_counts_not_their_number():
    window = rules.Span(at(MONDAY, 9), at(MONDAY, 12))
    spans = [
        rules.Span(at(MONDAY, 9), at(MONDAY, 10)),
        rules.Span(at(MONDAY, 10), at(MONDAY, 11)),
        rules.Span(at(MONDAY, 10, 30), at(MONDAY, 12)),
    ]
    assert rules.peak_overlap(spans, window) == 2  # back to back at 10:00 does not overlap
    assert rules.free_seats(2, spans, window) == 0
    assert rules.free_seats(2, spans, rules.Span(at(MONDAY, 9), at(MONDAY, 10))) == 1
    assert rules.free_seats(3, [], window) == 3


def test_r15_deadlines_and_flags():
    start = date(2027, 6, 1)
    assert rules.request_deadline(start) == date(2027, 4, 27)
    assert rules.decision_deadline(start) == date(2027, 5, 17)
    early = rules.software_flags(
        start, date(2027, 4, 1), "validated", date(2027, 4, 10), date(2027, 5, 20)
    )
    assert not early.any
    late = rules.software_flags(start, date(2027, 5, 1), "pending", None, date(2027, 5, 20))
    assert (late.late_request, late.decision_overdue, late.unvalidated) == (True, True, True)
    refused = rules.software_flags(
        start, date(2027, 4, 1), "refused", date(2027, 4, 10), date(2027, 5, 20)
    )
    assert (refused.decision_overdue, refused.unvalidated) == (False, True)


def test_a_csv_line_becomes_a_site_or_says_why_not():
    row = {
        "Nom": "Espace",
        "Ville": "Foix",
        "Département": "9",
        "Postes": "4",
        "Horaires": "lun-ven 09:00-12:00",
    }
    site = rules.site_row(row)
    assert (site["department"], site["seats"], site["opening_hours"]["ven"]) == (
        "09",
        4,
        [["09:00", "12:00"]],
    )
    with pytest.raises(InvalidInput, match="Occitanie"):
        rules.site_row({**row, "Département": "75"})
    with pytest.raises(InvalidInput, match="vides"):
        rules.site_row({**row, "Ville": ""})


def test_the_peak_on_minutes_of_the_day_counts_grouped_bookings():
    nine_to_eleven, ten_to_noon = (540, 660, 3), (600, 720, 2)
    assert rules.peak_minutes([nine_to_eleven, ten_to_noon], 510, 750) == 5
    assert rules.peak_minutes([nine_to_eleven, (660, 720, 4)], 510, 750) == 4  # back to back
    assert rules.peak_minutes([nine_to_eleven], 810, 1050) == 0
    assert rules.hhmm_minutes("13:30") == 810
    assert rules.minute_of_day(at(MONDAY, 0), end=True) == 1440
    assert rules.minute_of_day(at(MONDAY, 8, 30)) == 510
