"""Use cases of certificates: read the facts from the ledger, issue (recorded in the ledger),
supersede, find, verify; the organisation's signatory.

Hours come only from chained entries (attendance.register replays each session's chain).
An issued certificate appends one `certificate` entry to the chain of each session it counts,
with the PDF's SHA-256: the next seal covers it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from PIL import Image
from sqlalchemy import Select, and_, or_, select, update

from attendance import company_journal, journal, ledger, projection, register, retention
from attendance import rules as attendance_rules
from attendance.models import CompanyPeriod, Signature, TrainingSession
from attendance.presence import fold
from attendance.rules import local_day
from attendance.signals import ClassEvidence, evidence_of, order_purged
from certificates import pdf, rules
from certificates.models import Certificate, PurgedOrder, Signatory
from core.auth import Principal
from core.db import new_id, utcnow
from core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from core.extensions import db
from core.models import Organisation, Role, Trainee
from training import access
from training.models import Enrolment, Order

ISSUERS = (Role.ORG_ADMIN, Role.TRAINEE)
OPERATOR = "operator"  # the author of certificates issued from the command line
ENTRY_KIND = "certificate"
MAX_PIXELS = 4_000_000  # a signature image: 2000 × 2000 at most
PNG_MODES = ("1", "L", "LA", "RGB", "RGBA")  # kept as they are; others (CMYK…) become RGBA


class StaleFacts(Exception):  # noqa: N818 - a signal to read again, not an error
    """An entry that sets hours was chained after the facts were read: issue again."""


# --- Facts ---


@dataclass
class Facts:
    """What one certificate states, and the chains it was read from (session → length)."""

    enrolment: Enrolment
    kind: str
    month: str
    lines: list[rules.Line] = field(default_factory=list)
    sessions: dict[str, TrainingSession] = field(default_factory=dict)
    read_lengths: dict[str, int] = field(default_factory=dict)
    company: list[rules.CompanyLine] = field(default_factory=list)  # signed by both (R2)
    company_lengths: dict[str, int] = field(default_factory=dict)  # period → chain length read

    @property
    def fingerprint(self) -> str:
        return rules.fingerprint(self.kind, self.month, self.lines, self.company)

    @property
    def minutes(self) -> int:
        return rules.totals(self.lines, rules.company_minutes(self.company)).total


def is_counted(state: projection.SessionState, now: datetime) -> bool:
    """A session counts once it took place: opened, then closed or past its end."""
    if state.opened_at is None or state.ends_at is None:
        return False
    return state.status == "closed" or state.ends_at <= now


def read_facts(
    enrolment: Enrolment,
    kind: str,
    month: str,
    now: datetime,
    only: Collection[str] | None = None,
) -> Facts:
    """The trainee's sessions of the enrolment's group as their chains tell them: every one
    that took place (realisation), or those of one Paris month (attendance); `only` these
    sessions when given (a certificate's, read again to see whether it is outdated). The
    chains are read as for a whole group (read_chains), for this trainee alone."""
    chains = read_chains(enrolment.group_id, [enrolment.trainee_id], only)
    facts = facts_of(chains, enrolment, kind, month, now)
    first, last = rules.parse_month(month) if kind == rules.ATTENDANCE else (None, None)
    found = company_journal.counted_for([enrolment.id], first, last)[enrolment.id]
    _add_company(facts, found)
    return facts


@dataclass
class GroupChains:
    """A group's sessions as their chains tell them, read once for any number of its trainees
    (a bulk issue reads them once for every certificate of the group): each session's state
    replayed once, each trainee's line of a session folded once (an attendance certificate
    and the certificate of realisation share them)."""

    sessions: list[TrainingSession]  # in time order
    lengths: dict[str, int]  # the chains' lengths, read before their entries
    states: dict[str, projection.SessionState]
    signed: dict[str, dict[str, list[Any]]]  # session → trainee → the trainee's own entries
    paths: dict[str, list[tuple[date, date | None]]]  # trainee → (entry, exit) dates
    lines: dict[tuple[str, str], rules.Line | None] = field(default_factory=dict)

    def line(self, session: TrainingSession, trainee_id: str) -> rules.Line | None:
        key = (session.id, trainee_id)
        if key not in self.lines:
            self.lines[key] = _line(
                session,
                self.states[session.id],
                self.signed[session.id].get(trainee_id, []),
                trainee_id,
                self.paths.get(trainee_id, []),
            )
        return self.lines[key]


def read_chains(
    group_id: str, trainee_ids: Collection[str], only: Collection[str] | None = None
) -> GroupChains:
    """Three statements whatever the number of sessions and trainees: the group's sessions
    (with their chains' lengths), the entries of their chains that the trainees' hours depend
    on (in chain order), the trainees' paths in the group (who takes part in a whole-group
    session: attendance.participants.enrolled_on, evaluated here)."""
    query = select(TrainingSession).where(TrainingSession.group_id == group_id)
    if only is not None:
        query = query.where(TrainingSession.id.in_(list(only)))
    sessions = list(
        db.session.scalars(
            query.order_by(TrainingSession.starts_at).execution_options(populate_existing=True)
        )
    )
    # The chains' lengths are read before the entries: an entry chained in between makes
    # the facts look stale (issued again), never fresh.
    lengths = {session.id: session.chain_length for session in sessions}
    wanted = sorted(set(trainee_ids))
    states: dict[str, list[Any]] = {session_id: [] for session_id in lengths}
    signed: dict[str, dict[str, list[Any]]] = {session_id: {} for session_id in lengths}
    for row in _entries(list(lengths), wanted):
        if row["signer_kind"] == "trainee":
            signed[row["session_id"]].setdefault(row["signer_id"], []).append(row)
        else:
            states[row["session_id"]].append(row)
    return GroupChains(
        sessions,
        lengths,
        {session_id: projection.replay(entries) for session_id, entries in states.items()},
        signed,
        _paths(group_id, wanted),
    )


def facts_of(
    chains: GroupChains, enrolment: Enrolment, kind: str, month: str, now: datetime
) -> Facts:
    """One trainee's certificate's session lines, from the group's chains (company hours
    apart: _add_company)."""
    first, last = rules.parse_month(month) if kind == rules.ATTENDANCE else (None, None)
    facts = Facts(enrolment, kind, month)
    for session in chains.sessions:
        state = chains.states[session.id]
        if not is_counted(state, now) or not _in_month(state, first, last):
            continue
        line = chains.line(session, enrolment.trainee_id)
        if line is not None:
            facts.lines.append(line)
            facts.sessions[session.id] = session
            facts.read_lengths[session.id] = chains.lengths[session.id]
    facts.lines.sort(key=lambda line: (line.starts_at, line.session_id))
    return facts


# What a session's state (projection.step) and one trainee's presence (presence.fold) are
# replayed from: the session's own entries that move its state, and the trainee's entries.
STATE_KINDS = ("planned", "edited", "opened", "closed")
ENTRY_COLUMNS = [
    journal.SIGNATURES.c[name]
    for name in (
        "session_id",
        "seq",
        "kind",
        "signer_kind",
        "signer_id",
        "half_day",
        "at",
        "method",
        "channel",
        "author_id",
        "action",
        "reason",
        "justified",
        "facts",
    )
]


def _entries(session_ids: list[str], trainee_ids: list[str]) -> list[Any]:
    """The sessions' entries the trainees' lines depend on, in chain order (one statement):
    those that move a session's state, and the trainees' own."""
    if not session_ids:
        return []
    entry = journal.SIGNATURES
    query = (
        select(*ENTRY_COLUMNS)
        .where(
            entry.c.session_id.in_(session_ids),
            or_(
                entry.c.kind.in_(STATE_KINDS),
                and_(entry.c.signer_kind == "trainee", entry.c.signer_id.in_(trainee_ids)),
            ),
        )
        .order_by(entry.c.session_id, entry.c.seq)
    )
    return list(db.session.execute(query).mappings())


def _paths(group_id: str, trainee_ids: list[str]) -> dict[str, list[tuple[date, date | None]]]:
    """The trainees' paths in the group: trainee → (entry, exit) dates."""
    query = select(Enrolment.trainee_id, Enrolment.entry_date, Enrolment.exit_date).where(
        Enrolment.group_id == group_id, Enrolment.trainee_id.in_(trainee_ids)
    )
    found: dict[str, list[tuple[date, date | None]]] = {}
    for trainee_id, entry, exit_ in db.session.execute(query):
        found.setdefault(trainee_id, []).append((entry, exit_))
    return found


