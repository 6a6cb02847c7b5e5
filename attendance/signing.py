"""Use cases of the émargement: open a session, show its QR, co-sign, codes, sign in and out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from attendance import journal, participants, rules
from attendance.credentials import (
    Credential,
    Device,
    SessionFacts,
    Settings,
    channel_of,
    load_facts,
    resolve,
)
from attendance.models import Signature, SignInCode, TrainingSession
from attendance.services import get_session
from attendance.signals import session_settled
from core.auth import Principal
from core.errors import Conflict, Forbidden, NotFound
from core.extensions import db
from core.models import Role
from core.services import CODE_ALPHABET, code_digest
from sites import kiosk as site_kiosk

CODE_LENGTH = 8


@dataclass(frozen=True)
class Outcome:
    """A use case's record, and whether this request created it."""

    signature: Signature
    created: bool
    name: str = ""  # the signer's name, when the use case read it anyway


def require_trainer(actor: Principal, session: TrainingSession) -> None:
    """Only a trainer of the session's group, or its substitute, runs the session."""
    if not (actor.has_role(Role.TRAINER) and session.is_run_by(actor.id)):
        raise Forbidden("Seul un formateur du groupe peut faire cela.")


def open_session(
    actor: Principal, session_id: str, now: datetime, cfg: Settings
) -> TrainingSession:
    """The trainer opens signing; a fresh QR key is drawn."""
    session = get_session(actor, session_id)
    require_trainer(actor, session)
    rules.check_can_open(session.status, now, session.starts_at, session.ends_at, cfg.margin_min)
    session.status, session.opened_at, session.opened_by_id = "open", now, actor.id
    session.qr_key = secrets.token_hex(32)
    db.session.flush()
    journal.append(session.id, journal.session_entry(session, actor.id, "opened", now))
    return session


def qr_payload(actor: Principal, session_id: str, now: datetime, cfg: Settings) -> dict[str, Any]:
    """The URL to show as a QR code now: its secret, after `#`, is bound to this window."""
    session = get_session(actor, session_id)
    if not (actor.has_role(Role.SITE_STAFF) or session.is_run_by(actor.id)):
        raise Forbidden("Seuls le formateur et l'animateur du site affichent le QR code.")
    if not session.is_open() or session.qr_key is None:
        raise Conflict("Ouvrez d'abord la séance.", code="session_not_open")
    window = rules.qr_window(now.timestamp(), cfg.rotate_s)
    token = rules.make_qr_token(session.id, window, bytes.fromhex(session.qr_key))
    expires = datetime.fromtimestamp((window + 1) * cfg.rotate_s, tz=now.tzinfo)
    return {
        "payload": f"{cfg.base_url}/emarger#{token}",
        "expires_at": expires,
        "rotates_every_s": cfg.rotate_s,
        "session_id": session.id,
    }


def sign_trainer(
    actor: Principal,
    session_id: str,
    now: datetime,
    device: Device,
    cfg: Settings,
    *,
    look_first: bool = True,
) -> Outcome:
    """The trainer co-signs the session (once per half-day)."""
    session = get_session(actor, session_id)
    require_trainer(actor, session)
    rules.check_can_sign(session.status, now, session.starts_at, session.ends_at, cfg.margin_min)
    half = _half(session, now)
    return _record_once(
        session,
        Signature(
            kind="sign_in",
            signer_kind="trainer",
            signer_id=actor.id,
            half_day=half,
            at=now,
            method="trainer",
            channel=channel_of(session, None),
            device=device.facts(),
            author_id=actor.id,
        ),
        look_first,
    )


def issue_codes(
    actor: Principal, session_id: str, trainee_ids: list[str], now: datetime, cfg: Settings
) -> list[dict[str, Any]]:
    """Single-use personal codes for trainees without a phone; valid until the session ends."""
    session = get_session(actor, session_id)
    allowed = actor.has_role(Role.ORG_ADMIN) or session.is_run_by(actor.id)
    if not allowed or actor.organisation_id != session.organisation_id:
        raise Forbidden("Seuls le formateur du groupe et le référent créent des codes.")
    if now >= session.ends_at:
        raise Conflict("La séance est terminée.", code="signing_closed")
    taking_part = participants.participants_among(session, trainee_ids)
    issued = []
    for trainee_id in trainee_ids:
        if trainee_id not in taking_part:
            raise NotFound("Stagiaire introuvable parmi les participants.", code="not_enrolled")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        db.session.add(
            SignInCode(
                organisation_id=session.organisation_id,
                session_id=session.id,
                trainee_id=trainee_id,
                code_digest=code_digest(cfg.secret_key, code),
                expires_at=session.ends_at,
                created_by_id=actor.id,
            )
        )
        issued.append(
            {
                "trainee_id": trainee_id,
                "code": f"{code[:4]}-{code[4:]}",
                "expires_at": session.ends_at,
            }
        )
    db.session.flush()
    return issued


