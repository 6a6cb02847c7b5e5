"""Personal data (GDPR): what the service holds of a trainee, as JSON and as a readable PDF;
the organisation's answers to access and erasure requests; who read a trainee's record.

The export holds everything recorded about the person (identity, paths, every entry of the
ledger that names them, certificates, help requests, outcomes, lent equipment, invitations and
the devices they bound, who read their record), never another person's data: entries of a
session that name other trainees are not included, and staff appear by role and name only.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import insert, select

from attendance.models import CompanyPeriod, Signature, TrainingSession
from attendance.retention import retention_ends
from certificates import pdf as certificate_pdf
from certificates.models import Certificate
from compliance.models import DataRequest, EquipmentLoan, HelpRequest, Outcome, RecordAccess
from core.auth import Principal
from core.clock import PARIS
from core.db import new_id
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.extensions import db
from core.models import Invitation, Role, Trainee, User
from training.models import Enrolment, Group, Order
from training.services import get_trainee, require_admin_of

ACCESS, ERASURE = "access", "erasure"
ANSWER_WITHIN_DAYS = 30  # GDPR art. 12(3): one month
ENTRY_LABELS = {
    "sign_in": "Émargement d'arrivée",
    "sign_out": "Émargement de départ",
    "absence": "Absence",
    "correction": "Correction",
    "qr": "QR code",
    "code": "code personnel",
    "kiosk": "poste d'un site",
    "virtual_class": "classe virtuelle",
    "home": "à distance",
}


def _iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(PARIS).isoformat()
    return moment.isoformat()


# --- who read a record --------------------------------------------------------------------------


def log_read(trainee: Trainee, reader: Principal, what: str, now: datetime) -> None:
    """Record that `reader` read the trainee's record, on its own connection: the line stays
    whether or not the request that read commits anything."""
    if reader.is_trainee and reader.id == trainee.id:
        return  # a person reading their own data is not a disclosure
    with db.engine.begin() as connection:
        connection.execute(
            insert(RecordAccess).values(
                id=new_id(),
                organisation_id=trainee.organisation_id,
                trainee_id=trainee.id,
                reader_id=reader.id,
                reader_role=reader.role,
                what=what[:100],
                at=now,
                created_at=now,
            )
        )


def access_log(
    actor: Principal, trainee_id: str, limit: int = 500
) -> list[tuple[RecordAccess, str]]:
    """For the organisation's data protection officer (its admin) and the Région: who read the
    trainee's record, when and what, newest first, with the reader's name."""
    trainee = get_trainee(actor, trainee_id)
    if not actor.has_role(Role.ORG_ADMIN, Role.REGION):
        raise Forbidden("Seuls le référent de l'organisme et la Région lisent ce journal.")
    rows = db.session.execute(
        select(RecordAccess, User)
        .join(User, User.id == RecordAccess.reader_id, isouter=True)
        .where(RecordAccess.trainee_id == trainee.id)
        .order_by(RecordAccess.at.desc())
        .limit(limit)
    ).all()
    return [(access, user.full_name if user else "—") for access, user in rows]


# --- what the service holds of a trainee --------------------------------------------------------


def gather(trainee: Trainee) -> dict[str, Any]:
    """Everything recorded about the trainee, as plain JSON values."""
    paths = db.session.execute(
        select(Enrolment, Group, Order)
        .join(Group, Enrolment.group_id == Group.id)
        .join(Order, Group.order_id == Order.id)
        .where(Enrolment.trainee_id == trainee.id)
        .order_by(Enrolment.entry_date)
    ).all()
    entries = db.session.execute(
        select(Signature, TrainingSession)
        .join(TrainingSession, TrainingSession.id == Signature.session_id)
        .where(Signature.signer_id == trainee.id, Signature.signer_kind == "trainee")
        .order_by(Signature.at)
    ).all()
    certificates = db.session.scalars(
        select(Certificate)
        .where(Certificate.trainee_id == trainee.id)
        .order_by(Certificate.issued_at)
    ).all()
    helps = db.session.scalars(
        select(HelpRequest)
        .where(HelpRequest.trainee_id == trainee.id)
        .order_by(HelpRequest.asked_at)
    ).all()
    outcomes = db.session.scalars(select(Outcome).where(Outcome.trainee_id == trainee.id)).all()
    loans = db.session.scalars(
        select(EquipmentLoan).where(EquipmentLoan.trainee_id == trainee.id)
    ).all()
    invitations = db.session.scalars(
        select(Invitation)
        .where(Invitation.trainee_id == trainee.id)
        .order_by(Invitation.created_at)
    ).all()
    periods = db.session.scalars(
        select(CompanyPeriod)
        .where(CompanyPeriod.trainee_id == trainee.id)
        .order_by(CompanyPeriod.start_date)
    ).all()
    reads = db.session.execute(
        select(RecordAccess, User)
        .join(User, User.id == RecordAccess.reader_id, isouter=True)
        .where(RecordAccess.trainee_id == trainee.id)
        .order_by(RecordAccess.at)
    ).all()
    return {
        "identity": {
            "id": trainee.id,
            "first_name": trainee.first_name,
            "last_name": trainee.last_name,
            "email": trainee.email,
            "phone": trainee.phone,
        },
        "paths": [
            {
                "order_number": order.number,
                "order_title": order.title,
                "group": group.name,
                "component": group.component,
                "entry_date": _iso(path.entry_date),
                "exit_date": _iso(path.exit_date),
                "planned_centre_hours": path.planned_centre_hours,
                "planned_company_hours": path.planned_company_hours,
                "data_kept_until": _iso(retention_ends(order)),
            }
            for path, group, order in paths
        ],
        "ledger_entries": [
            {
                "kind": entry.kind,
                "session": session.title,
                "session_kind": session.kind,
                "session_starts_at": _iso(session.starts_at),
                "at": _iso(entry.at),
                "half_day": entry.half_day,
                "method": entry.method,
                "channel": entry.channel,
                "device": entry.device or {},
                "reason": entry.reason,
                "action": entry.action,
                "justified": entry.justified,
            }
            for entry, session in entries
        ],
        "certificates": [
            {
                "short_id": c.short_id,
                "kind": c.kind,
                "month": c.month or None,
                "issued_at": _iso(c.issued_at),
                "hours": round(c.minutes / 60, 2),
                "sha256": c.sha256,
                "superseded": c.superseded_by_id is not None,
            }
            for c in certificates
        ],
        "help_requests": [
            {
                "asked_at": _iso(h.asked_at),
                "text": h.text,
                "answered_at": _iso(h.answered_at),
                "answer": h.answer,
                "file": h.file_name,
            }
            for h in helps
        ],
        "outcomes": [
            {
                "milestone": o.milestone,
                "situation": o.situation,
                "employment_kind": o.employment_kind,
                "detail": o.detail,
                "recorded_at": _iso(o.recorded_at),
            }
            for o in outcomes
        ],
        "company_periods": [
            {
                "company": period.company_name,
                "start_date": _iso(period.start_date),
                "end_date": _iso(period.end_date),
                "planned_hours": period.planned_hours,
                "hours": [
                    {
                        "first_day": _iso(line.first_day),
                        "last_day": _iso(line.last_day),
                        "minutes": line.minutes,
                        "signed_by_you": _iso(line.trainee_signed_at),
                        "signed_by_tutor": _iso(line.tutor_signed_at),
                        "withdrawn": _iso(line.cancelled_at),
                    }
                    for line in period.lines
                ],
            }
            for period in periods
        ],
        "equipment_loans": [
            {
                "item": loan.item,
                "deposit_eur": str(loan.deposit_eur),
                "lent_on": _iso(loan.lent_on),
                "returned_on": _iso(loan.returned_on),
            }
            for loan in loans
        ],
        "invitations": [
            {
                "created_at": _iso(i.created_at),
                "redeemed_at": _iso(i.redeemed_at),
                "device": i.device_label,
                "revoked_at": _iso(i.revoked_at),
            }
            for i in invitations
        ],
        "record_reads": [
            {
                "at": _iso(r.at),
                "reader": user.full_name if user else "—",
                "role": r.reader_role,
                "what": r.what,
            }
            for r, user in reads
        ],
    }


def export(actor: Principal, trainee_id: str, now: datetime) -> tuple[Trainee, dict[str, Any]]:
    """The trainee's data, for themselves or for their organisation's admin (an access
    request); the organisation's read is logged like any other."""
    if actor.is_trainee and actor.id != trainee_id:
        raise NotFound("Stagiaire introuvable.")
    trainee = get_trainee(actor, trainee_id)
    if not (actor.is_trainee or actor.has_role(Role.ORG_ADMIN)):
        raise Forbidden("Seuls le stagiaire et le référent de son organisme exportent ses données.")
    log_read(trainee, actor, "export des données personnelles", now)
    data = gather(trainee)
    data["exported_at"] = _iso(now)
    return trainee, data


