"""Help during autoformation (R8): a trainee asks from the session's page, the group's
trainers are told live, the answer is recorded; both are chained in the session's ledger; a
request answered after 2 h, or unanswered for 2 h, is flagged to the organisation and the
Région."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, select, update

from attendance import journal, participants, services
from attendance.models import TrainingSession
from attendance.services import get_session
from attendance.signals import order_purged
from compliance import rules
from compliance.models import HelpRequest
from core.auth import Principal
from core.clock import PARIS
from core.errors import Conflict, Forbidden, NotFound
from core.extensions import db
from core.models import Role, Trainee, User
from sites import mail
from training.models import Group
from virtualclass import rules as class_rules

ASKED, ANSWERED = "help_requested", "help_answered"


def _chain(
    session: TrainingSession,
    author_id: str,
    kind: str,
    at: datetime,
    text: str,
    request_id: str,
    file_sha256: str | None = None,
) -> None:
    """A session entry authored by the trainee (request) or the trainer (answer); the text is
    its reason, so the chain commits to it and a purge can erase it; a joined file's SHA-256
    is a fact of the request's entry."""
    facts = {"help_request_id": request_id}
    if file_sha256:
        facts["file_sha256"] = file_sha256
    entry = journal.session_entry(session, author_id, kind, at, facts)
    entry.reason = text
    journal.append(session.id, entry)


HELP_FILE_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A file the trainee joins to their request, as uploaded."""

    name: str
    content_type: str
    content: bytes


def ask(
    actor: Principal,
    session_id: str,
    text: str,
    now: datetime,
    base_url: str = "",
    attachment: Attachment | None = None,
) -> HelpRequest:
    """R8: a trainee taking part in an open autoformation session asks for help; the
    session's trainers (its substitute too) are told by e-mail, sent once this commits."""
    if not actor.is_trainee:
        raise Forbidden("Seul un stagiaire demande de l'aide depuis sa séance.")
    session = get_session(actor, session_id)
    if session.kind != "autoformation":
        raise Conflict(
            "L'aide en direct se demande pendant une séance d'autoformation ; pendant un "
            "tutorat ou un regroupement, adressez-vous au formateur présent.",
            code="not_autoformation",
            rule="R8",
        )
    if not session.is_open():
        raise Conflict("La séance n'est pas ouverte.", code="session_not_open")
    if actor.id not in participants.participants_among(session, [actor.id]):
        raise Forbidden("Vous ne participez pas à cette séance.")
    pending = db.session.scalar(
        select(HelpRequest.id).where(
            HelpRequest.session_id == session.id,
            HelpRequest.trainee_id == actor.id,
            HelpRequest.answered_at.is_(None),
        )
    )
    if pending:
        raise Conflict(
            "Votre demande précédente attend encore sa réponse : le formateur a été prévenu.",
            code="help_pending",
        )
    request = HelpRequest(
        organisation_id=session.organisation_id,
        session_id=session.id,
        group_id=session.group_id,
        trainee_id=actor.id,
        text=text.strip(),
        asked_at=now,
    )
    if attachment is not None:
        request.file_name = class_rules.check_file(
            attachment.name,
            attachment.content_type,
            attachment.content[:512],
            len(attachment.content),
            HELP_FILE_MAX_BYTES,
        )
        request.file_type = attachment.content_type
        request.file_content = attachment.content
        request.file_sha256 = hashlib.sha256(attachment.content).hexdigest()
    db.session.add(request)
    db.session.flush()
    _chain(session, actor.id, ASKED, now, request.text or "", request.id, request.file_sha256)
    _mail_trainers(session, request, base_url)
    return request


def _mail_trainers(session: TrainingSession, request: HelpRequest, base_url: str) -> None:
    """Each trainer of the session is told by e-mail (the outbox: written in this transaction,
    sent after the commit); the trainee's name and question go to them only."""
    trainee = db.session.get(Trainee, request.trainee_id)
    name = trainee.full_name if trainee else "Un stagiaire"
    trainers = {t.id: t for t in session.group.trainers}
    if session.substitute_trainer_id:
        substitute = db.session.get(User, session.substitute_trainer_id)
        if substitute is not None:
            trainers[substitute.id] = substitute
    link = f"{base_url.rstrip('/')}/seances/{session.id}#aide" if base_url else ""
    body = (
        f"{name} demande de l'aide pendant la séance d'autoformation « {session.title} » "
        f"({request.asked_at.astimezone(PARIS):%d/%m/%Y à %H:%M}) :\n\n"
        f"« {request.text} »\n\n"
        "Répondez dans les 2 heures (règle R8)"
        + (f" depuis la page de la séance : {link}" if link else " depuis la page de la séance.")
    )
    for trainer in trainers.values():
        if trainer.is_active and trainer.email:
            mail.queue_mail(
                trainer.email, f"Demande d'aide : {session.title}", body, topic="help_request"
            )


