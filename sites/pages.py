"""Browser pages of the access sites, in French: the sites and their closures, the
organisation's availability search and bookings (with the waitlist and R14 repositionings),
the site's printable day roster and week, its occupancy and no-show report, R15 software
requests, the outbox, and calendar links. Each page calls the same use cases as the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from core.extensions import db
from core.forms import form_error, read_form
from core.models import Role, Trainee
from core.templating import template_constants
from sites import booking as seats
from sites import kiosk, reports, repositioning, rules, services, software
from sites.models import BOOKING_STATUS_LABELS, Booking, Site, SiteClosure
from sites.schemas import ClosureInSchema, RepositionInSchema, SiteInSchema
from sites.signals import SessionInfo, ask, organisation_sessions
from training import access

bp = Blueprint(
    "sites_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/sites/static",
)
STAFF = (Role.REGION, Role.ORG_ADMIN, Role.SITE_STAFF, Role.FINANCE, Role.TRAINER)
MANAGERS = (Role.REGION, Role.SITE_STAFF)
template_constants(
    bp,
    departments=rules.DEPARTMENTS,
    booking_labels=BOOKING_STATUS_LABELS,
    day_names=rules.DAY_NAMES,
    timedelta=timedelta,
)


def day_arg(name: str = "date", default: date | None = None) -> date:
    raw = request.args.get(name, "")
    if not raw:
        return default or local_day(utcnow())
    return rules.parse_day(raw)


# Sites


@bp.route("/sites")
@roles_required(*STAFF)
def sites(principal: Principal) -> Any:
    department = request.args.get("department") or None
    query = services.visible_sites().order_by(Site.department, Site.city, Site.name)
    if department in rules.DEPARTMENTS:
        query = query.where(Site.department == department)
    return render_template(
        "sites/sites.html",
        sites=db.session.scalars(query).all(),
        department=department,
        is_region=principal.has_role(Role.REGION),
    )


@bp.route("/sites/nouveau", methods=["GET", "POST"])
@roles_required(Role.REGION)
def new_site(principal: Principal) -> Any:
    if request.method == "GET":
        return render_template(
            "sites/site_form.html",
            site=None,
            values={"seats": "8", "hours": "lun-ven 08:30-12:30, 13:30-17:30"},
        )
    try:
        site = services.create_site(principal, _site_form())
        db.session.commit()
    except DomainError as exc:
        return form_error("sites/site_form.html", exc, site=None)
    flash(f"Le site « {site.name} » est enregistré.", "success")
    return redirect(url_for(".site", site_id=site.id))


@bp.route("/sites/<site_id>/modifier", methods=["GET", "POST"])
@roles_required(Role.REGION)
def edit_site(site_id: str, principal: Principal) -> Any:
    record = services.get_site(site_id)
    if request.method == "GET":
        return render_template("sites/site_form.html", site=record, values=_site_values(record))
    try:
        services.update_site(principal, record.id, _site_form())
        db.session.commit()
    except DomainError as exc:
        return form_error("sites/site_form.html", exc, site=record)
    flash(f"Le site « {record.name} » est modifié.", "success")
    return redirect(url_for(".site", site_id=record.id))


def _site_form() -> dict[str, Any]:
    form = request.form.to_dict()
    hours = form.pop("hours", "")
    try:
        form_hours = rules.parse_hours_cell(hours)
    except DomainError as exc:
        raise InvalidInput("Vérifiez les champs signalés.", details={"hours": exc.message}) from exc
    equipment = [line.strip() for line in form.pop("equipment", "").splitlines() if line.strip()]
    data = read_form(SiteInSchema(partial=("opening_hours",)), form)
    data["opening_hours"], data["equipment"] = (
        form_hours,
        equipment or list(rules.DEFAULT_EQUIPMENT),
    )
    return data


def _site_values(site: Site) -> dict[str, Any]:
    hours = " / ".join(
        f"{day} {', '.join(f'{a}-{b}' for a, b in ranges)}"
        for day, ranges in rules.normalize_hours(site.opening_hours).items()
    )
    return {
        "name": site.name,
        "address": site.address,
        "city": site.city,
        "department": site.department,
        "seats": str(site.seats),
        "hours": hours,
        "equipment": "\n".join(site.equipment or []),
    }


@bp.route("/sites/importer", methods=["GET", "POST"])
@roles_required(Role.REGION)
def import_sites(principal: Principal) -> Any:
    if request.method == "GET":
        return render_template("sites/site_import.html", error=None, rejected=[])
    upload = request.files.get("file")
    text = (
        upload.read().decode("utf-8-sig", errors="replace")
        if upload
        else request.form.get("csv", "")
    )
    try:
        created = services.import_sites(principal, text)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        rejected = (exc.details or {}).get("rejected", [])
        return render_template(
            "sites/site_import.html", error=exc.body()["error"], rejected=rejected
        ), exc.status
    flash(f"{len(created)} site(s) importé(s).", "success")
    return redirect(url_for(".sites"))


@bp.route("/sites/<site_id>")
@roles_required(*STAFF)
def site(site_id: str, principal: Principal) -> Any:
    record = services.get_site(site_id)
    today = local_day(utcnow())
    closures = db.session.scalars(
        select(SiteClosure)
        .where(SiteClosure.site_id == record.id, SiteClosure.day >= today)
        .order_by(SiteClosure.day)
    ).all()
    manages = services.can_manage(principal, record)
    return render_template(
        "sites/site.html",
        site=record,
        hours=rules.hours_text(record.opening_hours),
        closures=closures,
        staff=services.site_staff(record.id) if manages else [],
        manages=manages,
        requests=software.flagged(principal, utcnow(), site_id=record.id) if manages else [],
        values={},
        error=None,
        today=today,
    )


@bp.route("/sites/<site_id>/fermetures", methods=["POST"])
@roles_required(*MANAGERS)
def close_day(site_id: str, principal: Principal) -> Any:
    record = services.managed_site(principal, site_id)

    def announce() -> str:
        data = read_form(ClosureInSchema(), request.form)
        hit = seats.close_day(principal, record.id, data["day"], data["reason"], utcnow())
        return (
            f"Fermeture enregistrée ; {len(hit)} réservation(s) annulée(s), "
            "les organismes sont prévenus."
        )

    return _back_to_site(record, announce)


@bp.route("/sites/<site_id>/fermetures/<day>/retirer", methods=["POST"])
@roles_required(Role.REGION)
def withdraw_closure(site_id: str, day: str, principal: Principal) -> Any:
    record = services.get_site(site_id)

    def withdraw() -> str:
        seats.withdraw_closure(principal, record.id, rules.parse_day(day), utcnow())
        return (
            "Fermeture retirée : le jour est de nouveau réservable. Les réservations annulées "
            "le restent."
        )

    return _back_to_site(record, withdraw)


def _back_to_site(record: Site, change: Callable[[], str]) -> Any:
    """Run a change of the site's closures, commit it and say what it did (or why not) on the
    site's page."""
    try:
        done = change()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for(".site", site_id=record.id))


