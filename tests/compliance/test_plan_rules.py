"""The plan checks, pure (R5, R9, R12, R13, R20, R21, R22, the trainee's week, the deadline)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from compliance import rules
from compliance.rules import Component, Plan, PlannedSession, TypicalWeek

MONDAY = date(2027, 3, 1)  # a Monday, winter time (Paris = UTC+1)


def session(
    day: date, start: int, stop: int, kind: str = "tutorat", group: str = "g"
) -> PlannedSession:
    """A session on a Paris day from `start` to `stop` o'clock (Paris is UTC+1 in March)."""
    base = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=1)
    return PlannedSession(
        f"{group}-{day}-{start}-{kind}",
        group,
        kind,
        base + timedelta(hours=start),
        base + timedelta(hours=stop),
    )


def plan(sessions: list[PlannedSession], **overrides: object) -> Plan:
    values: dict[str, object] = {
        "group_id": "g",
        "modality": "e_formation",
        "order_hours": 400.0,
        "min_synchronous_share": 0.0,
        "component": Component("g", "Anglais", rules.TRAINING, 20.0),
        "typical_week": TypicalWeek(6, 6, 0),
        "sessions": sessions,
        "order_sessions": sessions,
    }
    values.update(overrides)
    return Plan(**values)  # type: ignore[arg-type]


def codes(flags: list[rules.Flag]) -> set[tuple[str | None, str]]:
    return {(f.rule, f.code) for f in flags}


def test_r5_components_and_plan_over_the_orders_total() -> None:
    sessions = [session(MONDAY + timedelta(days=d), 9, 17) for d in range(3)]  # 24 h
    ok = plan(sessions, order_hours=24.0, component=Component("g", "A", rules.TRAINING, 20))
    assert rules.check_order_hours(ok) == []
    over = plan(
        sessions,
        order_hours=24.0,
        component=Component("g", "A", rules.TRAINING, 20),
        other_components=[Component("h", "B", rules.TRAINING, 5)],
    )
    assert codes(rules.check_order_hours(over)) == {("R5", "components_over_order")}
    assert codes(rules.check_order_hours(plan(sessions, order_hours=23.5))) == {
        ("R5", "plan_over_order")
    }


def test_r5_parallel_sub_groups_take_the_groups_time_once() -> None:
    a = session(MONDAY, 9, 12)
    b = PlannedSession("other", "g", "tutorat", a.starts_at, a.ends_at)
    component = Component("g", "A", rules.TRAINING, 3.0)
    assert rules.check_order_hours(plan([a, b], order_hours=3.0, component=component)) == []


@given(
    tutorat=st.integers(0, 20), autoformation=st.integers(0, 20), regroupement=st.integers(0, 20)
)
def test_r9_hybrid_distance_share(tutorat: int, autoformation: int, regroupement: int) -> None:
    """R9: flagged exactly when tutorat + autoformation exceed half of the planned time."""
    sessions = [
        *(session(MONDAY + timedelta(days=d), 8, 9, "tutorat") for d in range(tutorat)),
        *(
            session(MONDAY + timedelta(days=d), 10, 11, "autoformation")
            for d in range(autoformation)
        ),
        *(session(MONDAY + timedelta(days=d), 14, 15, "regroupement") for d in range(regroupement)),
    ]
    flags = rules.check_distance_share(plan(sessions, modality="hybride"))
    total = tutorat + autoformation + regroupement
    assert bool(flags) == (total > 0 and (tutorat + autoformation) / total > 0.5)
    assert all(f.rule == "R9" for f in flags)
    assert rules.check_distance_share(plan(sessions, modality="e_formation")) == []


@given(
    sync=st.integers(0, 10), auto=st.integers(0, 10), share=st.sampled_from([0.0, 0.3, 0.5, 0.7])
)
def test_r12_minimum_synchronous_share(sync: int, auto: int, share: float) -> None:
    """R12: flagged exactly when the synchronous share falls under the order's minimum."""
    sessions = [
        *(session(MONDAY + timedelta(days=d), 9, 10, "tutorat") for d in range(sync)),
        *(session(MONDAY + timedelta(days=d), 14, 15, "autoformation") for d in range(auto)),
    ]
    flags = rules.check_synchronous_share(plan(sessions, min_synchronous_share=share))
    total = sync + auto
    assert bool(flags) == (total > 0 and share > 0 and sync / total < share - 1e-9)
    assert all(f.rule == "R12" and "%" in f.message for f in flags)


def weeks_of(tutorat: int, autoformation: int, weeks: int) -> list[PlannedSession]:
    """`weeks` weeks, each with `tutorat` hours of tutorat on Monday and `autoformation` on
    Tuesday."""
    found = []
    for w in range(weeks):
        monday = MONDAY + timedelta(weeks=w)
        if tutorat:
            found.append(session(monday, 8, 8 + tutorat, "tutorat"))
        if autoformation:
            found.append(session(monday + timedelta(days=1), 8, 8 + autoformation, "autoformation"))
    return found


def test_r13_weeks_kept_to_the_typical_week_pass() -> None:
    assert rules.check_typical_week(plan(weeks_of(6, 6, 5))) == []


def test_r13_a_full_week_off_the_typical_week_is_named() -> None:
    sessions = weeks_of(6, 6, 5)
    third = MONDAY + timedelta(weeks=2)
    sessions = [
        s for s in sessions if not (s.kind == "tutorat" and rules.local_day(s.starts_at) == third)
    ]
    sessions.append(session(third, 8, 10, "tutorat"))  # 2 h instead of 6 h
    (flag,) = rules.check_typical_week(plan(sessions))
    assert (flag.rule, flag.code) == ("R13", "week_off_typical")
    assert "2027-S11" in flag.message
    assert "tutorat 2 h au lieu de 6 h" in flag.message


