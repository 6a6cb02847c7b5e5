"""Use cases after signing: closing, absences, corrections, the attendance sheet, the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from attendance import journal, participants, projection, rules, sealing, seals
from attendance.credentials import channel_of
from attendance.models import CompanyPeriod, Signature, TrainingSession
from attendance.presence import TraineePresence, fold
from attendance.services import get_session
from attendance.signals import session_settled
from attendance.signing import require_trainer
from core.auth import Principal
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Role, Trainee
from training.models import Enrolment


def close_session(actor: Principal, session_id: str, now: datetime) -> list[Signature]:
    """Close signing: no more QR codes nor signatures, and enrolled trainees without one are
    recorded absent for each half-day that had started."""
    session = get_session(actor, session_id)
    require_trainer(actor, session)
    if not session.is_open():
        raise Conflict("Seule une séance ouverte peut être close.", code="session_not_open")
    session.status, session.closed_at, session.closed_by_id = "closed", now, actor.id
    db.session.flush()
    journal.append(session.id, journal.session_entry(session, actor.id, "closed", now))
    people = roster(session, now)
    absences = []
    for person in people:
        for state in person.halves:
            if state.status == "present" or state.half.start > now or state.reason is not None:
                continue
            absences.append(
                _append(
                    session,
                    actor,
                    person.trainee_id,
                    state.half.name,
                    kind="absence",
                    method="close",
                    justified=False,
                    at=now,
                )
            )
    settled(session)
    return absences


def record_absence(
    actor: Principal, session_id: str, data: dict[str, Any], now: datetime
) -> list[Signature]:
    """The trainer records an absence with its reason (before or after closing)."""
    session = get_session(actor, session_id)
    require_trainer(actor, session)
    person = _person(session, data["trainee_id"], now)
    entries = []
    for state in _halves_asked(person, data.get("half_day")):
        if state.status == "present":
            raise Conflict(
                "Ce stagiaire a émargé : faites une correction motivée.", code="already_present"
            )
        entries.append(
            _append(
                session,
                actor,
                person.trainee_id,
                state.half.name,
                kind="absence",
                method="trainer",
                reason=data["reason"],
                justified=data["justified"],
                at=now,
            )
        )
    settled(session)
    return entries


def correct(
    actor: Principal, session_id: str, data: dict[str, Any], now: datetime
) -> list[Signature]:
    """A motivated correction by the trainer or the org admin: a new entry, never an edit."""
    session = get_session(actor, session_id)
    allowed = actor.has_role(Role.ORG_ADMIN) or session.is_run_by(actor.id)
    if not allowed or actor.organisation_id != session.organisation_id:
        raise Forbidden("Seuls le formateur du groupe et le référent corrigent l'émargement.")
    if session.status == "planned":
        raise Conflict("La séance n'a pas encore été ouverte.", code="session_not_open")
    person = _person(session, data["trainee_id"], now)
    entries = [
        _append(
            session,
            actor,
            person.trainee_id,
            state.half.name,
            kind="correction",
            method="correction",
            action=data["action"],
            reason=data["reason"],
            justified=data.get("justified"),
            at=now,
        )
        for state in _halves_asked(person, data.get("half_day"))
    ]
    settled(session)
    return entries


def _append(
    session: TrainingSession, actor: Principal, trainee_id: str, half_day: str, **fields: Any
) -> Signature:
    entry = Signature(
        organisation_id=session.organisation_id,
        signer_kind="trainee",
        signer_id=trainee_id,
        half_day=half_day,
        channel=channel_of(session, None),
        device={},
        author_id=actor.id,
        **fields,
    )
    return journal.append(session.id, entry)


def _person(session: TrainingSession, trainee_id: str, now: datetime) -> TraineePresence:
    found = roster(session, now, [trainee_id])
    if not found:
        raise NotFound("Stagiaire introuvable parmi les participants.", code="not_enrolled")
    return found[0]


def _halves_asked(person: Any, half_day: str | None) -> list[Any]:
    states = [s for s in person.halves if half_day in (None, s.half.name)]
    if not states:
        raise InvalidInput(
            "Cette demi-journée n'existe pas pour cette séance.", code="invalid_half_day"
        )
    return states


def chained_state(session: TrainingSession) -> tuple[projection.SessionState, list[Any]]:
    """The session's facts replayed from its chain, and the chain's entries (in order): what
    hours are computed from, never the session's columns (a projection of the same)."""
    entries = list(
        db.session.execute(
            select(journal.SIGNATURES)
            .where(journal.SIGNATURES.c.session_id == session.id)
            .order_by(journal.SIGNATURES.c.seq)
        ).mappings()
    )
    return projection.replay(entries), entries


def roster(
    session: TrainingSession, now: datetime, only: list[str] | None = None
) -> list[TraineePresence]:
    """Each participant's presence in the session, replayed from the chain: its participants,
    times, kind and close as chained, and the people's signatures, absences, corrections."""
    state, entries = chained_state(session)
    return _roster(session, state, entries, only)


