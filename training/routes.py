"""Training data endpoints: orders, groups, trainees, invitations, enrolments."""

from __future__ import annotations

from typing import Any

from flask import current_app

from core import services as accounts
from core.api import Blueprint, ErrorSchema, PageArgs, page_schema
from core.auth import ANY_ROLE, Principal, roles_required
from core.db import utcnow
from core.extensions import db
from core.models import Invitation, Role, Trainee
from core.pagination import paginate
from core.schemas import InvitationSchema, InvitationStatusSchema
from training import access, services
from training.models import Enrolment, Group, Order
from training.schemas import (
    AuthorisationInSchema,
    AuthorisationSchema,
    EnrolmentInSchema,
    EnrolmentSchema,
    GroupInSchema,
    GroupPatchSchema,
    GroupSchema,
    OrderInSchema,
    OrderPatchSchema,
    OrderSchema,
    TraineeInSchema,
    TraineePatchSchema,
    TraineeSchema,
)
from training.signals import trainee_read

blp = Blueprint("training", __name__, url_prefix="/api/v1", description="Données de formation")
READERS = (Role.REGION, Role.ORG_ADMIN, Role.FINANCE, Role.TRAINER)


def page(query: Any, key: Any, id_column: Any, args: dict[str, Any]) -> dict[str, Any]:
    items, cursor = paginate(query, key, id_column, args["limit"], args["cursor"])
    return {"items": items, "next_cursor": cursor}


