"""Request and response schemas of access sites, bookings, closures, R14 and R15."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from core.api import ID, Day, Moment, ParisDateTime, PartialLoad
from sites.rules import DEPARTMENTS

Text = validate.Length(min=1, max=200)
Reason = validate.Length(max=500)


class SiteInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=Text)
    department = ma.fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    city = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    seats = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=500))
    opening_hours = ma.fields.Dict(
        required=True,
        keys=ma.fields.String(validate=validate.Length(max=20)),
        metadata={"example": {"lun-ven": "08:30-12:30, 13:30-17:30", "sam": "09:00-12:00"}},
    )
    address = ma.fields.String(load_default="", validate=validate.Length(max=300))
    equipment = ma.fields.List(
        ma.fields.String(validate=Text),
        validate=validate.Length(max=50),
        metadata={"description": "Windows 10 64 bits, Office 2016 and installed software (R15)"},
    )


class SitePatchSchema(PartialLoad, SiteInSchema):
    """PATCH: only the fields sent change."""


class SiteSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    department = ma.fields.String()
    city = ma.fields.String()
    address = ma.fields.String()
    seats = ma.fields.Integer()
    opening_hours = ma.fields.Dict()
    equipment = ma.fields.List(ma.fields.String())


class SiteListArgs(ma.Schema):
    department = ma.fields.String(load_default=None, validate=validate.OneOf(DEPARTMENTS))
    limit = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


class DayArgs(ma.Schema):
    date = Day(required=True)


class WeekArgs(ma.Schema):
    department = ma.fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    date = Day(required=True, metadata={"description": "first day"})
    days = ma.fields.Integer(load_default=7, validate=validate.Range(min=1, max=31))


class SlotSchema(ma.Schema):
    starts_at = ParisDateTime()
    ends_at = ParisDateTime()
    seats = ma.fields.Integer()
    booked = ma.fields.Integer()
    free = ma.fields.Integer()
    waitlisted = ma.fields.Integer()


class AvailabilitySchema(ma.Schema):
    site_id = ma.fields.String(attribute="site.id")
    date = ma.fields.Date(attribute="day")
    open = ma.fields.Function(lambda d: d.closed_reason is None)
    closed_reason = ma.fields.String(allow_none=True)
    slots = ma.fields.List(ma.fields.Nested(SlotSchema))


class CompactSlotSchema(ma.Schema):
    starts = ma.fields.String(metadata={"description": "Paris wall-clock time, HH:MM"})
    ends = ma.fields.String(metadata={"description": "Paris wall-clock time, HH:MM"})
    booked = ma.fields.Integer()
    free = ma.fields.Integer()
    waitlisted = ma.fields.Integer()


class CompactDaySchema(ma.Schema):
    date = ma.fields.Date()
    open = ma.fields.Boolean()
    closed_reason = ma.fields.String(allow_none=True)
    slots = ma.fields.List(ma.fields.Nested(CompactSlotSchema))


class SiteBriefSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    city = ma.fields.String()
    seats = ma.fields.Integer()


class SiteWeekSchema(ma.Schema):
    site = ma.fields.Nested(SiteBriefSchema)
    days = ma.fields.List(ma.fields.Nested(CompactDaySchema))


class DepartmentAvailabilitySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SiteWeekSchema))


class BookingInSchema(ma.Schema):
    trainee_id = ma.fields.String(required=True, validate=ID)
    session_id = ma.fields.String(load_default=None, allow_none=True, validate=ID)
    starts_at = Moment(load_default=None, allow_none=True)
    ends_at = Moment(load_default=None, allow_none=True)
    title = ma.fields.String(load_default=None, allow_none=True, validate=Text)
    waitlist = ma.fields.Boolean(load_default=False)


class BookingSchema(ma.Schema):
    id = ma.fields.String()
    site_id = ma.fields.String()
    organisation_id = ma.fields.String()
    trainee_id = ma.fields.String()
    session_id = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    title = ma.fields.String()
    starts_at = ParisDateTime()
    ends_at = ParisDateTime()
    status = ma.fields.String(metadata={"enum": ["confirmed", "waitlisted", "cancelled"]})
    waitlisted_at = ParisDateTime(allow_none=True)
    promoted_at = ParisDateTime(allow_none=True)
    cancelled_at = ParisDateTime(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    checked_in_at = ParisDateTime(allow_none=True)


class BookingListArgs(ma.Schema):
    status = ma.fields.String(
        load_default=None, validate=validate.OneOf(["confirmed", "waitlisted", "cancelled"])
    )
    site_id = ma.fields.String(load_default=None, validate=ID)
    limit = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


class CancelArgs(ma.Schema):
    reason = ma.fields.String(load_default="", validate=Reason)


class ClosureInSchema(ma.Schema):
    day = Day(required=True)
    reason = ma.fields.String(required=True, validate=Text)


class ClosureSchema(ma.Schema):
    day = ma.fields.Date()
    reason = ma.fields.String()
    cancelled_booking_ids = ma.fields.List(ma.fields.String())


class RepositionInSchema(ma.Schema):
    direction = ma.fields.String(required=True, validate=validate.OneOf(["home", "site"]))
    site_id = ma.fields.String(load_default=None, allow_none=True, validate=ID)
    from_date = Day(required=True)
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class RepositionSchema(ma.Schema):
    id = ma.fields.String()
    trainee_id = ma.fields.String()
    direction = ma.fields.String()
    site_id = ma.fields.String(allow_none=True)
    from_date = ma.fields.Date()
    reason = ma.fields.String()
    author_id = ma.fields.String()
    created_at = ParisDateTime()
    cancelled = ma.fields.Integer()
    booked = ma.fields.Integer()
    waitlisted = ma.fields.Integer()
    refused = ma.fields.Integer()


class SoftwareInSchema(ma.Schema):
    site_id = ma.fields.String(required=True, validate=ID)
    software = ma.fields.List(
        ma.fields.String(validate=Text), required=True, validate=validate.Length(min=1, max=50)
    )


class DecisionInSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(["validated", "refused"]))
    reason = ma.fields.String(load_default="", validate=Reason)


class FlagSchema(ma.Schema):
    rule = ma.fields.String()
    message = ma.fields.String()


class SoftwareSchema(ma.Schema):
    id = ma.fields.String()
    group_id = ma.fields.String()
    site_id = ma.fields.String()
    software = ma.fields.List(ma.fields.String())
    status = ma.fields.String()
    created_at = ParisDateTime()
    decided_at = ParisDateTime(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)


class FlaggedSoftwareSchema(SoftwareSchema):
    request_deadline = ma.fields.Date()
    decision_deadline = ma.fields.Date()
    flags = ma.fields.List(ma.fields.Nested(FlagSchema))


class FlaggedSoftwareListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FlaggedSoftwareSchema))


class SiteImportInSchema(ma.Schema):
    csv = ma.fields.String(required=True, validate=validate.Length(min=1, max=512 * 1024))


class ImportReportSchema(ma.Schema):
    imported = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(SiteSchema))
