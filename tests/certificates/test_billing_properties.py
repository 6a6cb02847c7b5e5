"""Billing properties on the database (SQLite and PostgreSQL): for any set of chains in a
month, the SQL aggregation bills the union of the held synchronous sessions of each group,
never autoformation, never a session no trainee signed, and a correction is not a signature."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certificates import billing_services
from core.extensions import db
from core.models import Role
from tests.attendance.support import DAY, at
from tests.certificates.billing_support import chained_session
from tests.conftest import ORDER_START, THIS_YEAR, make_org, make_user, principal_of
from training.models import Group, Order

START = at(DAY, 8, 0)
NOW = at(DAY, 23, 0)


@st.composite
def plans(draw: st.DrawFn) -> list[dict]:
    found = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 9 * 60))
        length = draw(st.integers(5, 4 * 60))
        opened = draw(st.booleans())
        close = draw(st.one_of(st.none(), st.integers(1, length + 20)))
        found.append(
            {
                "kind": draw(st.sampled_from(["tutorat", "regroupement", "autoformation"])),
                "starts_at": START + timedelta(minutes=start),
                "ends_at": START + timedelta(minutes=start + length),
                "participants": draw(st.sampled_from([None, ["p1"], ["p1", "p2"]])),
                "opened": opened,
                "trainer_halves": tuple(draw(st.sets(st.sampled_from(["am", "pm"])))),
                "trainees": tuple(draw(st.sets(st.sampled_from(["t1", "t2"])))),
                "corrected": tuple(draw(st.sets(st.sampled_from(["t1", "t3"])))),
                "closed_at": START + timedelta(minutes=start + close) if close else None,
            }
        )
    return found


def reference(found: list[dict]) -> int:
    """Minutes of the clock covered by the held synchronous sessions (by enumeration)."""
    minutes: set[int] = set()
    for p in found:
        held = p["opened"] and p["trainer_halves"] and p["trainees"]  # corrections don't count
        if not held or p["kind"] == "autoformation":
            continue
        stop = min(p["ends_at"], p["closed_at"]) if p["closed_at"] else p["ends_at"]
        first = int((p["starts_at"] - START).total_seconds() // 60)
        minutes.update(range(first, int((stop - START).total_seconds() // 60)))
    return len(minutes)


def test_the_sql_aggregation_bills_what_the_chains_say(app):
    org = make_org("Propriétés")
    author = make_user(Role.ORG_ADMIN, org)
    region = principal_of(make_user(Role.REGION))
    numbers = count()

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(plans())
    def check(found: list[dict]) -> None:
        order = Order(
            organisation_id=org.id,
            number=f"P-{next(numbers)}",
            title="Propriétés",
            modality="presentiel",
            start_date=ORDER_START,
            end_date=ORDER_START.replace(month=12, day=31),
            centre_hours=1000,
            min_synchronous_share=0,
        )
        db.session.add(order)
        db.session.flush()
        group = Group(organisation_id=org.id, order_id=order.id, name="G", component="C")
        db.session.add(group)
        db.session.flush()
        ids = [chained_session(org.id, group.id, author.id, **p).id for p in found]
        result = billing_services.order_billing(region, order.id, THIS_YEAR, DAY.month, NOW)
        (billed,) = result.groups
        assert billed.billable_minutes == reference(found)
        lines = {line.session.id: line for line in billed.lines}
        assert set(lines) == set(ids)
        for session_id, p in zip(ids, found, strict=True):
            line = lines[session_id]
            assert line.held == bool(
                p["kind"] != "autoformation"
                and p["opened"]
                and p["trainer_halves"]
                and p["trainees"]
            )
            if p["kind"] == "autoformation":
                assert not line.billable
        autoformation = sum(ln.minutes for ln in billed.lines if ln.session.kind == "autoformation")
        assert billed.autoformation_minutes == autoformation

    check()
