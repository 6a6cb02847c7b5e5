"""Use cases on orders, groups, trainees and enrolments; the rules decide, this stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from core import services as accounts
from core.auth import Principal
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Invitation, Role, Trainee, User
from core.services import IssuedInvitation
from training import access, rules
from training.models import Enrolment, Group, Order, RegroupementAuthorisation
from training.signals import group_moved, order_replanned, send_checked


def _get(query: Select, record_id: str, what: str) -> Any:
    """The record of `query` with this id, or 404 (also when it exists but is not visible)."""
    entity = query.column_descriptions[0]["entity"]
    record = db.session.scalar(query.where(entity.id == record_id))
    if record is None:
        raise NotFound(f"{what} introuvable.")
    return record


def get_order(actor: Principal, order_id: str) -> Order:
    return _get(access.visible_orders(actor), order_id, "Bon de commande")


def get_group(actor: Principal, group_id: str) -> Group:
    return _get(access.visible_groups(actor), group_id, "Groupe")


def get_trainee(actor: Principal, trainee_id: str) -> Trainee:
    return _get(access.visible_trainees(actor), trainee_id, "Stagiaire")


def get_enrolment(actor: Principal, enrolment_id: str) -> Enrolment:
    return _get(access.visible_enrolments(actor), enrolment_id, "Parcours")


def require_admin_of(actor: Principal, organisation_id: str) -> None:
    """Only the organisation's own admin changes its training data (others: 403 or 404)."""
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent administratif de l'organisme peut faire cela.")
    if actor.organisation_id != organisation_id:
        raise NotFound()


def create_order(actor: Principal, data: dict[str, Any]) -> Order:
    """Record a bon de commande for the actor's organisation."""
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent administratif de l'organisme peut faire cela.")
    rules.check_order_dates(data["start_date"], data["end_date"])
    _check_unique_number(actor.organisation_id, data["number"])
    order = Order(organisation_id=actor.organisation_id, **data)
    db.session.add(order)
    db.session.flush()
    return order


# The fields of an order that what was planned under it depends on (R4, R6, R10, dates).
PLAN_FIELDS = ("modality", "centre_hours", "start_date", "end_date")


def update_order(actor: Principal, order_id: str, data: dict[str, Any]) -> Order:
    """Change an order's fields; dates stay ordered, numbers unique, and a change of modality,
    hours or dates is refused when what is planned under the order would break a rule."""
    order = get_order(actor, order_id)
    require_admin_of(actor, order.organisation_id)
    if data.get("number") not in (None, order.number):
        _check_unique_number(order.organisation_id, data["number"])
    rules.check_order_dates(
        data.get("start_date", order.start_date), data.get("end_date", order.end_date)
    )
    replanned = any(
        data.get(name, getattr(order, name)) != getattr(order, name) for name in PLAN_FIELDS
    )
    for name, value in data.items():
        setattr(order, name, value)
    if replanned:  # the sessions' package re-checks them; on refusal the caller rolls back
        send_checked(order_replanned, order)
    db.session.flush()
    return order


def _check_unique_number(organisation_id: str | None, number: str) -> None:
    exists = select(Order.id).where(
        Order.organisation_id == organisation_id, Order.number == number
    )
    if db.session.scalar(exists):
        raise Conflict("Un bon de commande porte déjà ce numéro.", code="duplicate_order_number")


def _trainers(organisation_id: str, trainer_ids: list[str]) -> list[User]:
    """The organisation's trainers with these ids; an unknown id is refused."""
    trainers = list(
        db.session.scalars(
            select(User).where(
                User.id.in_(trainer_ids),
                User.organisation_id == organisation_id,
                User.role == Role.TRAINER,
            )
        )
    )
    if len(trainers) != len(set(trainer_ids)):
        raise InvalidInput(
            "Un des formateurs indiqués n'existe pas dans votre organisme.", code="unknown_trainer"
        )
    return trainers


def create_group(actor: Principal, order_id: str, data: dict[str, Any]) -> Group:
    """Open a group on one component of an order, with its trainers."""
    order = get_order(actor, order_id)
    require_admin_of(actor, order.organisation_id)
    trainers = _trainers(order.organisation_id, data.pop("trainer_ids", []))
    group = Group(organisation_id=order.organisation_id, order=order, trainers=trainers, **data)
    check_group_start(group)
    db.session.add(group)
    db.session.flush()
    return group


