"""Use cases of the company periods (R2): record a period and its hours, issue the tutor's
code, the trainee's and the tutor's signatures, and what the periods count.

Every fact that sets company hours is an entry of the period's chain (company_journal); the
rows are its projection. Hours count once both the trainee and the tutor signed them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, func, select, update

from attendance import company_journal, company_rules
from attendance.company_rules import Span
from attendance.credentials import Device, Settings
from attendance.models import CompanyHours, CompanyPeriod, TutorCode
from core.auth import Principal
from core.clock import local_day
from core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from core.extensions import db
from core.models import Role
from core.services import CODE_ALPHABET, CODE_LENGTH, code_digest, format_code
from training import access
from training.models import Enrolment, Group, Order
from training.signals import order_replanned


def visible_periods(actor: Principal) -> Select:
    """The periods the actor may see: the Région all; an organisation's admin and finance
    theirs; a trainer those of the groups they teach; a trainee their own."""
    query = select(CompanyPeriod)
    if actor.has_role(Role.REGION):
        return query
    if actor.has_role(Role.ORG_ADMIN, Role.FINANCE):
        return query.where(CompanyPeriod.organisation_id == actor.organisation_id)
    if actor.has_role(Role.TRAINER):
        taught = select(Enrolment.id).where(Enrolment.group_id.in_(access.trained_group_ids(actor)))
        return query.where(CompanyPeriod.enrolment_id.in_(taught))
    if actor.is_trainee:
        return query.where(CompanyPeriod.trainee_id == actor.id)
    return query.where(false())


def get_period(actor: Principal, period_id: str, *, lock: bool = False) -> CompanyPeriod:
    """A period the actor may see (404 otherwise); `lock` holds its row until commit."""
    query = visible_periods(actor).where(CompanyPeriod.id == period_id)
    if lock:
        query = query.with_for_update(of=CompanyPeriod).execution_options(populate_existing=True)
    found = db.session.scalar(query)
    if found is None:
        raise NotFound("Période en entreprise introuvable.")
    return found


def get_enrolment(actor: Principal, enrolment_id: str) -> Enrolment:
    found = db.session.scalar(access.visible_enrolments(actor).where(Enrolment.id == enrolment_id))
    if found is None:
        raise NotFound("Parcours introuvable.")
    return found


def enrolment_periods(actor: Principal, enrolment_id: str) -> list[CompanyPeriod]:
    """The periods of a visible path, in time order."""
    enrolment = get_enrolment(actor, enrolment_id)
    query = visible_periods(actor).where(CompanyPeriod.enrolment_id == enrolment.id)
    return list(db.session.scalars(query.order_by(CompanyPeriod.start_date)))


def _require_admin(actor: Principal) -> None:
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent de l'organisme gère les périodes en entreprise.")


def create_period(
    actor: Principal, enrolment_id: str, data: dict[str, Any], now: datetime
) -> CompanyPeriod:
    """Record a period in a company for a path: dates inside the order and the path, no
    overlap with its other periods, R2 (≤ 70 h in all) and R1 (centre + company ≤ 200 h)."""
    _require_admin(actor)
    enrolment = get_enrolment(actor, enrolment_id)
    db.session.scalar(  # periods of one path are checked one at a time (PostgreSQL)
        select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update()
    )
    order = enrolment.group.order
    span = Span(data["start_date"], data["end_date"])
    company_rules.check_period_dates(
        span, Span(order.start_date, order.end_date), enrolment.entry_date, enrolment.exit_date
    )
    others = list(
        db.session.scalars(select(CompanyPeriod).where(CompanyPeriod.enrolment_id == enrolment.id))
    )
    company_rules.check_no_overlap(span, (Span(p.start_date, p.end_date) for p in others))
    company_rules.check_planned_hours(
        enrolment.planned_centre_hours,
        enrolment.planned_company_hours,
        sum(p.planned_hours for p in others),
        data["planned_hours"],
    )
    period = CompanyPeriod(
        organisation_id=enrolment.organisation_id,
        enrolment_id=enrolment.id,
        trainee_id=enrolment.trainee_id,
        company_name=data["company_name"],
        siret=data.get("siret") or None,
        tutor_name=data["tutor_name"],
        tutor_email=data["tutor_email"],
        tutor_phone=data.get("tutor_phone") or None,
        start_date=span.start,
        end_date=span.end,
        planned_hours=data["planned_hours"],
        created_by_id=actor.id,
    )
    db.session.add(period)
    db.session.flush()
    facts = company_rules.plan_facts(
        period.company_name, period.siret, span.start, span.end, period.planned_hours
    )
    facts |= {"enrolment_id": enrolment.id, "trainee_id": enrolment.trainee_id}
    entry = company_journal.new_entry(
        period, company_rules.PLAN, ("period", actor.id), now, facts, author_id=actor.id
    )
    company_journal.append(period.id, entry)
    return _fresh(period)


def record_hours(
    actor: Principal, period_id: str, data: dict[str, Any], now: datetime
) -> CompanyHours:
    """Record hours realised in the period over some days (R2: within its planned hours and
    70 h over the path). They wait for the trainee's and the tutor's signatures."""
    _require_admin(actor)
    period = get_period(actor, period_id, lock=True)
    span = Span(data["first_day"], data["last_day"])
    minutes = round(data["hours"] * 60)
    company_rules.check_line(
        span, minutes, Span(period.start_date, period.end_date), local_day(now)
    )
    standing = [line for line in period.lines if not line.is_cancelled]
    company_rules.check_line_free(span, (Span(x.first_day, x.last_day) for x in standing))
    path_minutes = db.session.scalar(
        select(func.coalesce(func.sum(CompanyHours.minutes), 0))
        .join(CompanyPeriod, CompanyPeriod.id == CompanyHours.period_id)
        .where(
            CompanyPeriod.enrolment_id == period.enrolment_id, CompanyHours.cancelled_at.is_(None)
        )
    )
    period_minutes = sum(line.minutes for line in standing)
    company_rules.check_realised(
        period_minutes, period.planned_hours, int(path_minutes or 0), minutes
    )
    line = CompanyHours(
        organisation_id=period.organisation_id,
        period_id=period.id,
        first_day=span.start,
        last_day=span.end,
        minutes=minutes,
        recorded_by_id=actor.id,
    )
    db.session.add(line)
    db.session.flush()
    facts = {
        "hours_id": line.id,
        "first_day": span.start.isoformat(),
        "last_day": span.end.isoformat(),
        "minutes": minutes,
    }
    entry = company_journal.new_entry(
        period, company_rules.HOURS, ("period", actor.id), now, facts, author_id=actor.id
    )
    company_journal.append(period.id, entry)
    db.session.expire(period, ["lines", "chain_length", "chain_head"])
    return line


def withdraw_hours(actor: Principal, hours_id: str, now: datetime) -> CompanyHours:
    """Withdraw a line declared by mistake, until both signed it: a new entry of the chain,
    never an edit; the days and the hours are free again (R2)."""
    _require_admin(actor)
    line = db.session.scalar(
        select(CompanyHours).where(
            CompanyHours.id == hours_id,
            CompanyHours.period_id.in_(visible_periods(actor).with_only_columns(CompanyPeriod.id)),
        )
    )
    if line is None:
        raise NotFound("Heures introuvables.")
    period = get_period(actor, line.period_id, lock=True)
    db.session.refresh(line)  # read again under the period's lock
    company_rules.check_can_withdraw(line.is_counted, line.is_cancelled)
    line.cancelled_at = now
    entry = company_journal.new_entry(
        period,
        company_rules.CANCEL,
        ("period", actor.id),
        now,
        {"hours_id": line.id},
        hours_id=line.id,
        author_id=actor.id,
    )
    company_journal.append(period.id, entry)
    db.session.flush()
    db.session.expire(period, ["lines", "chain_length", "chain_head"])
    return line


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime
    url: str


def issue_tutor_code(actor: Principal, period_id: str, now: datetime, cfg: Settings) -> IssuedCode:
    """A personal code for the period's tutor (shown once, then only its digest is kept); the
    earlier unused codes of the period stop working."""
    _require_admin(actor)
    period = get_period(actor, period_id)
    db.session.execute(
        update(TutorCode)
        .where(
            TutorCode.period_id == period.id,
            TutorCode.used_at.is_(None),
            TutorCode.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + timedelta(days=company_rules.TUTOR_CODE_DAYS)
    db.session.add(
        TutorCode(
            organisation_id=period.organisation_id,
            period_id=period.id,
            code_digest=code_digest(cfg.secret_key, code),
            expires_at=expires_at,
            created_by_id=actor.id,
        )
    )
    db.session.flush()
    return IssuedCode(format_code(code), expires_at, f"{cfg.base_url.rstrip('/')}/tuteur")


@order_replanned.connect
def check_order_periods(order: Order) -> None:
    """An order's dates changed (already set on `order`): its company periods still lie inside
    them, or the change is refused (training.signals.order_replanned)."""
    enrolments = select(Enrolment.id).join(Group).where(Group.order_id == order.id)
    first, last = db.session.execute(
        select(func.min(CompanyPeriod.start_date), func.max(CompanyPeriod.end_date)).where(
            CompanyPeriod.enrolment_id.in_(enrolments)
        )
    ).one()
    if first is not None:
        company_rules.check_period_dates(
            Span(first, last), Span(order.start_date, order.end_date), first, None
        )


# --- Signatures ---


@dataclass(frozen=True)
class Signed:
    lines: list[CompanyHours]
    created: bool  # False: every line was signed already (the first signatures stand)


def sign_as_trainee(actor: Principal, hours_id: str, now: datetime, device: Device) -> Signed:
    """The trainee signs a line of their own company hours; signing again changes nothing."""
    if not actor.is_trainee:
        raise Forbidden(
            "Seul le stagiaire signe ses heures en entreprise.", code="trainee_required"
        )
    line = db.session.scalar(
        select(CompanyHours)
        .join(CompanyPeriod, CompanyPeriod.id == CompanyHours.period_id)
        .where(CompanyHours.id == hours_id, CompanyPeriod.trainee_id == actor.id)
    )
    if line is None:
        raise NotFound("Heures introuvables.")
    period = db.session.get_one(CompanyPeriod, line.period_id)
    _check_standing([line])
    created = _sign(period, [line], "trainee", actor.id, now, device, "session")
    return Signed([line], created)


def find_tutor_code(code: str, now: datetime, cfg: Settings) -> TutorCode:
    """The tutor's code as typed: unknown (400), expired or replaced (410)."""
    if not code.strip():
        raise InvalidInput("Saisissez votre code.", code="missing_code")
    record = db.session.scalar(
        select(TutorCode).where(TutorCode.code_digest == code_digest(cfg.secret_key, code))
    )
    if record is None:
        raise InvalidInput("Ce code est inconnu. Vérifiez-le.", code="invalid_code")
    if record.revoked_at is not None:
        raise Gone("Ce code a été remplacé par un plus récent.", code="code_revoked")
    if now >= record.expires_at:
        raise Gone("Ce code a expiré : demandez-en un nouveau à l'organisme.", code="code_expired")
    return record


