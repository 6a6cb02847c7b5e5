"""Signing rules, pure: half-days at 13:00 Paris, when signing opens and closes, realised minutes
(R7), group-time, "held", rotating QR tokens, and the presence fold."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from attendance import rules
from attendance.presence import fold
from attendance.rules import HalfDay
from core.errors import Conflict, Gone, InvalidInput

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 3, 10)  # a Tuesday, winter time
KEY = bytes(range(32))
ROTATE, GRACE = 15, 5.0


@pytest.fixture(autouse=True)
def db() -> None:
    """Rules need no app and no database: this shadows the suite's autouse `db` fixture."""
    return None


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Paris wall-clock time, as UTC (how the database hands it back)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def bounds(halves: list[HalfDay]) -> list[tuple[str, datetime, datetime]]:
    return [(h.name, h.start, h.end) for h in halves]


# --- half-days: one signature per half, split at 13:00 Europe/Paris ------------------------------


def test_half_days_a_session_crossing_13h_paris_has_a_morning_and_an_afternoon():
    halves = rules.half_days(at(DAY, 10), at(DAY, 16))
    assert bounds(halves) == [
        ("am", at(DAY, 10), at(DAY, 13)),
        ("pm", at(DAY, 13), at(DAY, 16)),
    ]


def test_half_days_a_morning_session_takes_one_signature():
    assert bounds(rules.half_days(at(DAY, 9), at(DAY, 12))) == [("am", at(DAY, 9), at(DAY, 12))]


def test_half_days_a_session_ending_at_13h_is_a_morning_one():
    assert [h.name for h in rules.half_days(at(DAY, 9), at(DAY, 13))] == ["am"]


def test_half_days_an_afternoon_session_takes_one_signature():
    assert bounds(rules.half_days(at(DAY, 13), at(DAY, 17))) == [("pm", at(DAY, 13), at(DAY, 17))]


def test_half_days_paris_times_and_utc_times_split_at_the_same_instant():
    paris_halves = rules.half_days(at(DAY, 10).astimezone(PARIS), at(DAY, 16).astimezone(PARIS))
    assert [h.end for h in paris_halves][0] == at(DAY, 13)


@pytest.mark.parametrize(
    ("day", "midday_utc"),
    [
        (date(2026, 3, 28), utc(2026, 3, 28, 12)),  # the day before summer time: UTC+1
        (date(2026, 3, 29), utc(2026, 3, 29, 11)),  # summer time starts at 02:00: UTC+2
        (date(2026, 10, 24), utc(2026, 10, 24, 11)),  # the day before winter time: UTC+2
        (date(2026, 10, 25), utc(2026, 10, 25, 12)),  # winter time starts at 03:00: UTC+1
    ],
)
def test_half_days_split_at_13h_paris_around_daylight_saving_changes(day, midday_utc):
    halves = rules.half_days(at(day, 10), at(day, 16))
    assert bounds(halves) == [("am", at(day, 10), midday_utc), ("pm", midday_utc, at(day, 16))]


def test_half_days_a_session_that_starts_before_the_spring_change_splits_at_summer_13h():
    # 01:30 CET (00:30 UTC) to 14:00 CEST (12:00 UTC): the morning lasts 10 h 30 of real time.
    starts, ends = utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 12)
    am, pm = rules.half_days(starts, ends)
    assert (am.end, pm.start) == (utc(2026, 3, 29, 11), utc(2026, 3, 29, 11))
    full = {"signed_in_at": starts, "signed_out_at": None, "closed_at": None}
    assert rules.half_minutes(am, **full, needs_sign_out=False) == 10 * 60 + 30
    assert rules.half_minutes(pm, **full, needs_sign_out=False) == 60


def test_half_days_a_session_that_starts_before_the_autumn_change_splits_at_winter_13h():
    # 01:30 CEST (23:30 UTC the day before) to 14:00 CET (13:00 UTC): 13 h 30 of real time.
    starts, ends = utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 13)
    am, pm = rules.half_days(starts, ends)
    assert (am.end, pm.start) == (utc(2026, 10, 25, 12), utc(2026, 10, 25, 12))
    full = {"signed_in_at": starts, "signed_out_at": None, "closed_at": None}
    assert rules.half_minutes(am, **full, needs_sign_out=False) == 12 * 60 + 30


