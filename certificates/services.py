"""Use cases of certificates: read the facts from the ledger, issue (recorded in the ledger),
supersede, find, verify; the organisation's signatory.

Hours come only from chained entries (attendance.register replays each session's chain).
An issued certificate appends one `certificate` entry to the chain of each session it counts,
with the PDF's SHA-256: the next seal covers it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, select, update

from attendance import company_journal, journal, ledger, projection, register
from attendance.models import Signature, TrainingSession
from attendance.rules import local_day
from attendance.signals import order_purged
from certificates import pdf, rules
from certificates.models import Certificate, Signatory
from core.auth import Principal
from core.db import new_id
from core.errors import Conflict, Forbidden, NotFound
from core.extensions import db
from core.models import Organisation, Role, Trainee
from training import access
from training.models import Enrolment, Order

ISSUERS = (Role.ORG_ADMIN, Role.TRAINEE)
OPERATOR = "operator"  # the author of certificates issued from the command line
ENTRY_KIND = "certificate"


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


def read_facts(enrolment: Enrolment, kind: str, month: str, now: datetime) -> Facts:
    """The trainee's sessions of the enrolment's group as their chains tell them: every one
    that took place (realisation), or those of one Paris month (attendance)."""
    first, last = rules.parse_month(month) if kind == rules.ATTENDANCE else (None, None)
    facts = Facts(enrolment, kind, month)
    query = select(TrainingSession).where(TrainingSession.group_id == enrolment.group_id)
    for session in db.session.scalars(query.order_by(TrainingSession.starts_at)):
        state, entries = register.chained_state(session)
        if not is_counted(state, now) or not _in_month(state, first, last):
            continue
        line = _line(session, state, enrolment.trainee_id, now)
        if line is not None:
            facts.lines.append(line)
            facts.sessions[session.id] = session
            facts.read_lengths[session.id] = len(entries)
    facts.lines.sort(key=lambda line: (line.starts_at, line.session_id))
    _read_company(facts, first, last)
    return facts


def _read_company(facts: Facts, first: date | None, last: date | None) -> None:
    """The company hours (R2) of the path, of the month for an attendance certificate, that
    both the trainee and the tutor signed, from the periods' chains."""
    found = company_journal.counted_for([facts.enrolment.id], first, last)[facts.enrolment.id]
    facts.company = found.lines
    facts.company_lengths = found.read_lengths


def _in_month(state: projection.SessionState, first: date | None, last: date | None) -> bool:
    if first is None or last is None or state.starts_at is None:
        return True
    return first <= local_day(state.starts_at) <= last