def visible_requests(actor: Principal) -> Select:
    query = select(HelpRequest)
    if actor.has_role(Role.REGION):
        return query
    if actor.has_role(Role.ORG_ADMIN):
        return query.where(HelpRequest.organisation_id == actor.organisation_id)
    if actor.has_role(Role.TRAINER):
        sessions = select(TrainingSession.id).where(
            TrainingSession.organisation_id == actor.organisation_id
        )
        return query.where(HelpRequest.session_id.in_(sessions))
    if actor.is_trainee:
        return query.where(HelpRequest.trainee_id == actor.id)
    return query.where(false())


def get_request(actor: Principal, request_id: str) -> HelpRequest:
    found = db.session.scalar(visible_requests(actor).where(HelpRequest.id == request_id))
    if found is None:
        raise NotFound("Demande d'aide introuvable.")
    if actor.has_role(Role.TRAINER):
        get_session(actor, found.session_id)  # a trainer sees their sessions' requests only
    return found


def attachment_of(actor: Principal, request_id: str) -> HelpRequest:
    """The request whose joined file the caller downloads: the trainee who asked, the
    session's trainers, the organisation and the Région (others: 404); 404 when it has none
    or it was erased with the order's personal data."""
    request = get_request(actor, request_id)
    if actor.is_trainee and request.trainee_id != actor.id:
        raise NotFound("Demande d'aide introuvable.")
    if request.file_name is None or request.file_content is None:
        raise NotFound("Cette demande n'a pas de fichier joint.", code="no_file")
    return request


def answer(actor: Principal, request_id: str, text: str, now: datetime) -> HelpRequest:
    """The session's trainer (or its substitute) answers; the answer is chained."""
    request = get_request(actor, request_id)
    session = get_session(actor, request.session_id)
    if not (actor.has_role(Role.TRAINER) and session.is_run_by(actor.id)):
        raise Forbidden("Seul un formateur de la séance répond aux demandes d'aide.")
    locked = db.session.scalars(
        select(HelpRequest)
        .where(HelpRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.answered_at is not None:
        raise Conflict("Cette demande a déjà reçu une réponse.", code="help_answered")
    locked.answer, locked.answered_at, locked.answered_by_id = text.strip(), now, actor.id
    locked.answered_late = rules.help_overdue(locked.asked_at, now, now)
    db.session.flush()
    _chain(session, actor.id, ANSWERED, now, locked.answer, locked.id)
    return locked


def session_requests(actor: Principal, session_id: str) -> list[HelpRequest]:
    session = get_session(actor, session_id)
    query = visible_requests(actor).where(HelpRequest.session_id == session.id)
    return list(db.session.scalars(query.order_by(HelpRequest.asked_at)))


def requests_of(
    actor: Principal, *, status: str | None, now: datetime, limit: int = 200
) -> list[HelpRequest]:
    """The requests the caller sees, newest first. `status`: open (waiting), late (waiting for
    more than 2 h, R8), answered; `flagged` (the pages'): late, or answered after 2 h."""
    query = visible_requests(actor)
    if actor.has_role(Role.TRAINER):  # their own sessions' (a group's trainer or substitute)
        query = query.where(
            HelpRequest.session_id.in_(
                services.visible_sessions(actor).with_only_columns(TrainingSession.id)
            )
        )
    elif not actor.has_role(Role.REGION, Role.ORG_ADMIN):
        raise Forbidden("Seuls les formateurs, l'organisme et la Région suivent les demandes.")
    waiting = HelpRequest.answered_at.is_(None)
    late = waiting & (HelpRequest.asked_at < now - rules.HELP_ANSWER_WITHIN)
    if status == "open":
        query = query.where(waiting)
    elif status == "late":
        query = query.where(late)
    elif status == "answered":
        query = query.where(HelpRequest.answered_at.is_not(None))
    elif status == "flagged":
        query = query.where(late | HelpRequest.answered_late)
    return list(db.session.scalars(query.order_by(HelpRequest.asked_at.desc()).limit(limit)))


def payload(request: HelpRequest, name: str, url: str) -> dict[str, Any]:
    return {
        "id": request.id,
        "name": name,
        "text": request.text,
        "at": request.asked_at.isoformat(),
        "url": url,
    }


@order_purged.connect
def erase_texts(order_id: str, trainee_ids: set[str]) -> None:
    """An order's personal data is erased: the requests' and answers' texts go; their times
    (the measure of R8) stay, and the chain still verifies (its commitments stay)."""
    groups = select(Group.id).where(Group.order_id == order_id)
    db.session.execute(
        update(HelpRequest)
        .where(HelpRequest.group_id.in_(groups))
        .values(text=None, answer=None, file_name=None, file_content=None)
        .execution_options(synchronize_session=False)
    )
