"""Use cases of the virtual class (R16): who may enter, connections as proof of presence,
presence checks signed through the émargement's own sign-in, the board, shared files, the
class's part of the attendance sheet. Free of the request: the actor and time are arguments."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from markupsafe import Markup
from sqlalchemy import bindparam, delete, func, select, true, update

from attendance import participants
from attendance.credentials import Device, Settings
from attendance.models import SessionKind, Signature, TrainingSession
from attendance.services import get_session
from attendance.signals import ClassEvidence, class_evidence, order_purged, session_sheet
from attendance.signing import Outcome, sign_in_in_class
from core.auth import Principal
from core.errors import Conflict, Forbidden, NotFound
from core.extensions import db
from core.models import Role, Trainee, User
from training.models import Group
from virtualclass import rules
from virtualclass.models import (
    BoardStroke,
    ClassConnection,
    ClassFile,
    ClassRoom,
    PresenceAnswer,
    PresenceCheck,
)


@dataclass(frozen=True)
class Seat:
    """A person admitted to a session's class."""

    session_id: str
    organisation_id: str
    person_id: str
    person_kind: str  # trainee or trainer
    name: str

    @property
    def is_trainer(self) -> bool:
        return self.person_kind == "trainer"


def enter(actor: Principal, session_id: str) -> tuple[TrainingSession, Seat]:
    """Admit a trainer of the group or a trainee taking part, to an open synchronous
    session (R16); another tenant's or an unknown session: 404, as everywhere."""
    session = get_session(actor, session_id)
    is_trainer = actor.has_role(Role.TRAINER) and session.group.has_trainer(actor.id)
    is_participant = actor.is_trainee and bool(participants.participants_among(session, [actor.id]))
    if not (is_trainer or is_participant):
        raise Forbidden(
            "Seuls le formateur du groupe et les participants entrent dans cette classe.",
            code="not_a_participant",
        )
    if session.kind == SessionKind.AUTOFORMATION:
        raise Conflict(
            "L'autoformation n'a pas de classe virtuelle : elle se fait seul.",
            code="not_synchronous",
            rule="R16",
        )
    if not session.is_open():
        raise Conflict(
            "La classe n'est pas ouverte : le formateur ouvre d'abord la séance.",
            code="session_not_open",
        )
    kind = "trainer" if is_trainer else "trainee"
    return session, Seat(session.id, session.organisation_id, actor.id, kind, actor.name)