def update_group(actor: Principal, group_id: str, data: dict[str, Any]) -> Group:
    """Rename a group, change its component, start day or trainers."""
    group = get_group(actor, group_id)
    require_admin_of(actor, group.organisation_id)
    if "trainer_ids" in data:
        group.trainers = _trainers(group.organisation_id, data.pop("trainer_ids"))
    moved = data.get("start_date", group.start_date) != group.start_date
    for name, value in data.items():
        setattr(group, name, value)
    check_group_start(group)
    if moved:  # the welcome day (R10) is the group's first day: its sessions are re-checked
        send_checked(group_moved, group)
    db.session.flush()
    return group


def check_group_start(group: Group) -> None:
    """A group starts during its order."""
    order = group.order
    if group.start_date and not order.start_date <= group.start_date <= order.end_date:
        raise InvalidInput(
            "Le groupe doit démarrer pendant le bon de commande.", code="invalid_dates"
        )


def create_trainee(actor: Principal, data: dict[str, Any]) -> Trainee:
    """Register a job seeker followed by the actor's organisation."""
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent administratif de l'organisme peut faire cela.")
    data["email"] = data["email"].strip().lower()
    _check_unique_email(actor.organisation_id, data["email"])
    trainee = Trainee(organisation_id=actor.organisation_id, **data)
    db.session.add(trainee)
    db.session.flush()
    return trainee


def update_trainee(actor: Principal, trainee_id: str, data: dict[str, Any]) -> Trainee:
    """Correct a trainee's name or contact details."""
    trainee = get_trainee(actor, trainee_id)
    require_admin_of(actor, trainee.organisation_id)
    if "email" in data:
        data["email"] = data["email"].strip().lower()
        if data["email"] != trainee.email:
            _check_unique_email(trainee.organisation_id, data["email"])
    for name, value in data.items():
        setattr(trainee, name, value)
    db.session.flush()
    return trainee


def _check_unique_email(organisation_id: str | None, email: str) -> None:
    exists = select(Trainee.id).where(
        Trainee.organisation_id == organisation_id, Trainee.email == email
    )
    if db.session.scalar(exists):
        raise Conflict("Un stagiaire de l'organisme a déjà cette adresse.", code="duplicate_email")


def enrol(actor: Principal, group_id: str, data: dict[str, Any]) -> Enrolment:
    """Enrol a trainee in a group; R1, R2, R4 refuse, R3 refuses unless acknowledged."""
    group = get_group(actor, group_id)
    require_admin_of(actor, group.organisation_id)
    trainee = db.session.get(Trainee, data["trainee_id"])
    if trainee is None or trainee.organisation_id != group.organisation_id:
        raise NotFound("Stagiaire introuvable.")
    lock_group(group)
    centre, company = data["planned_centre_hours"], data.get("planned_company_hours", 0.0)
    rules.check_total_hours(centre, company)
    rules.check_company_hours(company)
    rules.check_entry_date(data["entry_date"], group.order.start_date, group.order.end_date)
    rules.check_exit_date(data["entry_date"], data.get("exit_date"))
    if db.session.scalar(
        select(Enrolment.id).where(
            Enrolment.group_id == group.id, Enrolment.trainee_id == trainee.id
        )
    ):
        raise Conflict("Ce stagiaire est déjà inscrit dans ce groupe.", code="already_enrolled")
    periods = [
        rules.Period(e.entry_date, e.exit_date or group.order.end_date)
        for e in db.session.scalars(select(Enrolment).where(Enrolment.group_id == group.id))
    ]
    new = rules.Period(data["entry_date"], data.get("exit_date") or group.order.end_date)
    over = rules.check_group_size(
        periods, new, acknowledged=data.get("confirm_over_capacity", False)
    )
    enrolment = Enrolment(
        organisation_id=group.organisation_id,
        group=group,
        trainee=trainee,
        entry_date=data["entry_date"],
        exit_date=data.get("exit_date"),
        planned_centre_hours=centre,
        planned_company_hours=company,
        funding=data.get("funding", "region"),
        warnings="R3" if over else "",
    )
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def lock_group(group: Group) -> None:
    """Serialise the writes checked against a group's totals (R3 enrolments, R6 sessions).

    The row stays locked until commit and is read again with its order, so the checks that
    follow see what a concurrent writer committed. PostgreSQL only: SQLite ignores FOR UPDATE
    (it serialises writers at commit instead).
    """
    _lock_groups(Group.id == group.id)


def lock_order(order: Order) -> None:
    """Lock an order's row until commit and read it again (see lock_group): the writes checked
    against the order's totals (R6 over all its groups) wait for each other."""
    query = select(Order).where(Order.id == order.id).with_for_update()
    db.session.scalars(query.execution_options(populate_existing=True)).one()


