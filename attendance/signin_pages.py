"""Browser pages of the émargement: the page a QR opens, code entry at a site PC, the trainer's
live session screen with the rotating QR, and the trainee's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from attendance import qr as qr_images
from attendance import register, rules, sealing, services, signing
from attendance.credentials import Credential
from attendance.models import Signature, TrainingSession
from attendance.presence import TraineePresence
from attendance.schemas import AbsenceInSchema, CorrectionInSchema
from attendance.signals import session_sheet
from attendance.web import announce, announce_closed, device, failed_attempts, once, settings
from core.auth import Principal, current_principal, roles_required
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from core.extensions import db
from core.forms import read_form
from core.models import Role, Trainee
from training.signals import sections

bp = Blueprint("signin_pages", __name__, template_folder="templates")
RUNNERS = (Role.TRAINER, Role.SITE_STAFF)


@bp.route("/emarger", methods=["GET"])
def scan() -> Any:
    """The page a QR code opens: the secret stays in the address after '#'."""
    principal = current_principal()
    bound = principal is not None and principal.is_trainee
    return render_template("signin/scan.html", bound=bound)


@bp.route("/emarger", methods=["POST"])
@failed_attempts
@roles_required(Role.TRAINEE)
def scan_confirm(principal: Principal) -> Any:
    """One tap confirms presence (or departure) with the scanned QR token."""
    cred = Credential(qr=request.form.get("qr", "").strip() or None)
    return _sign(principal, cred, "signin/scan.html", bound=True)


@bp.route("/code", methods=["GET"])
def code() -> Any:
    """Code entry on a site PC; signed in as site staff, the PC is a kiosk."""
    return render_template("signin/code.html", kiosk=_kiosk(current_principal()))


@bp.route("/code", methods=["POST"])
@failed_attempts
def code_submit() -> Any:
    """A typed personal code signs the trainee in or out."""
    principal = current_principal()
    cred = Credential(code=request.form.get("code", "").strip() or None)
    return _sign(principal, cred, "signin/code.html", kiosk=_kiosk(principal))


def _kiosk(principal: Principal | None) -> bool:
    return principal is not None and principal.has_role(Role.SITE_STAFF)


class EarlyDeparture(Exception):  # noqa: N818 - a question to the trainee, not an error
    """A departure before the session's end, not confirmed yet: nothing is recorded, the page
    shows what it would count and asks."""

    def __init__(self, early: dict[str, Any]) -> None:
        super().__init__("early departure")
        self.early = early


def _sign(principal: Principal | None, cred: Credential, template: str, **context: Any) -> Any:
    """Sign in or out from a page (form fields `action`, and `confirm` for an early departure)."""
    actor = principal if principal and not _is_other_staff(principal) else None
    form = request.form
    try:
        if not (cred.qr or cred.code):
            raise InvalidInput("Saisissez votre code.", code="missing_code")
        if form.get("action") == "sign_out":
            result = _sign_out(actor, cred, utcnow(), confirmed=form.get("confirm") == "1")
        else:
            result = _sign_in(actor, cred, utcnow())
    except DomainError as error:
        db.session.rollback()
        return render_template(template, error=error, **context), error.status
    except EarlyDeparture as question:
        db.session.rollback()
        page = render_template(template, early=question.early, cred=cred, **context)
        return page, 200, {"Cache-Control": "no-store"}  # the form holds the code or QR token
    session = db.session.get(TrainingSession, result["signature"].session_id)
    return render_template(template, result=result, session=session, cred=cred, **context)


def _sign_in(actor: Principal | None, cred: Credential, now: datetime) -> dict[str, Any]:
    outcome = once(
        lambda retry: signing.sign_in(actor, cred, now, device(), settings(), look_first=retry)
    )
    if outcome.created:
        announce(outcome.signature, "sign_in", actor)
    return {"signature": outcome.signature, "already": not outcome.created}


def _sign_out(
    actor: Principal | None, cred: Credential, now: datetime, confirmed: bool
) -> dict[str, Any]:
    """Record a departure; an early one (before the session's end) only once confirmed: the
    use case runs, then EarlyDeparture rolls it back before the commit, so every refusal
    (unknown code, no arrival, session over) is answered at the first step."""

    def attempt(retry: bool) -> tuple[Signature, Signature]:
        signed, out = signing.sign_out(actor, cred, now, device(), settings(), look_first=retry)
        early = None if confirmed or out.at != now else early_departure(signed, now)
        if early:  # out.at != now: a departure recorded earlier, answered as it is
            raise EarlyDeparture(early)
        return signed, out

    signed, out = once(attempt)
    announce(out, "sign_out", actor)
    return {"signature": signed, "out": out, "departure": True}


def early_departure(signed: Signature, now: datetime) -> dict[str, Any] | None:
    """What a departure now would count, when it comes before the end of the session (and of
    its close): from the arrival (`signed`) to now, in this half-day (R7: the time after a
    departure is not counted). None when the session is over."""
    session = db.session.get(TrainingSession, signed.session_id)
    assert session is not None  # noqa: S101 - a signature's session exists (foreign key)
    if now >= session.ends_at or (session.closed_at and now >= session.closed_at):
        return None
    halves = rules.half_days(session.starts_at, session.ends_at)
    half = rules.half_day_for(halves, now)
    counted = rules.half_minutes(
        half,
        signed_in_at=signed.at,
        signed_out_at=now,
        closed_at=session.closed_at,
        needs_sign_out=False,
    )
    planned = int((half.end - half.start).total_seconds() // 60)
    return {
        "session": session,
        "arrived_at": signed.at,
        "at": now,
        "minutes": counted,
        "planned_minutes": planned,
        "half": half.name if len(halves) > 1 else None,  # each half-day is signed on its own
    }


def _is_other_staff(principal: Principal) -> bool:
    """Staff other than site animators do not sign for trainees from a browser."""
    return not principal.is_trainee and not principal.has_role(Role.SITE_STAFF)


@bp.route("/seances/<session_id>/emargement")
@roles_required(*RUNNERS)
def live(session_id: str, principal: Principal) -> Any:
    """The trainer's screen: rotating QR, live list of signatures, session actions."""
    session = services.get_session(principal, session_id)
    now = utcnow()
    people = register.roster(session, now)
    trainees = {
        t.id: t
        for t in db.session.scalars(
            db.select(Trainee).where(Trainee.id.in_([p.trainee_id for p in people]))
        )
    }
    people.sort(key=lambda p: (trainees[p.trainee_id].last_name, trainees[p.trainee_id].first_name))
    return render_template(
        "signin/live.html",
        session=session,
        people=people,
        trainees=trainees,
        is_trainer=session.is_run_by(principal.id),
        latest=latest_arrivals(people),
        window=signing_window(session, now),
        trainer_signed=_half_now(session) in register.trainer_signed_halves(session.id),
        rotate_s=settings().rotate_s,
        sections=sections(session_sheet, session, now=now, principal=principal),
    )


def latest_arrivals(people: list[TraineePresence], count: int = 5) -> list[tuple[datetime, str]]:
    """(time, trainee id) of the latest arrivals, newest first, for the live screen."""
    arrivals = {
        (half.signed_at, person.trainee_id)
        for person in people
        for half in person.halves
        if half.status == "present" and half.signed_at and half.method != "correction"
    }
    return sorted(arrivals, reverse=True)[:count]


def signing_window(session: TrainingSession, now: datetime) -> dict[str, Any]:
    """When a planned session's émargement can be opened: from SIGN_IN_MARGIN_MIN minutes
    before its start (attendance.rules.signing_opens_at) until its end."""
    margin = settings().margin_min
    opens_at = rules.signing_opens_at(session.starts_at, margin)
    return {
        "opens_at": opens_at,
        "margin_min": margin,
        "can_open": opens_at <= now < session.ends_at,
        "too_late": now >= session.ends_at,
    }


def _half_now(session: TrainingSession) -> str:
    """The half-day the trainer would co-sign now (each half takes its own signature)."""
    return rules.half_day_for(rules.half_days(session.starts_at, session.ends_at), utcnow()).name


@bp.route("/seances/<session_id>/qr.json")
@roles_required(*RUNNERS)
def qr_json(session_id: str, principal: Principal) -> Any:
    """The current QR code (inline SVG) and how long until it rotates, for the live page."""
    now = utcnow()
    current = signing.qr_payload(principal, session_id, now, settings())
    response = {
        "svg": qr_images.svg(current["payload"]).decode(),
        "expires_in_ms": int((current["expires_at"] - now).total_seconds() * 1000),
    }
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/seances/<session_id>/action", methods=["POST"])
@roles_required(Role.TRAINER)
def act(session_id: str, principal: Principal) -> Any:
    """Open, co-sign or close the session from the live page."""
    services.get_session(principal, session_id)  # not visible: 404, before any action
    action, now = request.form.get("action"), utcnow()
    messages = {
        "open": "La séance est ouverte : les stagiaires peuvent émarger.",
        "sign": "Votre signature de formateur est enregistrée.",
        "close": "La séance est close. Les stagiaires sans émargement sont absents.",
    }
    try:
        if action == "open":
            signing.open_session(principal, session_id, now, settings())
            db.session.commit()
        elif action == "sign":
            outcome = once(
                lambda retry: signing.sign_trainer(
                    principal, session_id, now, device(), settings(), look_first=retry
                )
            )
            announce(outcome.signature, "trainer_signature", principal)
        elif action == "close":
            register.close_session(principal, session_id, now)
            db.session.commit()
            # As after the API's close: the other screens stop showing the QR, a seal follows.
            announce_closed(session_id)
            sealing.seal_soon(current_app._get_current_object())  # type: ignore[attr-defined]
        else:
            raise InvalidInput("Action inconnue.")
        flash(messages[action], "success")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("signin_pages.live", session_id=session_id))