def _add_company(facts: Facts, found: company_journal.CompanyFacts) -> None:
    """The company hours (R2) of the path, of the month for an attendance certificate, that
    both the trainee and the tutor signed, from the periods' chains."""
    facts.company = found.lines
    facts.company_lengths = found.read_lengths


def _in_month(state: projection.SessionState, first: date | None, last: date | None) -> bool:
    if first is None or last is None or state.starts_at is None:
        return True
    return first <= local_day(state.starts_at) <= last


def _line(
    session: TrainingSession,
    state: projection.SessionState,
    entries: list[Any],
    trainee_id: str,
    paths: list[tuple[date, date | None]],
) -> rules.Line | None:
    """The trainee's line of one session (`entries`: the trainee's own in the session's
    chain), replayed as attendance.register.roster does; None when not a participant."""
    if state.starts_at is None or state.ends_at is None or state.kind is None:
        return None  # no plan in the chain: nothing counts (ledger verify says why)
    day = local_day(state.starts_at)
    if state.participants is None:
        taking_part = any(
            entry <= day and (exit_ is None or exit_ >= day) for entry, exit_ in paths
        )
    else:
        taking_part = trainee_id in state.participants
    if not taking_part:
        return None
    people = (dict(e) for e in entries)  # the trainee's own entries
    halves = attendance_rules.half_days(state.starts_at, state.ends_at)
    (person,) = fold(
        [trainee_id], halves, people, synchronous=state.synchronous, closed_at=state.closed_at
    )
    missed = tuple((h.reason, h.justified) for h in person.halves if h.status != "present")
    return rules.Line(
        session_id=session.id,
        day=day,
        starts_at=state.starts_at,
        ends_at=state.ends_at,
        kind=state.kind,
        title=session.title,
        status=person.status,
        minutes=person.minutes,
        absences=missed,
    )


