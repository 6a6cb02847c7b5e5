"""Browser pages of the access sites, in French: the sites and their closures, the
organisation's availability search and bookings (with the waitlist and R14 repositionings),
the site's printable day roster and week, its occupancy and no-show report, R15 software
requests, the outbox, and calendar links. Each page calls the same use cases as the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
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
from sites import feeds, reports, rules, services, software
from sites.models import BOOKING_STATUS_LABELS, Booking, OutboxMail, Site, SiteClosure
from sites.schemas import ClosureInSchema, RepositionInSchema, SiteInSchema
from sites.signals import SessionInfo, ask, organisation_sessions
from training import access
from training.models import Group

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


def _day_arg(name: str = "date", default: date | None = None) -> date:
    raw = request.args.get(name, "")
    if not raw:
        return default or local_day(utcnow())
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("Indiquez une date valide (aaaa-mm-jj).", code="invalid_date") from None


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
    try:
        data = read_form(ClosureInSchema(), request.form)
        hit = seats.close_day(principal, record.id, data["day"], data["reason"], utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".site", site_id=record.id))
    flash(
        f"Fermeture enregistrée ; {len(hit)} réservation(s) annulée(s), "
        "les organismes sont prévenus.",
        "success",
    )
    return redirect(url_for(".site", site_id=record.id))


# The organisation: availability search, bookings, repositioning


@bp.route("/sites/disponibilites")
@roles_required(Role.ORG_ADMIN)
def search(principal: Principal) -> Any:
    department = request.args.get("department") or ""
    day = _day_arg()
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
    unbooked = seats.unbooked_sign_ins(principal)
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
        booking = seats.check_in(principal, booking_id, utcnow())
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
        "history": seats.repositionings(principal, trainee.id),
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
        record = seats.reposition(principal, trainee.id, data, utcnow())
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


# The site: day roster, week, report


def _roster_site(principal: Principal, site_id: str) -> Site:
    return services.managed_site(principal, site_id)


@bp.route("/sites/<site_id>/jour")
@roles_required(*MANAGERS)
def roster(site_id: str, principal: Principal) -> Any:
    record = _roster_site(principal, site_id)
    day = _day_arg()
    availability = reports.availability([record], day, 1)[0][0]
    return render_template(
        "sites/roster.html",
        site=record,
        day=day,
        lines=reports.roster(record, day, day),
        availability=availability,
        today=local_day(utcnow()),
    )


@bp.route("/sites/<site_id>/semaine")
@roles_required(*MANAGERS)
def week(site_id: str, principal: Principal) -> Any:
    record = _roster_site(principal, site_id)
    day = _day_arg()
    monday = day - timedelta(days=day.weekday())
    lines = reports.roster(record, monday, monday + timedelta(days=6))
    by_day: dict[date, list[reports.RosterLine]] = {
        monday + timedelta(days=i): [] for i in range(7)
    }
    for line in lines:
        by_day[local_day(line.booking.starts_at)].append(line)
    grid = reports.availability([record], monday, 7)[0]
    return render_template("sites/week.html", site=record, monday=monday, by_day=by_day, grid=grid)


@bp.route("/sites/<site_id>/rapport")
@roles_required(*MANAGERS)
def report(site_id: str, principal: Principal) -> Any:
    record = _roster_site(principal, site_id)
    last = _day_arg("au", local_day(utcnow()))
    first = _day_arg("du", last - timedelta(days=27))
    if first > last or (last - first).days > 366:
        raise InvalidInput(
            "Choisissez une période d'au plus un an, le début avant la fin.", code="invalid_period"
        )
    days, no_shows = reports.occupancy(record, first, last, utcnow())
    totals = {
        "bookings": sum(d.bookings for d in days),
        "no_shows": sum(d.no_shows for d in days),
        "seat_hours": sum(d.seat_hours for d in days),
        "booked_hours": sum(d.booked_hours for d in days),
    }
    return render_template(
        "sites/report.html",
        site=record,
        first=first,
        last=last,
        days=days,
        no_shows=no_shows,
        totals=totals,
        chart=reports.occupancy_chart(days),
    )


# R15: software requests


@bp.route("/logiciels", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION)
def software_requests(principal: Principal) -> Any:
    error = None
    if request.method == "POST" and principal.has_role(Role.ORG_ADMIN):
        items = [
            line.strip() for line in request.form.get("software", "").splitlines() if line.strip()
        ]
        try:
            software.request_software(
                principal,
                request.form.get("group_id", ""),
                {"site_id": request.form.get("site_id", ""), "software": items},
            )
            db.session.commit()
            flash("Demande de logiciels envoyée à la Région (R15).", "success")
            return redirect(url_for(".software_requests"))
        except DomainError as exc:
            db.session.rollback()
            error = exc.body()["error"]
    groups = (
        db.session.scalars(access.visible_groups(principal).order_by(Group.name)).all()
        if principal.has_role(Role.ORG_ADMIN)
        else []
    )
    return render_template(
        "sites/software.html",
        items=software.flagged(principal, utcnow()),
        groups=groups,
        sites=db.session.scalars(select(Site).order_by(Site.name)).all(),
        error=error,
        values=request.form,
        is_region=principal.has_role(Role.REGION),
    ), (error and 400) or 200


@bp.route("/logiciels/<request_id>/decision", methods=["POST"])
@roles_required(Role.REGION)
def decide(request_id: str, principal: Principal) -> Any:
    data = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", "")}
    try:
        software.decide(principal, request_id, data, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".software_requests"))
    flash("Décision enregistrée (R15).", "success")
    return redirect(url_for(".software_requests"))


# Outbox and calendars


@bp.route("/sites/boite-d-envoi")
@roles_required(Role.REGION, Role.ORG_ADMIN, Role.SITE_STAFF)
def outbox(principal: Principal) -> Any:
    """What was (or would be, without SMTP_URL) sent: the Région sees all; in development,
    any staff sees the mails to their own address."""
    query = select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(100)
    if not principal.has_role(Role.REGION):
        from core.models import User

        email = db.session.scalar(select(User.email).where(User.id == principal.id))
        query = query.where(OutboxMail.recipient == email)
    return render_template(
        "sites/outbox.html",
        mails=db.session.scalars(query).all(),
        smtp=bool(current_app.config.get("SMTP_URL")),
    )


@bp.route("/agenda", methods=["GET", "POST"])
@roles_required()
def calendar(principal: Principal) -> Any:
    url = None
    if request.method == "POST":
        token = feeds.new_token(principal)
        db.session.commit()
        url = url_for(".feed", token=token, _external=True)
    return render_template("sites/calendar.html", url=url, has_feed=feeds.has_token(principal))


@bp.route("/agenda/<token>.ics")
def feed(token: str) -> Any:
    """The calendar of the token's owner (no login: the token is the secret)."""
    body = feeds.calendar_for(token, utcnow())
    return current_app.response_class(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="agenda.ics"',
            "Cache-Control": "private, max-age=300",
        },
    )
