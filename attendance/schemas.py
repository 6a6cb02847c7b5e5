"""Request and response schemas of training sessions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from attendance.rules import KINDS, REGROUPEMENT_REASONS
from core.api import ID, PARIS, Day, Moment, PageArgs, ParisDateTime, PartialLoad


class SessionInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    regroupement_reason = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REGROUPEMENT_REASONS)
    )
    site_id = ma.fields.String(load_default=None, allow_none=True, validate=ID)
    participant_ids = ma.fields.List(
        ma.fields.String(validate=ID),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=50),
        metadata={
            "description": "A sub-group or one trainee (enrolled on the day); absent or null: "
            "the whole group. A trainee never takes part in two overlapping sessions (409)."
        },
    )
    lead_trainer_id = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ID,
        metadata={
            "description": "A trainer of the group; by default the trainer planning it, or the "
            "group's only trainer. A trainer never leads two overlapping sessions (409)."
        },
    )


class SessionPatchSchema(PartialLoad, SessionInSchema):
    """Every field optional (PATCH)."""


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
    participant_ids = ma.fields.List(
        ma.fields.String(), allow_none=True, metadata={"description": "null: the whole group"}
    )
    lead_trainer_id = ma.fields.String(allow_none=True)
    substitute_trainer_id = ma.fields.String(
        allow_none=True, metadata={"description": "replaces the group's trainers (CCTP §4.1.2)"}
    )
    synchronous = ma.fields.Function(lambda s: s.is_synchronous())
    on_public_holiday = ma.fields.Boolean(
        metadata={
            "description": "Planned on a French public holiday: signatures there are challenged"
        }
    )
    warnings = ma.fields.Function(lambda s: ["public_holiday"] if s.on_public_holiday else [])


class SessionRangeArgs(PageArgs):
    start = Day(load_default=None, metadata={"description": "First day (Paris)"})
    days = ma.fields.Integer(load_default=7, validate=validate.Range(min=1, max=62))


class QrSchema(ma.Schema):
    payload = ma.fields.String(metadata={"description": "URL to encode; its secret follows '#'"})
    expires_at = ParisDateTime()
    rotates_every_s = ma.fields.Integer()
    session_id = ma.fields.String()


class SignatureSchema(ma.Schema):
    id = ma.fields.String()
    session_id = ma.fields.String()
    trainee_id = ma.fields.Function(lambda s: s.signer_id if s.signer_kind == "trainee" else None)
    trainer_id = ma.fields.Function(lambda s: s.signer_id if s.signer_kind == "trainer" else None)
    kind = ma.fields.String()
    half_day = ma.fields.String()
    signed_at = ParisDateTime(attribute="at")
    method = ma.fields.String()
    channel = ma.fields.String()
    action = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    justified = ma.fields.Boolean(allow_none=True)
    hash = ma.fields.String(metadata={"description": "Link of this record in the ledger"})


class SignInSchema(SignatureSchema):
    already_signed = ma.fields.Boolean()
    signed_out_at = ParisDateTime(allow_none=True)


class CredentialSchema(ma.Schema):
    qr = ma.fields.String(load_default=None, validate=validate.Length(min=10, max=200))
    code = ma.fields.String(load_default=None, validate=validate.Length(min=4, max=20))
    session_id = ma.fields.String(load_default=None, validate=ID)


class CodesInSchema(ma.Schema):
    trainee_ids = ma.fields.List(
        ma.fields.String(validate=ID), required=True, validate=validate.Length(min=1, max=200)
    )


class CodeSchema(ma.Schema):
    trainee_id = ma.fields.String()
    code = ma.fields.String()
    expires_at = ParisDateTime()


class AbsenceInSchema(ma.Schema):
    trainee_id = ma.fields.String(required=True, validate=ID)
    reason = ma.fields.String(required=True, validate=validate.Length(min=2, max=500))
    justified = ma.fields.Boolean(required=True)
    half_day = ma.fields.String(load_default=None, validate=validate.OneOf(["am", "pm"]))


class CorrectionInSchema(ma.Schema):
    trainee_id = ma.fields.String(required=True, validate=ID)
    action = ma.fields.String(
        required=True, validate=validate.OneOf(["mark_present", "mark_absent"])
    )
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=500))
    justified = ma.fields.Boolean(load_default=None, allow_none=True)
    half_day = ma.fields.String(load_default=None, validate=validate.OneOf(["am", "pm"]))


class RecordsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SignatureSchema))


class HalfStateSchema(ma.Schema):
    half_day = ma.fields.Function(lambda h: h.half.name)
    status = ma.fields.String()
    minutes = ma.fields.Integer()
    signed_at = ParisDateTime(allow_none=True)
    signed_out_at = ParisDateTime(allow_none=True)
    method = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    justified = ma.fields.Boolean(allow_none=True)


class PresenceSchema(ma.Schema):
    trainee_id = ma.fields.String()
    name = ma.fields.String()
    status = ma.fields.String()
    minutes = ma.fields.Integer()
    signed_at = ma.fields.Function(lambda p: _paris(p.first("signed_at")))
    signed_out_at = ma.fields.Function(lambda p: _paris(p.signed_out_at))
    method = ma.fields.Function(lambda p: p.first("method"))
    channel = ma.fields.Function(lambda p: p.first("channel"))
    halves = ma.fields.List(ma.fields.Nested(HalfStateSchema))


class AttendanceSchema(ma.Schema):
    session_id = ma.fields.String()
    status = ma.fields.String()
    held = ma.fields.Boolean()
    items = ma.fields.List(ma.fields.Nested(PresenceSchema))


class LedgerFaultSchema(ma.Schema):
    session_id = ma.fields.String(metadata={"description": "Empty when a seal is at fault"})
    seq = ma.fields.Integer()
    entry_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    seal = ma.fields.Integer(allow_none=True, metadata={"description": "The seal at fault"})
    field = ma.fields.String(
        allow_none=True,
        metadata={"description": "The session's column that its chain contradicts"},
    )


class LedgerSchema(ma.Schema):
    ok = ma.fields.Boolean()
    length = ma.fields.Integer()
    head = ma.fields.String()
    sessions = ma.fields.Integer()
    company_periods = ma.fields.Integer(
        metadata={"description": "Company periods (R2) whose chains were checked too"}
    )
    sealed = ma.fields.Integer(metadata={"description": "Entries covered by a seal"})
    unsealed = ma.fields.Integer(metadata={"description": "Entries after the last seal"})
    seals = ma.fields.Integer()
    last_seal_at = ParisDateTime(allow_none=True)
    seals_checked = ma.fields.Boolean(
        metadata={"description": "False when no public key is configured to check the seals"}
    )
    first_bad = ma.fields.Nested(LedgerFaultSchema, allow_none=True, attribute="fault")


class SealItemSchema(ma.Schema):
    seq = ma.fields.Integer()
    at = ma.fields.String(metadata={"description": "UTC, as signed"})
    previous = ma.fields.String()
    root = ma.fields.String()
    count = ma.fields.Integer(metadata={"description": "Sessions sealed (region-wide)"})
    key_id = ma.fields.String()
    signature = ma.fields.String(metadata={"description": "Ed25519, base64url"})
    hash = ma.fields.String()
    v = ma.fields.Integer()
    sessions = ma.fields.List(
        ma.fields.Tuple((ma.fields.String(), ma.fields.Integer(), ma.fields.String())),
        metadata={"description": "[session id, chain length, head]: yours only, unless Région"},
    )
    proofs = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.Tuple((ma.fields.String(), ma.fields.String()))),
        metadata={"description": "Per session: its Merkle audit path to `root`"},
    )


class SealsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SealItemSchema))
    public_key = ma.fields.String(allow_none=True, metadata={"description": "PEM (Ed25519)"})


def _paris(value: object) -> str | None:
    from datetime import datetime

    return value.astimezone(PARIS).isoformat() if isinstance(value, datetime) else None


class SubstituteInSchema(ma.Schema):
    trainer_id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "null: back to the group's"}
    )
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class PeriodSubstituteInSchema(SubstituteInSchema):
    start = Day(required=True)
    end = Day(required=True)