def _line(
    session: TrainingSession, state: projection.SessionState, trainee_id: str, now: datetime
) -> rules.Line | None:
    people = register.roster(session, now, [trainee_id])
    if not people or state.starts_at is None or state.ends_at is None or state.kind is None:
        return None  # not a participant of this session
    person = people[0]
    missed = tuple((h.reason, h.justified) for h in person.halves if h.status != "present")
    return rules.Line(
        session_id=session.id,
        day=local_day(state.starts_at),
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


def issue(
    author_id: str, enrolment: Enrolment, kind: str, month: str, now: datetime, base_url: str
) -> Issued:
    """Issue the certificate, or answer the existing one when its facts are unchanged. A new
    one supersedes the previous one (a correction since). Raises StaleFacts, or the database's
    IntegrityError when a concurrent issue won: the caller rolls back and calls again."""
    facts = read_facts(enrolment, kind, month if kind == rules.ATTENDANCE else "", now)
    if not facts.lines and not facts.company:
        raise Conflict(
            "Aucune séance tenue pour ce parcours sur cette période : rien à certifier.",
            code="nothing_to_certify",
        )
    previous = latest(enrolment.id, kind, facts.month)
    if previous is not None and previous.fingerprint == facts.fingerprint:
        return Issued(previous, created=False)
    certificate = Certificate(
        id=new_id(),
        organisation_id=enrolment.organisation_id,
        order_id=enrolment.group.order_id,
        enrolment_id=enrolment.id,
        trainee_id=enrolment.trainee_id,
        kind=kind,
        month=facts.month,
        generation=previous.generation + 1 if previous else 1,
        short_id=rules.new_short_id(),
        fingerprint=facts.fingerprint,
        minutes=facts.minutes,
        issued_at=now,
        issued_by_id=author_id,
    )
    certificate.pdf = pdf.render(document(certificate, facts, previous, base_url))
    certificate.sha256 = hashlib.sha256(certificate.pdf).hexdigest()
    certificate.entries = record(certificate, facts, author_id, now)
    db.session.add(certificate)
    db.session.flush()
    if previous is not None:  # after the insert: the reference must exist
        previous.superseded_by_id = certificate.id
        db.session.flush()
    return Issued(certificate, created=True)


def record(certificate: Certificate, facts: Facts, author_id: str, now: datetime) -> list:
    """One `certificate` entry in the chain of each session counted (in session id order, so
    that concurrent issues lock the chains in one order). Any entry that sets hours chained
    since the facts were read makes them stale."""
    places = []
    for session_id in sorted(facts.sessions):
        entry = journal.session_entry(
            facts.sessions[session_id],
            author_id,
            ENTRY_KIND,
            now,
            facts=_entry_facts(certificate),
        )
        journal.append(session_id, entry)
        _check_fresh(session_id, facts.read_lengths[session_id], entry.seq)
        places.append([session_id, entry.seq])
    for period_id in sorted(facts.company_lengths):  # the company periods' chains alike
        facts_of = _entry_facts(certificate)
        seq = company_journal.record_certificate(period_id, author_id, now, facts_of)
        since = company_journal.kinds_between(period_id, facts.company_lengths[period_id], seq)
        if any(kind != ENTRY_KIND for kind in since):
            raise StaleFacts(period_id)
        places.append([period_id, seq])
    return places


def _entry_facts(certificate: Certificate) -> dict[str, str]:
    return {
        "certificate_id": certificate.id,
        "sha256": certificate.sha256,
        "trainee_id": certificate.trainee_id,
    }


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


def document(
    certificate: Certificate, facts: Facts, previous: Certificate | None, base_url: str
) -> pdf.Document:
    """Everything the PDF prints."""
    enrolment = facts.enrolment
    order = db.session.get_one(Order, enrolment.group.order_id)
    organisation = db.session.get_one(Organisation, enrolment.organisation_id)
    signatory = db.session.get(Signatory, organisation.id)
    trainee = db.session.get_one(Trainee, enrolment.trainee_id)
    return pdf.Document(
        kind=certificate.kind,
        month=certificate.month,
        short_id=certificate.short_id,
        verify_url=verify_url(base_url, certificate.short_id),
        issued_at=certificate.issued_at,
        organisation=organisation.name,
        siret=organisation.siret,
        signatory_name=signatory.name if signatory else "",
        signatory_title=signatory.title if signatory else "",
        city=signatory.city if signatory else "",
        signature_image=signatory.signature_image if signatory else None,
        trainee=trainee.full_name,
        action_title=f"{order.title} — {enrolment.group.component}",
        order_number=order.number,
        entry_date=enrolment.entry_date,
        exit_date=enrolment.exit_date,
        lines=tuple(facts.lines),
        replaces=previous.short_id if previous else None,
        company=tuple(facts.company),
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


def is_recorded(certificate: Certificate) -> bool:
    """The ledger holds the certificate: each of its entries names it with its SHA-256, and
    each of those chains recomputes from its first entry to its head."""
    if not certificate.entries:
        return False
    for session_id, seq in certificate.entries:
        session = db.session.get(TrainingSession, session_id)
        if session is None:
            return False
        _, entries = register.chained_state(session)
        report = ledger.verify_chain(session_id, entries, session.chain_length, session.chain_head)
        mine = [e for e in entries if e["seq"] == seq]
        if report.fault is not None or not mine or not _names(mine[0], certificate):
            return False
    return True


def _names(entry: dict, certificate: Certificate) -> bool:
    facts = entry.get("facts") or {}
    return (
        entry["kind"] == ENTRY_KIND
        and facts.get("certificate_id") == certificate.id
        and facts.get("sha256") == certificate.sha256
        and facts.get("trainee_id") == certificate.trainee_id
    )


def verification(certificate: Certificate, file_sha256: str | None = None) -> dict:
    """The public answer: minimal (the trainee's initials, no other id than the successor's
    short id). With a file's SHA-256, whether that exact file is the certificate."""
    trainee = db.session.get_one(Trainee, certificate.trainee_id)
    valid = is_recorded(certificate)
    answer = {
        "id": certificate.short_id,
        "valid": valid,
        "sha256": certificate.sha256,
        "issued_at": certificate.issued_at,
        "trainee_initials": rules.initials(trainee.first_name, trainee.last_name),
        "hours": certificate.hours,
        "kind": certificate.kind,
        "month": certificate.month or None,
        "superseded": certificate.is_superseded(),
    }
    if certificate.superseded_by_id:
        successor = db.session.get_one(Certificate, certificate.superseded_by_id)
        answer["superseded_by"] = successor.short_id
    if file_sha256 is not None:
        answer["genuine"] = valid and file_sha256.lower() == certificate.sha256
    return answer


# --- The signatory ---


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


@order_purged.connect
def erase_documents(order_id: str, trainee_ids: set[str]) -> None:
    """An order's personal data is erased: its certificates' PDFs (which print the trainees'
    names) go too; their hashes stay in the ledger, so they still verify by short id."""
    db.session.execute(
        update(Certificate)
        .where(Certificate.order_id == order_id, Certificate.trainee_id.in_(trainee_ids))
        .values(pdf=None)
        .execution_options(synchronize_session=False)
    )