# --- Issuing ---


def get_enrolment(actor: Principal, enrolment_id: str) -> Enrolment:
    """An enrolment whose certificates the actor may have: the organisation's admin, or the
    trainee (their own). Another tenant's, or another trainee's: 404."""
    if not actor.has_role(*ISSUERS):
        raise Forbidden("Les certificats sont délivrés au référent de l'organisme et au stagiaire.")
    found = db.session.scalar(access.visible_enrolments(actor).where(Enrolment.id == enrolment_id))
    if found is None:
        raise NotFound("Parcours introuvable.")
    return found


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    created: bool  # False: the facts had not changed, the existing certificate is answered


@dataclass(frozen=True)
class Wanted:
    """One certificate to issue: an enrolment's certificate of realisation (month "") or its
    attendance certificate of a month."""

    enrolment: Enrolment
    kind: str
    month: str = ""


def latest(enrolment_id: str, kind: str, month: str) -> Certificate | None:
    """The newest certificate of this enrolment, kind and month (the one not superseded)."""
    return db.session.scalar(
        select(Certificate)
        .where(
            Certificate.enrolment_id == enrolment_id,
            Certificate.kind == kind,
            Certificate.month == month,
        )
        .order_by(Certificate.generation.desc())
        .limit(1)
    )


def latest_of(enrolment_ids: Iterable[str]) -> dict[tuple[str, str, str], Certificate]:
    """The newest certificate of each (enrolment, kind, month) of these enrolments (one
    statement)."""
    found: dict[tuple[str, str, str], Certificate] = {}
    query = (
        select(Certificate)
        .where(Certificate.enrolment_id.in_(sorted(set(enrolment_ids))))
        .order_by(Certificate.generation)
    )
    for certificate in db.session.scalars(query):
        found[(certificate.enrolment_id, certificate.kind, certificate.month)] = certificate
    return found


def issue(
    author_id: str, enrolment: Enrolment, kind: str, month: str, now: datetime, base_url: str
) -> Issued:
    """Issue the certificate, or answer the existing one when its facts are unchanged: one
    certificate issued as a group of one (issue_group), its failure raised."""
    (result,) = issue_group(author_id, [Wanted(enrolment, kind, month)], now, base_url)
    if isinstance(result, Exception):
        raise result
    return result


