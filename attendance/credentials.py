"""What a sign-in or sign-out request carries, and what it proves: the phone's QR scan or a
personal code, the session it names, the trainee's path in its group (one query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from attendance import rules
from attendance.models import SessionParticipant, Signature, SignInCode, TrainingSession
from core.auth import Principal, principal_for_device
from core.errors import Conflict, Forbidden, Gone, InvalidInput, Unauthenticated
from core.extensions import connection, db
from core.models import Invitation, Role, Trainee
from core.services import code_digest
from training.models import Enrolment


@dataclass(frozen=True)
class Settings:
    """Signing settings from configuration."""

    margin_min: int = 15
    rotate_s: int = 15
    grace_s: float = 5.0
    sign_out_grace_min: int = 30
    secret_key: str = ""
    base_url: str = ""


@dataclass(frozen=True)
class Device:
    """What the request tells about the signing device and network (no GPS, no biometrics)."""

    user_agent: str
    ip: str | None

    def facts(self) -> dict[str, Any]:
        return {"ua": self.user_agent[:300], "ip": self.ip}


@dataclass(frozen=True)
class Credential:
    """What a sign-in or sign-out request carries: a QR token (with a trainee) or a code."""

    qr: str | None = None
    code: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class SessionFacts:
    """What signing needs of a session and of the trainee's path in its group (one query)."""

    id: str
    organisation_id: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime | None
    qr_key: str | None
    site_id: str | None
    entry_date: date | None
    exit_date: date | None
    chain_length: int
    chain_head: str
    whole_group: bool
    listed: str | None  # the trainee, when the session lists its participants
    first_name: str | None  # the trainee's, for the live screen
    last_name: str | None
    device_ok: str | None  # the device binding still stands (when one was named)

    @property
    def trainee_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.first_name else ""

    def is_enrolled(self) -> bool:
        """The trainee takes part: their path in the group covers the session's (Paris) day,
        and the session is for the whole group or lists them."""
        day = rules.local_day(self.starts_at)
        if self.entry_date is None or self.entry_date > day:
            return False
        if not self.whole_group and self.listed is None:
            return False
        return self.exit_date is None or self.exit_date >= day


_SESSIONS = cast(Table, TrainingSession.__table__)
_ENROLMENTS = cast(Table, Enrolment.__table__)
_TRAINEES = cast(Table, Trainee.__table__)
_INVITATIONS = cast(Table, Invitation.__table__)
_PARTICIPANTS = cast(Table, SessionParticipant.__table__)
# Built once: building a statement and its cache key costs more than running it. One query
# gives the session, the ledger head, the trainee's path and name, and (for a phone) whether
# its binding still stands.
FACTS = (
    select(
        _SESSIONS.c.id,
        _SESSIONS.c.organisation_id,
        _SESSIONS.c.kind,
        _SESSIONS.c.status,
        _SESSIONS.c.starts_at,
        _SESSIONS.c.ends_at,
        _SESSIONS.c.closed_at,
        _SESSIONS.c.qr_key,
        _SESSIONS.c.site_id,
        _ENROLMENTS.c.entry_date,
        _ENROLMENTS.c.exit_date,
        _SESSIONS.c.chain_length,
        _SESSIONS.c.chain_head,
        _SESSIONS.c.whole_group,
        _PARTICIPANTS.c.trainee_id.label("listed"),
        _TRAINEES.c.first_name,
        _TRAINEES.c.last_name,
        _INVITATIONS.c.id.label("device_ok"),
    )
    .select_from(_SESSIONS)
    .outerjoin(
        _ENROLMENTS,
        (_ENROLMENTS.c.group_id == _SESSIONS.c.group_id)
        & (_ENROLMENTS.c.trainee_id == bindparam("trainee_id")),
    )
    .outerjoin(
        _PARTICIPANTS,
        (_PARTICIPANTS.c.session_id == _SESSIONS.c.id)
        & (_PARTICIPANTS.c.trainee_id == bindparam("trainee_id")),
    )
    .outerjoin(_TRAINEES, _TRAINEES.c.id == bindparam("trainee_id"))
    .outerjoin(
        _INVITATIONS,
        (_INVITATIONS.c.id == bindparam("invitation_id"))
        & (_INVITATIONS.c.trainee_id == bindparam("trainee_id"))
        & _INVITATIONS.c.revoked_at.is_(None),
    )
    .where(_SESSIONS.c.id == bindparam("session_id"))
)


