"""Company periods (R1, R2, R7's principle), pure: what a period and a line may be, and which
hours a period's chain counts (only lines signed by both the trainee and the tutor, once)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attendance import company_rules as rules
from attendance.company_rules import Span
from core.errors import Conflict, InvalidInput, RuleViolation

ORDER = Span(date(2026, 1, 5), date(2026, 11, 30))
PERIOD = Span(date(2026, 3, 2), date(2026, 3, 27))
TODAY = date(2026, 3, 20)


def test_r2_refuses_a_period_that_takes_the_path_over_70_hours():
    rules.check_planned_hours(100, 0, 35, 35)  # 70 h in all: allowed
    with pytest.raises(RuleViolation) as refused:
        rules.check_planned_hours(100, 0, 35, 35.5)
    assert refused.value.rule == "R2"
    assert refused.value.code == "too_many_company_hours"


def test_r1_refuses_centre_and_company_over_200_hours():
    rules.check_planned_hours(150, 0, 0, 50)
    with pytest.raises(RuleViolation) as refused:
        rules.check_planned_hours(150, 0, 0, 50.5)
    assert refused.value.rule == "R1"
    # the company hours announced at enrolment count when they are more than the periods'
    with pytest.raises(RuleViolation) as announced:
        rules.check_planned_hours(140, 70, 0, 10)
    assert announced.value.rule == "R1"


@given(
    centre=st.floats(0, 200, allow_nan=False),
    planned=st.lists(st.floats(0.25, 70, allow_nan=False), min_size=1, max_size=5),
)
def test_accepted_periods_always_keep_r1_and_r2(centre, planned):
    """Whatever the order of requests, what was accepted keeps R2 (≤ 70 h) and R1 (≤ 200 h)."""
    accepted: list[float] = []
    for hours in planned:
        refused_by = None
        try:
            rules.check_planned_hours(centre, 0, sum(accepted), hours)
        except RuleViolation as refused:
            refused_by = refused.rule
        assert refused_by in (None, "R1", "R2")
        if refused_by is None:
            accepted.append(hours)
    assert sum(accepted) <= 70 + 1e-9
    assert not accepted or centre + sum(accepted) <= 200 + 1e-9


def test_a_period_lies_inside_the_order_and_the_path():
    rules.check_period_dates(PERIOD, ORDER, date(2026, 1, 5), None)
    with pytest.raises(InvalidInput, match="bon de commande") as outside:
        rules.check_period_dates(
            Span(date(2026, 11, 20), date(2026, 12, 4)), ORDER, ORDER.start, None
        )
    assert outside.value.code == "period_outside_order"
    with pytest.raises(InvalidInput) as before_entry:
        rules.check_period_dates(PERIOD, ORDER, date(2026, 3, 9), None)
    assert before_entry.value.code == "period_outside_path"
    with pytest.raises(InvalidInput) as reversed_dates:
        rules.check_period_dates(Span(PERIOD.end, PERIOD.start), ORDER, ORDER.start, None)
    assert reversed_dates.value.code == "invalid_dates"


def test_two_periods_of_a_path_never_overlap():
    rules.check_no_overlap(Span(date(2026, 3, 28), date(2026, 4, 3)), [PERIOD])
    with pytest.raises(Conflict) as clash:
        rules.check_no_overlap(Span(date(2026, 3, 27), date(2026, 4, 3)), [PERIOD])
    assert clash.value.code == "company_period_overlap"
    assert clash.value.status == 409


def test_a_line_is_past_inside_its_period_and_one_month_at_most_10_hours_a_day():
    rules.check_line(Span(date(2026, 3, 2), date(2026, 3, 6)), 50 * 60, PERIOD, TODAY)
    cases = {
        "hours_outside_period": (Span(date(2026, 3, 1), date(2026, 3, 2)), 60),
        "hours_in_the_future": (Span(date(2026, 3, 20), date(2026, 3, 21)), 60),
        "invalid_hours": (Span(date(2026, 3, 2), date(2026, 3, 2)), 10 * 60 + 1),
        "invalid_dates": (Span(date(2026, 3, 3), date(2026, 3, 2)), 60),
    }
    for code, (line, minutes) in cases.items():
        with pytest.raises(InvalidInput) as refused:
            rules.check_line(line, minutes, PERIOD, TODAY)
        assert refused.value.code == code
    with pytest.raises(InvalidInput) as across:
        rules.check_line(
            Span(date(2026, 3, 30), date(2026, 4, 2)),
            60,
            Span(date(2026, 3, 2), date(2026, 4, 30)),
            date(2026, 5, 1),
        )
    assert across.value.code == "hours_across_months"


def test_r2_refuses_realised_hours_beyond_the_periods_plan_or_70_hours():
    rules.check_realised(20 * 60, 35, 20 * 60, 15 * 60)
    with pytest.raises(RuleViolation) as over_plan:
        rules.check_realised(20 * 60, 35, 20 * 60, 15 * 60 + 1)
    assert (over_plan.value.rule, over_plan.value.code) == ("R2", "company_hours_over_plan")
    with pytest.raises(RuleViolation) as over_path:
        rules.check_realised(0, 35, 60 * 60, 11 * 60)
    assert over_path.value.rule == "R2"


# --- The chain replayed: which hours count ---

START = datetime(2026, 3, 20, 9, tzinfo=UTC)


def plan() -> dict:
    return {
        "kind": rules.PLAN,
        "facts": rules.plan_facts("ACME", None, PERIOD.start, PERIOD.end, 35),
    }


def hours(hours_id: str, minutes: int, day: int = 2) -> dict:
    facts = {
        "hours_id": hours_id,
        "first_day": date(2026, 3, day).isoformat(),
        "last_day": date(2026, 3, day).isoformat(),
        "minutes": minutes,
    }
    return {"kind": rules.HOURS, "facts": facts}


def sign(hours_id: str, signer: str, minute: int = 0) -> dict:
    return {
        "kind": rules.SIGN,
        "hours_id": hours_id,
        "facts": {"hours_id": hours_id},
        "signer_kind": signer,
        "at": START + timedelta(minutes=minute),
    }


def test_r7_unsigned_or_half_signed_hours_never_count():
    chain = [plan(), hours("a", 420), hours("b", 300, day=3), hours("c", 60, day=4)]
    chain += [sign("a", "trainee"), sign("b", "tutor")]
    state = rules.replay(chain)
    assert state.counted_minutes() == 0
    state = rules.replay([*chain, sign("a", "tutor")])
    assert state.counted_minutes() == 420
    assert [line.hours_id for line in state.counted()] == ["a"]


@given(
    minutes=st.lists(st.integers(1, 600), min_size=1, max_size=6),
    signatures=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(rules.SIGNERS)), max_size=30),
)
def test_counted_hours_are_the_lines_both_signed_each_once(minutes, signatures):
    """However often and in whatever order the trainee and the tutor sign, the hours counted
    are the sum of the lines both signed, each once (R2 hours, R7's principle)."""
    chain = [plan()] + [hours(str(i), m, day=2 + i) for i, m in enumerate(minutes)]
    signed: dict[str, set[str]] = {}
    for n, (index, signer) in enumerate(signatures):
        if index < len(minutes):
            chain.append(sign(str(index), signer, minute=n))
            signed.setdefault(str(index), set()).add(signer)
    expected = sum(
        m for i, m in enumerate(minutes) if signed.get(str(i), set()) == set(rules.SIGNERS)
    )
    state = rules.replay(chain)
    assert state.counted_minutes() == expected
    for line in state.lines.values():  # the first signature of each signer stands
        for signer, at in line.signed.items():
            first = next(
                e["at"]
                for e in chain
                if e.get("hours_id") == line.hours_id and e.get("signer_kind") == signer
            )
            assert at == first


def test_counted_hours_of_a_month_are_its_lines():
    chain = [plan(), hours("a", 120, day=2), hours("b", 60, day=31)]
    chain += [sign(x, s) for x in "ab" for s in rules.SIGNERS]
    state = rules.replay(chain)
    assert state.counted_minutes(date(2026, 3, 1), date(2026, 3, 30)) == 120
    assert state.counted_minutes() == 180


def test_entries_out_of_turn_are_named():
    state = rules.replay([plan(), hours("a", 60)])
    assert (
        rules.out_of_turn(rules.PeriodState(), hours("a", 60))
        == "an entry before the period's plan"
    )
    assert rules.out_of_turn(state, plan()) == "a second plan of the period"
    assert (
        rules.out_of_turn(state, sign("zz", "tutor"))
        == "a signature of hours the chain does not hold"
    )
    assert rules.out_of_turn(state, hours("a", 60)) == "the same hours recorded twice"
    forged = sign("a", "tutor") | {"facts": {"hours_id": "other"}}
    assert rules.out_of_turn(state, forged) == "the signed hours differ from the entry's facts"
    assert rules.out_of_turn(state, sign("a", "tutor")) is None


def cancel(hours_id: str, minute: int = 0) -> dict:
    return {
        "kind": rules.CANCEL,
        "hours_id": hours_id,
        "facts": {"hours_id": hours_id},
        "signer_kind": "period",
        "at": START + timedelta(minutes=minute),
    }


def test_a_withdrawn_line_never_counts_even_signed_afterwards():
    chain = [plan(), hours("a", 420), sign("a", "trainee"), cancel("a", 1), sign("a", "tutor", 2)]
    state = rules.replay(chain)
    assert state.counted_minutes() == 0
    assert state.lines["a"].cancelled_at == START + timedelta(minutes=1)


def test_a_line_that_counts_cannot_be_withdrawn():
    chain = [plan(), hours("a", 60), sign("a", "trainee"), sign("a", "tutor")]
    state = rules.replay(chain)
    assert rules.out_of_turn(state, cancel("a")) == "a withdrawal of hours that count already"
    assert rules.replay([*chain, cancel("a")]).counted_minutes() == 60
    assert rules.out_of_turn(rules.replay([plan()]), cancel("zz")) is not None
    with pytest.raises(Conflict) as refused:
        rules.check_can_withdraw(counted=True, cancelled=False)
    assert refused.value.code == "hours_counted"
    with pytest.raises(Conflict) as twice:
        rules.check_can_withdraw(counted=False, cancelled=True)
    assert twice.value.code == "hours_cancelled"