@bp.route("/seances/<session_id>/codes", methods=["POST"])
@roles_required(Role.TRAINER, Role.ORG_ADMIN)
def codes(session_id: str, principal: Principal) -> Any:
    """Personal codes for the trainees ticked (no phone): shown once, to hand out."""
    services.get_session(principal, session_id)  # not visible: 404, before any action
    trainee_ids = request.form.getlist("trainee_ids")
    try:
        if not trainee_ids:
            raise InvalidInput("Cochez au moins un stagiaire.")
        issued = signing.issue_codes(principal, session_id, trainee_ids, utcnow(), settings())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("signin_pages.live", session_id=session_id))
    session = services.get_session(principal, session_id)
    names = {
        t.id: t.full_name
        for t in db.session.scalars(db.select(Trainee).where(Trainee.id.in_(trainee_ids)))
    }
    page = render_template("signin/codes.html", session=session, issued=issued, names=names)
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("/seances/<session_id>/absence", methods=["POST"])
@roles_required(Role.TRAINER)
def absence(session_id: str, principal: Principal) -> Any:
    """Record an absence with its reason, or a motivated correction (the API's schemas)."""
    services.get_session(principal, session_id)  # not visible: 404, before any action
    form = request.form
    corrects = form.get("action") in ("mark_present", "mark_absent")
    raw = {**form.to_dict(), "justified": "true" if form.get("justified") == "on" else "false"}
    try:
        data = read_form(CorrectionInSchema() if corrects else AbsenceInSchema(), raw)
        if corrects:
            register.correct(principal, session_id, data, utcnow())
        else:
            register.record_absence(principal, session_id, data, utcnow())
        db.session.commit()
        flash("C'est enregistré.", "success")
    except DomainError as error:
        db.session.rollback()
        flash(" ".join([error.message, *(error.details or {}).values()]), "error")
    return redirect(url_for("signin_pages.live", session_id=session_id))


@bp.route("/mes-emargements")
@roles_required(Role.TRAINEE)
def history(principal: Principal) -> Any:
    """The trainee's own signatures, absences and corrections, newest first."""
    rows = register.trainee_history(principal)
    return render_template("signin/history.html", rows=rows)
