"""A realistic month billed through the service (SQLite and PostgreSQL) is exactly what the
pure rules give for the same sessions (R6, R10, R11): every line (times, audience, counts,
held, why not, flags) and every total of every group, and the order's own flag. The service
reads the month in one statement and builds the lines its own way; this pins it to the rules
(certificates.billing.bill_group) on two groups with overlapping sessions, sub-groups, a
cancelled and an attested signature, a running and an upcoming session, a public holiday,
regroupements with and without their reason, a site over its seats and autoformation over
its share of the order."""

from __future__ import annotations

from datetime import date, datetime

from attendance.services import french_holidays
from certificates import billing, billing_services
from core.extensions import db
from core.models import Role
from sites.models import Site
from tests.attendance.support import at
from tests.certificates.billing_support import chained_session
from tests.conftest import ORDER_START, THIS_YEAR, make_org, make_trainee, make_user, principal_of
from training.models import Enrolment, Group, Order, RegroupementAuthorisation

MONTH = 5  # May: 1 and 8 May are public holidays every year
NOW = at(date(THIS_YEAR, MONTH, 20), 10, 0)  # one session running, one still to come


def may(day: int, hour: int, minute: int = 0) -> datetime:
    return at(date(THIS_YEAR, MONTH, day), hour, minute)


def test_a_month_through_the_service_is_what_the_rules_bill_r6_r10_r11(app):
    org = make_org("Mois réel")
    admin = make_user(Role.ORG_ADMIN, org)
    region = principal_of(make_user(Role.REGION))
    order = Order(
        organisation_id=org.id,
        number="M-1",
        title="Mois réel",
        modality="e_formation",
        start_date=ORDER_START,
        end_date=ORDER_START.replace(month=12, day=31),
        centre_hours=10,  # R6: 50 % in e-formation, 5 h; 10 h of autoformation planned
        min_synchronous_share=0,
    )
    db.session.add(order)
    db.session.flush()
    first_day = date(THIS_YEAR, 2, 2)
    g1 = Group(organisation_id=org.id, order_id=order.id, name="G1", component="Anglais")
    g1.start_date = first_day
    g2 = Group(organisation_id=org.id, order_id=order.id, name="G2", component="Bureautique")
    site = Site(name="Site", department="31", city="Toulouse", seats=1, opening_hours={})
    db.session.add_all([g1, g2, site])
    db.session.flush()
    a, b, c, d = (make_trainee(org, name).id for name in ("Amina", "Bruno", "Chloé", "Dina"))
    paths = {  # trainee: (entry, exit): G1's whole-group count changes within the month
        g1.id: {
            a: (ORDER_START, None),
            b: (date(THIS_YEAR, MONTH, 6), None),
            c: (ORDER_START, date(THIS_YEAR, MONTH, 7)),
        },
        g2.id: {d: (ORDER_START, None)},
    }
    for group_id, group_paths in paths.items():
        for trainee_id, (entry, exit_) in group_paths.items():
            db.session.add(
                Enrolment(
                    organisation_id=org.id,
                    group_id=group_id,
                    trainee_id=trainee_id,
                    entry_date=entry,
                    exit_date=exit_,
                    planned_centre_hours=100,
                )
            )
    authorised = date(THIS_YEAR, MONTH, 7)
    db.session.add(
        RegroupementAuthorisation(
            organisation_id=org.id,
            group_id=g1.id,
            session_date=authorised,
            reason="Examen blanc",
            granted_by_id=admin.id,
        )
    )
    db.session.commit()

    held = {"opened": True, "trainer_halves": ("am", "pm"), "trainees": (a,)}
    plans = {
        g1: [
            # a whole-group morning closed early, two sub-groups overlapping it and each other
            {"kind": "tutorat", "starts_at": may(4, 9), "ends_at": may(4, 12), **held}
            | {"closed_at": may(4, 11, 30)},
            {"kind": "tutorat", "starts_at": may(4, 11), "ends_at": may(4, 13), **held}
            | {"participants": [b, a]},
            {"kind": "tutorat", "starts_at": may(4, 11, 30), "ends_at": may(4, 12, 30)}
            | held
            | {"participants": [c], "trainees": (c,)},
            # a whole day the trainer signed in the morning only
            {"kind": "tutorat", "starts_at": may(5, 9), "ends_at": may(5, 17)}
            | held
            | {"trainer_halves": ("am",), "closed_at": may(5, 17)},
            # regroupements: no reason at a site of one seat for two; authorised that day;
            # "autorise" without the authorisation; the welcome day on another day
            {"kind": "regroupement", "starts_at": may(6, 9), "ends_at": may(6, 12), **held}
            | {"participants": [a, b], "site_id": site.id},
            {"kind": "regroupement", "starts_at": may(7, 9), "ends_at": may(7, 12), **held}
            | {"regroupement_reason": "autorise"},
            {"kind": "regroupement", "starts_at": may(12, 9), "ends_at": may(12, 12), **held}
            | {"regroupement_reason": "autorise"},
            {"kind": "regroupement", "starts_at": may(19, 9), "ends_at": may(19, 12), **held}
            | {"regroupement_reason": "accueil"},
            # a public holiday
            {"kind": "tutorat", "starts_at": may(8, 9), "ends_at": may(8, 12), **held},
            # autoformation: listed, never billed, over the order's share
            {"kind": "autoformation", "starts_at": may(11, 9), "ends_at": may(11, 17)}
            | {"opened": True, "trainees": (a, b)},
            # the only signature cancelled by a correction; only attested by one
            {"kind": "tutorat", "starts_at": may(13, 9), "ends_at": may(13, 12), **held}
            | {"participants": [a], "absent": (a,), "closed_at": may(13, 12)},
            {"kind": "tutorat", "starts_at": may(13, 14), "ends_at": may(13, 16), **held}
            | {"trainees": (), "corrected": (b,)},
            # never opened; running at NOW; still to come
            {"kind": "tutorat", "starts_at": may(14, 9), "ends_at": may(14, 12)},
            {"kind": "tutorat", "starts_at": may(20, 9), "ends_at": may(20, 12), **held},
            {"kind": "tutorat", "starts_at": may(28, 9), "ends_at": may(28, 12)},
        ],
        g2: [  # the same morning as G1's: distinct groups never share their time
            {"kind": "tutorat", "starts_at": may(4, 9), "ends_at": may(4, 12), **held}
            | {"trainees": (d,), "closed_at": may(4, 12, 5)},
            {"kind": "autoformation", "starts_at": may(4, 14), "ends_at": may(4, 16)}
            | {"opened": True, "trainees": (d,)},
        ],
    }
    written = {
        group.id: [
            (chained_session(org.id, group.id, admin.id, **plan), plan) for plan in group_plans
        ]
        for group, group_plans in plans.items()
    }

    result = billing_services.order_billing(region, order.id, THIS_YEAR, MONTH, NOW)

    over_cap = billing.autoformation_cap_flag("e_formation", 10, 8 * 60 + 2 * 60)
    assert over_cap is not None
    assert over_cap.rule == "R6"
    expected = tuple(
        billing.bill_group(
            group.id,
            group.name,
            group.component,
            [(as_chained(session, plan), count(plan, paths[group.id])) for session, plan in found],
            billing.Context(
                modality="e_formation",
                group_first_day=group.first_day,
                authorised_days={authorised} if group is g1 else set(),
                holidays=set(french_holidays(THIS_YEAR)),
                seats={site.id: 1},
                over_cap=over_cap,
            ),
            NOW,
        )
        for group, found in ((g1, written[g1.id]), (g2, written[g2.id]))
    )
    assert result.groups == expected
    assert result.flags == (over_cap,)
    assert result.autoformation_planned_minutes == 600
    # the month exercises what it claims to: each flag and each reason a line can carry
    lines = [line for group in result.groups for line in group.lines]
    assert {f.code for line in lines for f in line.flags} == {
        "autoformation_cap",
        "regroupement_not_allowed",
        "regroupement_not_authorised",
        "over_site_capacity",
        "trainer_signature_missing",
        "public_holiday",
    }
    assert {code for line in lines for code in line.not_held} == {
        "no_trainee_signature",
        "not_opened",
        "in_progress",
        "upcoming",
    }
    g1_billed = result.groups[0]
    assert g1_billed.billable_minutes < g1_billed.whole_group_minutes + g1_billed.subgroup_minutes
    (region_order,) = [
        o
        for o in billing_services.month_billings(region, THIS_YEAR, MONTH, NOW)
        if o.order.id == order.id
    ]
    assert region_order == result


