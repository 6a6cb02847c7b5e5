"""Enrolment and group use cases against the database: R1–R4 refuse and change nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from core.models import Role
from tests.conftest import ORDER_START, THIS_YEAR, make_org, make_trainee, make_user, principal_of
from training import services
from training.models import Enrolment, Group, Order

ORDER_END = date(THIS_YEAR, 11, 30)


def order_fields(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "number": "BC-1",
        "title": "Anglais professionnel",
        "modality": "e_formation",
        "start_date": ORDER_START,
        "end_date": ORDER_END,
        "centre_hours": 100.0,
        "min_synchronous_share": 0.5,
    }
    data.update(overrides)
    return data


@pytest.fixture
def world(db):
    """One organisation with an admin, a trainer, an order and a group."""
    org = make_org("Gamma")
    admin, trainer = make_user(Role.ORG_ADMIN, org), make_user(Role.TRAINER, org)
    actor = principal_of(admin)
    order = services.create_order(actor, order_fields())
    group = services.create_group(
        actor, order.id, {"name": "Groupe A", "component": "Anglais", "trainer_ids": [trainer.id]}
    )
    db.session.commit()
    return org, actor, principal_of(trainer), order, group


def enrolment_fields(trainee_id: str, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "trainee_id": trainee_id,
        "entry_date": ORDER_START,
        "planned_centre_hours": 100.0,
        "planned_company_hours": 20.0,
    }
    data.update(overrides)
    return data


def count(db, model) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(model))


def refused_without_change(db, error_type, call, *args):  # noqa: ANN001, ANN002, ANN201
    """Run a refused use case; nothing is added, and nothing is left after a rollback."""
    before = count(db, Enrolment), count(db, Group)
    with pytest.raises(error_type) as excinfo:
        call(*args)
    assert not db.session.new, "a refused use case adds nothing to the session"
    assert (count(db, Enrolment), count(db, Group)) == before
    db.session.rollback()
    assert (count(db, Enrolment), count(db, Group)) == before
    assert excinfo.value.message.strip()
    return excinfo.value


def test_enrol_stores_the_path(db, world):
    org, actor, _, _, group = world
    trainee = make_trainee(org)
    enrolment = services.enrol(actor, group.id, enrolment_fields(trainee.id))
    db.session.commit()
    assert (enrolment.group_id, enrolment.trainee_id, enrolment.warnings) == (
        group.id,
        trainee.id,
        "",
    )
    assert services.count_enrolments(group.id) == 1


@pytest.mark.parametrize(
    ("fields", "rule", "code"),
    [
        ({"planned_centre_hours": 150.0, "planned_company_hours": 50.5}, "R1", "too_many_hours"),
        (
            {"planned_centre_hours": 100.0, "planned_company_hours": 70.5},
            "R2",
            "too_many_company_hours",
        ),
        ({"entry_date": ORDER_START - timedelta(days=1)}, "R4", "entry_outside_order"),
        ({"entry_date": ORDER_END + timedelta(days=1)}, "R4", "entry_outside_order"),
    ],
)
def test_enrol_refuses_rule_violations_and_changes_nothing(db, world, fields, rule, code):
    org, actor, _, _, group = world
    trainee = make_trainee(org)
    error = refused_without_change(
        db, RuleViolation, services.enrol, actor, group.id, enrolment_fields(trainee.id, **fields)
    )
    assert (error.status, error.rule, error.code) == (422, rule, code)


def test_enrol_at_the_limits_passes(db, world):
    org, actor, _, _, group = world
    trainee = make_trainee(org)
    fields = enrolment_fields(
        trainee.id, planned_centre_hours=130.0, planned_company_hours=70.0, entry_date=ORDER_END
    )
    assert services.enrol(actor, group.id, fields).planned_company_hours == 70.0


def test_r4_entry_the_year_after_the_order_start_is_refused(db, world):
    org, actor, _, _, _ = world
    order = services.create_order(
        actor,
        order_fields(
            number="BC-2", start_date=date(THIS_YEAR, 9, 1), end_date=date(THIS_YEAR + 1, 6, 30)
        ),
    )
    group = services.create_group(actor, order.id, {"name": "Groupe B", "component": "Anglais"})
    db.session.commit()
    trainee = make_trainee(org)
    late = enrolment_fields(trainee.id, entry_date=date(THIS_YEAR + 1, 1, 5))
    error = refused_without_change(db, RuleViolation, services.enrol, actor, group.id, late)
    assert (error.rule, error.code) == ("R4", "entry_out_of_year")
    on_time = enrolment_fields(trainee.id, entry_date=date(THIS_YEAR, 12, 31))
    assert services.enrol(actor, group.id, on_time).entry_date == date(THIS_YEAR, 12, 31)


def fill_group(db, org, actor, group, size: int) -> None:  # noqa: ANN001
    """`size` trainees at once; half of them funded by someone else (they count too, R3)."""
    for index in range(size):
        trainee = make_trainee(org)
        funding = "other" if index % 2 else "region"
        services.enrol(actor, group.id, enrolment_fields(trainee.id, funding=funding))
    db.session.commit()


def test_r3_the_twentieth_passes_and_the_twenty_first_is_refused(db, world):
    org, actor, _, _, group = world
    fill_group(db, org, actor, group, 19)
    twentieth = services.enrol(actor, group.id, enrolment_fields(make_trainee(org).id))
    assert twentieth.warnings == ""
    db.session.commit()
    extra = make_trainee(org)
    error = refused_without_change(
        db, RuleViolation, services.enrol, actor, group.id, enrolment_fields(extra.id)
    )
    assert (error.status, error.rule, error.code) == (422, "R3", "group_full")
    assert services.count_enrolments(group.id) == 20


def test_r3_acknowledged_enrolment_is_stored_with_the_warning(db, world):
    org, actor, _, _, group = world
    fill_group(db, org, actor, group, 20)
    extra = make_trainee(org)
    fields = enrolment_fields(extra.id, confirm_over_capacity=True)
    enrolment = services.enrol(actor, group.id, fields)
    db.session.commit()
    stored = db.session.get(Enrolment, enrolment.id)
    assert stored.warnings == "R3"
    assert services.count_enrolments(group.id) == 21


def test_r3_trainees_who_left_do_not_count(db, world):
    org, actor, _, _, group = world
    for _ in range(20):
        services.enrol(
            actor,
            group.id,
            enrolment_fields(make_trainee(org).id, exit_date=ORDER_START + timedelta(days=30)),
        )
    db.session.commit()
    later = enrolment_fields(make_trainee(org).id, entry_date=ORDER_START + timedelta(days=31))
    assert services.enrol(actor, group.id, later).warnings == ""


def test_duplicate_enrolment_is_409_and_changes_nothing(db, world):
    org, actor, _, _, group = world
    trainee = make_trainee(org)
    services.enrol(actor, group.id, enrolment_fields(trainee.id))
    db.session.commit()
    error = refused_without_change(
        db, Conflict, services.enrol, actor, group.id, enrolment_fields(trainee.id)
    )
    assert (error.status, error.code) == (409, "already_enrolled")


def test_trainee_of_another_organisation_cannot_be_enrolled(db, world):
    _, actor, _, _, group = world
    stranger = make_trainee(make_org("Delta"))
    error = refused_without_change(
        db, NotFound, services.enrol, actor, group.id, enrolment_fields(stranger.id)
    )
    assert error.status == 404


def test_admin_of_another_organisation_cannot_enrol_in_the_group(db, world):
    _, _, _, _, group = world
    other = make_org("Delta")
    outsider = principal_of(make_user(Role.ORG_ADMIN, other))
    trainee = make_trainee(other)
    error = refused_without_change(
        db, NotFound, services.enrol, outsider, group.id, enrolment_fields(trainee.id)
    )
    assert error.status == 404


def test_trainer_of_the_group_cannot_enrol(db, world):
    org, _, trainer, _, group = world
    trainee = make_trainee(org)
    error = refused_without_change(
        db, Forbidden, services.enrol, trainer, group.id, enrolment_fields(trainee.id)
    )
    assert error.status == 403


def test_group_with_a_trainer_of_another_organisation_is_refused(db, world):
    _, actor, _, order, _ = world
    foreign_trainer = make_user(Role.TRAINER, make_org("Delta"))
    fields = {"name": "Groupe C", "component": "Anglais", "trainer_ids": [foreign_trainer.id]}
    error = refused_without_change(db, InvalidInput, services.create_group, actor, order.id, fields)
    assert (error.status, error.code) == (400, "unknown_trainer")


def test_group_with_a_non_trainer_of_the_organisation_is_refused(db, world):
    org, actor, _, order, _ = world
    finance = make_user(Role.FINANCE, org)
    fields = {"name": "Groupe C", "component": "Anglais", "trainer_ids": [finance.id]}
    refused_without_change(db, InvalidInput, services.create_group, actor, order.id, fields)


def test_moving_a_group_to_foreign_trainers_changes_nothing(db, world):
    _, actor, trainer, _, group = world
    foreign_trainer = make_user(Role.TRAINER, make_org("Delta"))
    with pytest.raises(InvalidInput):
        services.update_group(actor, group.id, {"trainer_ids": [foreign_trainer.id]})
    db.session.rollback()
    assert db.session.get(Group, group.id).trainer_ids == [trainer.id]


def test_order_of_another_organisation_is_not_found(db, world):
    _, _, _, order, _ = world
    outsider = principal_of(make_user(Role.ORG_ADMIN, make_org("Delta")))
    with pytest.raises(NotFound):
        services.get_order(outsider, order.id)
    with pytest.raises(DomainError) as excinfo:
        services.create_group(outsider, order.id, {"name": "X", "component": "Y"})
    assert excinfo.value.status == 404


def test_duplicate_order_number_is_409(db, world):
    _, actor, _, _, _ = world
    with pytest.raises(Conflict) as excinfo:
        services.create_order(actor, order_fields())
    assert excinfo.value.code == "duplicate_order_number"


# --- editing an order or a group re-checks what is planned under it (R4, R6, R10, dates) ------


def plan_session(actor, group, day: date, start: int, end: int, kind: str, reason=None):  # noqa: ANN001, ANN201
    from zoneinfo import ZoneInfo

    from attendance import services as sessions

    paris = ZoneInfo("Europe/Paris")
    at = [datetime(day.year, day.month, day.day, hour, tzinfo=paris) for hour in (start, end)]
    data = {"kind": kind, "title": "Séance", "starts_at": at[0], "ends_at": at[1]}
    return sessions.plan_session(actor, group.id, data | {"regroupement_reason": reason})


def refused_order_edit(db, actor, order, fields):  # noqa: ANN001, ANN201
    """A refused edit of an order: the error, and the order as it was once rolled back."""
    before = {name: getattr(order, name) for name in services.PLAN_FIELDS}
    with pytest.raises(DomainError) as excinfo:
        services.update_order(actor, order.id, fields)
    db.session.rollback()
    stored = db.session.get(Order, order.id)
    assert {name: getattr(stored, name) for name in services.PLAN_FIELDS} == before
    # A refusal about one group names it; R4 (entries) and R6 (the order's total) need not.
    assert "Groupe" in excinfo.value.message or excinfo.value.rule in ("R4", "R6")
    return excinfo.value


def test_r6_order_edit_lowering_centre_hours_below_planned_autoformation_is_refused(db, world):
    _, actor, _, order, group = world
    for offset in (8, 9):  # 2 × 12 h of autoformation, within 50 % of 100 h
        plan_session(actor, group, ORDER_START + timedelta(days=offset), 8, 20, "autoformation")
    db.session.commit()
    error = refused_order_edit(db, actor, order, {"centre_hours": 47.0})  # 50 % = 23.5 h
    assert (error.status, error.rule, error.code) == (422, "R6", "autoformation_cap")
    assert "soit 23.5 h ; 24 h sont déjà prévues" in error.message
    error = refused_order_edit(db, actor, order, {"modality": "hybride"})  # 20 % = 20 h
    assert (error.rule, error.code) == ("R6", "autoformation_cap")
    assert services.update_order(actor, order.id, {"centre_hours": 48.0}).centre_hours == 48.0


def test_r10_order_edit_to_e_formation_with_a_regroupement_without_reason_is_refused(db, world):
    _, actor, _, _, _ = world
    order = services.create_order(actor, order_fields(number="BC-2", modality="presentiel"))
    group = services.create_group(actor, order.id, {"name": "Groupe P", "component": "CACES"})
    plan_session(actor, group, ORDER_START + timedelta(days=8), 9, 12, "regroupement")
    db.session.commit()
    error = refused_order_edit(db, actor, order, {"modality": "e_formation"})
    assert (error.status, error.rule, error.code) == (422, "R10", "regroupement_not_allowed")


def test_r10_order_edit_moving_the_start_away_from_the_welcome_day_is_refused(db, world):
    _, actor, _, order, group = world
    plan_session(actor, group, ORDER_START, 9, 12, "regroupement", "accueil")
    db.session.commit()
    new_start = {"start_date": ORDER_START - timedelta(days=1)}  # the group's first day moves
    error = refused_order_edit(db, actor, order, new_start)
    assert (error.rule, error.code) == ("R10", "regroupement_not_allowed")


def test_r4_order_edit_moving_the_start_past_an_entry_is_refused(db, world):
    org, actor, _, order, group = world
    services.enrol(actor, group.id, enrolment_fields(make_trainee(org).id))
    db.session.commit()
    error = refused_order_edit(db, actor, order, {"start_date": ORDER_START + timedelta(days=1)})
    assert (error.status, error.rule, error.code) == (422, "R4", "entry_outside_order")
    next_year = {"start_date": date(THIS_YEAR + 1, 1, 5), "end_date": date(THIS_YEAR + 1, 6, 30)}
    error = refused_order_edit(db, actor, order, next_year)
    assert (error.rule, error.code) == ("R4", "entry_out_of_year")


def test_order_edit_ending_before_a_planned_session_is_refused(db, world):
    _, actor, _, order, group = world
    plan_session(actor, group, ORDER_START + timedelta(days=8), 9, 12, "tutorat")
    db.session.commit()
    error = refused_order_edit(db, actor, order, {"end_date": ORDER_START + timedelta(days=7)})
    assert (error.status, error.code) == (400, "session_outside_order")


def test_order_edit_leaving_a_group_start_outside_is_refused(db, world):
    _, actor, _, order, group = world
    services.update_group(actor, group.id, {"start_date": ORDER_START + timedelta(days=8)})
    db.session.commit()
    with pytest.raises(InvalidInput) as excinfo:
        services.update_order(actor, order.id, {"end_date": ORDER_START + timedelta(days=7)})
    assert excinfo.value.code == "invalid_dates"
    db.session.rollback()
    assert db.session.get(Order, order.id).end_date == ORDER_END


def test_r10_group_start_moved_away_from_its_welcome_day_is_refused(db, world):
    _, actor, _, _, group = world
    plan_session(actor, group, ORDER_START, 9, 12, "regroupement", "accueil")
    db.session.commit()
    with pytest.raises(RuleViolation) as excinfo:
        services.update_group(actor, group.id, {"start_date": ORDER_START + timedelta(days=1)})
    assert (excinfo.value.rule, excinfo.value.code) == ("R10", "regroupement_not_allowed")
    db.session.rollback()
    assert db.session.get(Group, group.id).start_date is None
    renamed = services.update_group(actor, group.id, {"name": "Groupe A1"})
    assert renamed.name == "Groupe A1", "a change that moves nothing is not re-checked"


def test_order_edit_that_keeps_every_rule_is_stored(db, world):
    org, actor, _, order, group = world
    services.enrol(actor, group.id, enrolment_fields(make_trainee(org).id))
    plan_session(actor, group, ORDER_START, 9, 12, "regroupement", "accueil")
    plan_session(actor, group, ORDER_START + timedelta(days=8), 8, 18, "autoformation")
    db.session.commit()
    fields = {"centre_hours": 20.0, "end_date": ORDER_START + timedelta(days=8)}
    services.update_order(actor, order.id, fields)
    db.session.commit()
    stored = db.session.get(Order, order.id)
    assert (stored.centre_hours, stored.end_date) == (20.0, ORDER_START + timedelta(days=8))


def test_lock_group_is_public_and_reads_the_group_again(db, world):
    _, _, _, order, group = world
    change = update(Order).where(Order.id == order.id).values(centre_hours=42.0)
    db.session.execute(change, execution_options={"synchronize_session": False})
    assert group.order.centre_hours == 100.0
    services.lock_group(group)
    assert group.order.centre_hours == 42.0, "checks after the lock see the committed order"
