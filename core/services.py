"""Account use cases: organisations, staff users, login, trainee invitations."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update

from core.auth import Principal
from core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, Unauthenticated
from core.extensions import db
from core.models import ORG_ROLES, Invitation, Organisation, Role, Trainee, User
from core.passwords import MIN_PASSWORD_LENGTH, dummy_verify, hash_password, verify_password
from core.signals import is_known_site

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed on a phone
CODE_LENGTH = 10  # 50 bits: guessing is hopeless under the attempt limit


def create_organisation(actor: Principal, name: str, siret: str) -> Organisation:
    """The Région registers a training organisation (a tenant)."""
    if not actor.has_role(Role.REGION):
        raise Forbidden()
    if not (siret.isdigit() and len(siret) == 14):
        raise InvalidInput("Le SIRET compte 14 chiffres.", code="invalid_siret")
    if db.session.scalar(select(Organisation.id).where(Organisation.siret == siret)):
        raise Conflict("Un organisme porte déjà ce SIRET.", code="duplicate_siret")
    organisation = Organisation(name=name.strip(), siret=siret)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def get_organisation(actor: Principal, organisation_id: str) -> Organisation:
    """An organisation the actor may see (the Région, or its own members)."""
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not (
        actor.has_role(Role.REGION) or actor.organisation_id == organisation.id
    ):
        raise NotFound("Organisme introuvable.")
    return organisation


def _check_user_scope(actor: Principal, role: str, organisation_id: str | None) -> str | None:
    """Who may create whom: the Région anyone, an org admin its own trainers, finance, admins."""
    if actor.has_role(Role.REGION):
        if role in ORG_ROLES and not organisation_id:
            raise InvalidInput("Indiquez l'organisme de ce compte.", code="organisation_required")
        if organisation_id and db.session.get(Organisation, organisation_id) is None:
            raise NotFound("Organisme introuvable.")
        return organisation_id if role in ORG_ROLES else None
    if actor.has_role(Role.ORG_ADMIN) and role in ORG_ROLES:
        if organisation_id not in (None, actor.organisation_id):
            raise NotFound("Organisme introuvable.")
        return actor.organisation_id
    raise Forbidden("Vous ne pouvez pas créer un compte de ce rôle.")


def create_user(actor: Principal, data: dict[str, Any], argon2: dict[str, int]) -> User:
    """Create a staff account within the actor's reach."""
    role = data["role"]
    if role == Role.TRAINEE:
        raise InvalidInput(
            "Les stagiaires se créent par POST /api/v1/trainees.", code="invalid_role"
        )
    organisation_id = _check_user_scope(actor, role, data.get("organisation_id"))
    site_id = data.get("site_id") if role == Role.SITE_STAFF else None
    if role == Role.SITE_STAFF and not site_id:
        raise InvalidInput("Indiquez le site de ce compte.", code="site_required")
    return add_user(
        email=data["email"],
        password=data["password"],
        role=role,
        argon2=argon2,
        first_name=data["first_name"],
        last_name=data["last_name"],
        organisation_id=organisation_id,
        site_id=site_id,
    )


def add_user(
    *, email: str, password: str, role: str, argon2: dict[str, int], **fields: Any
) -> User:
    """Store a new staff account with a hashed password (also used by the CLI)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Le mot de passe compte au moins {MIN_PASSWORD_LENGTH} caractères.",
            code="weak_password",
        )
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("Un compte existe déjà avec cette adresse.", code="duplicate_email")
    if fields.get("site_id") and not is_known_site(fields["site_id"]):
        raise NotFound("Site introuvable.")
    user = User(email=email, password_hash=hash_password(password, argon2), role=role, **fields)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str, argon2: dict[str, int]) -> User:
    """The active staff account with these credentials, or 401 (same answer for both faults)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        dummy_verify(argon2)
    elif user.is_active and verify_password(user.password_hash, password, argon2):
        return user
    raise Unauthenticated("Adresse ou mot de passe incorrect.", code="invalid_credentials")


def code_digest(secret_key: str, code: str) -> str:
    """Keyed digest of an invitation code: the code itself is never stored."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(secret_key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    code: str


def issue_invitation(
    actor: Principal, trainee: Trainee, *, now: datetime, ttl_s: int, secret_key: str
) -> IssuedInvitation:
    """A new personal code for a trainee; earlier codes not yet used stop working."""
    for pending in db.session.scalars(
        select(Invitation).where(
            Invitation.trainee_id == trainee.id,
            Invitation.redeemed_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        pending.revoked_at = now
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation = Invitation(
        trainee_id=trainee.id,
        organisation_id=trainee.organisation_id,
        code_digest=code_digest(secret_key, code),
        expires_at=now + timedelta(seconds=ttl_s),
        created_by_id=actor.id,
    )
    db.session.add(invitation)
    db.session.flush()
    return IssuedInvitation(invitation, format_code(code))


def format_code(code: str) -> str:
    """Codes are shown in groups of five for reading aloud: ABCDE-FGHJK."""
    return f"{code[:5]}-{code[5:]}"


def redeem_invitation(code: str, *, now: datetime, secret_key: str, device: str) -> Invitation:
    """Bind this device to the invitation, once: later attempts are refused (409)."""
    digest = code_digest(secret_key, code)
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_digest == digest))
    if invitation is None:
        raise NotFound("Ce code d'invitation est inconnu. Vérifiez-le.", code="invalid_code")
    if invitation.revoked_at:
        raise Gone(
            "Cette invitation a été annulée. Demandez-en une nouvelle.", code="invitation_revoked"
        )
    if invitation.redeemed_at:
        raise Conflict(
            "Cette invitation a déjà servi sur un autre appareil. Demandez-en une nouvelle "
            "à votre organisme.",
            code="invitation_used",
        )
    if invitation.is_expired(now):
        raise Gone(
            "Cette invitation a expiré. Demandez-en une nouvelle.", code="invitation_expired"
        )
    claimed: CursorResult = db.session.execute(  # type: ignore[assignment]
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.redeemed_at.is_(None))
        .values(redeemed_at=now, device_label=device[:200])
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # a concurrent redemption won the race
        raise Conflict(
            "Cette invitation a déjà servi sur un autre appareil.", code="invitation_used"
        )
    db.session.refresh(invitation)
    return invitation


def revoke_invitation(actor: Principal, invitation_id: str, *, now: datetime) -> Invitation:
    """Unbind a trainee's device: its tokens stop working at once."""
    invitation = db.session.get(Invitation, invitation_id)
    if (
        invitation is None
        or not actor.has_role(Role.ORG_ADMIN)
        or (invitation.organisation_id != actor.organisation_id)
    ):
        raise NotFound("Invitation introuvable.")
    if invitation.revoked_at is None:
        invitation.revoked_at = now
    db.session.flush()
    return invitation