def load_facts(
    session_id: str, trainee_id: str, invitation_id: str | None = None
) -> SessionFacts | None:
    params = {"session_id": session_id, "trainee_id": trainee_id, "invitation_id": invitation_id}
    row = connection().execute(FACTS, params).first()
    return SessionFacts(**row._mapping) if row else None


def resolve(
    actor: Principal | None,
    cred: Credential,
    now: datetime,
    cfg: Settings,
    kind: str,
    device_claim: tuple[str, str] | None = None,
) -> tuple[SessionFacts, str, str, str]:
    """Check the credential and the session; answer (session, trainee id, method, channel).

    `device_claim` (trainee id, invitation id) comes from a verified bearer whose binding was
    not looked up yet: the one query below checks it with everything else.
    """
    invitation_id, first_use = None, None
    if cred.qr:
        trainee_id, invitation_id = _qr_signer(actor, device_claim)
        session_id, method = rules.parse_qr_token(cred.qr)[0], "qr"
    elif cred.code:
        session_id, trainee_id, first_use = _by_code(cred.code, now, cfg, kind)
        method = "kiosk" if actor and actor.has_role(Role.SITE_STAFF) else "code"
    else:
        raise InvalidInput("Envoyez un QR code (« qr ») ou un code personnel (« code »).")
    facts = load_facts(session_id, trainee_id, invitation_id)
    if invitation_id is not None:
        _check_binding(facts, trainee_id, invitation_id)
    if cred.qr:
        _check_qr(facts, cred.qr, now, cfg)
    assert facts is not None  # noqa: S101 - a code's session exists (foreign key)
    if cred.session_id and cred.session_id != facts.id:
        raise Conflict("Ce code est celui d'une autre séance.", code="wrong_session")
    if method == "kiosk" and actor is not None:
        _check_kiosk_site(facts, actor.site_id)
    if first_use is not None:
        _check_same_half(facts, first_use, now)
    if kind == "sign_out":
        rules.check_can_sign_out(
            facts.status,
            now,
            facts.starts_at,
            facts.ends_at,
            facts.closed_at,
            cfg.margin_min,
            cfg.sign_out_grace_min,
        )
    else:
        rules.check_can_sign(facts.status, now, facts.starts_at, facts.ends_at, cfg.margin_min)
    if not facts.is_enrolled():
        raise Forbidden(
            "Vous ne faites pas partie des participants de cette séance.", code="not_enrolled"
        )
    site = actor.site_id if method == "kiosk" and actor else None
    return facts, trainee_id, method, channel_of(facts, site)


def _qr_signer(
    actor: Principal | None, device_claim: tuple[str, str] | None
) -> tuple[str, str | None]:
    """Who scans: a phone's verified claim, or a trainee already loaded (cookie pages)."""
    if device_claim is not None:
        return device_claim
    if actor is None or not actor.is_trainee:
        raise Forbidden(
            "Activez d'abord votre téléphone avec votre code d'invitation.",
            code="trainee_required",
        )
    return actor.id, None


def _check_binding(facts: SessionFacts | None, trainee_id: str, invitation_id: str) -> None:
    """The phone's binding still stands (revoked → 401), as for any other request."""
    if facts is not None:
        bound = facts.device_ok is not None
    else:  # unknown session: ask on its own, the answer must not depend on the QR
        bound = principal_for_device(trainee_id, invitation_id) is not None
    if not bound:
        raise Unauthenticated("Ce compte ou cet appareil n'est plus autorisé.", code="revoked")