def tutor_view(code: str, now: datetime, cfg: Settings) -> tuple[CompanyPeriod, TutorCode]:
    """What a tutor's code shows: its period and the hours recorded (nothing is signed). A
    code that served already shows nothing more (409): the organisation issues a new one."""
    record = find_tutor_code(code, now, cfg)
    if record.used_at is not None:
        raise Conflict(
            "Ce code a déjà servi : demandez-en un nouveau à l'organisme.", code="code_used"
        )
    return db.session.get_one(CompanyPeriod, record.period_id), record


def sign_as_tutor(
    code: str, hours_ids: list[str], now: datetime, device: Device, cfg: Settings
) -> Signed:
    """The tutor signs, with their code, the lines they were shown; the code then is spent. The
    same lines sent again answer their signatures (200); a spent code signs nothing new (409)."""
    record = find_tutor_code(code, now, cfg)
    period = db.session.get_one(CompanyPeriod, record.period_id)
    by_id = {line.id: line for line in period.lines}
    if not hours_ids or any(hours_id not in by_id for hours_id in hours_ids):
        raise NotFound("Heures introuvables dans cette période.")
    lines = [by_id[hours_id] for hours_id in dict.fromkeys(hours_ids)]
    _check_standing(lines)
    claimed = db.session.execute(
        update(TutorCode)
        .where(TutorCode.id == record.id, TutorCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        if all(line.tutor_signed_at is not None for line in lines):
            return Signed(lines, created=False)
        raise Conflict(
            "Ce code a déjà servi : demandez-en un nouveau à l'organisme.", code="code_used"
        )
    created = _sign(period, lines, "tutor", record.id, now, device, "tutor_code")
    return Signed(lines, created)


def _check_standing(lines: list[CompanyHours]) -> None:
    if any(line.is_cancelled for line in lines):
        raise Conflict("Ces heures ont été retirées par l'organisme.", code="hours_cancelled")


def _sign(
    period: CompanyPeriod,
    lines: list[CompanyHours],
    signer: str,
    signer_id: str,
    now: datetime,
    device: Device,
    method: str,
) -> bool:
    """Claim each line's signature of `signer` (a conditional UPDATE: one of two concurrent
    signatures wins) and chain those claimed. Answers whether any was new."""
    column = CompanyHours.trainee_signed_at if signer == "trainee" else CompanyHours.tutor_signed_at
    created = False
    for line in lines:
        claimed = db.session.execute(
            update(CompanyHours)
            .where(
                CompanyHours.id == line.id, column.is_(None), CompanyHours.cancelled_at.is_(None)
            )
            .values({column.key: now})
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        entry = company_journal.new_entry(
            period,
            company_rules.SIGN,
            (signer, signer_id),
            now,
            {"hours_id": line.id},
            hours_id=line.id,
            method=method,
            device=device.facts(),
        )
        company_journal.append(period.id, entry)
        created = True
    for line in lines:
        db.session.refresh(line)
    return created


def _fresh(period: CompanyPeriod) -> CompanyPeriod:
    db.session.flush()
    db.session.refresh(period)
    return period


def trainee_periods(actor: Principal) -> list[CompanyPeriod]:
    """The trainee's own periods, newest first."""
    query = visible_periods(actor).order_by(CompanyPeriod.start_date.desc())
    return list(db.session.scalars(query))


def tutor_summary(period: CompanyPeriod) -> dict[str, Any]:
    """What a tutor is shown: the company, the trainee's initials only, the hours."""
    trainee = period.enrolment.trainee
    initials = " ".join(
        f"{n.strip()[:1].upper()}." for n in (trainee.first_name, trainee.last_name) if n.strip()
    )
    return {
        "company_name": period.company_name,
        "trainee_initials": initials,
        "start_date": period.start_date,
        "end_date": period.end_date,
        "lines": period.lines,
    }
