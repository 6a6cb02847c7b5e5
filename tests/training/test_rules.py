"""Enrolment rules R1–R4, pure: no app, no database, no clock."""

from __future__ import annotations

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput, RuleViolation
from training import rules
from training.rules import Period

PROJECT = Path(__file__).resolve().parents[2]
FORBIDDEN_IMPORTS = {"flask", "sqlalchemy", "werkzeug", "marshmallow", "webargs"}
CLOCK_CALLS = {"now", "utcnow", "today"}


@pytest.fixture(autouse=True)
def db() -> None:
    """Rules need no app and no database: this shadows the suite's autouse `db` fixture."""
    return None


def violation(excinfo: pytest.ExceptionInfo[RuleViolation]) -> RuleViolation:
    error = excinfo.value
    assert error.status == 422
    assert error.message.strip(), "a refusal carries a French sentence for a person"
    return error


# --- R1: centre + company ≤ 200 h -------------------------------------------------------------


@pytest.mark.parametrize(("centre", "company"), [(200, 0), (130, 70), (0, 0), (199.5, 0.5)])
def test_r1_total_of_200_hours_or_less_passes(centre, company):
    rules.check_total_hours(centre, company)


@pytest.mark.parametrize(("centre", "company"), [(200.5, 0), (131, 70), (150, 50.5)])
def test_r1_total_above_200_hours_is_refused(centre, company):
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_total_hours(centre, company)
    error = violation(excinfo)
    assert error.rule == "R1"
    assert error.code == "too_many_hours"
    assert "200 h" in error.message


def test_r1_negative_hours_are_invalid_input_not_a_rule():
    with pytest.raises(InvalidInput) as excinfo:
        rules.check_total_hours(-1, 0)
    assert excinfo.value.status == 400
    assert excinfo.value.rule is None


# --- R2: company ≤ 70 h -----------------------------------------------------------------------


@pytest.mark.parametrize("company", [0, 35, 70])
def test_r2_company_period_up_to_70_hours_passes(company):
    rules.check_company_hours(company)


@pytest.mark.parametrize("company", [70.5, 71, 140])
def test_r2_company_period_over_70_hours_is_refused(company):
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_company_hours(company)
    error = violation(excinfo)
    assert error.rule == "R2"
    assert "70 h" in error.message


# --- R3: ≤ 20 trainees at the same time -------------------------------------------------------

JAN = date(2026, 1, 5)


def periods(count: int, start: date = JAN, end: date | None = None) -> list[Period]:
    return [Period(start, end) for _ in range(count)]


def test_r3_twentieth_trainee_at_once_passes():
    new = Period(JAN, date(2026, 6, 30))
    assert rules.max_concurrent(periods(19), new) == 20
    assert rules.check_group_size(periods(19), new, acknowledged=False) is False


def test_r3_twenty_first_trainee_at_once_is_refused():
    new = Period(JAN, date(2026, 6, 30))
    assert rules.max_concurrent(periods(20), new) == 21
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_group_size(periods(20), new, acknowledged=False)
    error = violation(excinfo)
    assert error.rule == "R3"
    assert error.code == "group_full"
    assert "21" in error.message


def test_r3_acknowledged_overflow_passes_and_reports_it():
    new = Period(JAN, None)
    assert rules.check_group_size(periods(25), new, acknowledged=True) is True


def test_r3_counts_only_paths_that_overlap_in_time():
    first_half = periods(20, JAN, date(2026, 3, 31))
    second_half = Period(date(2026, 4, 1), date(2026, 6, 30))
    assert rules.max_concurrent(first_half, second_half) == 1
    assert rules.check_group_size(first_half, second_half, acknowledged=False) is False


def test_r3_a_path_ending_the_day_the_new_one_starts_still_counts():
    """Periods are closed intervals of days: sharing one day is being there at once."""
    ending = periods(20, JAN, date(2026, 3, 31))
    new = Period(date(2026, 3, 31), date(2026, 6, 30))
    with pytest.raises(RuleViolation):
        rules.check_group_size(ending, new, acknowledged=False)


