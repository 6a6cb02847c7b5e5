"""Browser pages of sessions: the trainer's week, a session, planning forms, the trainee's week.

Times are typed and shown in Europe/Paris; the services store UTC and apply R6 and R10.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from attendance import services, substitutes
from attendance.models import KIND_LABELS, TrainingSession
from attendance.rules import PARIS, local_day
from attendance.schemas import PeriodSubstituteInSchema, SessionInSchema
from attendance.signals import session_sheet
from attendance.signin_pages import signing_window
from core.auth import Principal, roles_required
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from core.extensions import db
from core.forms import form_error, read_form
from core.models import Role, User
from core.templating import template_constants
from training import services as training
from training.models import Group
from training.signals import group_page, sections

bp = Blueprint("attendance_pages", __name__, template_folder="templates")


@group_page.connect
def group_sessions_section(group: Group, principal: Principal) -> Markup:
    """The sessions of a group, on training's group page, with the planning button."""
    admin = training.can_administer(principal, group.organisation_id)
    trainers = training.organisation_trainers(principal) if admin else []
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template(
            "_group_sessions.html",
            group=group,
            sessions=services.group_sessions(principal, group.id),
            can_plan=services.can_plan(principal, group),
            trainers=[(t.id, t.full_name) for t in trainers],
        )
    )


