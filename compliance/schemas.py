"""Request and response schemas of plan submissions and their checks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import marshmallow as ma
from marshmallow import validate

from compliance.models import POSTPONED, REPLACED, SUBMITTED, VALIDATED
from compliance.rules import COMPONENT_KINDS, EMPLOYMENT_KINDS, MILESTONES, SITUATIONS
from core.api import Day, ParisDateTime

WeekHours = validate.Range(min=0, max=168)


class TypicalWeekSchema(ma.Schema):
    tutorat = ma.fields.Float(required=True, validate=WeekHours)
    autoformation = ma.fields.Float(required=True, validate=WeekHours)
    regroupement = ma.fields.Float(required=True, validate=WeekHours)


class PlanClosureSchema(ma.Schema):
    start = Day(required=True)
    end = Day(required=True)


class PlanClosureOutSchema(ma.Schema):
    start = ma.fields.String(metadata={"format": "date"})
    end = ma.fields.String(metadata={"format": "date"})


class SubmissionInSchema(ma.Schema):
    typical_week = ma.fields.Nested(TypicalWeekSchema, required=True)
    component_kind = ma.fields.String(
        required=True,
        validate=validate.OneOf(COMPONENT_KINDS),
        metadata={"description": "positionnement (R20), tre: job search (R21), formation"},
    )
    component_hours = ma.fields.Float(
        required=True,
        validate=validate.Range(min=0, max=2000),
        metadata={"description": "hours planned on the group's component (R5)"},
    )
    closures = ma.fields.List(
        ma.fields.Nested(PlanClosureSchema), load_default=list, validate=validate.Length(max=50)
    )


class PlanFlagSchema(ma.Schema):
    rule = ma.fields.String(allow_none=True)
    code = ma.fields.String()
    message = ma.fields.String()
    level = ma.fields.String(metadata={"description": "warning (recommended rule) or flag"})


class PlannedSessionSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    participant_ids = ma.fields.List(ma.fields.String(), allow_none=True)


class ChangeSchema(ma.Schema):
    change = ma.fields.String(metadata={"description": "added, removed or changed"})
    session = ma.fields.Nested(PlannedSessionSchema)
    changed = ma.fields.List(ma.fields.String(), data_key="fields", attribute="fields")
    before = ma.fields.Dict()


class SubmissionSchema(ma.Schema):
    id = ma.fields.String()
    group_id = ma.fields.String()
    order_id = ma.fields.String()
    organisation_id = ma.fields.String()
    number = ma.fields.Integer()
    status = ma.fields.String(
        metadata={"enum": [SUBMITTED, VALIDATED, POSTPONED, REPLACED]},
    )
    late = ma.fields.Boolean()
    submitted_at = ParisDateTime()
    submitted_by_id = ma.fields.String()
    typical_week = ma.fields.Nested(TypicalWeekSchema)
    component_kind = ma.fields.String()
    component_hours = ma.fields.Float()
    closures = ma.fields.List(ma.fields.Nested(PlanClosureOutSchema))
    flags = ma.fields.List(ma.fields.Nested(PlanFlagSchema))
    sessions = ma.fields.List(ma.fields.Nested(PlannedSessionSchema))
    decided_at = ParisDateTime(allow_none=True)
    decided_by_id = ma.fields.String(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)


class SubmissionDetailSchema(SubmissionSchema):
    changes = ma.fields.List(
        ma.fields.Nested(ChangeSchema),
        metadata={"description": "sessions added, removed or changed since this validated plan"},
    )


class PlanDecisionInSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf([VALIDATED, POSTPONED]))
    reason = ma.fields.String(load_default="", validate=validate.Length(max=1000))


class ChecksSchema(ma.Schema):
    group_id = ma.fields.String()
    deadline = ma.fields.Date(metadata={"description": "last day to submit (CCTP §3.3)"})
    flags = ma.fields.List(ma.fields.Nested(PlanFlagSchema))
    latest_submission_id = ma.fields.String(allow_none=True)
    validated_submission_id = ma.fields.String(allow_none=True)
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))


class SubmissionListArgs(ma.Schema):
    status = ma.fields.String(
        load_default=None, validate=validate.OneOf([SUBMITTED, VALIDATED, POSTPONED, REPLACED])
    )
    limit = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


# --- outcomes (R23) and lent equipment (R24) ----------------------------------------------------


class OutcomeInSchema(ma.Schema):
    situation = ma.fields.String(required=True, validate=validate.OneOf(SITUATIONS))
    employment_kind = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(EMPLOYMENT_KINDS)
    )
    detail = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class OutcomeFormSchema(OutcomeInSchema):
    """The follow-up page's form: the milestone is a field (the API has it in the path)."""

    milestone = ma.fields.String(required=True, validate=validate.OneOf(MILESTONES))