# --- the readable PDF ---------------------------------------------------------------------------

SECTIONS = (
    (
        "paths",
        "Parcours de formation",
        ("order_number", "group", "entry_date", "exit_date", "data_kept_until"),
    ),
    (
        "ledger_entries",
        "Émargements, absences et corrections",
        ("at", "kind", "session", "method", "channel"),
    ),
    ("certificates", "Attestations", ("short_id", "kind", "month", "issued_at", "hours")),
    ("help_requests", "Demandes d'aide", ("asked_at", "text", "answered_at", "answer")),
    (
        "company_periods",
        "Périodes en entreprise",
        ("company", "start_date", "end_date", "planned_hours"),
    ),
    (
        "outcomes",
        "Situation après la formation",
        ("milestone", "situation", "employment_kind", "recorded_at"),
    ),
    ("equipment_loans", "Matériel prêté", ("item", "deposit_eur", "lent_on", "returned_on")),
    (
        "invitations",
        "Invitations et téléphones reliés",
        ("created_at", "redeemed_at", "device", "revoked_at"),
    ),
    ("record_reads", "Consultations de votre dossier", ("at", "reader", "role", "what")),
)
HEADERS = {
    "order_number": "Bon de commande",
    "company": "Entreprise",
    "start_date": "Du",
    "end_date": "Au",
    "planned_hours": "Heures prévues",
    "group": "Groupe",
    "entry_date": "Entrée",
    "exit_date": "Sortie",
    "data_kept_until": "Conservé jusqu'au",
    "at": "Date",
    "kind": "Nature",
    "session": "Séance",
    "method": "Moyen",
    "channel": "Lieu",
    "short_id": "N°",
    "month": "Mois",
    "issued_at": "Émise le",
    "hours": "Heures",
    "asked_at": "Demandée le",
    "text": "Question",
    "answered_at": "Répondue le",
    "answer": "Réponse",
    "milestone": "Échéance",
    "situation": "Situation",
    "employment_kind": "Emploi",
    "recorded_at": "Relevée le",
    "item": "Matériel",
    "deposit_eur": "Dépôt (€)",
    "lent_on": "Prêté le",
    "returned_on": "Rendu le",
    "created_at": "Créée le",
    "redeemed_at": "Utilisée le",
    "device": "Appareil",
    "revoked_at": "Annulée le",
    "reader": "Lecteur",
    "role": "Rôle",
    "what": "Quoi",
}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    text = str(value)
    if len(text) >= 19 and text[4] == "-" and "T" in text:  # an ISO moment: Paris, to the minute
        return f"{text[8:10]}/{text[5:7]}/{text[:4]} {text[11:16]}"
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    if text.startswith("site:"):
        return "site d'accès"
    return ENTRY_LABELS.get(text, text)


