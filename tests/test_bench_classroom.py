"""The class bench's capacity (bench/classroom.py, issue 11 point 8): the largest step carried
within the target with every smaller step carried too, so that a step passing by chance above
one that failed does not count as capacity."""

from __future__ import annotations

from bench.classroom import Outcome, capacity


def step(rooms: int, p99_ms: float, processes: int = 2) -> Outcome:
    sent = rooms * 16
    return Outcome(
        "step", processes, rooms, rooms * 16, 15, sent, sent * 16, sent * 16, 2.0, p99_ms,
        p99_ms, 0, 0.5, 0.3, 0.0, cap=0.35,
    )  # fmt: skip


def test_capacity_stops_at_the_first_step_beyond_the_target() -> None:
    steps = [step(40, 84.2), step(45, 236.8), step(50, 132.5), step(35, 19.9)]
    carried = capacity(steps, 2, cap=0.35)
    assert carried is not None
    assert carried.rooms == 40  # not 50: 45 failed below it


def test_no_capacity_when_the_first_step_fails() -> None:
    assert capacity([step(10, 250.0, processes=1)], 1, cap=0.35) is None
    assert capacity([step(10, 20.0, processes=1)], 2, cap=0.35) is None  # another count