def test_half_day_for_picks_the_half_of_the_moment():
    halves = rules.half_days(at(DAY, 10), at(DAY, 16))
    assert rules.half_day_for(halves, at(DAY, 9, 50)).name == "am"  # before the start
    assert rules.half_day_for(halves, at(DAY, 12, 59)).name == "am"
    assert rules.half_day_for(halves, at(DAY, 13)).name == "pm"
    assert rules.half_day_for(halves, at(DAY, 15, 59)).name == "pm"
    assert rules.half_day_for(halves, at(DAY, 17)).name == "pm"  # after the end


def test_half_day_for_a_morning_only_session_is_always_am():
    halves = rules.half_days(at(DAY, 9), at(DAY, 12))
    for hour in (8, 9, 11, 12, 14):
        assert rules.half_day_for(halves, at(DAY, hour)).name == "am"


# --- when a trainee may sign --------------------------------------------------------------------

START, END = at(DAY, 9), at(DAY, 12)


def refused_sign(status: str, now: datetime, margin: int = 15) -> Conflict:
    with pytest.raises(Conflict) as excinfo:
        rules.check_can_sign(status, now, START, END, margin)
    assert excinfo.value.status == 409
    assert " " in excinfo.value.message
    return excinfo.value


@pytest.mark.parametrize("status", ["planned", "closed"])
def test_check_can_sign_a_session_not_open_is_409_session_not_open(status):
    assert refused_sign(status, at(DAY, 10)).code == "session_not_open"


def test_check_can_sign_before_the_margin_is_409_session_not_open():
    assert refused_sign("open", START - timedelta(minutes=15, seconds=1)).code == "session_not_open"


def test_check_can_sign_the_margin_is_configurable():
    rules.check_can_sign("open", START - timedelta(minutes=30), START, END, 30)
    assert refused_sign("open", START - timedelta(minutes=6), margin=5).code == "session_not_open"


@pytest.mark.parametrize(
    "now", [START - timedelta(minutes=15), START, at(DAY, 11), END - timedelta(seconds=1)]
)
def test_check_can_sign_from_the_margin_until_the_end(now):
    rules.check_can_sign("open", now, START, END, 15)


@pytest.mark.parametrize("now", [END, END + timedelta(hours=3)])
def test_check_can_sign_at_or_after_the_end_is_409_signing_closed(now):
    assert refused_sign("open", now).code == "signing_closed"


def test_check_can_open_a_planned_session_from_the_margin_until_the_end():
    rules.check_can_open("planned", START - timedelta(minutes=15), START, END, 15)
    for now in (START - timedelta(minutes=16), END):
        with pytest.raises(Conflict) as excinfo:
            rules.check_can_open("planned", now, START, END, 15)
        assert excinfo.value.code == "outside_session_time"
    with pytest.raises(Conflict) as excinfo:
        rules.check_can_open("open", at(DAY, 10), START, END, 15)
    assert excinfo.value.code == "session_not_planned"


# --- realised minutes: later of sign-in and start, to earliest of sign-out, close, end ----------

AM = HalfDay("am", at(DAY, 9), at(DAY, 12))


def minutes(
    signed_in: datetime | None,
    signed_out: datetime | None = None,
    closed: datetime | None = None,
    *,
    autoformation: bool = False,
    half: HalfDay = AM,
) -> int:
    return rules.half_minutes(
        half,
        signed_in_at=signed_in,
        signed_out_at=signed_out,
        closed_at=closed,
        needs_sign_out=autoformation,
    )


def test_half_minutes_an_early_sign_in_counts_from_the_start():
    assert minutes(at(DAY, 8, 50)) == 180


def test_half_minutes_a_late_sign_in_counts_from_the_sign_in():
    assert minutes(at(DAY, 9, 20)) == 160


def test_half_minutes_stop_at_the_earliest_of_sign_out_close_and_end():
    assert minutes(at(DAY, 9), signed_out=at(DAY, 11)) == 120
    assert minutes(at(DAY, 9), closed=at(DAY, 10, 30)) == 90
    assert minutes(at(DAY, 9), signed_out=at(DAY, 11), closed=at(DAY, 10)) == 60
    assert minutes(at(DAY, 9), signed_out=at(DAY, 13)) == 180