def render_pdf(data: dict[str, Any]) -> bytes:
    """The same data, readable: one table per kind of record."""
    _, bold = certificate_pdf.fonts()
    styles = certificate_pdf.styles()
    out = io.BytesIO()
    identity = data["identity"]
    name = f"{identity['first_name']} {identity['last_name']}"
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Mes données personnelles — {name}",
        author="Compétences Plus — Région Occitanie",
        lang="fr-FR",
    )
    story: list[Any] = [
        Paragraph("Vos données personnelles", styles["title"]),
        Paragraph(
            f"{escape(name)} · exportées le {_cell(data['exported_at'])}", styles["subtitle"]
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Adresse électronique : {escape(identity['email'] or '—')} · Téléphone : "
            f"{escape(identity['phone'] or '—')}",
            styles["body"],
        ),
    ]
    for key, title, columns in SECTIONS:
        story.append(Paragraph(f"{title} ({len(data[key])})", styles["heading"]))
        if not data[key]:
            story.append(Paragraph("Aucune donnée.", styles["body"]))
            continue
        rows = [[Paragraph(HEADERS[c], styles["cell"]) for c in columns]]
        rows += [
            [Paragraph(escape(_cell(item.get(c))), styles["cell"]) for c in columns]
            for item in data[key]
        ]
        table = Table(rows, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, 0), bold),
                    ("GRID", (0, 0), (-1, -1), 0.3, "#999999"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            "Les émargements sont des pièces justificatives conservées 3 ans après la fin de "
            "l'année du dernier paiement, puis effacées. Pour toute demande, adressez-vous à "
            "votre organisme de formation.",
            styles["small"],
        )
    )
    document.build(story)
    return out.getvalue()