@bp.route("/groupes/<group_id>/remplacant", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def substitute_period(group_id: str, principal: Principal) -> Any:
    """The organisation names a substitute for the group's sessions over a period."""
    group = training.get_group(principal, group_id)
    try:
        data = read_form(PeriodSubstituteInSchema(), request.form)
        changed = substitutes.substitute_period(principal, group.id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(f"Remplacement refusé : {exc.message}", "error")
        return redirect(url_for("training_pages.group", group_id=group.id, _anchor="remplacement"))
    flash(f"Remplaçant nommé pour {len(changed)} séance(s).", "success")
    return redirect(url_for("training_pages.group", group_id=group.id, _anchor="seances"))


PLANNERS = (Role.ORG_ADMIN, Role.TRAINER)
SESSION_READERS = (Role.TRAINER, Role.SITE_STAFF, Role.ORG_ADMIN, Role.FINANCE, Role.REGION)
REASON_LABELS = {
    "accueil": "Journée d'accueil (premier jour du groupe)",
    "examen": "Examen ou évaluation réglementée",
    "autorise": "Autorisé par la Région pour ce jour",
}
STATUS_LABELS = {"planned": "Prévue", "open": "Ouverte", "closed": "Close"}
# The trainee reads plain words, not the programme's vocabulary.
TRAINEE_KIND_LABELS = {
    "tutorat": "Cours en direct avec votre formateur, à distance",
    "autoformation": "Travail seul sur ordinateur (présence obligatoire)",
    "regroupement": "Rencontre en salle avec le groupe",
}


template_constants(
    bp,
    kind_labels=KIND_LABELS,
    reason_labels=REASON_LABELS,
    status_labels=STATUS_LABELS,
    trainee_kind_labels=TRAINEE_KIND_LABELS,
)


def paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=PARIS)


def this_week(principal: Principal, weeks: int) -> dict[str, list[TrainingSession]]:
    """Today's sessions, the rest of this week's (to Sunday), and with weeks=2 next week's."""
    today = local_day(utcnow())
    midnight = paris_midnight(today)
    rest = 6 - today.weekday()
    next_monday = midnight + timedelta(days=rest + 1)
    return {
        "today": services.sessions_between(principal, midnight, 1),
        "later": services.sessions_between(principal, midnight + timedelta(days=1), rest),
        "next_week": services.sessions_between(principal, next_monday, 7) if weeks > 1 else [],
    }


@bp.route("/seances")
@roles_required(Role.TRAINER, Role.SITE_STAFF)
def trainer_sessions(principal: Principal) -> Any:
    groups = training.list_all_groups(principal) if principal.has_role(Role.TRAINER) else []
    return render_template("trainer_sessions.html", groups=groups, **this_week(principal, 1))


@bp.route("/seances/<session_id>")
@roles_required(*SESSION_READERS)
def session(session_id: str, principal: Principal) -> Any:
    return _session_page(principal, services.get_session(principal, session_id))


def _session_page(
    principal: Principal, record: TrainingSession, error: DomainError | None = None
) -> str:
    enrolments = training.list_enrolments(principal, record.group_id)
    if not record.whole_group:  # a sub-group or one trainee: only them
        enrolments = [e for e in enrolments if e.trainee_id in (record.participant_ids or [])]
    lead = next((t for t in record.group.trainers if t.id == record.lead_trainer_id), None)
    admin = training.can_administer(principal, record.organisation_id)
    trainers = training.organisation_trainers(principal) if admin else []
    return render_template(
        "session.html",
        session=record,
        lead_trainer=lead.full_name if lead else None,
        substitute=db.session.get(User, record.substitute_trainer_id)
        if record.substitute_trainer_id
        else None,
        enrolments=enrolments,
        can_plan=services.can_plan(principal, record.group),
        can_substitute=admin and record.status != "closed",
        trainers=[(t.id, t.full_name) for t in trainers],
        error=error,
        window=signing_window(record, utcnow()),
        sections=sections(session_sheet, record, now=utcnow(), principal=principal),
    )


@bp.route("/seances/<session_id>/remplacant", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def substitute(session_id: str, principal: Principal) -> Any:
    """The organisation names (or withdraws) the session's substitute trainer."""
    record = services.get_session(principal, session_id)
    data = {
        "trainer_id": request.form.get("trainer_id") or None,
        "reason": request.form.get("reason", ""),
    }
    try:
        substitutes.substitute_session(principal, record.id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _session_page(
            principal, services.get_session(principal, session_id), exc
        ), exc.status
    flash("Remplacement enregistré." if data["trainer_id"] else "Remplaçant retiré.", "success")
    return redirect(url_for(".session", session_id=record.id))


@bp.route("/groupes/<group_id>/seances/nouvelle", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def new_session(group_id: str, principal: Principal) -> Any:
    group = training.get_group(principal, group_id)
    context = {"group": group, "session": None, **_who_can_take_part(principal, group)}
    if request.method == "GET":
        return render_template("session_form.html", values={"who": "group"}, **context)
    try:
        record = services.plan_session(principal, group.id, session_form())
        db.session.commit()
    except DomainError as exc:
        return form_error("session_form.html", exc, **context)
    flash(f"Séance « {record.title} » planifiée.", "success")
    return redirect(url_for("training_pages.group", group_id=group.id, _anchor="seances"))


@bp.route("/seances/<session_id>/modifier", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def edit_session(session_id: str, principal: Principal) -> Any:
    record = services.get_session(principal, session_id)
    context = {
        "group": record.group,
        "session": record,
        **_who_can_take_part(principal, record.group),
    }
    if request.method == "GET":
        return render_template("session_form.html", values=session_values(record), **context)
    try:
        services.update_session(principal, record.id, session_form())
        db.session.commit()
    except DomainError as exc:
        return form_error("session_form.html", exc, **context)
    flash(f"Séance « {record.title} » modifiée.", "success")
    return redirect(url_for(".session", session_id=record.id))


@bp.route("/mes-seances")
@roles_required(Role.TRAINEE)
def my_sessions(principal: Principal) -> Any:
    return render_template("my_sessions.html", **this_week(principal, 2))


@bp.route("/mes-seances/<session_id>")
@roles_required(Role.TRAINEE)
def my_session(session_id: str, principal: Principal) -> Any:
    record = services.get_session(principal, session_id)
    extra = sections(session_sheet, record, now=utcnow(), principal=principal)
    return render_template("my_session.html", session=record, sections=extra)


def session_form() -> dict[str, Any]:
    """The session form: a Paris day and two Paris times become aware datetimes."""
    form: dict[str, Any] = request.form.to_dict()
    errors: dict[str, str] = {}
    day = parse_day(form.get("day", ""))
    if day is None:
        errors["day"] = "Indiquez la date de la séance (jj/mm/aaaa)."
    for name, target in (("start_time", "starts_at"), ("end_time", "ends_at")):
        moment = parse_time(form.get(name, ""))
        if moment is None:
            errors[name] = "Indiquez une heure au format hh:mm (heure de Paris)."
        elif day is not None:
            form[target] = datetime.combine(day, moment, tzinfo=PARIS).isoformat()
    lists: tuple[str, ...] = ()
    if form.pop("who", "group") == "some":  # a sub-group or one trainee: those ticked
        form["participant_ids"] = request.form.getlist("participant_ids")
        lists = ("participant_ids",)
        if not form["participant_ids"]:
            errors["participant_ids"] = "Cochez au moins un stagiaire."
    else:
        form.pop("participant_ids", None)
    if errors:
        raise InvalidInput("Vérifiez les champs signalés.", details=errors)
    return read_form(SessionInSchema(), form, lists=lists)


def _who_can_take_part(principal: Principal, group: Group) -> dict[str, Any]:
    """The group's trainees (to tick a sub-group) and trainers (to choose who leads)."""
    enrolments = training.list_enrolments(principal, group.id)
    return {
        "people": [(e.trainee.id, e.trainee.full_name) for e in enrolments],
        "trainers": [(t.id, t.full_name) for t in group.trainers],
    }


def parse_day(text: str) -> date | None:
    """A day typed as 2026-11-30 (date picker) or 30/11/2026 (by hand)."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_time(text: str) -> time | None:
    """A time of day typed as 09:00, 9:00 or 9h00."""
    try:
        return time.fromisoformat(text.strip().lower().replace("h", ":").zfill(5))
    except ValueError:
        return None


def session_values(record: TrainingSession) -> dict[str, Any]:
    """A session as the form shows it, in Paris time."""
    starts, ends = record.starts_at.astimezone(PARIS), record.ends_at.astimezone(PARIS)
    return {
        "kind": record.kind,
        "title": record.title,
        "day": starts.date().isoformat(),
        "start_time": starts.strftime("%H:%M"),
        "end_time": ends.strftime("%H:%M"),
        "regroupement_reason": record.regroupement_reason or "",
        "who": "group" if record.whole_group else "some",
        "participant_ids": record.participant_ids or [],
        "lead_trainer_id": record.lead_trainer_id or "",
    }