def issue_group(
    author_id: str, wanted: Sequence[Wanted], now: datetime, base_url: str
) -> list[Issued | Exception]:
    """Issue certificates of one group's trainees together, in the caller's transaction: the
    group's chains read once for all of them (read_chains), each certificate drawn, then
    every one recorded in the ledger at once (one `certificate` entry per certificate in each
    session it counts, journal.append_many) and stored. Answers, in order, each one's Issued
    (the existing certificate when its facts are unchanged; a new one supersedes the previous
    one, a correction since) or what kept it from being drawn (nothing_to_certify, or any
    other failure: the others are issued all the same, none twice).

    Raises StaleFacts, or the database's IntegrityError when a concurrent issue won: the
    caller rolls back (nothing of the group is kept) and calls again. A purged order is never
    issued again: its stored certificate (a trainee whose data is kept for another order),
    or 410."""
    if not wanted:
        return []
    group = wanted[0].enrolment.group
    if any(w.enrolment.group_id != group.id for w in wanted):
        raise ValueError("issue_group: the certificates of one group only")
    months = [w.month if w.kind == rules.ATTENDANCE else "" for w in wanted]
    if is_purged(group.order_id):
        return [_kept(w.enrolment, w.kind, month) for w, month in zip(wanted, months, strict=True)]
    chains = read_chains(group.id, {w.enrolment.trainee_id for w in wanted})
    company: dict[str, dict[str, company_journal.CompanyFacts]] = {}
    previous = latest_of(w.enrolment.id for w in wanted)
    results: list[Issued | Exception | None] = []
    pending: list[tuple[int, Facts, Certificate | None]] = []  # to draw: place, facts, previous
    for item, month in zip(wanted, months, strict=True):
        try:
            facts = facts_of(chains, item.enrolment, item.kind, month, now)
            if month not in company:  # every path's company hours of the period, at once
                first, last = rules.parse_month(month) if month else (None, None)
                paths = sorted({w.enrolment.id for w in wanted})
                company[month] = company_journal.counted_for(paths, first, last)
            _add_company(facts, company[month][item.enrolment.id])
            if not facts.lines and not facts.company:
                raise Conflict(
                    "Aucune séance tenue pour ce parcours sur cette période : rien à certifier.",
                    code="nothing_to_certify",
                )
            before = previous.get((item.enrolment.id, item.kind, month))
            if before is not None and before.fingerprint == facts.fingerprint:
                results.append(Issued(before, created=False))
                continue
        except Exception as error:  # noqa: BLE001 - one trainee's failure keeps none of the others from being issued
            results.append(error)
            continue
        pending.append((len(results), facts, before))
        results.append(None)
    drawn = _draw_all(pending, results, author_id, now, base_url)
    _store(drawn, author_id, now)
    filled = [result for result in results if result is not None]
    assert len(filled) == len(results)  # noqa: S101 - _draw_all fills every pending place
    return filled


def _draw_all(
    pending: list[tuple[int, Facts, Certificate | None]],
    results: list[Issued | Exception | None],
    author_id: str,
    now: datetime,
    base_url: str,
) -> list[tuple[Certificate, Facts, Certificate | None]]:
    """Draw the group's new certificates, with what they all print alike read once: the
    letterhead, and the virtual class's evidence of every trainee's tutorats (R16). Each
    one's place in `results` gets its Issued, or what kept it from being drawn."""
    drawn: list[tuple[Certificate, Facts, Certificate | None]] = []
    if not pending:
        return drawn
    trainees = {facts.enrolment.trainee_id for _, facts, _ in pending}
    try:
        letterhead = letterhead_of(pending[0][1].enrolment, trainees)
        tutorats = {
            line.session_id for _, f, _ in pending for line in f.lines if line.kind == "tutorat"
        }
        evidence = evidence_of(trainees, tutorats, now)
    except Exception as error:  # noqa: BLE001 - answered for each of them, as for one
        for index, _, _ in pending:
            results[index] = error
        return drawn
    for index, facts, before in pending:
        try:
            certificate = _drawn(author_id, facts, before, now, base_url, letterhead, evidence)
        except Exception as error:  # noqa: BLE001 - one trainee's failure keeps none of the others from being issued
            results[index] = error
            continue
        drawn.append((certificate, facts, before))
        results[index] = Issued(certificate, created=True)
    return drawn


def _kept(enrolment: Enrolment, kind: str, month: str) -> Issued | Exception:
    """A purged order's certificate as it was stored, or 410."""
    kept = latest(enrolment.id, kind, month)
    if kept is not None and kept.pdf is not None:
        return Issued(kept, created=False)
    return purged_error()


def _drawn(
    author_id: str,
    facts: Facts,
    previous: Certificate | None,
    now: datetime,
    base_url: str,
    letterhead: Letterhead,
    evidence: dict[str, dict[str, ClassEvidence]],
) -> Certificate:
    """A new certificate of these facts, its PDF drawn and hashed (not stored yet)."""
    enrolment = facts.enrolment
    certificate = Certificate(
        id=new_id(),
        organisation_id=enrolment.organisation_id,
        order_id=enrolment.group.order_id,
        enrolment_id=enrolment.id,
        trainee_id=enrolment.trainee_id,
        kind=facts.kind,
        month=facts.month,
        generation=previous.generation + 1 if previous else 1,
        short_id=rules.new_short_id(),
        fingerprint=facts.fingerprint,
        minutes=facts.minutes,
        issued_at=now,
        issued_by_id=author_id,
    )
    proofs = evidence.get(enrolment.trainee_id, {})
    certificate.pdf = pdf.render(
        document(certificate, facts, previous, base_url, letterhead, proofs)
    )
    certificate.sha256 = hashlib.sha256(certificate.pdf).hexdigest()
    return certificate