# --- access and erasure requests ----------------------------------------------------------------


def record_request(
    actor: Principal, trainee_id: str, data: dict[str, Any], now: datetime
) -> DataRequest:
    """The organisation records a trainee's access or erasure request (answer within a month)."""
    trainee = get_trainee(actor, trainee_id)
    require_admin_of(actor, trainee.organisation_id)
    received: date = data["received_on"]
    if received > now.astimezone(PARIS).date():
        raise InvalidInput(
            "La demande ne peut avoir été reçue dans le futur.", code="invalid_dates"
        )
    request = DataRequest(
        organisation_id=trainee.organisation_id,
        trainee_id=trainee.id,
        kind=data["kind"],
        received_on=received,
        recorded_by_id=actor.id,
        note=(data.get("note") or "").strip() or None,
    )
    db.session.add(request)
    db.session.flush()
    return request


def erasable_now(trainee: Trainee, now: datetime) -> None:
    """An erasure request, answered at once for what no law keeps: the phone number, the
    devices bound to the trainee's invitations (the phone can no longer sign in) and the
    invitations not used yet. Identity, signatures and what proves the hours are kept until
    the retention period ends (GDPR art. 17(3)(b): a legal obligation), then purged."""
    trainee.phone = None
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.trainee_id == trainee.id)
    ):
        invitation.device_label = None
        if invitation.revoked_at is None:
            invitation.revoked_at = now


def kept_until(trainee_id: str) -> date | None:
    """The day the trainee's proof may be purged: the latest retention end of their orders."""
    orders = db.session.scalars(
        select(Order)
        .join(Group, Group.order_id == Order.id)
        .join(Enrolment, Enrolment.group_id == Group.id)
        .where(Enrolment.trainee_id == trainee_id)
    ).all()
    return max((retention_ends(o) for o in orders), default=None)


def answer_request(actor: Principal, request_id: str, note: str, now: datetime) -> DataRequest:
    """Answer: an access request with the export (downloaded by the admin for the trainee); an
    erasure request by erasing what may be erased now and saying when the rest will be."""
    request = db.session.scalar(
        select(DataRequest).where(DataRequest.id == request_id).with_for_update()
    )
    if request is None or request.organisation_id != actor.organisation_id:
        raise NotFound("Demande introuvable.")
    require_admin_of(actor, request.organisation_id)
    if request.answered_at is not None:
        raise Conflict("Cette demande a déjà reçu une réponse.", code="request_answered")
    trainee = db.session.get_one(Trainee, request.trainee_id)
    if request.kind == ERASURE:
        erasable_now(trainee, now)
        until = kept_until(trainee.id)
        request.erasure_scheduled_on = until
    request.answered_at, request.answered_by_id = now, actor.id
    request.answer = note.strip() or None
    db.session.flush()
    return request


def list_requests(actor: Principal) -> list[DataRequest]:
    if not actor.has_role(Role.ORG_ADMIN, Role.REGION):
        raise Forbidden("Seuls le référent de l'organisme et la Région suivent ces demandes.")
    query = select(DataRequest).order_by(DataRequest.received_on.desc(), DataRequest.id)
    if not actor.has_role(Role.REGION):
        query = query.where(DataRequest.organisation_id == actor.organisation_id)
    return list(db.session.scalars(query.limit(500)))