def as_chained(session, plan: dict) -> billing.ChainedSession:  # noqa: ANN001
    """The session as the rules take it, from what was written (not from the database)."""
    listed = plan.get("participants")
    opened = plan.get("opened", False)
    return billing.ChainedSession(
        id=session.id,
        group_id=session.group_id,
        title=f"Séance {plan['kind']}",
        kind=plan["kind"],
        starts_at=plan["starts_at"],
        ends_at=plan["ends_at"],
        participants=None if listed is None else tuple(sorted(listed)),
        site_id=plan.get("site_id"),
        regroupement_reason=plan.get("regroupement_reason"),
        opened_at=plan["starts_at"] if opened else None,
        closed_at=plan.get("closed_at") if opened else None,
        trainer_halves=frozenset(plan.get("trainer_halves", ())) if opened else frozenset(),
        # a signature a mark_absent correction cancelled is no signature
        trainee_signed=opened and bool(set(plan.get("trainees", ())) - set(plan.get("absent", ()))),
    )


def count(plan: dict, paths: dict) -> int:
    """Listed participants, or the group's trainees whose path covers the session's day."""
    if plan.get("participants") is not None:
        return len(plan["participants"])
    day = billing.day_of(plan["starts_at"])
    return sum(
        1 for entry, exit_ in paths.values() if entry <= day and (exit_ is None or exit_ >= day)
    )
