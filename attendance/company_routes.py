"""Company periods (R2): the organisation records a period and its hours and issues the
tutor's code; the trainee and the tutor sign the hours (they count once both signed)."""

from __future__ import annotations

from typing import Any

from attendance import company
from attendance.company_schemas import (
    HoursInSchema,
    HoursSchema,
    PeriodInSchema,
    PeriodListSchema,
    PeriodSchema,
    SignedSchema,
    TutorCodeInSchema,
    TutorCodeSchema,
    TutorPeriodSchema,
    TutorSignInSchema,
)
from attendance.web import device, failed_tutor_codes, settings
from core.api import Blueprint, ErrorSchema
from core.auth import ANY_ROLE, Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Role

blp = Blueprint(
    "company", __name__, url_prefix="/api/v1", description="Périodes en entreprise (R2)"
)


@blp.route("/enrolments/<enrolment_id>/company-periods", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(PeriodInSchema)
@blp.response(201, PeriodSchema)
@blp.alt_response(409, schema=ErrorSchema, description="company_period_overlap")
@blp.alt_response(422, schema=ErrorSchema, description="R1 or R2 refuses")
def create_period(data: dict[str, Any], enrolment_id: str, principal: Principal) -> Any:
    """Record a trainee's period in a company: dates inside the order and the path, no overlap
    with the path's other periods, R2 (≤ 70 h in all) and R1 (centre + company ≤ 200 h)."""
    period = company.create_period(principal, enrolment_id, data, utcnow())
    db.session.commit()
    return period


@blp.route("/enrolments/<enrolment_id>/company-periods", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, PeriodListSchema)
def list_periods(enrolment_id: str, principal: Principal) -> Any:
    """The company periods of a path, with their hours and signatures."""
    return {"items": company.enrolment_periods(principal, enrolment_id)}


@blp.route("/company-periods/<period_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, PeriodSchema)
def get_period(period_id: str, principal: Principal) -> Any:
    """One company period: its hours, who signed them, the hours that count."""
    return company.get_period(principal, period_id)


@blp.route("/company-periods/<period_id>/hours", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(HoursInSchema)
@blp.response(201, HoursSchema)
@blp.alt_response(409, schema=ErrorSchema, description="hours_overlap")
@blp.alt_response(422, schema=ErrorSchema, description="R2 refuses (planned hours, 70 h)")
def record_hours(data: dict[str, Any], period_id: str, principal: Principal) -> Any:
    """Record hours realised over some days of the period (inside one month); they count once
    the trainee and the tutor signed them."""
    line = company.record_hours(principal, period_id, data, utcnow())
    db.session.commit()
    return line


@blp.route("/company-hours/<hours_id>/cancellation", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.response(200, HoursSchema)
@blp.alt_response(409, schema=ErrorSchema, description="hours_counted, hours_cancelled")
def withdraw_hours(hours_id: str, principal: Principal) -> Any:
    """Withdraw hours declared by mistake, until both the trainee and the tutor signed them
    (a new entry of the period's chain, never an edit)."""
    line = company.withdraw_hours(principal, hours_id, utcnow())
    db.session.commit()
    return line


@blp.route("/company-periods/<period_id>/tutor-codes", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.response(201, TutorCodeSchema)
def tutor_code(period_id: str, principal: Principal) -> Any:
    """A personal code for the tutor, who has no account (the earlier unused ones stop)."""
    issued = company.issue_tutor_code(principal, period_id, utcnow(), settings())
    db.session.commit()
    return issued


@blp.route("/company-hours/<hours_id>/trainee-signature", methods=["POST"])
@roles_required(Role.TRAINEE)
@blp.response(201, SignedSchema)
@blp.alt_response(200, schema=SignedSchema, success=True, description="Already signed")
@blp.alt_response(409, schema=ErrorSchema, description="hours_cancelled")
def trainee_signature(hours_id: str, principal: Principal) -> Any:
    """The trainee signs their hours in the company (once: signing again answers 200)."""
    signed = company.sign_as_trainee(principal, hours_id, utcnow(), device())
    db.session.commit()
    return _signed(signed)


@blp.route("/company-tutor/period", methods=["POST"])
@failed_tutor_codes  # outermost but for the route: it sees the serialised answer
@blp.arguments(TutorCodeInSchema)
@blp.response(200, TutorPeriodSchema)
@blp.alt_response(400, schema=ErrorSchema, description="invalid_code")
@blp.alt_response(409, schema=ErrorSchema, description="code_used")
@blp.alt_response(410, schema=ErrorSchema, description="code_expired, code_revoked")
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts")
def tutor_period(data: dict[str, Any]) -> Any:
    """What the tutor's code shows (no account): the period and its hours. Signs nothing."""
    period, _ = company.tutor_view(data["code"], utcnow(), settings())
    return company.tutor_summary(period)


@blp.route("/company-tutor/signatures", methods=["POST"])
@failed_tutor_codes  # outermost but for the route: it sees the serialised answer
@blp.arguments(TutorSignInSchema)
@blp.response(201, SignedSchema)
@blp.alt_response(200, schema=SignedSchema, success=True, description="Already signed")
@blp.alt_response(400, schema=ErrorSchema, description="invalid_code")
@blp.alt_response(404, schema=ErrorSchema, description="hours not of the code's period")
@blp.alt_response(409, schema=ErrorSchema, description="code_used, hours_cancelled")
@blp.alt_response(410, schema=ErrorSchema, description="code_expired, code_revoked")
@blp.alt_response(429, schema=ErrorSchema, description="too_many_attempts")
def tutor_signature(data: dict[str, Any]) -> Any:
    """The tutor signs, with their code, the hours they were shown; the code is then spent."""
    signed = company.sign_as_tutor(data["code"], data["hours_ids"], utcnow(), device(), settings())
    db.session.commit()
    return _signed(signed)


def _signed(signed: company.Signed) -> Any:
    return {"lines": signed.lines, "already_signed": not signed.created}, (
        201 if signed.created else 200
    )