def _check_qr(facts: SessionFacts | None, token: str, now: datetime, cfg: Settings) -> None:
    """The token's MAC with the session's key (forged → 400), then its window (→ 410)."""
    if facts is None or facts.qr_key is None:
        raise InvalidInput("Ce QR code n'est pas valide.", code="qr_invalid")
    rules.check_qr_token(
        token, bytes.fromhex(facts.qr_key), now.timestamp(), cfg.rotate_s, cfg.grace_s
    )


def _by_code(
    code: str, now: datetime, cfg: Settings, kind: str
) -> tuple[str, str, datetime | None]:
    """Claim the code for this kind of record; answer (session, trainee, its first use).

    A code serves one trainee, one session, one half-day: once for the arrival, once for the
    departure. Its first use (either) fixes the half-day; typed again in that half it answers
    the record it made (idempotent), in the other half it is refused (`_check_same_half`)."""
    digest = code_digest(cfg.secret_key, code)
    record = db.session.scalar(select(SignInCode).where(SignInCode.code_digest == digest))
    if record is None:
        raise InvalidInput("Ce code est inconnu. Vérifiez-le.", code="invalid_code")
    if now >= record.expires_at:
        raise Gone("Ce code a expiré.", code="code_expired")
    uses = [t for t in (record.used_at, record.used_out_at) if t is not None]
    column = SignInCode.used_at if kind == "sign_in" else SignInCode.used_out_at
    claimed = db.session.execute(
        update(SignInCode)
        .where(SignInCode.id == record.id, column.is_(None))
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1 and not _already(record.session_id, record.trainee_id, kind):  # type: ignore[attr-defined]
        raise Conflict("Ce code a déjà servi.", code="code_used")
    return record.session_id, record.trainee_id, min(uses) if uses else None


def _already(session_id: str, trainee_id: str, kind: str) -> bool:
    """A used code may be typed again: it then answers the first record (idempotent)."""
    return (
        db.session.scalar(
            select(Signature.id).where(
                Signature.session_id == session_id,
                Signature.signer_id == trainee_id,
                Signature.kind == kind,
            )
        )
        is not None
    )


def _check_same_half(facts: SessionFacts, first_use: datetime, now: datetime) -> None:
    """A personal code serves the half-day of its first use only: the afternoon of a session
    across 13:00 needs a new code (one signature per trainee, session and half-day)."""
    halves = rules.half_days(facts.starts_at, facts.ends_at)
    used_in = rules.half_day_for(halves, first_use).name
    if rules.half_day_for(halves, now).name != used_in:
        when = "du matin" if used_in == "am" else "de l'après-midi"
        raise Conflict(
            f"Ce code a servi pour la demi-journée {when} : demandez un nouveau code "
            "à votre formateur pour celle-ci.",
            code="code_used",
        )


def _check_kiosk_site(facts: SessionFacts, site_id: str | None) -> None:
    """A site's kiosk signs the sessions held at that site and the distance sessions (a
    trainee followed them from the site's PC: booked there, or accepted and flagged to the
    organisation, sites.kiosk.kiosk_sign_in); never a session held elsewhere: a signature
    must never name a site where it was not given."""
    if site_id is None or (facts.site_id is not None and facts.site_id != site_id):
        raise Forbidden(
            "Cette séance n'a pas lieu sur ce site : le stagiaire émarge là où elle se tient.",
            code="wrong_site",
        )
    if facts.site_id is None and facts.kind == "regroupement":
        raise Forbidden(
            "Cette séance n'a pas lieu sur ce site : c'est un regroupement en salle, le "
            "stagiaire émarge là où il se tient.",
            code="wrong_site",
        )


def channel_of(session: TrainingSession | SessionFacts, kiosk_site: str | None) -> str:
    """Where the signature was given: the kiosk's site, the session's site, centre or home."""
    if kiosk_site:
        return f"site:{kiosk_site}"
    if session.site_id:
        return f"site:{session.site_id}"
    return "centre" if session.kind == "regroupement" else "home"
