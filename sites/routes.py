"""Access-site endpoints: sites, availability, bookings and the waitlist, closures, R14
repositionings, R15 software requests (API.md, "Access sites")."""

from __future__ import annotations

from typing import Any

from flask import Response

from core.api import Blueprint, ErrorSchema, page_schema
from core.auth import ANY_ROLE, Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Role
from core.pagination import paginate
from sites import availability as department
from sites import booking as seats
from sites import kiosk, reports, repositioning, rules, services, software
from sites.models import Booking, Site
from sites.schemas import (
    AvailabilitySchema,
    BookingInSchema,
    BookingListArgs,
    BookingSchema,
    CancelArgs,
    ClosureInSchema,
    ClosureSchema,
    DayArgs,
    DecisionInSchema,
    DepartmentAvailabilitySchema,
    FlaggedSoftwareListSchema,
    ImportReportSchema,
    RepositionInSchema,
    RepositionSchema,
    SiteImportInSchema,
    SiteInSchema,
    SiteListArgs,
    SitePatchSchema,
    SiteSchema,
    SoftwareInSchema,
    SoftwareSchema,
    WeekArgs,
)

blp = Blueprint(
    "sites", __name__, url_prefix="/api/v1", description="Sites d'accès Occitanie e-formation"
)
BOOKING_VIEWERS = (Role.ORG_ADMIN, Role.FINANCE, Role.SITE_STAFF, Role.REGION)


def committed(value: Any) -> Any:
    """Commit the request's one transaction (the mails it queued leave after: sites.mail)."""
    db.session.commit()
    return value


@blp.route("/sites", methods=["POST"])
@roles_required(Role.REGION)
@blp.arguments(SiteInSchema)
@blp.response(201, SiteSchema)
def create_site(data: dict[str, Any], principal: Principal) -> Any:
    """Register an access site (the Région)."""
    return committed(services.create_site(principal, data))


@blp.route("/sites", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(SiteListArgs, location="query")
@blp.response(200, page_schema(SiteSchema, "SitePage"))
def list_sites(args: dict[str, Any], principal: Principal) -> Any:
    """Access sites, by name; `?department=31` keeps one department."""
    query = services.visible_sites()
    if args["department"]:
        query = query.where(Site.department == args["department"])
    items, cursor = paginate(query, Site.name, Site.id, args["limit"], args["cursor"])
    return {"items": items, "next_cursor": cursor}


@blp.route("/sites/import", methods=["POST"])
@roles_required(Role.REGION)
@blp.arguments(SiteImportInSchema)
@blp.response(201, ImportReportSchema)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="csv_rejected: nothing imported, each refused line in details",
)
def import_sites(data: dict[str, Any], principal: Principal) -> Any:
    """Import sites from CSV (columns nom, adresse, ville, departement, postes, horaires,
    equipement): all or nothing."""
    created = services.import_sites(principal, data["csv"])
    return committed({"imported": len(created), "items": created})


@blp.route("/sites/availability", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION)
@blp.arguments(WeekArgs, location="query")
@blp.response(200, DepartmentAvailabilitySchema)
def department_availability(args: dict[str, Any], principal: Principal) -> Any:
    """Free seats per slot of every site of a department, day by day (a week by default),
    times in Paris wall-clock (HH:MM) on each day: a compact answer, built without a
    serialisation pass and cached per version of the department's sites (the organisations'
    search reads it often; sites.availability)."""
    body = department.department_days(args["department"], args["date"], args["days"])
    return Response(body, mimetype="application/json")


@blp.route("/sites/<site_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, SiteSchema)
def get_site(site_id: str, principal: Principal) -> Any:
    """One access site."""
    return services.get_site(site_id)


@blp.route("/sites/<site_id>", methods=["PATCH"])
@roles_required(Role.REGION)
@blp.arguments(SitePatchSchema)
@blp.response(200, SiteSchema)
def update_site(data: dict[str, Any], site_id: str, principal: Principal) -> Any:
    """Edit an access site (the Région)."""
    return committed(services.update_site(principal, site_id, data))


@blp.route("/sites/<site_id>/availability", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION)
@blp.arguments(DayArgs, location="query")
@blp.response(200, AvailabilitySchema)
def availability(args: dict[str, Any], site_id: str, principal: Principal) -> Any:
    """Free seats per slot (opening span) of a site on a day; closed days say why."""
    site = services.get_site(site_id)
    if principal.has_role(Role.SITE_STAFF):
        site = services.managed_site(principal, site_id)
    return reports.availability([site], args["date"], 1)[0][0]


@blp.route("/sites/<site_id>/bookings", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(BookingInSchema)
@blp.response(201, BookingSchema)
@blp.alt_response(
    202, schema=BookingSchema, description="Full: waitlisted (asked with waitlist: true)"
)
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="site_full, site_closed, trainee_overlap, booking_in_past, not_bookable",
)
def book(data: dict[str, Any], site_id: str, principal: Principal) -> Any:
    """Book a seat for a trainee for a session or a free slot (R14)."""
    booking = seats.book_seat(principal, site_id, data, utcnow())
    committed(booking)
    return booking, 201 if booking.status == "confirmed" else 202


@blp.route("/bookings", methods=["GET"])
@roles_required(*BOOKING_VIEWERS)
@blp.arguments(BookingListArgs, location="query")
@blp.response(200, page_schema(BookingSchema, "BookingPage"))
def list_bookings(args: dict[str, Any], principal: Principal) -> Any:
    """Bookings the caller may see, by start."""
    query = seats.visible_bookings(principal)
    if args["status"]:
        query = query.where(Booking.status == args["status"])
    if args["site_id"]:
        query = query.where(Booking.site_id == args["site_id"])
    items, cursor = paginate(query, Booking.starts_at, Booking.id, args["limit"], args["cursor"])
    return {"items": items, "next_cursor": cursor}


@blp.route("/bookings/<booking_id>", methods=["GET"])
@roles_required(*BOOKING_VIEWERS)
@blp.response(200, BookingSchema)
def get_booking(booking_id: str, principal: Principal) -> Any:
    """One booking the caller may see."""
    return seats.get_booking(principal, booking_id)


@blp.route("/bookings/<booking_id>", methods=["DELETE"])
@roles_required(Role.ORG_ADMIN, Role.SITE_STAFF, Role.REGION)
@blp.arguments(CancelArgs, location="query")
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description="already_cancelled")
def cancel_booking(args: dict[str, Any], booking_id: str, principal: Principal) -> Any:
    """Cancel a booking; the first waitlisted booking the seat fits is promoted and told."""
    seats.cancel_booking(principal, booking_id, utcnow(), args["reason"])
    committed(None)
    return None