# The organisation: availability search, bookings, repositioning


@bp.route("/sites/disponibilites")
@roles_required(Role.ORG_ADMIN)
def search(principal: Principal) -> Any:
    department = request.args.get("department") or ""
    day = day_arg()
    sessions: list[SessionInfo] = ask(organisation_sessions, principal=principal, day=day)
    # A day changed since the last search keeps no session of the other day: its first one.
    chosen = next((s for s in sessions if s.id == request.args.get("session_id")), None)
    if chosen is None and department and sessions:
        chosen = sessions[0]
    candidates = []
    if department in rules.DEPARTMENTS and chosen is not None:
        candidates = reports.sites_for_span(
            department, rules.Span(chosen.starts_at, chosen.ends_at)
        )
    trainees = db.session.scalars(
        access.visible_trainees(principal).order_by(Trainee.last_name, Trainee.first_name)
    ).all()
    return render_template(
        "sites/search.html",
        department=department,
        day=day,
        sessions=sessions,
        chosen=chosen,
        candidates=candidates,
        trainees=trainees,
        searched=bool(department and chosen),
    )


@bp.route("/sites/<site_id>/reserver", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def book(site_id: str, principal: Principal) -> Any:
    data = {
        "trainee_id": request.form.get("trainee_id", ""),
        "session_id": request.form.get("session_id") or None,
        "waitlist": request.form.get("waitlist") == "on",
    }
    try:
        booking = seats.book_seat(principal, site_id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(request.form.get("back") or url_for(".search"))
    if booking.status == "confirmed":
        flash(f"Poste réservé au site {booking.site.name} ({booking.title}).", "success")
    else:
        flash(
            f"Site complet : réservation inscrite en liste d'attente au site {booking.site.name}.",
            "warning",
        )
    return redirect(url_for(".bookings"))


@bp.route("/reservations")
@roles_required(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION, Role.FINANCE)
def bookings(principal: Principal) -> Any:
    status = request.args.get("status") or "confirmed"
    if status not in BOOKING_STATUS_LABELS:
        status = "confirmed"
    query = seats.visible_bookings(principal).where(Booking.status == status)
    if status != "cancelled":
        query = query.where(Booking.ends_at > utcnow() - timedelta(days=1))
    order = Booking.cancelled_at.desc() if status == "cancelled" else Booking.starts_at
    items = db.session.scalars(query.order_by(order, Booking.id).limit(200)).all()
    names = _names({b.trainee_id for b in items})
    unbooked = kiosk.unbooked_sign_ins(principal)
    site_names = dict(db.session.execute(select(Site.id, Site.name)).all()) if unbooked else {}
    return render_template(
        "sites/bookings.html",
        items=items,
        names=names,
        status=status,
        unbooked=unbooked,
        unbooked_names=_names({u.trainee_id for u in unbooked}),
        site_names=site_names,
        can_cancel=principal.has_role(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION),
    )


def _names(ids: set[str]) -> dict[str, str]:
    rows = db.session.execute(
        select(Trainee.id, Trainee.first_name, Trainee.last_name).where(Trainee.id.in_(ids))
    )
    return {i: f"{f} {n}" for i, f, n in rows}


@bp.route("/reservations/<booking_id>/annuler", methods=["POST"])
@roles_required(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION)
def cancel(booking_id: str, principal: Principal) -> Any:
    try:
        seats.cancel_booking(principal, booking_id, utcnow(), request.form.get("reason", "")[:300])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(request.form.get("back") or url_for(".bookings"))
    flash(
        "Réservation annulée ; la première personne en liste d'attente qui tient sur ce "
        "créneau est confirmée et prévenue.",
        "success",
    )
    return redirect(request.form.get("back") or url_for(".bookings"))


@bp.route("/reservations/<booking_id>/arrivee", methods=["POST"])
@roles_required(*MANAGERS)
def check_in(booking_id: str, principal: Principal) -> Any:
    try:
        booking = kiosk.check_in(principal, booking_id, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".bookings"))
    flash("Arrivée notée.", "success")
    return redirect(
        url_for(".roster", site_id=booking.site_id, date=local_day(booking.starts_at).isoformat())
    )


@bp.route("/stagiaires/<trainee_id>/repositionner", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def reposition(trainee_id: str, principal: Principal) -> Any:
    trainee = seats.own_trainee(principal, trainee_id)
    context = {
        "trainee": trainee,
        "sites": db.session.scalars(select(Site).order_by(Site.department, Site.name)).all(),
        "history": repositioning.repositionings(principal, trainee.id),
    }
    if request.method == "GET":
        return render_template(
            "sites/reposition.html",
            values={"from_date": local_day(utcnow()).isoformat()},
            error=None,
            **context,
        )
    try:
        data = read_form(RepositionInSchema(), request.form)
        record = repositioning.reposition(principal, trainee.id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        return form_error("sites/reposition.html", exc, **context)
    flash(
        f"Repositionnement enregistré (R14) : {record.cancelled} réservation(s) annulée(s), "
        f"{record.booked} réservée(s), {record.waitlisted} en liste d'attente, "
        f"{record.refused} impossible(s).",
        "success",
    )
    return redirect(url_for(".reposition", trainee_id=trainee.id))


# The site's own pages (roster, week, report), R15 requests, the outbox and calendars live in
# sites/site_pages.py, on the same blueprint.
from sites import site_pages  # noqa: E402, F401