def _roster(
    session: TrainingSession,
    state: projection.SessionState,
    entries: list[Any],
    only: list[str] | None = None,
) -> list[TraineePresence]:
    if state.kind is None or state.starts_at is None or state.ends_at is None:
        return []  # no plan in the chain: nothing counts (ledger verify says why)
    if state.participants is None:
        query = participants.enrolled_on(session.group_id, rules.local_day(state.starts_at))
        trainee_ids = list(db.session.scalars(query.order_by(Enrolment.trainee_id)))
    else:
        trainee_ids = list(state.participants)
    if only is not None:
        trainee_ids = [t for t in trainee_ids if t in only]
    people = (dict(e) for e in entries if e["signer_kind"] == "trainee")
    halves = rules.half_days(state.starts_at, state.ends_at)
    return fold(
        trainee_ids, halves, people, synchronous=state.synchronous, closed_at=state.closed_at
    )


@dataclass(frozen=True)
class Sheet:
    """A session's attendance as its chain tells it: its replayed facts, its entries, each
    participant's presence, and whether it was held (SPEC.md, "held")."""

    state: projection.SessionState
    entries: list[Any]
    people: list[TraineePresence]
    held: bool


def sheet_of(session: TrainingSession) -> Sheet:
    state, entries = chained_state(session)
    people = _roster(session, state, entries)
    signed = sum(any(h.status == "present" and not h.attested for h in p.halves) for p in people)
    trainer_signed = any(e["signer_kind"] == "trainer" and e["kind"] == "sign_in" for e in entries)
    held = rules.is_held(
        state.synchronous,
        state.opened_at is not None,
        trainer_signed,
        signed,  # a signature, not a correction (SPEC.md, "held")
    )
    return Sheet(state, entries, people, held)


def session_attendance(actor: Principal, session_id: str, now: datetime) -> dict[str, Any]:
    """The session's attendance sheet: each enrolled trainee's presence and realised minutes."""
    session = get_session(actor, session_id)
    if actor.is_trainee or actor.has_role(Role.SITE_STAFF):
        raise Forbidden("Cette feuille d'émargement est réservée à l'organisme.")
    sheet = sheet_of(session)
    people = sheet.people
    names = dict(
        db.session.execute(
            select(Trainee.id, Trainee.first_name + " " + Trainee.last_name).where(
                Trainee.id.in_([p.trainee_id for p in people])
            )
        ).all()
    )
    for person in people:
        person.name = names.get(person.trainee_id, "")  # type: ignore[attr-defined]
    people.sort(key=lambda p: p.name)  # type: ignore[attr-defined]
    return {
        "session_id": session.id,
        "status": sheet.state.status,
        "held": sheet.held,
        "items": people,
    }


def settled(session: TrainingSession) -> None:
    """A closed session's facts changed (its close, an absence, a correction): the packages
    above keep what they derive from it (the Région's rollups) in the same transaction."""
    if session.status == "closed":
        db.session.flush()
        session_settled.send(session)


def trainer_signed_halves(session_id: str) -> set[str]:
    """The half-days the trainer has co-signed."""
    return set(
        db.session.scalars(
            select(Signature.half_day).where(
                Signature.session_id == session_id, Signature.signer_kind == "trainer"
            )
        )
    )


def verify_ledger(actor: Principal) -> sealing.Audit:
    """Recompute the ledger and check it against its seals: the whole region's for the Région,
    an organisation's for its admin."""
    query, periods = select(TrainingSession), select(CompanyPeriod)
    if not actor.has_role(Role.REGION):
        if not actor.has_role(Role.ORG_ADMIN):
            raise Forbidden()
        query = query.where(TrainingSession.organisation_id == actor.organisation_id)
        periods = periods.where(CompanyPeriod.organisation_id == actor.organisation_id)
    return sealing.audit(query, whole_region=actor.has_role(Role.REGION), periods=periods)


def list_seals(actor: Principal) -> dict[str, Any]:
    """The seals, with the public key that checks them. The Région sees every sealed session;
    an organisation's admin only its own, each with its audit path to the signed root."""
    if not actor.has_role(Role.REGION, Role.ORG_ADMIN):
        raise Forbidden()
    public = sealing.keys().public
    items = [seal.to_json() for seal in sealing.stored_seals()]
    if not actor.has_role(Role.REGION):
        own = set(
            db.session.scalars(
                select(TrainingSession.id).where(
                    TrainingSession.organisation_id == actor.organisation_id
                )
            )
        )
        items = [_own_sessions(item, own) for item in items]
    return {"items": items, "public_key": seals.public_pem(public) if public else None}


def _own_sessions(item: dict[str, Any], own: set[str]) -> dict[str, Any]:
    chains = [seals.SealedChain(i, n, h) for i, n, h in item["sessions"]]
    mine = [c for c in chains if c.session_id in own]
    return {
        **item,
        "sessions": [[c.session_id, c.length, c.head] for c in mine],
        "proofs": {c.session_id: seals.merkle_proof(chains, c.session_id) for c in mine},
    }


def trainee_history(actor: Principal, limit: int = 200) -> list[tuple[Signature, TrainingSession]]:
    """A trainee's own records, newest first, with their sessions."""
    rows = db.session.execute(
        select(Signature, TrainingSession)
        .join(TrainingSession, TrainingSession.id == Signature.session_id)
        .where(Signature.signer_id == actor.id, Signature.signer_kind == "trainee")
        .order_by(Signature.at.desc())
        .limit(limit)
    ).all()
    return list(rows)
