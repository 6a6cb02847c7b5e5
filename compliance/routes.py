"""Plan submissions (CCTP §3.3): the organisation submits, the Région decides, both read the
checks (R5, R9, R12, R13, R20–R22, the trainee's week) and the changes since validation."""

from __future__ import annotations

from typing import Any

from flask import current_app

from compliance import followup, help_web, services
from compliance import help as help_requests
from compliance.models import PlanSubmission
from compliance.rules import MILESTONES
from compliance.schemas import (
    AnswerInSchema,
    ChecksSchema,
    DueSchema,
    HelpCreatedSchema,
    HelpInSchema,
    HelpListArgs,
    HelpSchema,
    LoanInSchema,
    LoanSchema,
    OutcomeInSchema,
    OutcomeSchema,
    PlanDecisionInSchema,
    ReturnInSchema,
    SubmissionDetailSchema,
    SubmissionInSchema,
    SubmissionListArgs,
    SubmissionSchema,
)
from core.api import Blueprint, ErrorSchema, page_schema
from core.auth import Principal, roles_required
from core.clock import local_day
from core.db import utcnow
from core.errors import NotFound
from core.extensions import db
from core.models import Role
from core.pagination import paginate

COLUMNS = list(PlanSubmission.__table__.columns)
blp = Blueprint("compliance", __name__, url_prefix="/api/v1", description="Plans et conformité")


def detail(submission: PlanSubmission) -> dict[str, Any]:
    """The submission's columns and its changes since, for SubmissionDetailSchema to dump."""
    answer = {column.key: getattr(submission, column.key) for column in COLUMNS}
    answer["changes"] = services.changes_since(submission)
    return answer


