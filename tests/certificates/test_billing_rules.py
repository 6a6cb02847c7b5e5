"""Billing rules, pure (no app): the union of held synchronous sessions, and properties that
hold for any month of sessions (Hypothesis)."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from certificates import billing

BASE = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Paris, a Tuesday
NOW = datetime(2026, 4, 1, tzinfo=UTC)
CONTEXT = billing.Context(modality="e_formation", group_first_day=date(2026, 1, 5))


def session(n: int, start: int, length: int, **fields) -> billing.ChainedSession:  # noqa: ANN003
    """A session `start` minutes after BASE, `length` minutes long, held unless told."""
    values = {
        "kind": "tutorat",
        "participants": None,
        "opened_at": BASE,
        "trainer_halves": frozenset({"am", "pm"}),
        "trainee_signed": True,
    } | fields
    return billing.ChainedSession(
        id=f"s{n}",
        group_id="g",
        title="Séance",
        starts_at=BASE + timedelta(minutes=start),
        ends_at=BASE + timedelta(minutes=start + length),
        **values,
    )


def bill(sessions: list[billing.ChainedSession]) -> billing.GroupBilling:
    return billing.bill_group("g", "Groupe", "Anglais", [(s, 3) for s in sessions], CONTEXT, NOW)


def covered(sessions: list[billing.ChainedSession]) -> int:
    """The reference: the minutes of the clock that some session covers (whole minutes)."""
    minutes: set[int] = set()
    for s in sessions:
        first = int((s.starts_at - BASE).total_seconds() // 60)
        last = int((s.stop - BASE).total_seconds() // 60)
        minutes.update(range(first, last))
    return len(minutes)


KINDS = st.sampled_from(["tutorat", "regroupement", "autoformation"])
AUDIENCES = st.sampled_from([None, ("t1",), ("t1", "t2")])


@st.composite
def sessions(draw: st.DrawFn) -> list[billing.ChainedSession]:
    found = []
    for n in range(draw(st.integers(0, 8))):
        start = draw(st.integers(0, 600))
        length = draw(st.integers(1, 300))
        opened = draw(st.booleans())
        close = draw(st.one_of(st.none(), st.integers(0, length + 30)))
        found.append(
            session(
                n,
                start,
                length,
                kind=draw(KINDS),
                participants=draw(AUDIENCES),
                opened_at=BASE if opened else None,
                closed_at=BASE + timedelta(minutes=start + close) if opened and close else None,
                trainer_halves=frozenset(draw(st.sets(st.sampled_from(["am", "pm"])))),
                trainee_signed=draw(st.booleans()),
            )
        )
    return found


def held_synchronous(found: list[billing.ChainedSession]) -> list[billing.ChainedSession]:
    return [
        s for s in found if s.synchronous and s.opened_at and s.trainer_halves and s.trainee_signed
    ]


@settings(max_examples=150, deadline=None)
@given(sessions())
def test_billable_is_the_union_of_held_synchronous_sessions(found):
    assert bill(found).billable_minutes == covered(held_synchronous(found))


@settings(max_examples=100, deadline=None)
@given(sessions(), sessions())
def test_autoformation_is_never_billed(found, more):
    autoformation = [replace(s, id=f"a{s.id}", kind="autoformation") for s in more]
    assert bill(found + autoformation).billable_minutes == bill(found).billable_minutes
    assert all(not line.billable for line in bill(autoformation).lines)


@settings(max_examples=100, deadline=None)
@given(sessions(), sessions())
def test_a_session_no_trainee_signed_is_not_billed(found, more):
    unsigned = [replace(s, id=f"u{s.id}", trainee_signed=False) for s in more]
    assert bill(found + unsigned).billable_minutes == bill(found).billable_minutes


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 600),
    st.integers(1, 300),
    st.lists(st.tuples(st.integers(-60, 300), st.integers(1, 300)), min_size=1, max_size=6),
)
def test_splitting_a_group_never_bills_more_than_teaching_it_whole(start, length, parts):
    """Sub-group sessions inside the whole group's slot bill at most the slot."""
    whole = bill([session(0, start, length)])
    pieces = []
    for n, (offset, size) in enumerate(parts, start=1):
        begin = start + max(0, min(offset, length - 1))
        end = min(begin + size, start + length)
        pieces.append(session(n, begin, end - begin, participants=(f"t{n}",)))
    split = bill(pieces)
    assert split.billable_minutes <= whole.billable_minutes
    assert split.whole_group_minutes == 0
    assert split.subgroup_minutes == sum(p.minutes for p in split.lines)


