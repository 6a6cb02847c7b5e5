"""Session and émargement endpoints: plan and read sessions; open, QR, codes, sign in and out,
close, absences, corrections, the attendance sheet, the ledger check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app

from attendance import qr as qr_images
from attendance import register, sealing, services, signing, substitutes
from attendance.credentials import Credential
from attendance.models import Signature, TrainingSession
from attendance.rules import PARIS
from attendance.schemas import (
    AbsenceInSchema,
    AttendanceSchema,
    CodeSchema,
    CodesInSchema,
    CorrectionInSchema,
    CredentialSchema,
    LedgerSchema,
    PeriodSubstituteInSchema,
    QrSchema,
    RecordsSchema,
    SealsSchema,
    SessionInSchema,
    SessionPatchSchema,
    SessionRangeArgs,
    SessionSchema,
    SignInSchema,
    SubstituteInSchema,
)
from attendance.web import announce, announce_closed, device, failed_attempts, once, settings
from core.api import Blueprint, ErrorSchema, PageArgs, image_doc, json_doc, load_json, page_schema
from core.auth import ANY_ROLE, Principal, current_principal, device_claim, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Role
from core.pagination import paginate
from training.services import get_group

blp = Blueprint("attendance", __name__, url_prefix="/api/v1", description="Séances et émargement")


@blp.route("/groups/<group_id>/sessions", methods=["POST"])
@roles_required(Role.ORG_ADMIN, Role.TRAINER)
@blp.arguments(SessionInSchema)
@blp.response(201, SessionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="participant_overlap, trainer_overlap")
@blp.alt_response(422, schema=ErrorSchema, description="R6 or R10 refuses")
def plan_session(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Plan a tutorat, autoformation or regroupement session for a group or part of it."""
    session = services.plan_session(principal, group_id, data, utcnow())
    db.session.commit()
    return session