def test_half_minutes_synchronous_without_sign_out_counts_to_the_close_or_the_end():
    assert minutes(at(DAY, 9, 5)) == 175
    assert minutes(at(DAY, 9, 5), closed=at(DAY, 11, 5)) == 120


def test_half_minutes_r7_autoformation_without_a_sign_out_counts_nothing():
    assert minutes(at(DAY, 9), autoformation=True) == 0
    assert minutes(at(DAY, 9), closed=at(DAY, 12), autoformation=True) == 0


def test_half_minutes_r7_autoformation_with_a_sign_out_counts_to_it():
    assert minutes(at(DAY, 9, 10), signed_out=at(DAY, 11), autoformation=True) == 110


def test_half_minutes_no_sign_in_counts_nothing():
    assert minutes(None) == 0
    assert minutes(None, signed_out=at(DAY, 11)) == 0


def test_half_minutes_a_sign_out_before_the_sign_in_never_counts_negative():
    assert minutes(at(DAY, 10), signed_out=at(DAY, 9, 30)) == 0


def test_half_minutes_are_whole_minutes_rounded_down():
    assert minutes(at(DAY, 9), signed_out=at(DAY, 9, 1) + timedelta(seconds=59)) == 1


# --- group-time and "held" (R11 bills only held synchronous sessions) ----------------------------


def test_group_minutes_run_from_start_to_end():
    assert rules.group_minutes(START, END, None) == 180


def test_group_minutes_stop_at_an_earlier_close():
    assert rules.group_minutes(START, END, at(DAY, 11)) == 120


def test_group_minutes_a_late_close_does_not_add_time():
    assert rules.group_minutes(START, END, at(DAY, 14)) == 180


def test_group_minutes_on_the_spring_change_day_count_real_time():
    # 01:00 CET to 05:00 CEST is three real hours.
    assert rules.group_minutes(utc(2026, 3, 29, 0), utc(2026, 3, 29, 3), None) == 180


@pytest.mark.parametrize(
    ("synchronous", "opened", "trainer", "trainees", "held"),
    [
        (True, True, True, 1, True),
        (True, True, True, 12, True),
        (True, True, True, 0, False),  # nobody signed: not billed
        (True, True, False, 3, False),  # no trainer signature
        (True, False, True, 3, False),  # never opened
        (False, True, True, 3, False),  # autoformation is never held (R11)
    ],
)
def test_is_held_needs_opened_trainer_signed_and_one_trainee(
    synchronous, opened, trainer, trainees, held
):
    assert rules.is_held(synchronous, opened, trainer, trainees) is held


# --- rotating QR tokens ---------------------------------------------------------------------------

windows = st.integers(min_value=0, max_value=2**32)
rotations = st.integers(min_value=1, max_value=600)
graces = st.floats(min_value=0, max_value=600, allow_nan=False)
times = st.floats(min_value=0, max_value=2**32 * 600, allow_nan=False)


@given(window=windows, now_s=times, rotate_s=rotations, grace_s=graces)
def test_qr_window_is_valid_only_within_its_window_plus_grace(window, now_s, rotate_s, grace_s):
    if rules.is_qr_window_valid(window, now_s, rotate_s, grace_s):
        assert window * rotate_s <= now_s < (window + 1) * rotate_s + grace_s


@given(
    window=windows,
    offset=st.floats(min_value=0, max_value=1, exclude_max=True),
    rotate_s=rotations,
    grace_s=graces,
)
def test_qr_window_is_valid_inside_its_window_plus_a_grace_shorter_than_a_window(
    window, offset, rotate_s, grace_s
):
    assume(grace_s < rotate_s)
    now_s = window * rotate_s + offset * (rotate_s + grace_s)
    assume(now_s < (window + 1) * rotate_s + grace_s)
    assert rules.is_qr_window_valid(window, now_s, rotate_s, grace_s)


@given(window=st.integers(min_value=1, max_value=2**32), now_s=times)
def test_check_qr_token_outside_window_plus_grace_is_410_qr_expired(window, now_s):
    assume(not window * ROTATE <= now_s < (window + 1) * ROTATE + GRACE)
    token = rules.make_qr_token("s0123456789abcdef", window, KEY)
    with pytest.raises(Gone) as excinfo:
        rules.check_qr_token(token, KEY, now_s, ROTATE, GRACE)
    assert (excinfo.value.status, excinfo.value.code) == (410, "qr_expired")


