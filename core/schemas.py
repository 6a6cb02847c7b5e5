"""Request and response schemas of the account endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from core.api import EMAIL, ID, ParisDateTime
from core.models import Role

Name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class LoginSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=EMAIL)
    password = ma.fields.String(required=True, validate=validate.Length(max=1024))


class TraineeLoginSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=4, max=40))
    device = ma.fields.String(load_default="", validate=validate.Length(max=200))


class TokenSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()
    role = ma.fields.String()


class OrganisationInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    siret = ma.fields.String(required=True, validate=validate.Length(equal=14))


class OrganisationSchema(OrganisationInSchema):
    id = ma.fields.String()
    created_at = ParisDateTime()


class UserInSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=EMAIL)
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=1024))
    role = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    first_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    organisation_id = ma.fields.String(load_default=None, allow_none=True, validate=ID)
    site_id = ma.fields.String(load_default=None, allow_none=True, validate=ID)


class UserSchema(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String()
    role = ma.fields.String()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    organisation_id = ma.fields.String(allow_none=True)
    site_id = ma.fields.String(allow_none=True)


class MeSchema(ma.Schema):
    id = ma.fields.String()
    role = ma.fields.String()
    name = ma.fields.String()
    organisation_id = ma.fields.String(allow_none=True)
    site_id = ma.fields.String(allow_none=True)


class InvitationSchema(ma.Schema):
    id = ma.fields.String()
    trainee_id = ma.fields.String()
    url = ma.fields.String()
    code = ma.fields.String()
    expires_at = ParisDateTime()


class InvitationStatusSchema(ma.Schema):
    id = ma.fields.String()
    trainee_id = ma.fields.String()
    status = ma.fields.String()
    expires_at = ParisDateTime()
    redeemed_at = ParisDateTime(allow_none=True)
    revoked_at = ParisDateTime(allow_none=True)
