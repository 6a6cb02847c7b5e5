"""Request and response schemas of the company periods (R2)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from core.api import ID, Day, ParisDateTime

SIRET = validate.Regexp(r"^\d{14}$", error="Un SIRET compte 14 chiffres.")


class PeriodInSchema(ma.Schema):
    company_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    siret = ma.fields.String(load_default=None, allow_none=True, validate=SIRET)
    tutor_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    tutor_email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    tutor_phone = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=30)
    )
    start_date = Day(required=True)
    end_date = Day(required=True)
    planned_hours = ma.fields.Float(
        required=True,
        validate=validate.Range(min=0.25, max=70),
        metadata={"description": "R2: the periods of one path plan 70 h at most in all"},
    )


class HoursInSchema(ma.Schema):
    first_day = Day(required=True)
    last_day = Day(required=True)
    hours = ma.fields.Float(
        required=True,
        validate=validate.Range(min=0.25, max=70),
        metadata={"description": "Hours realised over these days (≤ 10 h a day)"},
    )


class HoursSchema(ma.Schema):
    id = ma.fields.String()
    period_id = ma.fields.String()
    first_day = ma.fields.Date()
    last_day = ma.fields.Date()
    hours = ma.fields.Function(lambda line: round(line.minutes / 60, 2))
    minutes = ma.fields.Integer()
    trainee_signed_at = ParisDateTime(allow_none=True)
    tutor_signed_at = ParisDateTime(allow_none=True)
    cancelled_at = ParisDateTime(
        allow_none=True, metadata={"description": "Withdrawn by the organisation: never counts"}
    )
    counted = ma.fields.Boolean(
        attribute="is_counted",
        metadata={"description": "Signed by the trainee and the tutor: the hours count"},
    )


class PeriodSchema(ma.Schema):
    id = ma.fields.String()
    organisation_id = ma.fields.String()
    enrolment_id = ma.fields.String()
    trainee_id = ma.fields.String()
    company_name = ma.fields.String()
    siret = ma.fields.String(allow_none=True)
    tutor_name = ma.fields.String()
    tutor_email = ma.fields.String()
    tutor_phone = ma.fields.String(allow_none=True)
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    planned_hours = ma.fields.Float()
    realised_hours = ma.fields.Function(
        lambda period: round(sum(x.minutes for x in period.lines if x.is_counted) / 60, 2),
        metadata={"description": "Hours signed by both the trainee and the tutor"},
    )
    lines = ma.fields.List(ma.fields.Nested(HoursSchema))


class PeriodListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PeriodSchema))


class TutorCodeSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Shown once; only its digest is kept"})
    expires_at = ParisDateTime()
    url = ma.fields.String(metadata={"description": "The page where the tutor types it"})


class TutorCodeInSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


class TutorSignInSchema(TutorCodeInSchema):
    hours_ids = ma.fields.List(
        ma.fields.String(validate=ID), required=True, validate=validate.Length(min=1, max=100)
    )


class TutorPeriodSchema(ma.Schema):
    """What the tutor's code shows: the company, the trainee's initials, the hours."""

    company_name = ma.fields.String()
    trainee_initials = ma.fields.String()
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    lines = ma.fields.List(ma.fields.Nested(HoursSchema))


class SignedSchema(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(HoursSchema))
    already_signed = ma.fields.Boolean()
