"""Use cases on access sites: registering and editing them, the Région's CSV import, closures,
and who may manage which site."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import Select, false, select

from core.auth import Principal
from core.errors import DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from core.extensions import db
from core.models import Role, User
from core.public_holidays import french_holidays
from core.signals import site_known
from sites import rules
from sites.models import Site, SiteClosure


@site_known.connect
def site_exists(site_id: str) -> bool:
    """Core asks whether a staff account may name this site."""
    return db.session.get(Site, site_id) is not None


def visible_sites() -> Select:
    """Every signed-in role sees the sites (API.md: GET /api/v1/sites)."""
    return select(Site)


def scope_to(
    principal: Principal, query: Select, organisation_column: Any, site_column: Any
) -> Select:
    """The rows of `query` the principal may see: the Région all, an organisation's referent
    or finance its own, a site's staff those of their site, anyone else none."""
    if principal.has_role(Role.REGION):
        return query
    if principal.has_role(Role.ORG_ADMIN, Role.FINANCE):
        return query.where(organisation_column == principal.organisation_id)
    if principal.has_role(Role.SITE_STAFF) and principal.site_id:
        return query.where(site_column == principal.site_id)
    return query.where(false())


def get_site(site_id: str) -> Site:
    site = db.session.get(Site, site_id)
    if site is None:
        raise NotFound("Ce site d'accès est introuvable.", code="site_not_found")
    return site


def can_manage(principal: Principal, site: Site) -> bool:
    """The Région manages every site; a site's staff their own."""
    return principal.has_role(Role.REGION) or (
        principal.has_role(Role.SITE_STAFF) and principal.site_id == site.id
    )


def managed_site(principal: Principal, site_id: str) -> Site:
    """A site the principal manages; another site answers 404 like an unknown one."""
    site = get_site(site_id)
    if not can_manage(principal, site):
        raise NotFound("Ce site d'accès est introuvable.", code="site_not_found")
    return site


def lock_site(site_id: str) -> Site:
    """Lock a site's row until commit (SELECT … FOR UPDATE) and read it again: every write
    that counts its seats or moves its waitlist waits for the one before (R14)."""
    site = db.session.scalar(
        select(Site)
        .where(Site.id == site_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if site is None:
        raise NotFound("Ce site d'accès est introuvable.", code="site_not_found")
    return site


def _site_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = dict(data)
    if "department" in fields:
        rules.check_department(fields["department"])
    if "opening_hours" in fields:
        fields["opening_hours"] = rules.normalize_hours(fields["opening_hours"])
    if "equipment" in fields:
        fields["equipment"] = [e.strip() for e in fields["equipment"] if e and e.strip()]
    return fields


def create_site(actor: Principal, data: dict[str, Any]) -> Site:
    """The Région registers an Occitanie e-formation access site."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région enregistre les sites d'accès.")
    fields = _site_fields(data)
    fields.setdefault("equipment", list(rules.DEFAULT_EQUIPMENT))
    site = Site(**fields)
    db.session.add(site)
    db.session.flush()
    return site


def update_site(actor: Principal, site_id: str, data: dict[str, Any]) -> Site:
    """The Région edits a site (name, address, seats, hours, equipment)."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région modifie les sites d'accès.")
    site = lock_site(site_id)
    for name, value in _site_fields(data).items():
        setattr(site, name, value)
    db.session.flush()
    return site


def site_staff(site_id: str) -> list[User]:
    """The staff accounts of a site."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.site_id == site_id, User.role == Role.SITE_STAFF)
            .order_by(User.last_name)
        )
    )


# CSV import


MAX_IMPORT_LINES = 2000


def import_sites(actor: Principal, text: str) -> list[Site]:
    """The Région imports a list of sites: every line is checked first; one refused line and
    nothing is imported (422 `csv_rejected` with each refused line and its reason)."""
    if not actor.has_role(Role.REGION):
        raise Forbidden("Seule la Région importe des sites d'accès.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=_delimiter(text))
    rows, rejected = [], []
    seen = {(s.name.lower(), s.city.lower()) for s in db.session.scalars(select(Site))}
    for line, row in enumerate(reader, start=2):
        if line > MAX_IMPORT_LINES + 1:
            raise InvalidInput(
                f"Au plus {MAX_IMPORT_LINES} lignes par import.", code="csv_too_long"
            )
        try:
            fields = rules.site_row(row)
        except DomainError as exc:
            rejected.append({"line": line, "reason": exc.message})
            continue
        key = (fields["name"].lower(), fields["city"].lower())
        if key in seen:
            rejected.append({"line": line, "reason": "Ce site (même nom, même ville) existe déjà."})
            continue
        seen.add(key)
        rows.append(fields)
    if rejected or not rows:
        raise RuleViolation(
            "Import refusé : aucune ligne n'a été importée. Corrigez les lignes signalées.",
            code="csv_rejected",
            details={
                "rejected": rejected
                or [{"line": 1, "reason": "Le fichier ne contient aucun site."}]
            },
        )
    sites = [Site(**fields) for fields in rows]
    db.session.add_all(sites)
    db.session.flush()
    return sites


def _delimiter(text: str) -> str:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


# Closures


def closures_of(site_ids: list[str], first: date, last: date) -> dict[str, dict[date, str]]:
    """Each site's closure days between two days."""
    found: dict[str, dict[date, str]] = {site_id: {} for site_id in site_ids}
    for closure in db.session.scalars(
        select(SiteClosure).where(
            SiteClosure.site_id.in_(site_ids), SiteClosure.day >= first, SiteClosure.day <= last
        )
    ):
        found[closure.site_id][closure.day] = closure.reason
    return found


def holidays_between(first: date, last: date) -> dict[date, str]:
    """French public holidays between two days."""
    days: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        days.update(french_holidays(year))
    return days