def sign_in(
    actor: Principal | None,
    cred: Credential,
    now: datetime,
    device: Device,
    cfg: Settings,
    *,
    look_first: bool = True,
    device_claim: tuple[str, str] | None = None,
) -> Outcome:
    """Record a trainee's presence once per half-day; a repeat returns the first record."""
    session, trainee_id, method, channel = resolve(actor, cred, now, cfg, "sign_in", device_claim)
    half = _half(session, now)
    entry = _trainee_entry("sign_in", actor, trainee_id, half, now, method, channel, device)
    outcome = _record_once(session, entry, look_first)
    if method == "kiosk" and actor is not None and actor.site_id and session.site_id is None:
        # A distance session followed from a site's PC: its booking is checked in, or the
        # sign-in without one is flagged to the organisation (issue 10, item 5).
        site_kiosk.kiosk_sign_in(
            actor.site_id, session.id, trainee_id, session.organisation_id, now
        )
    return Outcome(outcome.signature, outcome.created, session.trainee_name)


def sign_in_in_class(
    actor: Principal, session_id: str, now: datetime, device: Device, cfg: Settings
) -> Outcome:
    """A trainee's timely answer to a presence check of the virtual class: the same record
    as a QR scan (once per half-day, idempotent, chained), with `method: "virtual_class"`.
    The caller (virtualclass) has checked that the answer came in time (R16)."""
    if not actor.is_trainee:
        raise Forbidden("Seul un stagiaire répond à un appel de présence.", code="trainee_required")
    facts = load_facts(session_id, actor.id)
    if facts is None:
        raise NotFound("Séance introuvable.")
    rules.check_can_sign(facts.status, now, facts.starts_at, facts.ends_at, cfg.margin_min)
    if not facts.is_enrolled():
        raise Forbidden(
            "Vous ne faites pas partie des participants de cette séance.", code="not_enrolled"
        )
    half = _half(facts, now)
    channel = channel_of(facts, None)
    entry = _trainee_entry("sign_in", actor, actor.id, half, now, "virtual_class", channel, device)
    outcome = _record_once(facts, entry, look_first=True)
    return Outcome(outcome.signature, outcome.created, facts.trainee_name)


def _trainee_entry(
    kind: str,
    actor: Principal | None,
    trainee_id: str,
    half: str,
    now: datetime,
    method: str,
    channel: str,
    device: Device,
) -> Signature:
    """A trainee's arrival or departure; staff who typed it for them (a kiosk) is its author."""
    return Signature(
        kind=kind,
        signer_kind="trainee",
        signer_id=trainee_id,
        half_day=half,
        at=now,
        method=method,
        channel=channel,
        device=device.facts(),
        author_id=actor.id if actor and not actor.is_trainee else None,
    )


def sign_out(
    actor: Principal | None,
    cred: Credential,
    now: datetime,
    device: Device,
    cfg: Settings,
    *,
    look_first: bool = True,
) -> tuple[Signature, Signature]:
    """Record the end of a trainee's presence (needed for autoformation, R7), in the half-day
    it happens: one signature per half-day, so the afternoon needs its own arrival first."""
    session, trainee_id, method, channel = resolve(actor, cred, now, cfg, "sign_out")
    half = _half(session, now)
    signed = _find(session.id, trainee_id, half, "sign_in")
    if signed is None and _latest_sign_in(session.id, trainee_id) is not None:
        raise Conflict(
            "Émargez d'abord votre présence de cette demi-journée, puis votre départ.",
            code="sign_in_this_half_first",
        )
    if signed is None:
        raise Conflict("Émargez d'abord votre arrivée.", code="not_signed_in")
    entry = _trainee_entry("sign_out", actor, trainee_id, half, now, method, channel, device)
    outcome = _record_once(session, entry, look_first)
    if session.status == "closed" and outcome.created:  # a departure after the close (R7)
        db.session.flush()
        session_settled.send(db.session.get_one(TrainingSession, session.id))
    return signed, outcome.signature


def _half(session: TrainingSession | SessionFacts, now: datetime) -> str:
    return rules.half_day_for(rules.half_days(session.starts_at, session.ends_at), now).name


def _find(session_id: str, signer_id: str, half_day: str, kind: str) -> Signature | None:
    return db.session.scalar(
        select(Signature).where(
            Signature.session_id == session_id,
            Signature.signer_id == signer_id,
            Signature.half_day == half_day,
            Signature.kind == kind,
        )
    )


def _latest_sign_in(session_id: str, signer_id: str) -> Signature | None:
    return db.session.scalar(
        select(Signature)
        .where(
            Signature.session_id == session_id,
            Signature.signer_id == signer_id,
            Signature.kind == "sign_in",
        )
        .order_by(Signature.seq.desc())
        .limit(1)
    )


def _record_once(
    session: TrainingSession | SessionFacts, entry: Signature, look_first: bool
) -> Outcome:
    """Append unless the same signer already has this kind of record for this half-day.

    The unique index decides under concurrency: a losing insert raises IntegrityError, which
    the caller answers by rolling back and calling again (the check below then finds it).
    """
    if look_first:
        existing = _find(session.id, entry.signer_id, entry.half_day, entry.kind)
        if existing is not None:
            return Outcome(existing, False)
    entry.organisation_id = session.organisation_id
    head = None
    if isinstance(session, SessionFacts):
        head = (session.chain_length, session.chain_head)
    require_open = entry.kind == "sign_in"  # a close may have landed since the session was read
    return Outcome(journal.append(session.id, entry, head, require_open=require_open), True)
