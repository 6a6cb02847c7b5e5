"""R15: software to install on the site PCs for a group, asked by the organisation at least
5 weeks before the group's start and validated by the Région at least 15 days before; late
requests and unvalidated software are flagged on the group and at the site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.auth import Principal
from core.clock import local_day
from core.errors import Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Role
from sites import rules
from sites.models import SoftwareRequest
from sites.services import get_site, scope_to
from training import access
from training.models import Group


@dataclass(frozen=True)
class FlaggedRequest:
    request: SoftwareRequest
    group: Group
    flags: rules.SoftwareFlags
    request_deadline: Any
    decision_deadline: Any


def request_software(actor: Principal, group_id: str, data: dict[str, Any]) -> SoftwareRequest:
    """The organisation lists the software its group needs at a site (R15)."""
    if not actor.has_role(Role.ORG_ADMIN):
        raise Forbidden("Seul le référent de l'organisme demande des logiciels.")
    group = db.session.scalar(access.visible_groups(actor).where(Group.id == group_id))
    if group is None:
        raise NotFound("Ce groupe est introuvable.", code="group_not_found")
    site = get_site(data["site_id"])
    software = [s.strip() for s in data["software"] if s and s.strip()]
    if not software:
        raise InvalidInput("Indiquez au moins un logiciel.", code="software_required", rule="R15")
    request = SoftwareRequest(
        organisation_id=group.organisation_id,
        group_id=group.id,
        site_id=site.id,
        software=software,
        requested_by_id=actor.id,
    )
    db.session.add(request)
    db.session.flush()
    return request


def decide(
    actor: Principal, request_id: str, data: dict[str, Any], now: datetime
) -> SoftwareRequest:
    """The Région validates or refuses a request (R15)."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région valide les logiciels des sites.")
    request = db.session.get(SoftwareRequest, request_id)
    if request is None:
        raise NotFound("Cette demande est introuvable.", code="request_not_found")
    reason = data.get("reason") or ""
    rules.check_decision(request.status, data["decision"], reason)
    request.status = data["decision"]
    request.decided_at, request.decided_by_id = now, actor.id
    request.decision_reason = reason.strip()[:500] or None
    db.session.flush()
    return request


def flagged(
    actor: Principal, now: datetime, *, group_id: str | None = None, site_id: str | None = None
) -> list[FlaggedRequest]:
    """Requests the actor may see, each with R15's flags (newest first)."""
    query = scope_to(
        actor,
        select(SoftwareRequest, Group).join(Group, Group.id == SoftwareRequest.group_id),
        SoftwareRequest.organisation_id,
        SoftwareRequest.site_id,
    )
    if group_id:
        query = query.where(SoftwareRequest.group_id == group_id)
    if site_id:
        query = query.where(SoftwareRequest.site_id == site_id)
    today = local_day(now)
    out = []
    for request, group in db.session.execute(query.order_by(SoftwareRequest.created_at.desc())):
        start = group.first_day
        flags = rules.software_flags(
            start,
            local_day(request.created_at),
            request.status,
            local_day(request.decided_at) if request.decided_at else None,
            today,
        )
        out.append(
            FlaggedRequest(
                request, group, flags, rules.request_deadline(start), rules.decision_deadline(start)
            )
        )
    return out