@blp.route("/groups/<group_id>/sessions", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(SessionSchema, "SessionPage"))
def list_group_sessions(args: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Sessions of a group, in time order."""
    group = get_group(principal, group_id)
    query = services.visible_sessions(principal).where(TrainingSession.group_id == group.id)
    items, cursor = paginate(
        query, TrainingSession.starts_at, TrainingSession.id, args["limit"], args["cursor"]
    )
    return {"items": items, "next_cursor": cursor}


@blp.route("/sessions", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(SessionRangeArgs, location="query")
@blp.response(200, page_schema(SessionSchema, "SessionRangePage"))
def list_sessions(args: dict[str, Any], principal: Principal) -> Any:
    """The caller's sessions from `start` (default today, Paris) for `days` days."""
    day = args["start"] or utcnow().astimezone(PARIS).date()
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    return {"items": services.sessions_between(principal, start, args["days"]), "next_cursor": None}


@blp.route("/sessions/<session_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, SessionSchema)
def get_session(session_id: str, principal: Principal) -> Any:
    """One session the caller may see."""
    return services.get_session(principal, session_id)


@blp.route("/sessions/<session_id>", methods=["PATCH"])
@roles_required(Role.ORG_ADMIN, Role.TRAINER)
@blp.arguments(SessionPatchSchema)
@blp.response(200, SessionSchema)
@blp.alt_response(
    409, schema=ErrorSchema, description="session_not_planned, participant_overlap, trainer_overlap"
)
@blp.alt_response(422, schema=ErrorSchema, description="R6 or R10 refuses")
def update_session(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """Change a planned session (R6 and R10 checked again; the change is chained)."""
    session = services.update_session(principal, session_id, data, utcnow())
    db.session.commit()
    return session


# --- Émargement ---


@blp.route("/sessions/<session_id>/open", methods=["POST"])
@roles_required(Role.TRAINER)
@blp.response(200, SessionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="session_not_planned, outside_session_time")
def open_session(session_id: str, principal: Principal) -> Any:
    """Open signing (from the margin before the start); draws the session's QR key."""
    session = signing.open_session(principal, session_id, utcnow(), settings())
    db.session.commit()
    return session


@blp.route("/sessions/<session_id>/trainer-signature", methods=["POST"])
@roles_required(Role.TRAINER)
@blp.response(201, SignInSchema)
@blp.alt_response(200, schema=SignInSchema, success=True, description="Already signed")
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open, signing_closed")
def trainer_signature(session_id: str, principal: Principal) -> Any:
    """The trainer co-signs the session (one signature per half-day)."""
    outcome = once(
        lambda retry: signing.sign_trainer(
            principal, session_id, utcnow(), device(), settings(), look_first=retry
        )
    )
    return _signed(outcome, "trainer_signature", principal)


@blp.route("/sessions/<session_id>/qr", methods=["GET"])
@roles_required(Role.TRAINER, Role.SITE_STAFF)
@blp.response(200, QrSchema)
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open")
def qr(session_id: str, principal: Principal) -> Any:
    """The text to show as a QR code now, and when it rotates."""
    current = signing.qr_payload(principal, session_id, utcnow(), settings())
    return current, 200, {"Cache-Control": "no-store"}


@blp.route("/sessions/<session_id>/qr.svg", methods=["GET"])
@roles_required(Role.TRAINER, Role.SITE_STAFF)
@blp.doc(**image_doc("image/svg+xml", "The QR code to show now (SVG)"))
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open")
def qr_svg(session_id: str, principal: Principal) -> Any:
    """The current QR code as SVG."""
    current = signing.qr_payload(principal, session_id, utcnow(), settings())
    return _image(qr_images.svg(current["payload"]), "image/svg+xml", current)


@blp.route("/sessions/<session_id>/qr.png", methods=["GET"])
@roles_required(Role.TRAINER, Role.SITE_STAFF)
@blp.doc(**image_doc("image/png", "The QR code to show now (PNG)"))
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open")
def qr_png(session_id: str, principal: Principal) -> Any:
    """The current QR code as PNG."""
    current = signing.qr_payload(principal, session_id, utcnow(), settings())
    return _image(qr_images.png(current["payload"]), "image/png", current)


def _image(body: bytes, mimetype: str, current: dict[str, Any]) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-QR-Expires-At"] = current["expires_at"].isoformat()
    return response


@blp.route("/sessions/<session_id>/sign-in-codes", methods=["POST"])
@roles_required(Role.TRAINER, Role.ORG_ADMIN)
@blp.arguments(CodesInSchema)
@blp.response(201, CodeSchema(many=True))
@blp.alt_response(409, schema=ErrorSchema, description="signing_closed")
def sign_in_codes(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """Single-use personal codes for trainees without a phone."""
    codes = signing.issue_codes(principal, session_id, data["trainee_ids"], utcnow(), settings())
    db.session.commit()
    return codes


# The two hottest routes of the service load and dump their JSON themselves (core.api.load_json)
# instead of through flask-smorest's `arguments`/`response` wrappers (webargs' parsing alone
# was 8 % of a sign-in's CPU, `python -m bench.profile`): same body, errors and description.
CREDENTIAL = CredentialSchema()
SIGN_IN_ANSWER = SignInSchema()
SIGNING_ERRORS: dict[int, tuple[type, str]] = {
    400: (ErrorSchema, "invalid_input, qr_invalid, invalid_code"),
    401: (ErrorSchema, "invalid_token, token_expired, revoked (the phone's bearer)"),
    403: (ErrorSchema, "not_enrolled, trainee_required (a QR needs an activated phone)"),
    409: (
        ErrorSchema,
        "session_not_open, signing_closed, outside_session_time, wrong_session, code_used, "
        "not_signed_in, sign_in_this_half_first",
    ),
    410: (ErrorSchema, "qr_expired, code_expired"),
    429: (ErrorSchema, "too_many_attempts: 10 failed attempts a minute per client"),
}


@blp.route("/sign-ins", methods=["POST"])
@blp.doc(
    **json_doc(
        CredentialSchema,
        {
            201: (SignInSchema, "Signed in: the new record"),
            200: (SignInSchema, "Already signed: the first record, `already_signed: true`"),
            **SIGNING_ERRORS,
        },
    )
)
@failed_attempts
def sign_in() -> Any:
    """Sign in by QR (a trainee's bound phone) or by personal code (site PC, kiosk)."""
    cred = Credential(**load_json(CREDENTIAL))
    claim = device_claim() if cred.qr else None  # a phone: its binding is checked in the query
    actor = None if claim else _caller()
    outcome = once(
        lambda retry: signing.sign_in(
            actor, cred, utcnow(), device(), settings(), look_first=retry, device_claim=claim
        ),
        single_statement=bool(cred.qr),  # a code's claim is a second write
    )
    record, status = _signed(outcome, "sign_in", actor)
    return SIGN_IN_ANSWER.dump(record), status


@blp.route("/sign-outs", methods=["POST"])
@blp.doc(
    **json_doc(
        CredentialSchema,
        {200: (SignInSchema, "The sign-in, with `signed_out_at`"), **SIGNING_ERRORS},
    )
)
@failed_attempts
def sign_out() -> Any:
    """Sign out (needed for autoformation, R7): answers the sign-in with `signed_out_at`."""
    actor, cred = _caller(), Credential(**load_json(CREDENTIAL))
    signed, out = once(
        lambda retry: signing.sign_out(
            actor, cred, utcnow(), device(), settings(), look_first=retry
        )
    )
    announce(out, "sign_out", actor)
    return SIGN_IN_ANSWER.dump(_with(signed, already_signed=True, signed_out_at=out.at))


def _caller() -> Principal | None:
    """Sign-ins accept anonymous callers (codes); a bearer, when sent, must be valid."""
    return current_principal()


def _signed(outcome: signing.Outcome, event: str, by: Principal | None) -> Any:
    if outcome.created:
        announce(outcome.signature, event, by, outcome.name)
        return _with(outcome.signature, already_signed=False), 201
    return _with(outcome.signature, already_signed=True), 200


def _with(signature: Signature, **extra: Any) -> Signature:
    """The record with the answer-only facts (already_signed, signed_out_at) attached."""
    for name, value in extra.items():
        setattr(signature, name, value)
    return signature


@blp.route("/sessions/<session_id>/close", methods=["POST"])
@roles_required(Role.TRAINER)
@blp.response(200, SessionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open")
def close_session(session_id: str, principal: Principal) -> Any:
    """Close signing; enrolled trainees without a signature become absent."""
    register.close_session(principal, session_id, utcnow())
    db.session.commit()
    announce_closed(session_id)
    sealing.seal_soon(current_app._get_current_object())  # type: ignore[attr-defined]
    return services.get_session(principal, session_id)


@blp.route("/sessions/<session_id>/substitute", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(SubstituteInSchema)
@blp.response(200, SessionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="session_closed, trainer_overlap")
def substitute_session(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """Name a trainer of the organisation who runs the session in place of the group's
    trainers, even while it is open (CCTP §4.1.2); `trainer_id: null` withdraws them. Chained."""
    session = substitutes.substitute_session(principal, session_id, data, utcnow())
    db.session.commit()
    return session


@blp.route("/groups/<group_id>/substitutes", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(PeriodSubstituteInSchema)
@blp.response(200, page_schema(SessionSchema, "SubstitutedSessions"))
@blp.alt_response(
    409, schema=ErrorSchema, description="session_closed, trainer_overlap, no_session"
)
def substitute_period(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Name the substitute of every session of the group over a period (Paris days, both
    included) that is not closed: all of them or none. Each change is chained."""
    sessions = substitutes.substitute_period(principal, group_id, data, utcnow())
    db.session.commit()
    return {"items": sessions, "next_cursor": None}


@blp.route("/sessions/<session_id>/absences", methods=["POST"])
@roles_required(Role.TRAINER)
@blp.arguments(AbsenceInSchema)
@blp.response(201, RecordsSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_present")
def record_absence(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """Record an absence with its reason and whether it is justified."""
    entries = register.record_absence(principal, session_id, data, utcnow())
    db.session.commit()
    return {"items": entries}


@blp.route("/sessions/<session_id>/corrections", methods=["POST"])
@roles_required(Role.TRAINER, Role.ORG_ADMIN)
@blp.arguments(CorrectionInSchema)
@blp.response(201, RecordsSchema)
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open")
def correct(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """A motivated correction: a new ledger entry with its author, never an edit."""
    entries = register.correct(principal, session_id, data, utcnow())
    db.session.commit()
    return {"items": entries}


@blp.route("/sessions/<session_id>/attendance", methods=["GET"])
@roles_required(Role.TRAINER, Role.ORG_ADMIN, Role.FINANCE, Role.REGION)
@blp.response(200, AttendanceSchema)
def attendance(session_id: str, principal: Principal) -> Any:
    """Who was present and for how long (realised minutes)."""
    return register.session_attendance(principal, session_id, utcnow())


@blp.route("/ledger/verify", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.REGION)
@blp.response(200, LedgerSchema)
def verify_ledger(principal: Principal) -> Any:
    """Recompute the signature ledger, check it against its seals, name the first bad entry."""
    return register.verify_ledger(principal)


@blp.route("/ledger/seals", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.REGION)
@blp.response(200, SealsSchema)
def list_seals(principal: Principal) -> Any:
    """The ledger's seals and the public key that checks them."""
    return register.list_seals(principal)
