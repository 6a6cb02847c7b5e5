"""Use cases on access sites."""

from __future__ import annotations

from typing import Any

from core.auth import Principal
from core.errors import Forbidden
from core.extensions import db
from core.models import Role
from core.signals import site_known
from sites.models import Site


@site_known.connect
def site_exists(site_id: str) -> bool:
    """Core asks whether a staff account may name this site."""
    return db.session.get(Site, site_id) is not None


def create_site(actor: Principal, data: dict[str, Any]) -> Site:
    """The Région registers an Occitanie e-formation access site."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région enregistre les sites d'accès.")
    site = Site(**data)
    db.session.add(site)
    db.session.flush()
    return site