def _store(
    drawn: list[tuple[Certificate, Facts, Certificate | None]], author_id: str, now: datetime
) -> None:
    """Record the drawn certificates in the ledger (record) and store them; each previous
    one then points to the certificate that supersedes it."""
    if not drawn:
        return
    record(drawn, author_id, now)
    db.session.add_all([certificate for certificate, _, _ in drawn])
    db.session.flush()
    superseded = False
    for certificate, _, previous in drawn:  # after the insert: the reference must exist
        if previous is not None:
            previous.superseded_by_id = certificate.id
            superseded = True
    if superseded:
        db.session.flush()


# What a certificate's entries state of it beside its id, SHA-256 and trainee (R17): the
# public verification answers these from the ledger's coverage, never from the editable row.
COVERED = ("enrolment_id", "kind", "month", "generation", "minutes", "fingerprint")


def entry_facts(certificate: Certificate, previous: Certificate | None) -> dict:
    """The facts of a `certificate` entry: what it certifies, when, and which certificate it
    replaces (the chain then says, by itself, that the previous one is superseded)."""
    facts = {name: getattr(certificate, name) for name in COVERED}
    return facts | {
        "certificate_id": certificate.id,
        "sha256": certificate.sha256,
        "trainee_id": certificate.trainee_id,
        "issued_at": certificate.issued_at.astimezone(UTC).isoformat(),
        "replaces": previous.id if previous else None,
    }


def record(
    drawn: list[tuple[Certificate, Facts, Certificate | None]], author_id: str, now: datetime
) -> None:
    """One `certificate` entry per certificate in the chain of each session it counts, with
    the PDF's SHA-256 (R17): all of them in one append (journal.append_many, the sessions
    locked in id order, so that concurrent issues never deadlock), a session's entries one
    after the other in the certificates' order. Any entry that sets hours chained since the
    facts were read makes them stale. Sets each certificate's `entries`."""
    chained: dict[str, list[journal.NewEntry]] = {}
    mine: list[tuple[dict[str, journal.NewEntry], dict]] = []
    read_lengths: dict[str, int] = {}
    for certificate, facts, previous in drawn:
        stated = entry_facts(certificate, previous)
        entries: dict[str, journal.NewEntry] = {}
        for session_id, session in facts.sessions.items():
            entry = journal.new_session_entry(session, author_id, ENTRY_KIND, now, dict(stated))
            chained.setdefault(session_id, []).append(entry)
            entries[session_id] = entry
            read_lengths[session_id] = facts.read_lengths[session_id]
        mine.append((entries, stated))
    journal.append_many(chained)
    for session_id, appended in chained.items():
        _check_fresh(session_id, read_lengths[session_id], appended[0].seq)
    for (certificate, facts, _), (entries, stated) in zip(drawn, mine, strict=True):
        recorded = [[session_id, entries[session_id].seq] for session_id in sorted(entries)]
        for period_id in sorted(facts.company_lengths):  # the company periods' chains alike
            seq = company_journal.record_certificate(period_id, author_id, now, dict(stated))
            since = company_journal.kinds_between(period_id, facts.company_lengths[period_id], seq)
            if any(kind != ENTRY_KIND for kind in since):
                raise StaleFacts(period_id)
            recorded.append([period_id, seq])
        certificate.entries = recorded


def _check_fresh(session_id: str, read_length: int, seq: int) -> None:
    if seq == read_length + 1:
        return
    kinds = db.session.scalars(
        select(Signature.kind).where(
            Signature.session_id == session_id,
            Signature.seq > read_length,
            Signature.seq < seq,
        )
    )
    if any(kind != ENTRY_KIND for kind in kinds):
        raise StaleFacts(session_id)


@dataclass(frozen=True)
class Letterhead:
    """What every certificate of a group prints alike (its order, its organisation and who
    signs for it), and its trainees' names: read once for a group's certificates."""

    order: Order
    organisation: Organisation
    signatory: Signatory | None
    signature_image: bytes | None  # drawable, or None (the typed name then)
    trainees: dict[str, str]  # trainee → full name


