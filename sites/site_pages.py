"""Browser pages of the access sites, continued: the site's printable day roster, its week
and its occupancy and no-show report; R15 software requests; the outbox; calendar links and
the iCalendar feeds. Same blueprint as sites/pages.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from core.extensions import db
from core.models import Role, User
from sites import feeds, reports, services, software
from sites.models import OutboxMail, Site
from sites.pages import MANAGERS, bp, day_arg
from training import access
from training.models import Group
from training.signals import group_page


def _roster_site(principal: Principal, site_id: str) -> Site:
    return services.managed_site(principal, site_id)


@bp.route("/sites/<site_id>/jour")
@roles_required(*MANAGERS)
def roster(site_id: str, principal: Principal) -> Any:
    record = _roster_site(principal, site_id)
    day = day_arg()
    availability = reports.availability([record], day, 1)[0][0]
    return render_template(
        "sites/roster.html",
        site=record,
        day=day,
        lines=reports.roster_signed(record, day, day),
        availability=availability,
        today=local_day(utcnow()),
    )


@bp.route("/sites/<site_id>/semaine")
@roles_required(*MANAGERS)
def week(site_id: str, principal: Principal) -> Any:
    record = _roster_site(principal, site_id)
    day = day_arg()
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
    last = day_arg("au", local_day(utcnow()))
    first = day_arg("du", last - timedelta(days=27))
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


@group_page.connect
def group_software_section(group: Group, principal: Principal) -> Markup | None:
    """R15 on training's group page: the group's software requests and their flags."""
    if not principal.has_role(Role.ORG_ADMIN, Role.FINANCE, Role.REGION):
        return None
    items = software.flagged(principal, utcnow(), group_id=group.id)
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template(
            "sites/_group_software.html", items=items, is_region=principal.has_role(Role.REGION)
        )
    )


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