def test_r13_first_and_last_weeks_are_partial_and_not_compared() -> None:
    sessions = weeks_of(6, 6, 3)[1:-1] + [
        session(MONDAY, 8, 9),
        session(MONDAY + timedelta(weeks=2), 8, 9),
    ]
    assert rules.check_typical_week(plan(sessions)) == []


def test_r13_missing_or_too_long_typical_week() -> None:
    assert codes(rules.check_typical_week(plan([], typical_week=TypicalWeek(0, 0, 0)))) == {
        ("R13", "typical_week_missing")
    }
    assert ("R13", "typical_week_too_long") in codes(
        rules.check_typical_week(plan([], typical_week=TypicalWeek(20, 16, 0)))
    )
    assert ("R12", "typical_week_synchronous_share") in codes(
        rules.check_typical_week(
            plan([], typical_week=TypicalWeek(2, 8, 0), min_synchronous_share=0.5)
        )
    )


@given(hours=st.integers(1, 20))
def test_r20_positioning_warns_outside_2_to_14_hours(hours: int) -> None:
    sessions = [session(MONDAY + timedelta(days=d), 8, 9) for d in range(hours)]
    component = Component("g", "Positionnement", rules.POSITIONING, float(hours))
    flags = rules.check_component_hours(plan(sessions, component=component))
    assert bool(flags) == (not 2 <= hours <= 14)
    assert all((f.rule, f.level) == ("R20", rules.WARNING) for f in flags)


@given(declared=st.integers(0, 30), planned=st.integers(1, 30))
def test_r21_job_search_module_at_least_14_hours(declared: int, planned: int) -> None:
    sessions = [session(MONDAY + timedelta(days=d), 8, 9) for d in range(planned)]
    component = Component("g", "TRE", rules.JOB_SEARCH, float(declared))
    flags = rules.check_component_hours(plan(sessions, component=component))
    assert bool(flags) == (min(declared, planned) < 14)
    assert all((f.rule, f.level) == ("R21", rules.FLAG) for f in flags)


def test_r22_closures_and_gaps_longer_than_two_weeks() -> None:
    closures = [
        rules.Closure(date(2027, 8, 2), date(2027, 8, 15)),
        rules.Closure(date(2027, 12, 20), date(2028, 1, 3)),
    ]
    flags = rules.check_closures(plan([], closures=closures))
    assert [(f.rule, f.code) for f in flags] == [("R22", "closure_too_long")]
    assert "15 jours" in flags[0].message
    gap = [session(MONDAY, 9, 12), session(MONDAY + timedelta(days=15), 9, 12)]
    assert rules.check_closures(plan(gap)) == []  # 14 days without a session: allowed
    gap = [session(MONDAY, 9, 12), session(MONDAY + timedelta(days=16), 9, 12)]
    assert codes(rules.check_closures(plan(gap))) == {("R22", "plan_interrupted")}


@given(days=st.integers(1, 6), hours=st.integers(1, 9))
def test_trainee_week_stays_within_35_hours(days: int, hours: int) -> None:
    """CCTP §3.1.2: a trainee's week over 35 h, counting every group, is flagged."""
    mine = [
        session(MONDAY + timedelta(days=d), 8, 8 + hours, group="g" if d % 2 else "h")
        for d in range(days)
    ]
    flags = rules.check_trainee_weeks(
        plan([], trainee_sessions={"t": mine}, trainee_names={"t": "Amina Diallo"})
    )
    assert bool(flags) == (days * hours > 35)
    assert all("Amina Diallo" in f.message and f.code == "week_over_35h" for f in flags)


def test_rest_of_11_hours_between_two_days() -> None:
    late_then_early = [session(MONDAY, 14, 21), session(MONDAY + timedelta(days=1), 7, 12)]
    (flag,) = rules.check_trainee_weeks(plan([], trainee_sessions={"t": late_then_early}))
    assert flag.code == "rest_too_short"
    assert "10 h" in flag.message
    fine = [session(MONDAY, 14, 20), session(MONDAY + timedelta(days=1), 7, 12)]
    assert rules.check_trainee_weeks(plan([], trainee_sessions={"t": fine})) == []


def test_deadline_is_15_days_before_the_start() -> None:
    start = date(2027, 3, 15)
    assert rules.submission_deadline(start) == date(2027, 2, 28)
    assert rules.late_flag(date(2027, 2, 28), start) is None
    late = rules.late_flag(date(2027, 3, 1), start)
    assert late is not None
    assert late.code == "late_submission"
    assert "28/02/2027" in late.message


def test_changes_since_the_validated_plan() -> None:
    before = [
        {
            "id": "a",
            "kind": "tutorat",
            "title": "T",
            "starts_at": "2027-03-01T09:00:00+00:00",
            "ends_at": "x",
            "participant_ids": None,
        },
        {
            "id": "b",
            "kind": "tutorat",
            "title": "T",
            "starts_at": "2027-03-02T09:00:00+00:00",
            "ends_at": "x",
            "participant_ids": None,
        },
    ]
    now = [
        {**before[0], "ends_at": "y"},
        {
            "id": "c",
            "kind": "autoformation",
            "title": "A",
            "starts_at": "2027-03-03T09:00:00+00:00",
            "ends_at": "z",
            "participant_ids": None,
        },
    ]
    changes = rules.plan_changes(before, now)
    assert [(c["change"], c["session"]["id"]) for c in changes] == [  # type: ignore[index]
        ("changed", "a"),
        ("removed", "b"),
        ("added", "c"),
    ]
    assert changes[0]["fields"] == ["ends_at"]
    assert changes[0]["before"] == {"ends_at": "x"}
    assert rules.plan_changes(before, before) == []