def test_overlapping_sessions_count_once_and_the_close_cuts_the_time():
    group = bill(
        [
            session(1, 0, 180),  # 08:00–11:00
            session(2, 120, 120, participants=("t1",)),  # 10:00–12:00
            session(3, 300, 120, closed_at=BASE + timedelta(minutes=330)),  # 13:00–13:30
        ]
    )
    assert group.billable_minutes == 240 + 30
    assert group.whole_group_minutes == 180 + 30
    assert group.subgroup_minutes == 120


def test_why_a_session_is_not_held():
    assert billing.not_held_reasons(session(1, 0, 60, opened_at=None), NOW) == ("not_opened",)
    early = BASE - timedelta(days=1)
    assert billing.not_held_reasons(session(1, 0, 60, opened_at=None), early) == ("upcoming",)
    lonely = session(1, 0, 60, trainer_halves=frozenset(), trainee_signed=False)
    assert billing.not_held_reasons(lonely, NOW) == ("no_trainer_signature", "no_trainee_signature")
    assert billing.not_held_reasons(session(1, 0, 60, kind="autoformation"), NOW) == ()


def test_a_half_day_the_trainer_did_not_sign_is_flagged():
    # 08:00–15:00 Paris crosses 13:00: two halves, the trainer signed the morning only.
    day = session(1, 0, 420, trainer_halves=frozenset({"am"}))
    codes = [f.code for f in billing.session_flags(day, 3, CONTEXT)]
    assert codes == ["trainer_signature_missing"]
    closed_at_noon = session(
        2, 0, 420, trainer_halves=frozenset({"am"}), closed_at=BASE + timedelta(hours=4)
    )
    assert billing.session_flags(closed_at_noon, 3, CONTEXT) == []


def test_month_bounds_follow_paris_time():
    first, after = billing.month_bounds(2026, 3)
    assert first == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # winter time
    assert after == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # summer time since the 29th
    assert billing.month_bounds(2026, 12)[1] == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


def test_hours_are_rounded_half_up_to_two_decimals():
    assert billing.hours(20) == Decimal("0.33")
    assert billing.hours(50) == Decimal("0.83")
    assert billing.hours(90) == Decimal("1.50")


def test_r6_flag_when_the_orders_autoformation_is_over_its_cap():
    assert billing.autoformation_cap_flag("e_formation", 100, 50 * 60) is None
    flag = billing.autoformation_cap_flag("e_formation", 100, 50 * 60 + 1)
    assert flag is not None
    assert flag.rule == "R6"
    assert billing.autoformation_cap_flag("hybride", 100, 21 * 60) is not None


def test_the_billing_rules_are_pure():
    tree = ast.parse(Path(billing.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"flask", "sqlalchemy", "marshmallow"}


# --- a line's participant count: the group's trainees enrolled on the session's day ------


@settings(max_examples=200, deadline=None)
@given(
    paths=st.lists(
        st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(-5, 40))), max_size=12
    ),
    day=st.integers(-2, 45),
)
def test_participant_count_is_the_enrolled_on_the_day(paths, day) -> None:
    """R11 lines: a whole-group session counts the trainees whose path covers its day, as
    attendance.participants.enrolled_on selects them (entered on or before it, not left
    before it), whatever the order of the paths, including one that ends before it begins."""
    from certificates.billing_services import _Lookups

    first = date(2026, 3, 1)
    enrolments = [
        (first + timedelta(days=entry), None if exit_ is None else first + timedelta(days=exit_))
        for entry, exit_ in paths
    ]
    lookups = _Lookups({"g": enrolments}, {}, {}, set())
    the_day = first + timedelta(days=day)
    session = billing.ChainedSession(
        id="s",
        group_id="g",
        title="Tutorat",
        kind="tutorat",
        starts_at=datetime(the_day.year, the_day.month, the_day.day, 9, tzinfo=UTC),
        ends_at=datetime(the_day.year, the_day.month, the_day.day, 11, tzinfo=UTC),
        participants=None,
    )
    expected = sum(
        1 for entry, exit_ in enrolments if entry <= the_day and (exit_ is None or exit_ >= the_day)
    )
    assert lookups.counted("g", [session]) == [(session, expected)]
