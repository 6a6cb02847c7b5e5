"""The certificates as PDF (reportlab): data in, bytes out.

A4, French, PDF/A-friendly: every font embedded (DejaVu Sans from Debian's fonts-dejavu-core,
else reportlab's bundled Bitstream Vera), no transparency in what we draw, title, author,
subject and language in the document's information. The QR code is a segno PNG
(docs: FACTS.md, 3.5 × faster than reportlab's own QR widget).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import reportlab
import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from attendance.signals import ClassEvidence
from certificates import rules
from core.clock import PARIS
from core.templating import MONTHS

DEJAVU = "/usr/share/fonts/truetype/dejavu"
FONT_FILES = (
    (os.path.join(DEJAVU, "DejaVuSans.ttf"), os.path.join(DEJAVU, "DejaVuSans-Bold.ttf")),
    (
        os.path.join(os.path.dirname(reportlab.__file__), "fonts", "Vera.ttf"),
        os.path.join(os.path.dirname(reportlab.__file__), "fonts", "VeraBd.ttf"),
    ),
)
KIND_LABELS = {
    "tutorat": "Tutorat (à distance, synchrone)",
    "autoformation": "Autoformation (à distance)",
    "regroupement": "Regroupement (en présentiel)",
    rules.COMPANY: "En entreprise",
}
NATURES = (
    ("Action de formation", True),
    ("Bilan de compétences", False),
    ("Action de VAE", False),
    ("Action de formation par apprentissage", False),
)
RETENTION = (
    "Sans préjudice des délais imposés par les règles fiscales, comptables ou commerciales, "
    "je m'engage à conserver l'ensemble des pièces justificatives qui ont permis d'établir le "
    "présent document pendant une durée de 3 ans à compter de la fin de l'année du dernier "
    "paiement. En cas de cofinancement par des fonds européens, la durée de conservation est "
    "étendue conformément aux obligations conventionnelles spécifiques."
)
DISTANCE_NOTE = (
    "Pour la formation à distance, les heures réalisées comptent les activités pédagogiques "
    "réalisées, établies à partir des émargements horodatés de chaque séance (QR code, code "
    "personnel, poste d'un site, classe virtuelle), inscrits dans un registre chaîné et scellé. "
    "Sans émargement, une séance d'autoformation ne compte aucune heure (R7)."
)


@dataclass(frozen=True)
class Document:
    """Everything a certificate prints."""

    kind: str
    month: str
    short_id: str
    verify_url: str
    issued_at: datetime
    organisation: str
    siret: str
    signatory_name: str
    signatory_title: str
    city: str
    signature_image: bytes | None
    trainee: str
    action_title: str
    order_number: str
    entry_date: date
    exit_date: date | None
    lines: tuple[rules.Line, ...]
    replaces: str | None = None
    company: tuple[rules.CompanyLine, ...] = ()  # hours in a company (R2), signed by both
    classes: tuple[ClassEvidence, ...] = ()  # tutorats held in the virtual class (R16)


class _MemoFlate(pdfdoc.PDFStreamFilterZCompress):
    """Flate, answering the same bytes again without compressing them again."""

    SIZE = 16

    def __init__(self) -> None:
        self.memo: dict[bytes, bytes] = {}

    def encode(self, text: str | bytes) -> bytes:
        raw = text.encode("utf8") if isinstance(text, str) else text
        found = self.memo.get(raw)
        if found is None:
            found = super().encode(raw)
            if len(self.memo) >= self.SIZE:
                self.memo.clear()
            self.memo[raw] = found
        return found


class _Face(TTFontFace):
    """A font whose subsets are made and compressed once per distinct subset in a process.

    Every certificate embeds the subset of the fonts it uses (PDF/A); reportlab subsets and
    compresses it again for each document, which was a third of drawing a certificate. With
    ASCII always in the first subset (reportlab's `ttfAsciiReadable`), the certificates of
    one kind use the same subset unless a name brings a new letter: the same bytes, made
    once (docs/benchmarks.md, "Certificates")."""

    FLATE = _MemoFlate()

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.subsets: dict[tuple[int, ...], bytes] = {}

    def makeSubset(self, subset: list[int]) -> bytes:  # noqa: N802 - reportlab's name
        key = tuple(subset)
        found = self.subsets.get(key)
        if found is None:
            found = self.subsets[key] = super().makeSubset(subset)
        return found

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:  # noqa: N802
        descriptor = super().addSubsetObjects(doc, fontname, subset)
        stream = doc.idToObject.get(f"fontFile:{self.filename}({fontname})")
        if stream is not None and stream.filters:
            stream.filters = [self.FLATE]
        return descriptor


def _font(name: str, path: str) -> TTFont:
    font = TTFont(name, path)
    font.face = _Face(path)
    return font


@cache
def fonts() -> tuple[str, str]:
    """Register the embedded fonts once per process: (regular, bold)."""
    for regular, bold in FONT_FILES:
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(_font("CertSans", regular))
            pdfmetrics.registerFont(_font("CertSans-Bold", bold))
            pdfmetrics.registerFontFamily("CertSans", normal="CertSans", bold="CertSans-Bold")
            return "CertSans", "CertSans-Bold"
    raise RuntimeError("No TrueType font to embed: install fonts-dejavu-core.")


@cache
def styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle(
            "title", parent=base, fontName=bold, fontSize=15, leading=19, alignment=TA_CENTER
        ),
        "subtitle": ParagraphStyle("subtitle", parent=base, alignment=TA_CENTER),
        "heading": ParagraphStyle(
            "heading", parent=base, fontName=bold, fontSize=10.5, spaceBefore=6, spaceAfter=3
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
    }


def render(doc: Document) -> bytes:
    """The certificate of realisation or the attendance certificate, as PDF bytes."""
    out = io.BytesIO()
    title = title_of(doc)
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{title} — {doc.trainee}",
        author=doc.organisation,
        subject=f"{title} n° {doc.short_id}",
        creator="Compétences Plus — émargement (Région Occitanie)",
        lang="fr-FR",
        displayDocTitle=True,
    )
    story = realisation_story(doc) if doc.kind == rules.REALISATION else attendance_story(doc)
    template.build(story)
    return out.getvalue()


def title_of(doc: Document) -> str:
    if doc.kind == rules.REALISATION:
        return "Certificat de réalisation"
    return f"Attestation d'assiduité — {month_label(doc.month)}"


def month_label(month: str) -> str:
    """« mars 2026 »."""
    first, _ = rules.parse_month(month)
    return f"{MONTHS[first.month - 1]} {first.year}"


def p(text: str, style: str = "body") -> Paragraph:
    return Paragraph(text, styles()[style])


def e(text: str | None) -> str:
    return escape(text or "")


def day_text(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def realisation_story(doc: Document) -> list[Flowable]:
    totals = rules.totals(doc.lines, rules.company_minutes(doc.company))
    first, last = rules.first_and_last_days(doc.lines, doc.company)
    bold = fonts()[1]
    return [
        p("CERTIFICAT DE RÉALISATION", "title"),
        p("Programme régional de formation « Compétences Plus » — Région Occitanie", "subtitle"),
        Spacer(1, 6 * mm),
        p(
            f"Je soussigné·e <b>{e(doc.signatory_name) or '……………………'}</b>, "
            f"{e(doc.signatory_title) or 'représentant·e légal·e'} du dispensateur de l'action "
            f"concourant au développement des compétences <b>{e(doc.organisation)}</b> "
            f"(SIRET {e(doc.siret)}), atteste que :"
        ),
        Spacer(1, 3 * mm),
        p(f"<b>{e(doc.trainee)}</b>"),
        Spacer(1, 2 * mm),
        p(f"a suivi l'action : <b>{e(doc.action_title)}</b>"),
        p(f"Bon de commande n° <b>{e(doc.order_number)}</b> de la Région Occitanie"),
        Spacer(1, 2 * mm),
        p("Nature de l'action concourant au développement des compétences :"),
        natures(),
        Spacer(1, 2 * mm),
        p(
            f"qui s'est déroulée du <b>{day_text(first)}</b> au <b>{day_text(last)}</b> "
            f"(entrée en formation le {day_text(doc.entry_date)}"
            + (f", sortie le {day_text(doc.exit_date)}" if doc.exit_date else "")
            + "),"
        ),
        p(
            f"pour une durée réalisée de <b>{rules.hours_text(totals.total)}</b>, "
            f"dont <b>{rules.hours_text(totals.distance)}</b> de formation à distance :"
        ),
        Spacer(1, 2 * mm),
        totals_table(totals, bold),
        *closing(doc),
    ]


def natures() -> Table:
    rows = [[box(chosen), p(label)] for label, chosen in NATURES]
    table = Table(rows, colWidths=[7 * mm, 150 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


class box(Flowable):  # noqa: N801 - used as a cell, like a function
    """A checkbox drawn as lines (no glyph, whatever the font covers)."""

    def __init__(self, checked: bool) -> None:
        super().__init__()
        self.checked, self.width, self.height = checked, 3.4 * mm, 3.4 * mm

    def draw(self) -> None:
        canvas, side = self.canv, 3.4 * mm
        canvas.setStrokeColor(colors.black)
        canvas.rect(0, 0, side, side)
        if self.checked:
            canvas.line(0.6 * mm, 0.6 * mm, side - 0.6 * mm, side - 0.6 * mm)
            canvas.line(0.6 * mm, side - 0.6 * mm, side - 0.6 * mm, 0.6 * mm)


def totals_table(totals: rules.Totals, bold: str) -> Table:
    rows: list[list[object]] = [["Modalité", "Heures réalisées"]]
    for kind in (*rules.MODALITIES, rules.COMPANY):
        rows.append([KIND_LABELS[kind], rules.hours_text(totals.by_modality.get(kind, 0))])
    rows.append(["Total", rules.hours_text(totals.total)])
    table = Table(rows, colWidths=[95 * mm, 45 * mm])
    table.setStyle(grid(bold, last_bold=True))
    return table


def grid(bold: str, *, last_bold: bool = False) -> TableStyle:
    regular = fonts()[0]
    commands = [
        ("FONT", (0, 0), (-1, -1), regular, 8.5),
        ("FONT", (0, 0), (-1, 0), bold, 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#808080")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ]
    if last_bold:
        commands.append(("FONT", (0, -1), (-1, -1), bold, 8.5))
    return TableStyle(commands)


def attendance_story(doc: Document) -> list[Flowable]:
    totals = rules.totals(doc.lines, rules.company_minutes(doc.company))
    bold = fonts()[1]
    return [
        p("ATTESTATION D'ASSIDUITÉ", "title"),
        p(f"Mois de {month_label(doc.month)}", "subtitle"),
        Spacer(1, 5 * mm),
        p(
            f"L'organisme de formation <b>{e(doc.organisation)}</b> (SIRET {e(doc.siret)}) "
            f"atteste la présence de <b>{e(doc.trainee)}</b> à l'action "
            f"<b>{e(doc.action_title)}</b> (bon de commande n° {e(doc.order_number)} de la "
            f"Région Occitanie) aux séances suivantes :"
        ),
        Spacer(1, 3 * mm),
        sessions_table(doc.lines, bold),
        *class_part(doc.lines, doc.classes, bold),
        *company_part(doc.company, bold),
        Spacer(1, 3 * mm),
        p("Heures réalisées par modalité", "heading"),
        totals_table(totals, bold),
        *absences_part(doc.lines, bold),
        *closing(doc),
    ]


def closing(doc: Document) -> list[Flowable]:
    """What both certificates end with: how hours are counted, the commitment to keep the
    records, the signature, the verification."""
    return [
        Spacer(1, 2 * mm),
        p(DISTANCE_NOTE + class_note(doc.classes), "small"),
        Spacer(1, 2 * mm),
        p(RETENTION, "small"),
        Spacer(1, 4 * mm),
        signature_block(doc),
        Spacer(1, 5 * mm),
        verification_block(doc),
    ]


STATUS = {"present": "Présent·e", "absent": "Absent·e"}


def sessions_table(lines: tuple[rules.Line, ...], bold: str) -> Table:
    rows: list[list[object]] = [["Date", "Horaires", "Modalité", "Séance", "Statut", "Durée"]]
    for line in lines:
        rows.append(
            [
                day_text(line.day),
                f"{clock(line.starts_at)} – {clock(line.ends_at)}",
                line.kind.capitalize(),
                p(e(line.title), "cell"),
                STATUS.get(line.status, line.status),
                rules.hours_text(line.minutes),
            ]
        )
    widths = [20 * mm, 24 * mm, 33 * mm, 52 * mm, 25 * mm, 20 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(grid(bold))
    return table


def class_part(
    lines: tuple[rules.Line, ...], classes: tuple[ClassEvidence, ...], bold: str
) -> list[Flowable]:
    """The tutorats held in the virtual class: the trainee's connected minutes and the
    presence checks answered out of those launched (R16), evidence beside the hours."""
    if not classes:
        return []
    by_session = {line.session_id: line for line in lines}
    rows: list[list[object]] = [["Date", "Séance", "Connecté·e", "Appels de présence"]]
    for proof in classes:
        line = by_session[proof.session_id]
        rows.append(
            [
                day_text(line.day),
                p(e(line.title), "cell"),
                rules.hours_text(proof.minutes),
                f"{proof.answered} répondu(s) sur {proof.launched}",
            ]
        )
    table = Table(rows, colWidths=[22 * mm, 70 * mm, 25 * mm, 40 * mm], repeatRows=1)
    table.setStyle(grid(bold))
    return [
        Spacer(1, 2 * mm),
        p(
            "Tutorats tenus en classe virtuelle : temps de connexion et appels de présence "
            "(preuves de présence ; les heures réalisées restent celles des émargements) :"
        ),
        table,
    ]


def class_note(classes: tuple[ClassEvidence, ...]) -> str:
    """What the note on distance training adds when tutorats were held in the class."""
    if not classes:
        return ""
    answered = sum(proof.answered for proof in classes)
    launched = sum(proof.launched for proof in classes)
    minutes = sum(proof.minutes for proof in classes)
    return (
        f" Pour les tutorats tenus en classe virtuelle ({len(classes)}), la présence a été "
        f"prouvée par les appels de présence de la classe ({answered} répondu(s) sur "
        f"{launched} lancé(s)) et par {rules.hours_text(minutes)} de connexion, conservés "
        "avec les connexions horodatées ; ce temps de connexion est une preuve, il ne compte "
        "pas d'heures (R16, R7)."
    )


def company_part(company: tuple[rules.CompanyLine, ...], bold: str) -> list[Flowable]:
    """The hours in a company (R2), each signed by the trainee and the tutor."""
    if not company:
        return []
    rows: list[list[object]] = [["Du", "Au", "Entreprise", "Durée"]]
    for line in company:
        rows.append(
            [
                day_text(line.first_day),
                day_text(line.last_day),
                p(e(line.company), "cell"),
                rules.hours_text(line.minutes),
            ]
        )
    table = Table(rows, colWidths=[22 * mm, 22 * mm, 100 * mm, 20 * mm], repeatRows=1)
    table.setStyle(grid(bold))
    return [
        Spacer(1, 2 * mm),
        p("En entreprise, heures signées par le stagiaire et son tuteur :"),
        table,
    ]


def clock(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%H:%M")


def absences_part(lines: tuple[rules.Line, ...], bold: str) -> list[Flowable]:
    missed = rules.absences(lines)
    if not missed:
        return [Spacer(1, 2 * mm), p("Absences : aucune.")]
    rows: list[list[object]] = [["Date", "Séance", "Motif", "Justifiée"]]
    for line in missed:
        for reason, justified in line.absences:
            answer = "—" if justified is None else ("oui" if justified else "non")
            rows.append(
                [day_text(line.day), p(e(line.title), "cell"), p(e(reason) or "—", "cell"), answer]
            )
    table = Table(rows, colWidths=[22 * mm, 55 * mm, 70 * mm, 20 * mm], repeatRows=1)
    table.setStyle(grid(bold))
    return [p("Absences", "heading"), table]


def signature_block(doc: Document) -> Flowable:
    issued = doc.issued_at.astimezone(PARIS).date()
    parts: list[Flowable] = [
        p(f"Fait à {e(doc.city) or '……………………'}, le {day_text(issued)}"),
        Spacer(1, 2 * mm),
        p(f"<b>{e(doc.signatory_name)}</b>, {e(doc.signatory_title)}".strip(", ")),
    ]
    if doc.signature_image:
        image = Image(io.BytesIO(doc.signature_image))
        image._restrictSize(50 * mm, 20 * mm)  # noqa: SLF001 - reportlab's own way to fit
        image.hAlign = "LEFT"
        parts.append(image)
    else:
        parts.append(p("Signature du représentant légal de l'organisme", "small"))
    return KeepTogether(parts)


class QrCode(Flowable):
    """A QR code drawn as filled squares (segno's matrix, quiet zone of 2 modules included in
    `size`): the same code as an image of it, without a PNG to encode, decode, compress and
    embed in every certificate (docs/benchmarks.md, "Certificates")."""

    BORDER = 2

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.matrix = segno.make_qr(data, error="m", mask=3, boost_error=False).matrix
        self.width = self.height = size

    def draw(self) -> None:
        canvas = self.canv
        unit = self.width / (len(self.matrix) + 2 * self.BORDER)
        path = canvas.beginPath()
        for r, row in enumerate(self.matrix):
            y = self.height - (r + self.BORDER + 1) * unit
            c = 0
            while c < len(row):  # each run of dark modules of a row: one rectangle
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                path.rect((start + self.BORDER) * unit, y, (c - start) * unit, unit)
        canvas.setFillColor(colors.black)
        canvas.drawPath(path, stroke=0, fill=1)


def verification_block(doc: Document) -> Flowable:
    """The QR code of the public verification page, with the short id beside it."""
    qr = QrCode(doc.verify_url, 26 * mm)
    words = [
        p(f"<b>Certificat n° {doc.short_id}</b>"),
        p(
            "Vérifiez l'authenticité de ce document en scannant ce QR code ou sur "
            f"{e(doc.verify_url)}"
        ),
    ]
    if doc.replaces:
        words.append(p(f"Ce document remplace le n° {e(doc.replaces)}, désormais caduc.", "small"))
    table = Table([[qr, words]], colWidths=[30 * mm, 140 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return KeepTogether([HRFlowable(width="100%", color=colors.HexColor("#808080")), table])
