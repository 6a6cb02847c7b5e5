"""A Hypothesis stateful test of the seats (issue 10, item 3): any sequence of bookings (with
or without the waitlist), cancellations and closures keeps the confirmed bookings within the
seats at every moment, never lets anyone wait while a seat is free for their span, serves the
waitlist first come first served, and never leaves two overlapping bookings to one trainee."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.models import Role
from sites import booking as seats
from sites import rules, services
from sites.models import Booking
from tests.conftest import make_org, make_trainee, make_user, principal_of
from tests.sites.support import DAY, HOURS, paris

SLOTS = [(9, 11), (10, 12), (9, 12), (11, 12)]
DAYS = [DAY, DAY + timedelta(days=1)]


class Seats(RuleBasedStateMachine):
    """One site of 1 seat (so that every booking contends), 4 trainees, two days."""

    @initialize()
    def setup(self) -> None:
        region = principal_of(make_user(Role.REGION))
        self.region = region
        org = make_org("Hypothèse")
        self.admin = principal_of(make_user(Role.ORG_ADMIN, org))
        self.trainees = [make_trainee(org, f"H{i}").id for i in range(4)]
        site = services.create_site(
            region,
            {
                "name": "Site H",
                "department": "31",
                "city": "Muret",
                "seats": 1,
                "opening_hours": HOURS,
            },
        )
        db.session.commit()
        self.site_id, self.seats = site.id, 1
        self.now = utcnow()
        self.closed: set = set()

    def tick(self):  # noqa: ANN201
        self.now += timedelta(seconds=1)
        return self.now

    @rule(
        trainee=st.integers(0, 3),
        day=st.sampled_from(DAYS),
        slot=st.sampled_from(SLOTS),
        waitlist=st.booleans(),
    )
    def book(self, trainee: int, day, slot, waitlist: bool) -> None:  # noqa: ANN001
        start, end = slot
        span = rules.Span(_at(day, start), _at(day, end))
        try:
            seats.place(
                self.admin,
                self.site_id,
                self.trainees[trainee],
                None,
                "Libre",
                span,
                self.tick(),
                waitlist,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            refused = error.code
        else:
            return
        assert refused in ("site_full", "site_closed", "trainee_overlap"), refused
        assert (refused == "site_closed") == (day in self.closed)

    @rule(pick=st.integers(0, 1000), by_site=st.booleans())
    def cancel(self, pick: int, by_site: bool) -> None:
        active = self._bookings(("confirmed", "waitlisted"))
        if not active:
            return
        target = active[pick % len(active)]
        actor = self.region if by_site else self.admin
        seats.cancel_booking(actor, target.id, self.tick())
        db.session.commit()

    @rule(day=st.sampled_from(DAYS))
    def close(self, day) -> None:  # noqa: ANN001
        if day in self.closed:
            return
        seats.close_day(self.region, self.site_id, day, "Fermeture", self.tick())
        db.session.commit()
        self.closed.add(day)

    def _bookings(self, statuses: tuple[str, ...]) -> list[Booking]:
        return list(
            db.session.scalars(
                select(Booking)
                .where(Booking.site_id == self.site_id, Booking.status.in_(statuses))
                .order_by(Booking.id)
            )
        )

    @invariant()
    def seats_never_exceeded(self) -> None:
        if not hasattr(self, "site_id"):
            return
        confirmed = [b.span for b in self._bookings(("confirmed",))]
        for span in confirmed:
            assert rules.peak_overlap(confirmed, span) <= self.seats

    @invariant()
    def nobody_waits_for_a_free_seat_and_the_waitlist_keeps_its_order(self) -> None:
        if not hasattr(self, "site_id"):
            return
        confirmed = self._bookings(("confirmed",))
        spans = [b.span for b in confirmed]
        for waiting in self._bookings(("waitlisted",)):
            assert rules.free_seats(self.seats, spans, waiting.span) == 0
            for promoted in confirmed:
                if promoted.promoted_at and promoted.span == waiting.span:
                    assert promoted.waitlisted_at is not None
                    assert waiting.waitlisted_at is not None
                    assert promoted.waitlisted_at <= waiting.waitlisted_at

    @invariant()
    def no_trainee_holds_two_overlapping_bookings_nor_a_closed_day(self) -> None:
        if not hasattr(self, "site_id"):
            return
        active = self._bookings(("confirmed", "waitlisted"))
        for i, a in enumerate(active):
            assert a.starts_at.astimezone(rules.PARIS).date() not in self.closed
            for b in active[i + 1 :]:
                assert not (a.trainee_id == b.trainee_id and a.span.overlaps(b.span))


def _at(day, hour: int):  # noqa: ANN001, ANN202
    from datetime import datetime

    return datetime.fromisoformat(paris(day, hour))


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_seats_waitlist_and_closures_hold_under_any_sequence(app) -> None:
    Seats.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Seats.TestCase().runTest()