def letterhead_of(enrolment: Enrolment, trainee_ids: Collection[str]) -> Letterhead:
    """The letterhead of the enrolment's group, with these trainees' names."""
    order = db.session.get_one(Order, enrolment.group.order_id)
    organisation = db.session.get_one(Organisation, enrolment.organisation_id)
    signatory = db.session.get(Signatory, organisation.id)
    trainees = db.session.scalars(select(Trainee).where(Trainee.id.in_(sorted(trainee_ids))))
    return Letterhead(
        order,
        organisation,
        signatory,
        drawable(signatory.signature_image) if signatory else None,
        {trainee.id: trainee.full_name for trainee in trainees},
    )


def document(
    certificate: Certificate,
    facts: Facts,
    previous: Certificate | None,
    base_url: str,
    letterhead: Letterhead | None = None,
    evidence: Mapping[str, ClassEvidence] | None = None,
) -> pdf.Document:
    """Everything the PDF prints; the letterhead and the class's evidence of the trainee's
    tutorats as read for a whole group, else read here."""
    enrolment = facts.enrolment
    head = letterhead or letterhead_of(enrolment, [enrolment.trainee_id])
    signatory = head.signatory
    # What the virtual class proves of the tutorats held there (R16): printed as evidence,
    # outside the fingerprint, for the hours come from the chain alone (R7).
    if evidence is None:
        tutorats = [line.session_id for line in facts.lines if line.kind == "tutorat"]
        trainee = enrolment.trainee_id
        evidence = evidence_of([trainee], tutorats, certificate.issued_at)[trainee]
    return pdf.Document(
        kind=certificate.kind,
        month=certificate.month,
        short_id=certificate.short_id,
        verify_url=verify_url(base_url, certificate.short_id),
        issued_at=certificate.issued_at,
        organisation=head.organisation.name,
        siret=head.organisation.siret,
        signatory_name=signatory.name if signatory else "",
        signatory_title=signatory.title if signatory else "",
        city=signatory.city if signatory else "",
        signature_image=head.signature_image,
        trainee=head.trainees[enrolment.trainee_id],
        action_title=f"{head.order.title} — {enrolment.group.component}",
        order_number=head.order.number,
        entry_date=enrolment.entry_date,
        exit_date=enrolment.exit_date,
        lines=tuple(facts.lines),
        replaces=previous.short_id if previous else None,
        company=tuple(facts.company),
        classes=tuple(
            evidence[line.session_id] for line in facts.lines if line.session_id in evidence
        ),
    )


def verify_url(base_url: str, short_id: str) -> str:
    return f"{base_url.rstrip('/')}/verifier/{short_id}"


# --- Reading and verifying ---


def visible_certificates(actor: Principal) -> Select:
    """The certificates the actor may download: a trainee's own, an organisation's for its
    admin; other roles none (403)."""
    query = select(Certificate)
    if actor.is_trainee:
        return query.where(Certificate.trainee_id == actor.id)
    if actor.has_role(Role.ORG_ADMIN):
        return query.where(Certificate.organisation_id == actor.organisation_id)
    raise Forbidden()


def own_certificates(actor: Principal) -> list[Certificate]:
    """The actor's certificates, newest first, superseded ones too."""
    query = visible_certificates(actor).order_by(Certificate.issued_at.desc())
    return list(db.session.scalars(query))


def get_certificate(actor: Principal, short_id: str) -> Certificate:
    """One of the actor's certificates by its short id; 404 otherwise."""
    found = db.session.scalar(visible_certificates(actor).where(Certificate.short_id == short_id))
    if found is None:
        raise NotFound("Certificat introuvable.")
    return found


def find_public(short_id: str) -> Certificate:
    """A certificate by its public short id (as typed on the paper): 404 when unknown."""
    normal = rules.normal_short_id(short_id)
    found = (
        db.session.scalar(select(Certificate).where(Certificate.short_id == normal))
        if normal
        else None
    )
    if found is None:
        raise NotFound("Aucun certificat ne porte ce numéro.", code="certificate_not_found")
    return found


@dataclass(frozen=True)
class Reading:
    """What the ledger says of a certificate: recorded intact (`valid`), the certificate a
    later entry says replaces it, and whether its sessions' chains now give other facts."""

    valid: bool
    successor_id: str | None = None
    outdated: bool = False