@blp.route("/orders", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(OrderInSchema)
@blp.response(201, OrderSchema)
@blp.alt_response(409, schema=ErrorSchema, description="duplicate_order_number")
def create_order(data: dict[str, Any], principal: Principal) -> Any:
    """Record a bon de commande."""
    order = services.create_order(principal, data)
    db.session.commit()
    return order


@blp.route("/orders", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(OrderSchema, "OrderPage"))
def list_orders(args: dict[str, Any], principal: Principal) -> Any:
    """Orders the caller may see, by planned start."""
    return page(access.visible_orders(principal), Order.start_date, Order.id, args)


@blp.route("/orders/<order_id>", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, OrderSchema)
def get_order(order_id: str, principal: Principal) -> Any:
    """One order the caller may see."""
    return services.get_order(principal, order_id)


@blp.route("/orders/<order_id>", methods=["PATCH"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(OrderPatchSchema)
@blp.response(200, OrderSchema)
@blp.alt_response(409, schema=ErrorSchema, description="duplicate_order_number")
@blp.alt_response(422, schema=ErrorSchema, description="The plan no longer meets R4, R6 or R10")
def update_order(data: dict[str, Any], order_id: str, principal: Principal) -> Any:
    """Change an order; its plan is checked again (R4, R6, R10)."""
    order = services.update_order(principal, order_id, data)
    db.session.commit()
    return order


@blp.route("/orders/<order_id>/groups", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(GroupInSchema)
@blp.response(201, GroupSchema)
def create_group(data: dict[str, Any], order_id: str, principal: Principal) -> Any:
    """Open a group on a component of the order."""
    group = services.create_group(principal, order_id, data)
    db.session.commit()
    return group


@blp.route("/orders/<order_id>/groups", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(GroupSchema, "GroupPage"))
def list_order_groups(args: dict[str, Any], order_id: str, principal: Principal) -> Any:
    """Groups of an order, by name."""
    order = services.get_order(principal, order_id)
    query = access.visible_groups(principal).where(Group.order_id == order.id)
    return page(query, Group.name, Group.id, args)


@blp.route("/groups", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(GroupSchema, "GroupPageAll"))
def list_groups(args: dict[str, Any], principal: Principal) -> Any:
    """Groups the caller may see (a trainer's own, a trainee's own)."""
    return page(access.visible_groups(principal), Group.name, Group.id, args)


@blp.route("/groups/<group_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, GroupSchema)
def get_group(group_id: str, principal: Principal) -> Any:
    """One group the caller may see."""
    return services.get_group(principal, group_id)


@blp.route("/groups/<group_id>", methods=["PATCH"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(GroupPatchSchema)
@blp.response(200, GroupSchema)
@blp.alt_response(422, schema=ErrorSchema, description="The plan no longer meets R10")
def update_group(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Rename a group, change its component, start day or trainers (R10 checked again)."""
    group = services.update_group(principal, group_id, data)
    db.session.commit()
    return group


@blp.route("/groups/<group_id>/enrolments", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(EnrolmentInSchema)
@blp.response(201, EnrolmentSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_enrolled")
@blp.alt_response(422, schema=ErrorSchema, description="R1, R2, R3 or R4 refuses")
def enrol(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Enrol a trainee in the group (R1–R4)."""
    enrolment = services.enrol(principal, group_id, data)
    db.session.commit()
    return enrolment


@blp.route("/groups/<group_id>/enrolments", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(EnrolmentSchema, "EnrolmentPage"))
def list_enrolments(args: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """Enrolments of a group, by entry date."""
    group = services.get_group(principal, group_id)
    query = access.visible_enrolments(principal).where(Enrolment.group_id == group.id)
    return page(query, Enrolment.entry_date, Enrolment.id, args)


@blp.route("/enrolments", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(EnrolmentSchema, "EnrolmentPageAll"))
def list_all_enrolments(args: dict[str, Any], principal: Principal) -> Any:
    """Enrolments the caller may see (a trainee: their own paths)."""
    return page(access.visible_enrolments(principal), Enrolment.entry_date, Enrolment.id, args)


@blp.route("/enrolments/<enrolment_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, EnrolmentSchema)
def get_enrolment(enrolment_id: str, principal: Principal) -> Any:
    """One enrolment the caller may see (a trainee: their own)."""
    return services.get_enrolment(principal, enrolment_id)


@blp.route("/groups/<group_id>/regroupement-authorisations", methods=["POST"])
@roles_required(Role.REGION)
@blp.arguments(AuthorisationInSchema)
@blp.response(201, AuthorisationSchema)
def grant_regroupement(data: dict[str, Any], group_id: str, principal: Principal) -> Any:
    """The Région authorises an extra regroupement day for a group (R10)."""
    authorisation = services.grant_regroupement(principal, group_id, data)
    db.session.commit()
    return authorisation


@blp.route("/trainees", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(TraineeInSchema)
@blp.response(201, TraineeSchema)
@blp.alt_response(409, schema=ErrorSchema, description="duplicate_email")
def create_trainee(data: dict[str, Any], principal: Principal) -> Any:
    """Register a trainee of the organisation."""
    trainee = services.create_trainee(principal, data)
    db.session.commit()
    return trainee


@blp.route("/trainees", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(TraineeSchema, "TraineePage"))
def list_trainees(args: dict[str, Any], principal: Principal) -> Any:
    """Trainees the caller may see, by last name."""
    return page(access.visible_trainees(principal), Trainee.last_name, Trainee.id, args)


@blp.route("/trainees/<trainee_id>", methods=["GET"])
@roles_required(*ANY_ROLE)
@blp.response(200, TraineeSchema)
def get_trainee(trainee_id: str, principal: Principal) -> Any:
    """One trainee the caller may see (a trainee: themself); the read is logged."""
    trainee = services.get_trainee(principal, trainee_id)
    trainee_read.send(trainee, principal=principal, what="fiche (API)")
    return trainee


@blp.route("/trainees/<trainee_id>", methods=["PATCH"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(TraineePatchSchema)
@blp.response(200, TraineeSchema)
@blp.alt_response(409, schema=ErrorSchema, description="duplicate_email")
def update_trainee(data: dict[str, Any], trainee_id: str, principal: Principal) -> Any:
    """Change a trainee's name, e-mail or phone."""
    trainee = services.update_trainee(principal, trainee_id, data)
    db.session.commit()
    return trainee


@blp.route("/trainees/<trainee_id>/invitations", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
@blp.response(201, InvitationSchema)
def invite_trainee(trainee_id: str, principal: Principal) -> Any:
    """A personal link and short code that binds the trainee's phone (earlier ones lapse)."""
    trainee = services.get_trainee(principal, trainee_id)
    services.require_admin_of(principal, trainee.organisation_id)
    cfg = current_app.config
    issued = accounts.issue_invitation(
        principal,
        trainee,
        now=utcnow(),
        ttl_s=cfg["INVITATION_TTL_S"],
        secret_key=cfg["SECRET_KEY"],
    )
    db.session.commit()
    return {
        "id": issued.invitation.id,
        "trainee_id": trainee.id,
        "code": issued.code,
        "url": f"{cfg['PUBLIC_BASE_URL']}/invitation#{issued.code}",
        "expires_at": issued.invitation.expires_at,
    }


@blp.route("/trainees/<trainee_id>/invitations", methods=["GET"])
@roles_required(Role.ORG_ADMIN)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(InvitationStatusSchema, "InvitationPage"))
def list_invitations(args: dict[str, Any], trainee_id: str, principal: Principal) -> Any:
    """A trainee's invitations and the state of each (pending, bound, revoked)."""
    trainee = services.get_trainee(principal, trainee_id)
    query = db.select(Invitation).where(Invitation.trainee_id == trainee.id)
    return page(query, Invitation.created_at, Invitation.id, args)