def lock_order_groups(order: Order) -> list[Group]:
    """Lock every group of an order (see lock_group), to re-check them after an order edit."""
    return _lock_groups(Group.order_id == order.id)


def _lock_groups(condition: Any) -> list[Group]:
    query = select(Group).where(condition).with_for_update(of=Group)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def count_enrolments(group_id: str) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.group_id == group_id)
        )
        or 0
    )


def grant_regroupement(
    actor: Principal, group_id: str, data: dict[str, Any]
) -> RegroupementAuthorisation:
    """The Région records its authorisation of an extra regroupement day (R10)."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région peut autoriser un regroupement supplémentaire.")
    group = get_group(actor, group_id)
    authorisation = RegroupementAuthorisation(
        organisation_id=group.organisation_id,
        group_id=group.id,
        session_date=data["session_date"],
        reason=data["reason"],
        granted_by_id=actor.id,
    )
    db.session.add(authorisation)
    db.session.flush()
    return authorisation


# Look-ups for the pages: the same visibility rules as the API's lists.


def can_administer(actor: Principal, organisation_id: str) -> bool:
    """True when the actor is this organisation's admin (the only one who edits its data)."""
    return actor.has_role(Role.ORG_ADMIN) and actor.organisation_id == organisation_id


def list_orders(actor: Principal) -> list[Order]:
    """Orders the actor may see, newest start first."""
    query = access.visible_orders(actor).order_by(Order.start_date.desc(), Order.number)
    return list(db.session.scalars(query))


def list_groups(actor: Principal, order_id: str) -> list[Group]:
    """The groups of one visible order, by name."""
    order = get_order(actor, order_id)
    query = access.visible_groups(actor).where(Group.order_id == order.id)
    return list(db.session.scalars(query.order_by(Group.name)))


def enrolment_counts(group_ids: list[str]) -> dict[str, int]:
    """How many trainees each group has enrolled, by group id."""
    rows = db.session.execute(
        select(Enrolment.group_id, func.count())
        .where(Enrolment.group_id.in_(group_ids))
        .group_by(Enrolment.group_id)
    )
    return dict(rows.all())


def list_enrolments(actor: Principal, group_id: str) -> list[Enrolment]:
    """The group's enrolments the actor may see (none for those who see no enrolment)."""
    query = access.visible_enrolments(actor).where(Enrolment.group_id == group_id)
    return list(db.session.scalars(query.join(Enrolment.trainee).order_by(Trainee.last_name)))


def list_trainees(actor: Principal) -> list[Trainee]:
    """Trainees the actor may see, by name."""
    query = access.visible_trainees(actor).order_by(Trainee.last_name, Trainee.first_name)
    return list(db.session.scalars(query))


def organisation_trainers(actor: Principal) -> list[User]:
    """The active trainers of the actor's organisation, to pick a group's trainers from."""
    query = select(User).where(
        User.organisation_id == actor.organisation_id,
        User.role == Role.TRAINER,
        User.is_active.is_(True),
    )
    return list(db.session.scalars(query.order_by(User.last_name, User.first_name)))


def list_invitations(actor: Principal, trainee_id: str) -> list[Invitation]:
    """A visible trainee's invitations, newest first (the admin sees which phone is bound)."""
    trainee = get_trainee(actor, trainee_id)
    require_admin_of(actor, trainee.organisation_id)
    query = select(Invitation).where(Invitation.trainee_id == trainee.id)
    newest = (Invitation.created_at.desc(), Invitation.id.desc())
    return list(db.session.scalars(query.order_by(*newest)))


def invite_trainee(
    actor: Principal, trainee_id: str, *, now: datetime, ttl_s: int, secret_key: str
) -> IssuedInvitation:
    """A new personal code for one of the admin's trainees; earlier unused codes lapse."""
    trainee = get_trainee(actor, trainee_id)
    require_admin_of(actor, trainee.organisation_id)
    return accounts.issue_invitation(actor, trainee, now=now, ttl_s=ttl_s, secret_key=secret_key)


def list_all_groups(actor: Principal) -> list[Group]:
    """Every group the actor may see (a trainer: the groups they teach), by name."""
    return list(db.session.scalars(access.visible_groups(actor).order_by(Group.name)))


def list_trainee_enrolments(actor: Principal, trainee_id: str) -> list[Enrolment]:
    """A visible trainee's paths the actor may see, by entry date."""
    trainee = get_trainee(actor, trainee_id)
    query = access.visible_enrolments(actor).where(Enrolment.trainee_id == trainee.id)
    return list(db.session.scalars(query.order_by(Enrolment.entry_date)))