class OutcomeSchema(OutcomeInSchema):
    id = ma.fields.String()
    milestone = ma.fields.String(metadata={"enum": list(MILESTONES)})
    enrolment_id = ma.fields.String()
    trainee_id = ma.fields.String()
    recorded_at = ParisDateTime()
    recorded_by_id = ma.fields.String()
    history = ma.fields.List(ma.fields.Dict(), metadata={"description": "earlier answers"})


class DueSchema(ma.Schema):
    enrolment_id = ma.fields.String(attribute="enrolment.id")
    trainee_id = ma.fields.String(attribute="enrolment.trainee_id")
    group_id = ma.fields.String(attribute="enrolment.group_id")
    milestone = ma.fields.String()
    due_on = ma.fields.Date()


class LoanInSchema(ma.Schema):
    item = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    deposit_eur = ma.fields.Decimal(
        required=True,
        places=2,
        as_string=True,
        allow_nan=False,
        metadata={"description": "euros; R24: 200 € at most in all (422 deposit_over_cap)"},
    )
    lent_on = Day(required=True)


class LoanSchema(LoanInSchema):
    id = ma.fields.String()
    trainee_id = ma.fields.String()
    returned_on = ma.fields.Date(allow_none=True)


class ReturnInSchema(ma.Schema):
    returned_on = Day(required=True)


# --- help during autoformation (R8) -------------------------------------------------------------


class HelpInSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class AnswerInSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))


class HelpCreatedSchema(ma.Schema):
    id = ma.fields.String()
    asked_at = ParisDateTime()


class HelpSchema(HelpCreatedSchema):
    session_id = ma.fields.String()
    group_id = ma.fields.String()
    trainee_id = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    answer = ma.fields.String(allow_none=True)
    answered_at = ParisDateTime(allow_none=True)
    answered_by_id = ma.fields.String(allow_none=True)
    answered_late = ma.fields.Boolean(metadata={"description": "R8: answered after 2 h"})
    file_name = ma.fields.String(
        allow_none=True, metadata={"description": "a joined file: GET …/help-requests/{id}/file"}
    )
    file_sha256 = ma.fields.String(allow_none=True)
    minutes_to_answer = ma.fields.Function(
        lambda r: (
            int((r.answered_at - r.asked_at).total_seconds() // 60) if r.answered_at else None
        ),
        metadata={"description": "R8: from the request to its answer"},
    )


class HelpListArgs(ma.Schema):
    status = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(["open", "late", "answered"]),
        metadata={
            "description": "open: waiting for an answer; late: waiting for more than 2 h (R8); "
            "answered. Absent: all."
        },
    )


# --- personal data (GDPR) -----------------------------------------------------------------------


class DataFormatArgs(ma.Schema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "pdf"]))


class DataRequestInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(["access", "erasure"]))
    received_on = Day(required=True)
    note = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class DataRequestSchema(DataRequestInSchema):
    id = ma.fields.String()
    trainee_id = ma.fields.String()
    answer_due_on = ma.fields.Function(
        lambda r: (r.received_on + timedelta(days=30)).isoformat(),
        metadata={"description": "GDPR art. 12(3): one month"},
    )
    answered_at = ParisDateTime(allow_none=True)
    answer = ma.fields.String(allow_none=True)
    erasure_scheduled_on = ma.fields.Date(
        allow_none=True, metadata={"description": "when the proof kept until then is purged"}
    )


class DataAnswerInSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=1000))


class AccessSchema(ma.Schema):
    at = ParisDateTime()
    reader_id = ma.fields.String()
    reader_name = ma.fields.String()
    reader_role = ma.fields.String()
    what = ma.fields.String()


# --- dashboards ---------------------------------------------------------------------------------


MONTH_PATTERN, YEAR_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$", r"^\d{4}$"


def _full(pattern: str) -> Any:
    """A validator matching the whole value (`$` alone lets a trailing newline through)."""

    def check(value: str) -> None:
        if not re.fullmatch(pattern.strip("^$"), value):
            raise ma.ValidationError("String does not match expected pattern.")

    return check


class DashboardArgs(ma.Schema):
    scope = ma.fields.String(
        load_default="organisation", validate=validate.OneOf(["region", "organisation"])
    )
    month = ma.fields.String(
        load_default=None,
        validate=_full(MONTH_PATTERN),
        metadata={"pattern": MONTH_PATTERN, "description": "YYYY-MM, Europe/Paris"},
    )
    year = ma.fields.String(
        load_default=None, validate=_full(YEAR_PATTERN), metadata={"pattern": YEAR_PATTERN}
    )
    organisation_id = ma.fields.String(
        load_default=None, metadata={"description": "the Région: one organisation only"}
    )
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