@given(window=st.integers(min_value=1, max_value=2**32), offset=st.floats(0, ROTATE + GRACE))
def test_check_qr_token_inside_window_plus_grace_answers_its_session(window, offset):
    now_s = window * ROTATE + offset
    assume(now_s < (window + 1) * ROTATE + GRACE)
    token = rules.make_qr_token("s0123456789abcdef", window, KEY)
    assert rules.check_qr_token(token, KEY, now_s, ROTATE, GRACE) == ("s0123456789abcdef", window)


@given(
    window=st.integers(min_value=0, max_value=2**32),
    data=st.data(),
    replacement=st.characters(exclude_characters="."),
)
def test_check_qr_token_any_single_character_change_of_the_mac_is_400_qr_invalid(
    window, data, replacement
):
    token = rules.make_qr_token("s0123456789abcdef", window, KEY)
    body, mac = token.rsplit(".", 1)
    index = data.draw(st.integers(min_value=0, max_value=len(mac) - 1))
    assume(mac[index] != replacement)
    forged = f"{body}.{mac[:index]}{replacement}{mac[index + 1 :]}"
    with pytest.raises(InvalidInput) as excinfo:
        rules.check_qr_token(forged, KEY, window * ROTATE + 1, ROTATE, GRACE)
    assert (excinfo.value.status, excinfo.value.code) == (400, "qr_invalid")


def test_check_qr_token_of_another_session_or_key_is_qr_invalid():
    token = rules.make_qr_token("sessionA", 7, KEY)
    other_session = "sessionB" + token[len("sessionA") :]
    other_key = rules.make_qr_token("sessionA", 7, b"another key")
    for forged in (other_session, other_key):
        with pytest.raises(InvalidInput) as excinfo:
            rules.check_qr_token(forged, KEY, 7 * ROTATE, ROTATE, GRACE)
        assert excinfo.value.code == "qr_invalid"


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "sess.zz.mac", "../x.1.mac", "s" * 41 + ".1.mac"]
)
def test_parse_qr_token_malformed_tokens_are_qr_invalid(token):
    with pytest.raises(InvalidInput) as excinfo:
        rules.check_qr_token(token, KEY, 0, ROTATE, GRACE)
    assert excinfo.value.code == "qr_invalid"


def test_make_qr_token_is_short_and_parses_back():
    token = rules.make_qr_token("0190abcdef0123456789abcd", 123456, KEY)
    assert len(token) < 60
    assert rules.parse_qr_token(token)[:2] == ("0190abcdef0123456789abcd", 123456)


# --- realised minutes, as properties ------------------------------------------------------------

SESSION_START = at(DAY, 9)
offsets = st.integers(min_value=-120, max_value=8 * 60)  # minutes from 09:00 Paris
maybe_offsets = st.none() | offsets
lengths = st.integers(min_value=1, max_value=6 * 60)


def moment(offset: int | None, seconds: int = 0) -> datetime | None:
    if offset is None:
        return None
    return SESSION_START + timedelta(minutes=offset, seconds=seconds)


@given(
    length=lengths,
    signed_in=offsets,
    signed_out=maybe_offsets,
    closed=maybe_offsets,
    autoformation=st.booleans(),
    seconds=st.integers(0, 59),
)
def test_half_minutes_lie_between_zero_and_the_half_length(
    length, signed_in, signed_out, closed, autoformation, seconds
):
    half = HalfDay("am", SESSION_START, SESSION_START + timedelta(minutes=length))
    got = minutes(
        moment(signed_in, seconds),
        moment(signed_out),
        moment(closed),
        autoformation=autoformation,
        half=half,
    )
    assert 0 <= got <= length


@given(
    length=lengths,
    first=offsets,
    delay=st.integers(min_value=0, max_value=8 * 60),
    signed_out=maybe_offsets,
    closed=maybe_offsets,
    autoformation=st.booleans(),
)
def test_half_minutes_never_grow_with_a_later_sign_in(
    length, first, delay, signed_out, closed, autoformation
):
    half = HalfDay("am", SESSION_START, SESSION_START + timedelta(minutes=length))
    stops = {"signed_out": moment(signed_out), "closed": moment(closed)}
    early = minutes(moment(first), **stops, autoformation=autoformation, half=half)
    late = minutes(moment(first + delay), **stops, autoformation=autoformation, half=half)
    assert late <= early