@blp.route("/bookings/<booking_id>/check-in", methods=["POST"])
@roles_required(Role.SITE_STAFF, Role.REGION)
@blp.response(200, BookingSchema)
@blp.alt_response(409, schema=ErrorSchema, description="not_confirmed, not_today")
def check_in(booking_id: str, principal: Principal) -> Any:
    """The site notes the trainee's arrival (free slots have no session to sign)."""
    return committed(kiosk.check_in(principal, booking_id, utcnow()))


@blp.route("/sites/<site_id>/closures", methods=["POST"])
@roles_required(Role.SITE_STAFF, Role.REGION)
@blp.arguments(ClosureInSchema)
@blp.response(201, ClosureSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_closed")
def close_day(data: dict[str, Any], site_id: str, principal: Principal) -> Any:
    """Announce a closure day: the bookings it hits are cancelled, their organisations told."""
    hit = seats.close_day(principal, site_id, data["day"], data["reason"], utcnow())
    return committed({**data, "cancelled_booking_ids": [b.id for b in hit]})


@blp.route("/sites/<site_id>/closures/<day>", methods=["DELETE"])
@roles_required(Role.REGION)
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="site_not_found, closure_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="closure_in_past")
def withdraw_closure(site_id: str, day: str, principal: Principal) -> Any:
    """The Région withdraws a closure announced by mistake (`day`: YYYY-MM-DD): the day is
    bookable again; the bookings it cancelled stay cancelled."""
    seats.withdraw_closure(principal, site_id, rules.parse_day(day), utcnow())
    return committed(None)


@blp.route("/trainees/<trainee_id>/repositionings", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(RepositionInSchema)
@blp.response(201, RepositionSchema)
@blp.alt_response(422, schema=ErrorSchema, description="R14: reposition_in_past")
def reposition(data: dict[str, Any], trainee_id: str, principal: Principal) -> Any:
    """R14: move a trainee home or to a site from a day on; future bookings follow."""
    return committed(repositioning.reposition(principal, trainee_id, data, utcnow()))


@blp.route("/trainees/<trainee_id>/repositionings", methods=["GET"])
@roles_required(Role.ORG_ADMIN)
@blp.response(200, RepositionSchema(many=True))
def list_repositionings(trainee_id: str, principal: Principal) -> Any:
    """A trainee's repositionings (R14), newest first, with author, time and reason."""
    return repositioning.repositionings(principal, trainee_id)


@blp.route("/groups/<group_id>/software-requests", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(SoftwareInSchema)
@blp.response(201, SoftwareSchema)
def request_software(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """R15: the software a group needs on a site's PCs."""
    return committed(software.request_software(principal, group_id, data))


@blp.route("/software-requests", methods=["GET"])
@roles_required(Role.ORG_ADMIN, Role.FINANCE, Role.SITE_STAFF, Role.REGION)
@blp.response(200, FlaggedSoftwareListSchema)
def list_software(principal: Principal) -> Any:
    """Software requests with R15's flags (late request, overdue or missing validation)."""
    return {"items": [_flagged(f) for f in software.flagged(principal, utcnow())]}


def _flagged(item: software.FlaggedRequest) -> dict[str, Any]:
    body = {name: getattr(item.request, name) for name in SoftwareSchema().fields}
    body.update(
        request_deadline=item.request_deadline,
        decision_deadline=item.decision_deadline,
        flags=[{"rule": "R15", "message": m} for m in item.flags.messages()],
    )
    return body


@blp.route("/software-requests/<request_id>/decision", methods=["POST"])
@roles_required(Role.REGION)
@blp.arguments(DecisionInSchema)
@blp.response(200, SoftwareSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_decided")
def decide_software(data: dict[str, Any], request_id: str, principal: Principal) -> Any:
    """R15: the Région validates or refuses a software request."""
    return committed(software.decide(principal, request_id, data, utcnow()))
