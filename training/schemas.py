"""Request and response schemas of orders, groups, trainees, enrolments, authorisations."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from core.api import EMAIL, ID, INT4_MAX, Day, ParisDateTime, PartialLoad
from training.rules import DEPARTMENTS, MODALITIES

Text = validate.Length(min=1, max=200)


class OrderInSchema(ma.Schema):
    number = ma.fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = ma.fields.String(required=True, validate=Text)
    modality = ma.fields.String(required=True, validate=validate.OneOf(MODALITIES))
    start_date = Day(required=True)
    end_date = Day(required=True)
    centre_hours = ma.fields.Float(required=True, validate=validate.Range(min=1, max=2000))
    min_synchronous_share = ma.fields.Float(required=True, validate=validate.Range(min=0, max=1))
    forecast_headcount = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=INT4_MAX)
    )
    department = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(DEPARTMENTS)),
        metadata={"description": "where it is delivered: one of the 13 of Occitanie"},
    )


class OrderPatchSchema(PartialLoad, OrderInSchema):
    """PATCH: only the fields sent change."""


class OrderSchema(OrderInSchema):
    id = ma.fields.String()
    organisation_id = ma.fields.String()
    created_at = ParisDateTime()


class GroupInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=Text)
    component = ma.fields.String(required=True, validate=Text)
    trainer_ids = ma.fields.List(
        ma.fields.String(validate=ID), load_default=list, validate=validate.Length(max=50)
    )
    start_date = Day(load_default=None, allow_none=True)


class GroupPatchSchema(PartialLoad, GroupInSchema):
    """PATCH: only the fields sent change."""


class GroupSchema(ma.Schema):
    id = ma.fields.String()
    order_id = ma.fields.String()
    organisation_id = ma.fields.String()
    name = ma.fields.String()
    component = ma.fields.String()
    trainer_ids = ma.fields.List(ma.fields.String())
    start_date = ma.fields.Date(allow_none=True)


class TraineeInSchema(ma.Schema):
    first_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = ma.fields.Email(required=True, validate=EMAIL)
    phone = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9 .]{6,20}$")
    )


class TraineePatchSchema(PartialLoad, TraineeInSchema):
    """PATCH: only the fields sent change."""


class TraineeSchema(TraineeInSchema):
    id = ma.fields.String()
    organisation_id = ma.fields.String()


class EnrolmentInSchema(ma.Schema):
    trainee_id = ma.fields.String(required=True, validate=ID)
    entry_date = Day(required=True)
    exit_date = Day(load_default=None, allow_none=True)
    planned_centre_hours = ma.fields.Float(required=True, validate=validate.Range(min=0))
    planned_company_hours = ma.fields.Float(load_default=0.0, validate=validate.Range(min=0))
    funding = ma.fields.String(load_default="region", validate=validate.OneOf(["region", "other"]))
    confirm_over_capacity = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Acknowledge the R3 warning (more than 20 trainees at once)"},
    )


class EnrolmentSchema(ma.Schema):
    id = ma.fields.String()
    group_id = ma.fields.String()
    trainee_id = ma.fields.String()
    entry_date = ma.fields.Date()
    exit_date = ma.fields.Date(allow_none=True)
    planned_centre_hours = ma.fields.Float()
    planned_company_hours = ma.fields.Float()
    funding = ma.fields.String()
    warnings = ma.fields.Method("warning_list")

    def warning_list(self, enrolment: object) -> list[str]:
        return [w for w in getattr(enrolment, "warnings", "").split(",") if w]


class AuthorisationInSchema(ma.Schema):
    session_date = Day(required=True)
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=500))


class AuthorisationSchema(AuthorisationInSchema):
    id = ma.fields.String()
    group_id = ma.fields.String()
    granted_by_id = ma.fields.String()
    created_at = ParisDateTime()
