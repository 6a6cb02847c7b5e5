"""Purging job seekers' personal data once its retention period is over, with the proof intact.

The supporting records are kept 3 years from the end of the year of the last payment
(SPEC.md, "Legal artefacts"; the certificate's commitment). Until payments are recorded, the
last payment is taken as the order's end. A purge erases what identifies a person: the
trainees' names and contact details, the device and network facts and the reasons typed in
the ledger's entries (and their salts), the devices named on invitations, the company tutors'
names and contacts (R2). The chains and the seals still verify afterwards: entries hold these
facts only as salted commitments, and identities only as opaque ids (attendance/ledger.py).
The packages above erase what they hold of the same people
(`attendance.signals.order_purged`: certificates, their stored PDFs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select, update

from attendance.models import CompanyEntry, CompanyPeriod, Signature, TrainingSession
from attendance.signals import order_purged
from core.clock import local_day
from core.errors import Conflict
from core.extensions import db
from core.models import Invitation, Trainee
from training.models import Enrolment, Group, Order

RETENTION_YEARS = 3
PURGED = "—"  # what a purged name reads


def retention_ends(order: Order) -> date:
    """The first day the order's personal data may be purged: 3 years after the end of the
    year of its last payment (its end date, until payments are recorded)."""
    return date(order.end_date.year + RETENTION_YEARS + 1, 1, 1)


def due_orders(now: datetime) -> list[str]:
    """The orders whose retention period is over (the daily purge's list), oldest first."""
    today = local_day(now)
    orders = db.session.scalars(select(Order).order_by(Order.end_date, Order.id))
    return [order.id for order in orders if retention_ends(order) <= today]


@dataclass(frozen=True)
class Purge:
    order_id: str
    trainees: int
    entries: int
    invitations: int


def purge_order(order_id: str, now: datetime) -> Purge:
    """Erase the personal data of an order's trainees and of its sessions' entries. Refused
    (409) before the retention period is over, and while one of them follows another order
    still within it. Flushes; the caller commits."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise Conflict("Bon de commande inconnu.", code="unknown_order")
    if local_day(now) < retention_ends(order):
        raise Conflict(
            f"Les données de ce bon de commande se conservent jusqu'au "
            f"{retention_ends(order):%d/%m/%Y} (3 ans après la fin de l'année du dernier "
            "paiement).",
            code="retention_not_over",
        )
    groups = select(Group.id).where(Group.order_id == order.id)
    trainees = set(
        db.session.scalars(select(Enrolment.trainee_id).where(Enrolment.group_id.in_(groups)))
    )
    kept = _still_kept(trainees, order.id, local_day(now))
    erased = trainees - kept
    sessions = select(TrainingSession.id).where(TrainingSession.group_id.in_(groups))
    entries = db.session.execute(
        update(Signature)
        .where(Signature.session_id.in_(sessions), Signature.salt.is_not(None))
        .values(device={}, reason=None, salt=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    entries = (entries or 0) + _purge_company(groups)
    for trainee in db.session.scalars(select(Trainee).where(Trainee.id.in_(erased))):
        trainee.first_name, trainee.last_name, trainee.phone = PURGED, PURGED, None
        trainee.email = f"purge-{trainee.id}@invalid"
    invitations = db.session.execute(
        update(Invitation)
        .where(Invitation.trainee_id.in_(erased), Invitation.device_label.is_not(None))
        .values(device_label=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    order_purged.send(order.id, trainee_ids=erased)  # certificates erase their stored PDFs
    db.session.flush()
    return Purge(order.id, len(erased), int(entries or 0), int(invitations or 0))


def _purge_company(groups: Select) -> int:
    """The company periods' personal data (R2): the signing devices in their chains' entries
    (committed, so the chains still verify) and the tutors' names and contact details."""
    enrolments = select(Enrolment.id).where(Enrolment.group_id.in_(groups))
    periods = select(CompanyPeriod.id).where(CompanyPeriod.enrolment_id.in_(enrolments))
    entries = db.session.execute(
        update(CompanyEntry)
        .where(CompanyEntry.period_id.in_(periods), CompanyEntry.salt.is_not(None))
        .values(device={}, salt=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.execute(
        update(CompanyPeriod)
        .where(CompanyPeriod.id.in_(periods))
        .values(tutor_name=PURGED, tutor_email="purge@invalid", tutor_phone=None)
        .execution_options(synchronize_session=False)
    )
    return int(entries or 0)


def _still_kept(trainee_ids: set[str], order_id: str, today: date) -> set[str]:
    """Trainees who also follow another order whose retention is not over: kept whole."""
    other = db.session.execute(
        select(Enrolment.trainee_id, Order)
        .join(Group, Enrolment.group_id == Group.id)
        .join(Order, Group.order_id == Order.id)
        .where(Enrolment.trainee_id.in_(trainee_ids), Order.id != order_id)
    ).all()
    return {trainee_id for trainee_id, order in other if today < retention_ends(order)}