def connect(seat: Seat, sid: str, now: datetime) -> ClassConnection:
    """Record that the person joined (proof of presence: its time is stored)."""
    row = ClassConnection(
        organisation_id=seat.organisation_id,
        session_id=seat.session_id,
        person_kind=seat.person_kind,
        person_id=seat.person_id,
        sid=sid,
        joined_at=now,
        seen_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def disconnect(sid: str, now: datetime, session_id: str | None = None) -> list[str]:
    """Record that the connection left (every class it was in, or one); answers the sessions."""
    query = select(ClassConnection).where(
        ClassConnection.sid == sid, ClassConnection.left_at.is_(None)
    )
    if session_id is not None:
        query = query.where(ClassConnection.session_id == session_id)
    rows = list(db.session.scalars(query))
    for row in rows:
        row.left_at = now
    db.session.flush()
    return sorted({row.session_id for row in rows})


def close_stale(sids_alive: set[str], before: datetime, now: datetime) -> list[tuple[str, str]]:
    """Close connections of processes that died: open rows not seen since `before` whose
    connection no process holds (each process refreshes `seen_at` of its own). Answers who
    left which class: (session, person) pairs."""
    rows = db.session.scalars(
        select(ClassConnection).where(
            ClassConnection.left_at.is_(None), ClassConnection.seen_at < before
        )
    )
    closed = set()
    for row in rows:
        if row.sid not in sids_alive:
            row.left_at = row.seen_at
            closed.add((row.session_id, row.person_id))
    db.session.flush()
    return sorted(closed)


def still_here(sids: list[str], now: datetime) -> None:
    """This process still holds these connections (its sweeper says so every 30 s)."""
    if sids:
        db.session.execute(
            update(ClassConnection)
            .where(ClassConnection.sid.in_(sids), ClassConnection.left_at.is_(None))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )


# Who is connected, with each person's name, in one statement built once (a join reads it, and
# tells the room: the same list). A trainer's name is their account's, a trainee's their record's.
# The same statement counts the room's changes so far (each connection counts once when it
# opens and once when it closes): the list's version. Two joins at once each tell the room a
# list, and each page may receive the two in either order (two threads or two processes
# send them); a page keeps the list of the highest version, the one read last.
_CHANGES = (
    select((func.count() + func.count(ClassConnection.left_at)).label("version"))
    .where(ClassConnection.session_id == bindparam("session_id"))
    .subquery("changes")
)
_OPEN = (
    select(
        ClassConnection.person_id,
        ClassConnection.person_kind,
        ClassConnection.joined_at,
        func.coalesce(User.first_name, Trainee.first_name).label("first_name"),
        func.coalesce(User.last_name, Trainee.last_name).label("last_name"),
    )
    .outerjoin(User, User.id == ClassConnection.person_id)
    .outerjoin(Trainee, Trainee.id == ClassConnection.person_id)
    .where(ClassConnection.session_id == bindparam("session_id"), ClassConnection.left_at.is_(None))
    .subquery("open")
)
PRESENCE = (
    select(_CHANGES.c.version, *_OPEN.c)
    .select_from(_CHANGES.outerjoin(_OPEN, true()))  # the version even when no one is left
    .order_by(_OPEN.c.joined_at)
)


@dataclass(frozen=True, slots=True)
class Presence:
    """Who is connected now, and the version of that list (it only grows)."""

    version: int
    people: list[dict[str, Any]]


def presence(session_id: str) -> Presence:
    """Who is connected now, from the database (so every process gives the same answer)."""
    people: dict[str, dict[str, Any]] = {}
    version = 0
    for row in db.session.execute(PRESENCE, {"session_id": session_id}):
        version = row.version
        if row.person_id is None or row.person_id in people:
            continue  # no one connected; or connected more than once: since the first time
        people[row.person_id] = {
            "id": row.person_id,
            "kind": row.person_kind,
            "since": row.joined_at,
            "name": f"{row.first_name} {row.last_name}" if row.first_name is not None else "",
        }
    listed = sorted(people.values(), key=lambda p: (p["kind"] != "trainer", p["name"]))
    return Presence(version, listed)


def launch_check(seat: Seat, now: datetime, window_s: int) -> PresenceCheck:
    """The trainer calls the roll: trainees connected answer within `window_s` seconds."""
    rules.require_trainer(seat.is_trainer)
    check = PresenceCheck(
        organisation_id=seat.organisation_id,
        session_id=seat.session_id,
        launched_by_id=seat.person_id,
        launched_at=now,
        closes_at=now + timedelta(seconds=window_s),
    )
    db.session.add(check)
    db.session.flush()
    return check


def answer_check(
    seat: Seat, actor: Principal, check_id: str, now: datetime, device: Device, cfg: Settings
) -> tuple[PresenceAnswer, Outcome]:
    """A trainee's timely answer: recorded once, and signed in through the émargement's own
    sign-in (`virtual_class`, once per half-day, chained; R16, R18)."""
    check = db.session.get(PresenceCheck, check_id)
    if check is None or check.session_id != seat.session_id:
        raise NotFound("Appel de présence introuvable.", code="presence_check_not_found")
    if seat.is_trainer:
        raise Forbidden(
            "Le formateur lance l'appel, les stagiaires y répondent.", code="trainee_required"
        )
    rules.check_answer_in_time(check.launched_at, check.closes_at, now)
    outcome = sign_in_in_class(actor, seat.session_id, now, device, cfg)
    answer = db.session.get(PresenceAnswer, (check.id, seat.person_id))
    if answer is None:
        answer = PresenceAnswer(
            check_id=check.id,
            trainee_id=seat.person_id,
            answered_at=now,
            signature_id=outcome.signature.id,
        )
        db.session.add(answer)
        db.session.flush()
    return answer, outcome


def add_stroke(seat: Seat, data: Any, now: datetime) -> BoardStroke:
    """A stroke drawn on the board, stored so that late joiners see it; a clear is the
    trainer's."""
    clean = rules.stroke(data)
    if clean["tool"] == "clear":
        rules.require_trainer(seat.is_trainer)
    row = BoardStroke(session_id=seat.session_id, author_id=seat.person_id, at=now, stroke=clean)
    db.session.add(row)
    db.session.flush()
    return row


def board(session_id: str) -> list[dict[str, Any]]:
    """The board as a late joiner must draw it: the strokes since the last clear."""
    strokes = list(
        db.session.scalars(
            select(BoardStroke.stroke)
            .where(BoardStroke.session_id == session_id)
            .order_by(BoardStroke.id)
        )
    )
    cleared = max((i for i, s in enumerate(strokes) if s["tool"] == "clear"), default=-1)
    return strokes[cleared + 1 :]


def share_file(
    seat: Seat, name: str, content_type: str, content: bytes, max_bytes: int
) -> ClassFile:
    """A file shared with the class (R16 file transfer): type and size checked."""
    safe = rules.check_file(name, content_type, content[:512], len(content), max_bytes)
    row = ClassFile(
        organisation_id=seat.organisation_id,
        session_id=seat.session_id,
        uploaded_by_id=seat.person_id,
        uploader_name=seat.name,
        name=safe,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    db.session.add(row)
    db.session.flush()
    return row


def seat_of(actor: Principal, session_id: str) -> Seat:
    """The actor's seat in a session they take part in, open or not (files stay readable
    after the class): 404 for anyone else."""
    session = get_session(actor, session_id)
    if actor.has_role(Role.TRAINER) and session.group.has_trainer(actor.id):
        kind = "trainer"
    elif actor.is_trainee and participants.participants_among(session, [actor.id]):
        kind = "trainee"
    else:
        raise NotFound("Séance introuvable.")
    return Seat(session.id, session.organisation_id, actor.id, kind, actor.name)


def get_file(actor: Principal, file_id: str) -> ClassFile:
    """A shared file, for the session's participants only (another's: 404)."""
    row = db.session.get(ClassFile, file_id)
    if row is None:
        raise NotFound("Fichier introuvable.")
    try:
        seat_of(actor, row.session_id)
    except (NotFound, Forbidden):
        raise NotFound("Fichier introuvable.") from None
    return row


def files(session_id: str) -> list[ClassFile]:
    return list(
        db.session.scalars(
            select(ClassFile)
            .where(ClassFile.session_id == session_id)
            .order_by(ClassFile.created_at)
        )
    )


def file_notice(row: ClassFile) -> dict[str, Any]:
    """What the room is told of a shared file (the `file` event)."""
    return {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "content_type": row.content_type,
        "by": row.uploader_name,
        "url": f"/classe/fichiers/{row.id}",
    }


def room_of(session: TrainingSession) -> ClassRoom:
    room = db.session.get(ClassRoom, session.id)
    if room is None:
        room = ClassRoom(session_id=session.id, organisation_id=session.organisation_id)
        db.session.add(room)
        db.session.flush()
    return room


def set_conference_url(actor: Principal, session_id: str, url: str | None) -> ClassRoom:
    """The trainer names an external conference (BigBlueButton, Jitsi) for the session."""
    session = get_session(actor, session_id)
    rules.require_trainer(actor.has_role(Role.TRAINER) and session.group.has_trainer(actor.id))
    room = room_of(session)
    room.conference_url = rules.conference_url(url)
    db.session.flush()
    return room


@dataclass(frozen=True)
class ClassLine:
    """A trainee's line of the class part of the attendance sheet."""

    trainee_id: str
    name: str
    minutes: int
    answered: int
    flagged: list[datetime]  # QR sign-ins given while not connected to the class


@dataclass(frozen=True)
class ClassSheet:
    held: bool  # the trainer ran the session in the class
    checks: int
    lines: list[ClassLine]


def class_sheet(session: TrainingSession, now: datetime) -> ClassSheet:
    """Connected minutes and presence checks per participant, and the home QR sign-ins to a
    tutorat held in the class by a trainee not connected at that moment (flagged, R16)."""
    connections = list(
        db.session.scalars(select(ClassConnection).where(ClassConnection.session_id == session.id))
    )
    spans: dict[str, list[rules.Interval]] = defaultdict(list)
    for row in connections:
        spans[row.person_id].append(rules.Interval(row.joined_at, row.left_at))
    held = any(row.person_kind == "trainer" for row in connections)
    checks = list(
        db.session.scalars(select(PresenceCheck.id).where(PresenceCheck.session_id == session.id))
    )
    answered: dict[str, int] = defaultdict(int)
    if checks:
        for trainee_id in db.session.scalars(
            select(PresenceAnswer.trainee_id).where(PresenceAnswer.check_id.in_(checks))
        ):
            answered[trainee_id] += 1
    qr = db.session.execute(
        select(Signature.signer_id, Signature.at).where(
            Signature.session_id == session.id,
            Signature.kind == "sign_in",
            Signature.method == "qr",
            Signature.channel == "home",
        )
    ).all()
    flags: dict[str, list[datetime]] = defaultdict(list)
    if held and session.kind == SessionKind.TUTORAT:
        for trainee_id, at in qr:
            if not rules.was_connected(spans.get(trainee_id, []), at):
                flags[trainee_id].append(at)
    ids = sorted(set(db.session.scalars(participants.participant_ids(session))))
    names = {
        t.id: t.full_name for t in db.session.scalars(select(Trainee).where(Trainee.id.in_(ids)))
    }
    lines = [
        ClassLine(
            trainee_id,
            names.get(trainee_id, ""),
            rules.connected_minutes(
                spans.get(trainee_id, []), session.starts_at, session.ends_at, now
            ),
            answered[trainee_id],
            flags[trainee_id],
        )
        for trainee_id in ids
    ]
    return ClassSheet(held, len(checks), sorted(lines, key=lambda line: line.name))


@class_evidence.connect
def evidence(
    trainee_ids: tuple[str, ...], session_ids: list[str], now: datetime, **_: Any
) -> dict[str, dict[str, ClassEvidence]]:
    """Each trainee's connected minutes and presence checks answered / launched in those of
    the sessions that are tutorats held in the class (their trainer connected), for the
    certificates (R16): three statements for any number of trainees (a group's certificates
    ask once). Minutes count within the session's times, up to its close."""
    wanted = set(trainee_ids)
    sessions = {
        s.id: s
        for s in db.session.scalars(
            select(TrainingSession).where(
                TrainingSession.id.in_(session_ids),
                TrainingSession.kind == SessionKind.TUTORAT,
            )
        )
    }
    rows = db.session.execute(
        select(
            ClassConnection.session_id,
            ClassConnection.person_kind,
            ClassConnection.person_id,
            ClassConnection.joined_at,
            ClassConnection.left_at,
        ).where(ClassConnection.session_id.in_(list(sessions)))
    ).all()
    held = sorted({row.session_id for row in rows if row.person_kind == "trainer"})
    found: dict[str, dict[str, ClassEvidence]] = {trainee_id: {} for trainee_id in trainee_ids}
    if not held:
        return found
    spans: dict[tuple[str, str], list[rules.Interval]] = defaultdict(list)
    for row in rows:
        if row.person_id in wanted:
            spans[(row.person_id, row.session_id)].append(
                rules.Interval(row.joined_at, row.left_at)
            )
    launched: dict[str, int] = defaultdict(int)
    answered: dict[tuple[str, str], int] = defaultdict(int)
    checks = select(PresenceCheck.session_id).where(PresenceCheck.session_id.in_(held))
    for session_id in db.session.scalars(checks):
        launched[session_id] += 1
    answers = db.session.execute(
        select(PresenceCheck.session_id, PresenceAnswer.trainee_id)
        .join(PresenceAnswer, PresenceAnswer.check_id == PresenceCheck.id)
        .where(PresenceCheck.session_id.in_(held), PresenceAnswer.trainee_id.in_(sorted(wanted)))
    )
    for session_id, trainee_id in answers:
        answered[(trainee_id, session_id)] += 1
    for session_id in held:
        session = sessions[session_id]
        end = min(session.ends_at, session.closed_at or session.ends_at)
        for trainee_id in trainee_ids:
            minutes = rules.connected_minutes(
                spans[(trainee_id, session_id)], session.starts_at, end, now
            )
            found[trainee_id][session_id] = ClassEvidence(
                session_id, minutes, answered[(trainee_id, session_id)], launched[session_id]
            )
    return found


@session_sheet.connect
def sheet_section(
    session: TrainingSession, now: datetime, principal: Principal, **_: Any
) -> Markup | None:
    """The class's part of a session's pages (attendance's pages ask for it): the way in
    for its trainer and trainees, and for staff its sheet of connected minutes and checks."""
    if session.kind == SessionKind.AUTOFORMATION:
        return None
    sheet = None if principal.is_trainee else class_sheet(session, now)
    return Markup(  # noqa: S704 - a template of ours, escaped by Jinja
        render_template(
            "virtualclass/_sheet.html", sheet=sheet, session=session, principal=principal
        )
    )


def is_connected_to(sid: str, session_id: str) -> bool:
    """Whether Socket.IO connection `sid` is in the session's class now (any process)."""
    return (
        db.session.scalar(
            select(ClassConnection.id).where(
                ClassConnection.sid == sid,
                ClassConnection.session_id == session_id,
                ClassConnection.left_at.is_(None),
            )
        )
        is not None
    )


@order_purged.connect
def erase_class_files(order_id: str, trainee_ids: set[str]) -> None:
    """An order's personal data is erased: the files shared in its sessions' classes go
    (documents and photos may name people); connection times stay, like the signatures."""
    groups = select(Group.id).where(Group.order_id == order_id)
    sessions = select(TrainingSession.id).where(TrainingSession.group_id.in_(groups))
    db.session.execute(
        delete(ClassFile)
        .where(ClassFile.session_id.in_(sessions))
        .execution_options(synchronize_session=False)
    )


def people_of(session_id: str) -> set[str]:
    """Everyone who ever joined the session's class."""
    return set(
        db.session.scalars(
            select(ClassConnection.person_id).where(ClassConnection.session_id == session_id)
        )
    )
