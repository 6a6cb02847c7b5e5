"""What each role may see: one select per kind of record, used by lists and look-ups alike."""

from __future__ import annotations

from sqlalchemy import Select, false, select

from core.auth import Principal
from core.models import Role, Trainee
from training.models import Enrolment, Group, Order, group_trainer

ORG_WIDE = (Role.ORG_ADMIN, Role.FINANCE)


def trained_group_ids(principal: Principal) -> Select:
    """Ids of the groups this trainer teaches."""
    return select(group_trainer.c.group_id).where(group_trainer.c.user_id == principal.id)


def enrolled_group_ids(principal: Principal) -> Select:
    """Ids of the groups this trainee is enrolled in."""
    return select(Enrolment.group_id).where(Enrolment.trainee_id == principal.id)


def visible_orders(principal: Principal) -> Select:
    query = select(Order)
    if principal.has_role(Role.REGION):
        return query
    if principal.has_role(*ORG_WIDE):
        return query.where(Order.organisation_id == principal.organisation_id)
    if principal.has_role(Role.TRAINER):
        trained = select(Group.order_id).where(Group.id.in_(trained_group_ids(principal)))
        return query.where(Order.id.in_(trained))
    return query.where(false())


def visible_groups(principal: Principal) -> Select:
    query = select(Group)
    if principal.has_role(Role.REGION):
        return query
    if principal.has_role(*ORG_WIDE):
        return query.where(Group.organisation_id == principal.organisation_id)
    if principal.has_role(Role.TRAINER):
        return query.where(Group.id.in_(trained_group_ids(principal)))
    if principal.is_trainee:
        return query.where(Group.id.in_(enrolled_group_ids(principal)))
    return query.where(false())


def visible_trainees(principal: Principal) -> Select:
    query = select(Trainee)
    if principal.has_role(Role.REGION):
        return query
    if principal.has_role(*ORG_WIDE):
        return query.where(Trainee.organisation_id == principal.organisation_id)
    if principal.has_role(Role.TRAINER):
        taught = select(Enrolment.trainee_id).where(
            Enrolment.group_id.in_(trained_group_ids(principal))
        )
        return query.where(Trainee.id.in_(taught))
    if principal.is_trainee:
        return query.where(Trainee.id == principal.id)
    return query.where(false())


def visible_enrolments(principal: Principal) -> Select:
    query = select(Enrolment)
    if principal.has_role(Role.REGION):
        return query
    if principal.has_role(*ORG_WIDE):
        return query.where(Enrolment.organisation_id == principal.organisation_id)
    if principal.has_role(Role.TRAINER):
        return query.where(Enrolment.group_id.in_(trained_group_ids(principal)))
    if principal.is_trainee:
        return query.where(Enrolment.trainee_id == principal.id)
    return query.where(false())