def test_r3_peak_inside_the_new_period_is_what_counts():
    """10 early leavers and 10 late joiners never meet; the new path meets only 10 of them."""
    early = periods(10, JAN, date(2026, 2, 28))
    late = periods(10, date(2026, 5, 1), None)
    assert rules.max_concurrent(early + late, Period(JAN, None)) == 11
    assert rules.max_concurrent(early + late, Period(date(2026, 3, 1), date(2026, 4, 30))) == 1


def brute_force(existing: list[Period], new: Period) -> int:
    """Day by day: the most paths (the new one included) present on one day of `new`."""
    ends = [p.end for p in [*existing, new] if p.end] + [p.start for p in [*existing, new]]
    horizon = max(ends) + timedelta(days=1)
    last = new.end or horizon
    best, day = 0, new.start
    while day <= last:
        best = max(best, sum(p.contains(day) for p in [*existing, new]))
        day += timedelta(days=1)
    return best


@st.composite
def small_periods(draw: st.DrawFn) -> Period:
    start = JAN + timedelta(days=draw(st.integers(0, 40)))
    length = draw(st.one_of(st.none(), st.integers(0, 30)))
    return Period(start, None if length is None else start + timedelta(days=length))


@given(existing=st.lists(small_periods(), max_size=12), new=small_periods())
def test_r3_max_concurrent_matches_a_day_by_day_count(existing, new):
    assert rules.max_concurrent(existing, new) == brute_force(existing, new)


# --- R4: entries in the order's start year, inside the order ----------------------------------

ORDER_START, ORDER_END = date(2026, 9, 1), date(2027, 6, 30)


@pytest.mark.parametrize("entry", [ORDER_START, date(2026, 12, 31)])
def test_r4_entry_in_the_start_year_inside_the_order_passes(entry):
    rules.check_entry_date(entry, ORDER_START, ORDER_END)


def test_r4_entry_in_the_following_year_is_refused_even_inside_the_order():
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_entry_date(date(2027, 1, 4), ORDER_START, ORDER_END)
    error = violation(excinfo)
    assert error.rule == "R4"
    assert error.code == "entry_out_of_year"
    assert "2026" in error.message


def test_r4_entry_before_the_order_starts_is_refused():
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_entry_date(date(2026, 8, 31), ORDER_START, ORDER_END)
    error = violation(excinfo)
    assert error.rule == "R4"
    assert error.code == "entry_outside_order"


def test_r4_entry_after_an_order_ending_in_its_start_year_is_refused():
    with pytest.raises(RuleViolation) as excinfo:
        rules.check_entry_date(date(2026, 12, 1), date(2026, 1, 5), date(2026, 11, 30))
    assert violation(excinfo).rule == "R4"


def test_exit_before_entry_is_invalid_input():
    rules.check_exit_date(JAN, JAN)
    rules.check_exit_date(JAN, None)
    with pytest.raises(InvalidInput) as excinfo:
        rules.check_exit_date(JAN, JAN - timedelta(days=1))
    assert excinfo.value.code == "invalid_dates"


def test_order_ending_before_it_starts_is_invalid_input():
    rules.check_order_dates(JAN, JAN)
    with pytest.raises(InvalidInput):
        rules.check_order_dates(JAN, JAN - timedelta(days=1))


# --- rules.py modules stay pure ---------------------------------------------------------------


def rules_modules() -> list[Path]:
    skip = {".venv", ".venv-prod", "node_modules", ".git"}  # .venv-prod: `make bench-venv`
    return sorted(
        path
        for path in PROJECT.rglob("rules.py")
        if not skip.intersection(path.relative_to(PROJECT).parts)
    )


def test_the_project_has_rules_modules_to_check():
    names = {str(p.relative_to(PROJECT)) for p in rules_modules()}
    assert {"training/rules.py", "attendance/rules.py"} <= names


@pytest.mark.parametrize("path", rules_modules(), ids=lambda p: str(p.relative_to(PROJECT)))
def test_rules_module_imports_no_framework_and_reads_no_clock(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    clock: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Attribute) and node.attr in CLOCK_CALLS:
            clock.append(f"line {node.lineno}: .{node.attr}")
    bad = {name for name in imported if name in FORBIDDEN_IMPORTS or name.startswith("flask_")}
    assert not bad, f"{path.name} imports {sorted(bad)}"
    assert not clock, f"{path.name} reads the clock ({clock}); take the time as an argument"
