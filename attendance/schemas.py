"""Request and response schemas of training sessions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from attendance.rules import KINDS, REGROUPEMENT_REASONS
from core.api import PageArgs, ParisDateTime


class SessionInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    regroupement_reason = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REGROUPEMENT_REASONS)
    )
    site_id = ma.fields.String(load_default=None, allow_none=True)


class SessionPatchSchema(SessionInSchema):
    class Meta:
        partial = True


class SessionSchema(ma.Schema):
    id = ma.fields.String()
    group_id = ma.fields.String()
    organisation_id = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    starts_at = ParisDateTime()
    ends_at = ParisDateTime()
    status = ma.fields.String()
    regroupement_reason = ma.fields.String(allow_none=True)
    site_id = ma.fields.String(allow_none=True)
    synchronous = ma.fields.Function(lambda s: s.is_synchronous())
    on_public_holiday = ma.fields.Boolean(
        metadata={
            "description": "Planned on a French public holiday: signatures there are challenged"
        }
    )
    warnings = ma.fields.Function(lambda s: ["public_holiday"] if s.on_public_holiday else [])


class SessionRangeArgs(PageArgs):
    start = ma.fields.Date(load_default=None, metadata={"description": "First day (Paris)"})
    days = ma.fields.Integer(load_default=7, validate=validate.Range(min=1, max=62))