def read_record(certificate: Certificate, now: datetime) -> Reading:
    """The certificate as the ledger holds it: each of its entries names it with every fact
    the row states (COVERED, its time, whether it replaces one), each of those chains
    recomputes from its first entry to its head. Then what the chains say after it: a later
    certificate that replaces it, a correction that changes its facts."""
    if not certificate.entries:
        return Reading(False, certificate.superseded_by_id)
    later: dict[str, list] = {}
    stated: dict = {}
    for session_id, seq in certificate.entries:
        chain = _chain(session_id)
        if chain is None:
            return Reading(False, certificate.superseded_by_id)
        entries, length, head = chain
        report = ledger.verify_chain(session_id, entries, length, head)
        mine = [e for e in entries if e["seq"] == seq]
        if report.fault is not None or not mine or not _names(mine[0], certificate):
            return Reading(False, certificate.superseded_by_id)
        stated = mine[0]["facts"]
        later[session_id] = [e for e in entries if e["seq"] > seq]
    fingerprint = stated.get("fingerprint", certificate.fingerprint)
    return Reading(
        True,
        _successor(certificate, later),
        _outdated(certificate, fingerprint, later, now),
    )


def _chain(chain_id: str) -> tuple[list[Any], int, str] | None:
    """A chain a certificate entry sits in: a session's, or a company period's (R2), with its
    recorded length and head; None when there is no such chain."""
    session = db.session.get(TrainingSession, chain_id)
    if session is not None:
        _, entries = register.chained_state(session)
        return entries, session.chain_length, session.chain_head
    period = db.session.get(CompanyPeriod, chain_id)
    if period is None:
        return None
    entries = [company_journal.hashed(e) for e in company_journal.entries_of([chain_id])[chain_id]]
    return entries, period.chain_length, period.chain_head


def _names(entry: dict, certificate: Certificate) -> bool:
    """The entry is this certificate's: its id, SHA-256, trainee and time, and (entries
    written since they are chained) every fact the row states. An older entry covers only
    the former: the row's other columns are then taken as they are (docs/ledger.md)."""
    facts = entry.get("facts") or {}
    if not (
        entry["kind"] == ENTRY_KIND
        and facts.get("certificate_id") == certificate.id
        and facts.get("sha256") == certificate.sha256
        and facts.get("trainee_id") == certificate.trainee_id
        and entry["at"] == certificate.issued_at
    ):
        return False
    if "fingerprint" not in facts:
        return True
    return (
        all(facts.get(name) == getattr(certificate, name) for name in COVERED)
        and _same_time(facts.get("issued_at"), certificate.issued_at)
        and (facts.get("replaces") is None) == (certificate.generation == 1)
    )


def _same_time(stated: object, issued_at: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(stated)) == issued_at
    except ValueError:
        return False


def _successor(certificate: Certificate, later: dict[str, list]) -> str | None:
    """The certificate that a later entry of its chains says replaces it (R17); for entries
    written before `replaces` was chained, the row's link."""
    for entries in later.values():
        for entry in entries:
            facts = entry["facts"] or {}
            if entry["kind"] == ENTRY_KIND and facts.get("replaces") == certificate.id:
                return str(facts["certificate_id"])
    return certificate.superseded_by_id


def _outdated(
    certificate: Certificate, fingerprint: str, later: dict[str, list], now: datetime
) -> bool:
    """Its sessions' chains, as they stand, give other facts than it states (a correction
    since, R7). Read again only when an entry other than a certificate was chained after it
    (the verification is public: most answers cost no replay); never after a purge (the
    reasons were erased, the attendance was not corrected)."""
    changed = any(e["kind"] != ENTRY_KIND for entries in later.values() for e in entries)
    if not changed or is_purged(certificate.order_id):
        return False
    enrolment = db.session.get(Enrolment, certificate.enrolment_id)
    if enrolment is None:
        return False
    facts = read_facts(enrolment, certificate.kind, certificate.month, now, only=later.keys())
    return facts.fingerprint != fingerprint


def verification(certificate: Certificate, now: datetime, file_sha256: str | None = None) -> dict:
    """The public answer: minimal (the trainee's initials, no other id than the successor's
    short id). With a file's SHA-256, whether that exact file is the certificate."""
    trainee = db.session.get_one(Trainee, certificate.trainee_id)
    reading = read_record(certificate, now)
    answer = {
        "id": certificate.short_id,
        "valid": reading.valid,
        "sha256": certificate.sha256,
        "issued_at": certificate.issued_at,
        "trainee_initials": public_initials(trainee),
        "hours": certificate.hours,
        "kind": certificate.kind,
        "month": certificate.month or None,
        "superseded": reading.successor_id is not None,
        "outdated": reading.outdated,
    }
    successor = db.session.get(Certificate, reading.successor_id) if reading.successor_id else None
    if successor is not None:
        answer["superseded_by"] = successor.short_id
        answer["superseded_at"] = successor.issued_at
    if file_sha256 is not None:
        answer["genuine"] = reading.valid and file_sha256.lower() == certificate.sha256
    return answer