@given(length=lengths, signed_in=maybe_offsets, closed=maybe_offsets)
def test_half_minutes_r7_autoformation_without_sign_out_is_always_zero(length, signed_in, closed):
    half = HalfDay("am", SESSION_START, SESSION_START + timedelta(minutes=length))
    assert minutes(moment(signed_in), None, moment(closed), autoformation=True, half=half) == 0


# --- the presence fold, as a property ------------------------------------------------------------

TRAINEES = ["t1", "t2", "t3"]
KINDS = [
    ("sign_in", None),
    ("sign_out", None),
    ("absence", None),
    ("correction", "mark_present"),
    ("correction", "mark_absent"),
]


@st.composite
def ledger_entries(draw: st.DrawFn) -> list[dict]:
    count = draw(st.integers(min_value=0, max_value=25))
    entries = []
    for _ in range(count):
        kind, action = draw(st.sampled_from(KINDS))
        entries.append(
            {
                "signer_id": draw(st.sampled_from([*TRAINEES, "stranger"])),
                "half_day": draw(st.sampled_from(["am", "pm", "xx"])),
                "kind": kind,
                "action": action,
                "at": moment(draw(offsets), draw(st.integers(0, 59))),
                "method": "qr",
                "channel": "home",
                "reason": draw(st.none() | st.just("Maladie")),
                "justified": draw(st.none() | st.booleans()),
            }
        )
    return entries


@given(
    entries=ledger_entries(),
    start_hour=st.integers(min_value=7, max_value=14),
    length=st.integers(min_value=30, max_value=9 * 60),
    closed=maybe_offsets,
    synchronous=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_fold_never_counts_more_minutes_than_the_session_lasts_whatever_the_order(
    entries, start_hour, length, closed, synchronous, seed
):
    starts = at(DAY, start_hour)
    ends = starts + timedelta(minutes=length)
    closed_at = moment(closed)
    assume(closed_at is None or closed_at >= starts)
    halves = rules.half_days(starts, ends)
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    lasts = rules.group_minutes(starts, ends, closed_at)
    for order in (entries, shuffled):
        people = fold(TRAINEES, halves, order, synchronous=synchronous, closed_at=closed_at)
        assert sorted(p.trainee_id for p in people) == TRAINEES  # strangers are ignored
        for person in people:
            assert 0 <= person.minutes <= lasts
            for state, half in zip(person.halves, halves, strict=True):
                assert state.minutes <= (half.end - half.start).total_seconds() // 60


def test_fold_a_morning_without_sign_out_runs_on_into_the_signed_afternoon():
    starts, ends = at(DAY, 10), at(DAY, 16)
    halves = rules.half_days(starts, ends)
    entry = {"signer_id": "t1", "kind": "sign_in", "method": "qr", "channel": "home"}
    entries = [
        entry | {"half_day": "am", "at": at(DAY, 9, 55)},
        entry | {"half_day": "pm", "at": at(DAY, 13, 5)},
    ]
    (person,) = fold(["t1"], halves, entries, synchronous=True, closed_at=None)
    # am: 10:00 to 13:00 (continuous, signed again after 13:00); pm: from the 13:05 signature.
    assert [h.minutes for h in person.halves] == [180, 175]
    assert (person.status, person.minutes) == ("present", 355)


def test_fold_r7_autoformation_sign_in_without_sign_out_counts_nothing():
    halves = rules.half_days(at(DAY, 9), at(DAY, 12))
    entries = [
        {
            "signer_id": "t1",
            "half_day": "am",
            "kind": "sign_in",
            "at": at(DAY, 9),
            "method": "qr",
            "channel": "home",
        }
    ]
    (person,) = fold(["t1"], halves, entries, synchronous=False, closed_at=at(DAY, 12))
    assert (person.status, person.minutes) == ("present", 0)
    out = {**entries[0], "kind": "sign_out", "at": at(DAY, 11)}
    (person,) = fold(["t1"], halves, [*entries, out], synchronous=False, closed_at=at(DAY, 12))
    assert (person.status, person.minutes) == ("present", 120)
