"""The Région's rollups: one row per closed session, derived from its chain, kept in the same
transaction as the facts that change it (its close, an absence, a correction afterwards)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from attendance import register
from attendance.models import TrainingSession
from attendance.signals import session_settled
from compliance.models import GroupRollup, SessionRollup
from core.clock import PARIS, union_minutes
from core.db import utcnow
from core.extensions import db
from training.models import Order

NOT_SIGNED, JUSTIFIED, UNJUSTIFIED = "non_emarge", "justifiee", "non_justifiee"
ABSENCE_LABELS = {
    NOT_SIGNED: "Non émargé à la clôture",
    JUSTIFIED: "Absence justifiée",
    UNJUSTIFIED: "Absence non justifiée",
}


def derive(session: TrainingSession, now: datetime) -> SessionRollup:
    """The session's rollup, from its chain alone (its columns choose nothing)."""
    sheet = register.sheet_of(session)
    state = sheet.state
    starts_at, ends_at = state.starts_at or session.starts_at, state.ends_at or session.ends_at
    stop = min(ends_at, state.closed_at) if state.closed_at else ends_at
    absences: Counter[str] = Counter()
    for person in sheet.people:
        for half in person.halves:
            if half.status == "present":
                continue
            if half.half.start >= stop and half.reason is None:
                continue  # a half-day that never took place (closed before it) is no absence
            if half.justified:
                absences[JUSTIFIED] += 1
            elif half.reason:
                absences[UNJUSTIFIED] += 1
            else:
                absences[NOT_SIGNED] += 1
    billed = sheet.held and state.synchronous
    order = db.session.get_one(Order, session.group.order_id)
    return SessionRollup(
        session_id=session.id,
        organisation_id=session.organisation_id,
        order_id=order.id,
        group_id=session.group_id,
        department=order.department,
        month=f"{starts_at.astimezone(PARIS):%Y-%m}",
        kind=state.kind or session.kind,
        whole_group=state.participants is None,
        planned_minutes=int((ends_at - starts_at).total_seconds() // 60),
        realised_minutes=sum(p.minutes for p in sheet.people),
        participants=len(sheet.people),
        present=sum(p.status == "present" for p in sheet.people),
        absent_not_signed=absences[NOT_SIGNED],
        absent_justified=absences[JUSTIFIED],
        absent_unjustified=absences[UNJUSTIFIED],
        held=sheet.held,
        billable_start=starts_at if billed else None,
        billable_stop=stop if billed else None,
        updated_at=now,
    )


def group_billable(group_id: str, month: str) -> GroupRollup | None:
    """The group's billable minutes in the month, from its sessions' rows (R11: the union of
    the held synchronous sessions' spans, overlaps once)."""
    rows = db.session.execute(
        select(
            SessionRollup.organisation_id,
            SessionRollup.order_id,
            SessionRollup.billable_start,
            SessionRollup.billable_stop,
        ).where(SessionRollup.group_id == group_id, SessionRollup.month == month)
    ).all()
    if not rows:
        return None
    spans = [(r.billable_start, r.billable_stop) for r in rows if r.billable_start is not None]
    return GroupRollup(
        group_id=group_id,
        month=month,
        organisation_id=rows[0].organisation_id,
        order_id=rows[0].order_id,
        billable_minutes=union_minutes(spans),
    )


def store(row: SessionRollup) -> None:
    """Keep the session's row and its group's month."""
    db.session.merge(row)
    db.session.flush()
    group = group_billable(row.group_id, row.month)
    if group is not None:
        db.session.merge(group)
        db.session.flush()


@session_settled.connect
def keep(session: TrainingSession) -> None:
    """The session closed, or an absence or correction followed: its row is derived again."""
    store(derive(session, utcnow()))


def rebuild(sessions: list[TrainingSession] | None = None) -> int:
    """Derive the rows of every closed session again (after an upgrade, or to check)."""
    query = select(TrainingSession).where(TrainingSession.status == "closed")
    found = sessions if sessions is not None else list(db.session.scalars(query))
    now = utcnow()
    for session in found:
        store(derive(session, now))
    return len(found)