ERASED = "données effacées"


def public_initials(trainee: Trainee) -> str:
    """« A. S. », or « données effacées » once a purge erased the names."""
    if trainee.first_name == retention.PURGED and trainee.last_name == retention.PURGED:
        return ERASED
    return rules.initials(trainee.first_name, trainee.last_name)


# --- The signatory ---


BAD_IMAGE = (
    "L'image de la signature doit être un PNG ou un JPEG lisible de 300 Ko et "
    f"{MAX_PIXELS // 1_000_000} millions de pixels au plus."
)


def signature_png(data: bytes) -> bytes:
    """The uploaded signature image, read whole and written again as a PNG: a file that only
    looks like one (truncated, another format, a decompression bomb) is refused (400) here,
    never found out while drawing certificates."""
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(BAD_IMAGE, code="invalid_image")
            image.load()
            plain = image if image.mode in PNG_MODES else image.convert("RGBA")
            out = io.BytesIO()
            plain.save(out, format="PNG", optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise InvalidInput(BAD_IMAGE, code="invalid_image") from error
    return out.getvalue()


def drawable(image: bytes | None) -> bytes | None:
    """The stored signature image if it can be drawn, else None: the certificate then bears
    the signatory's typed name (an image stored before uploads were checked may not)."""
    if not image:
        return None
    try:
        with Image.open(io.BytesIO(image), formats=("PNG", "JPEG")) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                return None
            probe.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return image


def signatory_of(organisation_id: str) -> Signatory | None:
    return db.session.get(Signatory, organisation_id)


def set_signatory(
    actor: Principal, name: str, title: str, city: str, image: bytes | None, now: datetime
) -> Signatory:
    """The organisation's admin names who signs its certificates (and may add an image)."""
    if not actor.has_role(Role.ORG_ADMIN) or actor.organisation_id is None:
        raise Forbidden()
    signatory = db.session.get(Signatory, actor.organisation_id)
    if signatory is None:
        signatory = Signatory(organisation_id=actor.organisation_id)
        db.session.add(signatory)
    signatory.name, signatory.title, signatory.city = name, title, city
    signatory.updated_at = now
    if image is not None:
        signatory.signature_image = image or None  # b"": removed
    db.session.flush()
    return signatory


# --- Retention ---


def is_purged(order_id: str) -> bool:
    """The order's personal data was purged (see purged_orders)."""
    return bool(purged_orders({order_id}))


def purged_orders(order_ids: Collection[str]) -> set[str]:
    """Those of the orders whose personal data was purged: marked by the purge, or (purged
    before purges were marked) one of their certificates lost its PDF."""
    wanted = list(order_ids)
    if not wanted:
        return set()
    marked = select(PurgedOrder.order_id).where(PurgedOrder.order_id.in_(wanted))
    erased = select(Certificate.order_id).where(
        Certificate.order_id.in_(wanted), Certificate.pdf.is_(None)
    )
    return set(db.session.scalars(marked.union(erased)))


def purged_error() -> Gone:
    return Gone(
        "Les données personnelles de ce bon de commande ont été effacées au terme de leur durée "
        "de conservation : ce certificat ne peut plus être délivré. Son numéro se vérifie "
        "toujours sur la page publique de vérification.",
        code="certificate_purged",
    )


@order_purged.connect
def erase_documents(order_id: str, trainee_ids: set[str]) -> None:
    """An order's personal data is erased: its certificates' PDFs (which print the trainees'
    names) go too; their hashes stay in the ledger, so they still verify by short id. The
    order is marked: none of its certificates is issued again (the purge erased the absences'
    reasons, which would otherwise read as new facts)."""
    if db.session.get(PurgedOrder, order_id) is None:
        db.session.add(PurgedOrder(order_id=order_id, purged_at=utcnow()))
    db.session.execute(
        update(Certificate)
        .where(Certificate.order_id == order_id, Certificate.trainee_id.in_(trainee_ids))
        .values(pdf=None)
        .execution_options(synchronize_session=False)
    )