@blp.route("/groups/<group_id>/plan-submissions", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(SubmissionInSchema)
@blp.response(201, SubmissionSchema)
def submit_plan(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Submit the group's plan to the Région, at least 15 days before its start (CCTP §3.3).

    The checks flag (each with its rule) and never refuse; `late` when the deadline passed.
    """
    submission = services.submit(principal, group_id, data, utcnow())
    db.session.commit()
    return submission


@blp.route("/groups/<group_id>/plan-submissions", methods=["GET"])
@roles_required(*services.READERS)
@blp.response(200, page_schema(SubmissionSchema, "PlanSubmissionList"))
def group_plan_submissions(group_id: str, principal: Principal) -> Any:
    """The group's submissions, the latest first."""
    group = services.readable_group(principal, group_id)
    return {"items": services.group_submissions(group.id), "next_cursor": None}


@blp.route("/groups/<group_id>/plan-checks", methods=["GET"])
@roles_required(*services.READERS)
@blp.response(200, ChecksSchema)
def plan_checks(group_id: str, principal: Principal) -> Any:
    """The group's plan checked as it stands now, against what its last submission declared,
    and its changes since the validated plan."""
    checks = services.current_checks(principal, group_id)
    return {
        "group_id": checks.group.id,
        "deadline": checks.deadline,
        "flags": [f.as_dict() for f in checks.flags],
        "latest_submission_id": checks.latest.id if checks.latest else None,
        "validated_submission_id": checks.validated.id if checks.validated else None,
        "changes": checks.changes,
    }


@blp.route("/plan-submissions", methods=["GET"])
@roles_required(*services.READERS)
@blp.arguments(SubmissionListArgs, location="query")
@blp.response(200, page_schema(SubmissionSchema, "PlanSubmissionPage"))
def list_plan_submissions(args: dict[str, Any], principal: Principal) -> Any:
    """Submissions the caller may see (the Région: every organisation's), oldest first."""
    query = services.list_submissions(principal, args["status"])
    items, cursor = paginate(
        query, PlanSubmission.submitted_at, PlanSubmission.id, args["limit"], args["cursor"]
    )
    return {"items": items, "next_cursor": cursor}


@blp.route("/plan-submissions/<submission_id>", methods=["GET"])
@roles_required(*services.READERS)
@blp.response(200, SubmissionDetailSchema)
def get_plan_submission(submission_id: str, principal: Principal) -> Any:
    """One submission, with the sessions changed since, when it is the validated plan."""
    return detail(services.get_submission(principal, submission_id))


@blp.route("/plan-submissions/<submission_id>/decision", methods=["POST"])
@roles_required(Role.REGION)
@blp.arguments(PlanDecisionInSchema)
@blp.response(200, SubmissionDetailSchema)
@blp.alt_response(409, schema=ErrorSchema, description="plan_already_decided")
def decide_plan(data: dict[str, Any], submission_id: str, principal: Principal) -> Any:
    """The Région validates the plan, or asks for a postponement with its reason."""
    submission = services.decide(principal, submission_id, data, utcnow())
    db.session.commit()
    return detail(submission)


# --- outcomes (R23) and lent equipment (R24) ----------------------------------------------------


@blp.route("/enrolments/<enrolment_id>/outcomes/<at>", methods=["PUT"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(OutcomeInSchema)
@blp.response(200, OutcomeSchema)
@blp.alt_response(422, schema=ErrorSchema, description="R23: outcome_not_due")
def record_outcome(data: dict[str, Any], enrolment_id: str, at: str, principal: Principal) -> Any:
    """Record the trainee's situation at exit (`exit`), at 3 months (`3m`) or at 6 months
    (`6m`) (R23); recorded again, it replaces the answer and keeps the earlier one."""
    if at not in MILESTONES:
        raise NotFound("Échéance inconnue : exit, 3m ou 6m.", code="unknown_milestone")
    now = utcnow()
    data = {**data, "milestone": at}
    outcome, _ = followup.record_outcome(principal, enrolment_id, data, now, local_day(now))
    db.session.commit()
    return outcome


@blp.route("/enrolments/<enrolment_id>/outcomes", methods=["GET"])
@roles_required(*followup.READERS)
@blp.response(200, page_schema(OutcomeSchema, "OutcomeList"))
def list_outcomes(enrolment_id: str, principal: Principal) -> Any:
    """The situations recorded for a path, exit first."""
    _, outcomes = followup.enrolment_outcomes(principal, enrolment_id)
    return {"items": outcomes, "next_cursor": None}


@blp.route("/outcomes/due", methods=["GET"])
@roles_required(*followup.READERS)
@blp.response(200, page_schema(DueSchema, "OutcomesDue"))
def outcomes_due(principal: Principal) -> Any:
    """R23's reminders: situations due and not recorded, the oldest first (500 at most)."""
    return {"items": followup.outcomes_due(principal, local_day(utcnow())), "next_cursor": None}


@blp.route("/trainees/<trainee_id>/equipment-loans", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(LoanInSchema)
@blp.response(201, LoanSchema)
@blp.alt_response(422, schema=ErrorSchema, description="R24: deposit_over_cap")
def lend_equipment(data: dict[str, Any], trainee_id: str, principal: Principal) -> Any:
    """Record equipment lent to a trainee against a deposit (R24: 200 € at most in all)."""
    loan = followup.lend(principal, trainee_id, data)
    db.session.commit()
    return loan


@blp.route("/trainees/<trainee_id>/equipment-loans", methods=["GET"])
@roles_required(*followup.READERS)
@blp.response(200, page_schema(LoanSchema, "LoanList"))
def list_loans(trainee_id: str, principal: Principal) -> Any:
    """Equipment lent to the trainee, the latest first."""
    return {"items": followup.trainee_loans(principal, trainee_id), "next_cursor": None}


@blp.route("/equipment-loans/<loan_id>/return", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(ReturnInSchema)
@blp.response(200, LoanSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_returned")
def return_equipment(data: dict[str, Any], loan_id: str, principal: Principal) -> Any:
    """The equipment came back: the deposit is returned."""
    loan = followup.give_back(principal, loan_id, data["returned_on"])
    db.session.commit()
    return loan


# --- help during autoformation (R8) -------------------------------------------------------------


@blp.route("/sessions/<session_id>/help-requests", methods=["POST"])
@roles_required(Role.TRAINEE)
@blp.arguments(HelpInSchema)
@blp.response(201, HelpCreatedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="session_not_open, not_autoformation")
def ask_help(data: dict[str, Any], session_id: str, principal: Principal) -> Any:
    """A trainee of an open autoformation asks for help (R8); the trainers are told live."""
    request = help_requests.ask(
        principal, session_id, data["text"], utcnow(), current_app.config["PUBLIC_BASE_URL"]
    )
    db.session.commit()
    help_web.tell_trainers(request)
    return request


@blp.route("/sessions/<session_id>/help-requests", methods=["GET"])
@roles_required(Role.TRAINEE, Role.TRAINER, Role.ORG_ADMIN, Role.REGION)
@blp.response(200, page_schema(HelpSchema, "HelpRequestList"))
def session_help(session_id: str, principal: Principal) -> Any:
    """A session's help requests (a trainee: their own), oldest first."""
    return {"items": help_requests.session_requests(principal, session_id), "next_cursor": None}


@blp.route("/help-requests/<request_id>/file", methods=["GET"])
@roles_required(Role.TRAINEE, Role.TRAINER, Role.ORG_ADMIN, Role.REGION)
@blp.response(200, description="the file the trainee joined to the request")
def help_file(request_id: str, principal: Principal) -> Any:
    """The file joined to a help request (the trainee who asked, the session's trainers, the
    organisation, the Région); its SHA-256 is a fact of the request's chain entry."""
    return help_web.file_response(help_requests.attachment_of(principal, request_id))


@blp.route("/help-requests/<request_id>/answer", methods=["POST"])
@roles_required(Role.TRAINER)
@blp.arguments(AnswerInSchema)
@blp.response(200, HelpSchema)
@blp.alt_response(409, schema=ErrorSchema, description="help_answered")
def answer_help(data: dict[str, Any], request_id: str, principal: Principal) -> Any:
    """The session's trainer answers; the answer is chained and its delay measured (R8)."""
    request = help_requests.answer(principal, request_id, data["text"], utcnow())
    db.session.commit()
    return request


@blp.route("/help-requests", methods=["GET"])
@roles_required(Role.TRAINER, Role.ORG_ADMIN, Role.REGION)
@blp.arguments(HelpListArgs, location="query")
@blp.response(200, page_schema(HelpSchema, "HelpRequestPage"))
def list_help(args: dict[str, Any], principal: Principal) -> Any:
    """Help requests the caller sees (a trainer: their sessions'), newest first, 200 at most;
    `status=late`: waiting for more than 2 h (R8)."""
    found = help_requests.requests_of(principal, status=args["status"], now=utcnow())
    return {"items": found, "next_cursor": None}
