"""Use cases of a trainee's follow-up: the situation at exit, 3 and 6 months (R23) with the
reminders of what is due, and the equipment lent against a capped deposit (R24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from compliance import rules
from compliance.models import EquipmentLoan, Outcome
from core.auth import Principal
from core.errors import Conflict, InvalidInput, NotFound
from core.extensions import db
from core.models import Role, Trainee
from training.models import Enrolment, Group, Order
from training.services import get_enrolment, get_trainee, require_admin_of

READERS = (Role.ORG_ADMIN, Role.REGION)


def exit_day(enrolment: Enrolment) -> date:
    """The path's exit: its exit date, or the order's end when none was recorded."""
    return enrolment.exit_date or enrolment.group.order.end_date


# --- outcomes (R23) -----------------------------------------------------------------------------


def record_outcome(
    actor: Principal, enrolment_id: str, data: dict[str, Any], now: datetime, today: date
) -> tuple[Outcome, bool]:
    """The organisation records the trainee's situation at a milestone; recorded again, the
    answer is replaced and the earlier one kept. Answers the outcome and whether it is new."""
    enrolment = get_enrolment(actor, enrolment_id)
    require_admin_of(actor, enrolment.organisation_id)
    kind = data.get("employment_kind") or None
    rules.check_outcome(data["milestone"], data["situation"], kind, exit_day(enrolment), today)
    outcome = db.session.scalar(
        select(Outcome)
        .where(Outcome.enrolment_id == enrolment.id, Outcome.milestone == data["milestone"])
        .with_for_update()
    )
    values = {
        "situation": data["situation"],
        "employment_kind": kind,
        "detail": (data.get("detail") or "").strip() or None,
        "recorded_at": now,
        "recorded_by_id": actor.id,
    }
    if outcome is None:
        outcome = Outcome(
            organisation_id=enrolment.organisation_id,
            enrolment_id=enrolment.id,
            trainee_id=enrolment.trainee_id,
            milestone=data["milestone"],
            history=[],
            **values,
        )
        db.session.add(outcome)
        db.session.flush()
        return outcome, True
    earlier = {
        "situation": outcome.situation,
        "employment_kind": outcome.employment_kind,
        "detail": outcome.detail,
        "recorded_at": outcome.recorded_at.isoformat(),
        "recorded_by_id": outcome.recorded_by_id,
    }
    outcome.history = [*outcome.history, earlier]
    for name, value in values.items():
        setattr(outcome, name, value)
    db.session.flush()
    return outcome, False


def enrolment_outcomes(actor: Principal, enrolment_id: str) -> tuple[Enrolment, list[Outcome]]:
    enrolment = get_enrolment(actor, enrolment_id)
    if not actor.has_role(*READERS):
        raise NotFound("Parcours introuvable.")
    found = db.session.scalars(select(Outcome).where(Outcome.enrolment_id == enrolment.id))
    order = {m: i for i, m in enumerate(rules.MILESTONES)}
    return enrolment, sorted(found, key=lambda o: order[o.milestone])


@dataclass(frozen=True)
class Due:
    """A milestone whose day has come and that nobody recorded yet."""

    enrolment: Enrolment
    milestone: str
    due_on: date


def outcomes_due(actor: Principal, today: date, limit: int = 500) -> list[Due]:
    """R23's reminders: the paths of the organisation (the Région: all) with a situation due
    and not recorded, the oldest first. Paths fully recorded drop out in SQL."""
    query = select(Enrolment).join(Group).join(Order)
    if not actor.has_role(Role.REGION):
        query = query.where(Enrolment.organisation_id == actor.organisation_id)
    recorded_count = (
        select(func.count())
        .select_from(Outcome)
        .where(Outcome.enrolment_id == Enrolment.id)
        .scalar_subquery()
    )
    query = query.where(
        func.coalesce(Enrolment.exit_date, Order.end_date) <= today,
        recorded_count < len(rules.MILESTONES),  # paths fully recorded drop out in SQL
    )
    enrolments = list(db.session.scalars(query))
    recorded: dict[str, set[str]] = {}
    if enrolments:  # their recorded milestones: one query, no list of ids bound
        rows = db.session.execute(
            select(Outcome.enrolment_id, Outcome.milestone).where(
                Outcome.enrolment_id.in_(query.with_only_columns(Enrolment.id))
            )
        )
        for enrolment_id, milestone in rows:
            recorded.setdefault(enrolment_id, set()).add(milestone)
    due = [
        Due(e, milestone, day)
        for e in enrolments
        for milestone, day in rules.outcomes_due(exit_day(e), recorded.get(e.id, set()), today)
    ]
    due.sort(key=lambda d: (d.due_on, d.enrolment.id, d.milestone))
    return due[:limit]


# --- equipment lent (R24) -----------------------------------------------------------------------


def outstanding_deposits(trainee_id: str) -> Decimal:
    total = db.session.scalar(
        select(func.coalesce(func.sum(EquipmentLoan.deposit_eur), 0)).where(
            EquipmentLoan.trainee_id == trainee_id, EquipmentLoan.returned_on.is_(None)
        )
    )
    return Decimal(str(total))


def lend(actor: Principal, trainee_id: str, data: dict[str, Any]) -> EquipmentLoan:
    """Record equipment lent to the trainee against a deposit (R24: 200 € at most in all)."""
    trainee = get_trainee(actor, trainee_id)
    require_admin_of(actor, trainee.organisation_id)
    db.session.scalar(select(Trainee).where(Trainee.id == trainee.id).with_for_update())
    deposit = Decimal(str(data["deposit_eur"])).quantize(Decimal("0.01"))
    rules.check_deposit(deposit, outstanding_deposits(trainee.id))
    loan = EquipmentLoan(
        organisation_id=trainee.organisation_id,
        trainee_id=trainee.id,
        item=data["item"].strip(),
        deposit_eur=deposit,
        lent_on=data["lent_on"],
        recorded_by_id=actor.id,
    )
    db.session.add(loan)
    db.session.flush()
    return loan


def give_back(
    actor: Principal, loan_id: str, returned_on: date, trainee_id: str | None = None
) -> EquipmentLoan:
    """The equipment came back: its deposit is returned and leaves the trainee's total."""
    loan = db.session.scalar(select(EquipmentLoan).where(EquipmentLoan.id == loan_id))
    if (
        loan is None
        or (not actor.has_role(Role.REGION) and loan.organisation_id != actor.organisation_id)
        or (trainee_id is not None and loan.trainee_id != trainee_id)
    ):
        raise NotFound("Prêt de matériel introuvable.")
    require_admin_of(actor, loan.organisation_id)
    if loan.returned_on is not None:
        raise Conflict("Ce matériel est déjà rendu.", code="already_returned")
    if returned_on < loan.lent_on:
        raise InvalidInput(
            "Le matériel ne peut être rendu avant d'avoir été prêté.", code="invalid_dates"
        )
    loan.returned_on = returned_on
    db.session.flush()
    return loan


def trainee_loans(actor: Principal, trainee_id: str) -> list[EquipmentLoan]:
    trainee = get_trainee(actor, trainee_id)
    query = (
        select(EquipmentLoan)
        .where(EquipmentLoan.trainee_id == trainee.id)
        .order_by(EquipmentLoan.lent_on.desc(), EquipmentLoan.id)
    )
    return list(db.session.scalars(query))
