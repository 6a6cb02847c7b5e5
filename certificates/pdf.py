"""The certificates as PDF (reportlab): data in, bytes out.

A4, French, PDF/A-friendly: every font embedded (DejaVu Sans from Debian's fonts-dejavu-core,
else reportlab's bundled Bitstream Vera; no other font, not even the page's initial one), no
transparency in what we draw, title, author, subject and language in the document's
information. The QR code is segno's, drawn as squares.

Drawn straight on the canvas (Pages), not laid out by platypus: the text is short and known,
so lines are broken here with the fonts' widths (remembered per word), where platypus'
paragraphs broke them, tables are drawn row by row with the grid as one path, and what every
certificate prints alike (the boilerplate's lines, the signature image, the fonts' subsets,
widths and maps) is made once per process. A certificate costs about a third of what
platypus' layout did (docs/benchmarks.md, "Certificates in bulk").
"""

from __future__ import annotations

import copy
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

import reportlab
import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, _digester
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.pathobject import PDFPathObject
from reportlab.platypus import Flowable

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

    SIZE = 32

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


class _Formatted(pdfdoc.PDFObject):
    """A PDF value formatted once, written as it is."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


class _Font(TTFont):
    """A font whose subsets' widths and ToUnicode maps are written once per process, as its
    face's subsets are (reportlab formats the widths number by number, and compresses the
    map, again for every document)."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path)
        self.face = _Face(path)
        self.widths: dict[tuple[int, ...], _Formatted] = {}

    def addObjects(self, doc: Any) -> None:  # noqa: N802 - reportlab's name
        state = self.state.get(doc)
        subsets = [tuple(subset) for subset in state.subsets] if state is not None else []
        names = [self.getSubsetInternalName(n, doc)[1:] for n in range(len(subsets))]
        super().addObjects(doc)
        fonts = doc.idToObject["BasicFonts"].dict
        for name, subset in zip(names, subsets, strict=True):
            font = fonts[name]
            widths = self.widths.get(subset)
            if widths is None:
                if len(self.widths) >= _MemoFlate.SIZE:
                    self.widths.clear()
                widths = self.widths[subset] = _Formatted(font.Widths.format(doc))
            font.Widths = widths
            cmap = doc.idToObject.get(f"toUnicodeCMap:{font.BaseFont}")
            if cmap is not None and cmap.filters:
                cmap.filters = [_Face.FLATE]


def _font(name: str, path: str) -> TTFont:
    return _Font(name, path)


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


# The page: A4, the margins and the 6 pt padding of the frame the certificates were first laid
# out in (platypus' SimpleDocTemplate), so that they look as they did.
PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 18 * mm + 6
TOP = PAGE_HEIGHT - 16 * mm - 6
BOTTOM = 16 * mm + 6
FRAME = PAGE_WIDTH - 2 * LEFT
PADDING = 6  # a table cell's left and right padding; 3 above and below
CELL_SIZE, CELL_LEADING, CELL_STRING_LEADING = 8.5, 10.5, 8.5 * 1.2
GREY = colors.HexColor("#808080")
HEADER = colors.HexColor("#e8e8e8")


@dataclass(frozen=True)
class Style:
    size: float
    leading: float
    centred: bool = False
    space_before: float = 0
    space_after: float = 0


BODY = Style(9.5, 12.5)
SMALL = Style(7.5, 9.5)
TITLE = Style(15, 19, centred=True)
SUBTITLE = Style(9.5, 12.5, centred=True)
HEADING = Style(10.5, 12.5, space_before=6, space_after=3)
CELL = Style(CELL_SIZE, CELL_LEADING)


@cache
def styles() -> dict[str, ParagraphStyle]:
    """The certificates' styles as platypus paragraph styles (the personal-data export draws
    with platypus): the same sizes and leadings as the canvas's own (BODY, SMALL…)."""
    regular, bold = fonts()

    def style(name: str, font: str, look: Style) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            fontName=font,
            fontSize=look.size,
            leading=look.leading,
            alignment=TA_CENTER if look.centred else TA_LEFT,
            spaceBefore=look.space_before,
            spaceAfter=look.space_after,
        )

    return {
        "body": style("body", regular, BODY),
        "small": style("small", regular, SMALL),
        "title": style("title", bold, TITLE),
        "subtitle": style("subtitle", regular, SUBTITLE),
        "heading": style("heading", bold, HEADING),
        "cell": style("cell", regular, CELL),
    }


Run = tuple[str, bool]  # some text, and whether it is bold
Segments = tuple[Run, ...]
Lines = tuple[tuple[float, Segments], ...]  # each line's width and its runs


def b(text: str) -> Run:
    return (text, True)


def r(text: str) -> Run:
    return (text, False)


_WIDTHS: dict[Run, float] = {}


def width(text: str, bold: bool) -> float:
    """The text's width at 1 pt, remembered: the certificates' words come back."""
    found = _WIDTHS.get((text, bold))
    if found is None:
        if len(_WIDTHS) >= 100_000:
            _WIDTHS.clear()
        found = _WIDTHS[(text, bold)] = pdfmetrics.stringWidth(text, fonts()[bold], 1)
    return found


def words(runs: Segments) -> list[list[Run]]:
    """The words of the runs (split at white space, as a paragraph's), each as its runs."""
    out: list[list[Run]] = []
    current: list[Run] = []
    for text, bold in runs:
        if text[:1].isspace() and current:
            out.append(current)
            current = []
        for i, part in enumerate(text.split()):
            if i and current:
                out.append(current)
                current = []
            current.append((part, bold))
        if text[-1:].isspace() and current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


SHRINK = 0.05  # a line may take 5 % of each of its spaces, as reportlab's paragraphs allow


@lru_cache(maxsize=256)
def wrap(runs: Segments, size: float, room: float) -> Lines:
    """The runs broken into lines no wider than `room`, words one space apart (a line may
    take 5 % of its spaces, a word wider than `room` is cut where it must: as reportlab's
    paragraphs did); the same text (the boilerplate) is wrapped once per process."""
    lines: list[tuple[float, Segments]] = []
    line: list[list[Any]] = []
    used = 0.0
    spaces = 0
    for whole in words(runs):
        for word in _cut(whole, size, room):
            wide = size * sum(width(text, bold) for text, bold in word)
            if line:
                space = size * width(" ", line[-1][1])
                if used + space + wide > room + SHRINK * space * spaces + 1e-6:
                    lines.append((used, tuple((text, bold) for text, bold in line)))
                    line, used, spaces = [], 0.0, 0
                else:
                    line[-1][0] += " "
                    used += space
            for text, bold in word:
                if line and line[-1][1] == bold:
                    line[-1][0] += text
                else:
                    line.append([text, bold])
            used += wide
            spaces += 1
    if line:
        lines.append((used, tuple((text, bold) for text, bold in line)))
    return tuple(lines)


def _cut(word: list[Run], size: float, room: float) -> list[list[Run]]:
    """A word that fits as it is, or its pieces that do (a letter at least each)."""
    if size * sum(width(text, bold) for text, bold in word) <= room:
        return [word]
    pieces: list[list[Run]] = [[]]
    used = 0.0
    for text, bold in word:
        for letter in text:
            wide = size * width(letter, bold)
            if used + wide > room and used:
                pieces.append([])
                used = 0.0
            piece = pieces[-1]
            if piece and piece[-1][1] == bold:
                piece[-1] = (piece[-1][0] + letter, bold)
            else:
                piece.append((letter, bold))
            used += wide
    return pieces


@dataclass(frozen=True)
class Para:
    """A paragraph: its lines, wrapped to the frame (or to a table cell)."""

    lines: Lines
    style: Style

    @property
    def height(self) -> float:
        return len(self.lines) * self.style.leading


def para(runs: Segments | str, style: Style = BODY, room: float = FRAME) -> Para:
    return Para(wrap((r(runs),) if isinstance(runs, str) else runs, style.size, room), style)


class Cell(str):
    """A table cell whose text is wrapped to the column (the others hold on one line)."""

    __slots__ = ()


Row = Sequence["str | Cell | Para | bool"]  # a checkbox: whether it is ticked


class Pages:
    """The certificate drawn straight on the canvas, top to bottom: paragraphs and tables
    (a table's header repeated on each page it runs over), blocks kept together. A page's
    text is one text object, written when the page ends, over what was drawn on it."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = TOP
        self.text = canvas.beginText()
        self.font: tuple[bool, float] | None = None
        self.regular, self.bold = fonts()

    def end_page(self) -> None:
        self.canvas.drawText(self.text)
        self.text = self.canvas.beginText()
        self.font = None

    def new_page(self) -> None:
        self.end_page()
        self.canvas.showPage()
        self.y = TOP

    def need(self, height: float) -> None:
        """A new page unless `height` fits below (or this page is still empty)."""
        if self.y - height < BOTTOM and self.y < TOP:
            self.new_page()

    def space(self, height: float) -> None:
        if self.y < TOP:
            self.y -= height

    def write(self, x: float, y: float, segments: Segments, size: float) -> None:
        text = self.text
        text.setTextOrigin(x, y)
        for chunk, bold in segments:
            if self.font != (bold, size):
                text.setFont(self.bold if bold else self.regular, size)
                self.font = (bold, size)
            text.textOut(chunk)

    def para(self, paragraph: Para) -> None:
        style = paragraph.style
        if style.space_before:
            self.space(style.space_before)
        for wide, segments in paragraph.lines:
            self.need(style.leading)
            x = LEFT + (FRAME - wide) / 2 if style.centred else LEFT
            self.write(x, self.y - style.size, segments, style.size)
            self.y -= style.leading
        self.y -= style.space_after

    def paras(self, *paragraphs: Para) -> None:
        for paragraph in paragraphs:
            self.para(paragraph)

    def lines_at(self, x: float, top: float, paragraph: Para) -> None:
        """A paragraph inside a table cell or a block, its top at `top`."""
        style = paragraph.style
        y = top - style.size
        for _, segments in paragraph.lines:
            self.write(x, y, segments, style.size)
            y -= style.leading

    def table(self, rows: list[Row], widths: Sequence[float], *, last_bold: bool = False) -> None:
        """A grid of 0.4 pt grey lines, the header row bold on grey and repeated on every
        page the table runs over, the last column's figures on the right."""
        edges = _edges(widths)
        laid = [self.cells(row, widths) for row in rows]
        self.need(laid[0][0] + (laid[1][0] if len(laid) > 1 else 0))
        bottoms = self.header(edges, laid[0])
        for index, (height, cells) in enumerate(laid[1:], start=1):
            if self.y - height < BOTTOM:
                self.grid(edges, bottoms)
                self.new_page()
                bottoms = self.header(edges, laid[0])
            bold = last_bold and index == len(laid) - 1
            self.row(edges, height, cells, bold=bold, right=True)
            bottoms.append(self.y)
        self.grid(edges, bottoms)

    def header(self, edges: list[float], laid: tuple[float, list[Any]]) -> list[float]:
        top = self.y
        self.row(edges, laid[0], laid[1], bold=True, right=False)
        return [top, self.y]

    def cells(self, row: Row, widths: Sequence[float]) -> tuple[float, list[Any]]:
        """A row's cells as drawn (wrapped cells as paragraphs) and its height."""
        cells: list[Any] = []
        height = CELL_STRING_LEADING
        for cell, column in zip(row, widths, strict=True):
            if isinstance(cell, Cell):
                cell = para(str(cell), CELL, column - 2 * PADDING)
            if isinstance(cell, Para):
                height = max(height, cell.height)
            cells.append(cell)
        return height + 2 * 3, cells

    def row(
        self, edges: list[float], height: float, cells: list[Any], *, bold: bool, right: bool
    ) -> None:
        """One row of cells, each centred in the row's height (VALIGN MIDDLE)."""
        bottom = self.y - height
        middle = bottom + height / 2
        last = len(cells) - 1
        for index, cell in enumerate(cells):
            x = edges[index] + PADDING
            if isinstance(cell, Para):
                self.lines_at(x, middle + cell.height / 2, cell)
            elif isinstance(cell, bool):
                check_box(self.canvas, x, middle - BOX / 2, cell)
            else:
                if right and index == last:
                    x = edges[index + 1] - PADDING - CELL_SIZE * width(cell, bold)
                y = middle + CELL_STRING_LEADING / 2 - CELL_SIZE
                self.write(x, y, ((cell, bold),), CELL_SIZE)
        self.y = bottom

    def grid(self, edges: list[float], bottoms: list[float]) -> None:
        """The header's background, then the lines of the rows drawn on this page."""
        canvas = self.canvas
        left, right, top = edges[0], edges[-1], bottoms[0]
        canvas.setFillColor(HEADER)
        canvas.rect(left, bottoms[1], right - left, top - bottoms[1], stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        path = canvas.beginPath()
        for y in bottoms:
            path.moveTo(left, y)
            path.lineTo(right, y)
        for x in edges:
            path.moveTo(x, top)
            path.lineTo(x, bottoms[-1])
        canvas.setStrokeColor(GREY)
        canvas.setLineWidth(0.4)
        canvas.drawPath(path, stroke=1, fill=0)

    def plain_rows(self, rows: list[Row], widths: Sequence[float]) -> None:
        """Rows without a grid (the natures' checkboxes)."""
        edges = _edges(widths)
        for row in rows:
            height, cells = self.cells(row, widths)
            self.need(height)
            self.row(edges, height, cells, bold=False, right=False)


def _edges(widths: Sequence[float]) -> list[float]:
    """Where a table's columns start and end, the table centred in the frame."""
    edges = [LEFT + (FRAME - sum(widths)) / 2]
    for column in widths:
        edges.append(edges[-1] + column)
    return edges


BOX = 3.4 * mm


def check_box(canvas: Canvas, x: float, y: float, checked: bool) -> None:
    """A checkbox drawn as lines (no glyph, whatever the font covers)."""
    canvas.setStrokeColor(colors.black)
    canvas.setLineWidth(1)
    path = canvas.beginPath()
    path.rect(x, y, BOX, BOX)
    if checked:
        inset = 0.6 * mm
        path.moveTo(x + inset, y + inset)
        path.lineTo(x + BOX - inset, y + BOX - inset)
        path.moveTo(x + inset, y + BOX - inset)
        path.lineTo(x + BOX - inset, y + inset)
    canvas.drawPath(path, stroke=1, fill=0)


def render(doc: Document) -> bytes:
    """The certificate of realisation or the attendance certificate, as PDF bytes."""
    out = io.BytesIO()
    title = title_of(doc)
    regular, _ = fonts()
    canvas = Canvas(out, pagesize=A4, lang="fr-FR", initialFontName=regular)
    canvas.setTitle(f"{title} — {doc.trainee}")
    canvas.setAuthor(doc.organisation)
    canvas.setSubject(f"{title} n° {doc.short_id}")
    canvas.setCreator("Compétences Plus — émargement (Région Occitanie)")
    canvas.setViewerPreference("DisplayDocTitle", "true")
    pages = Pages(canvas)
    if doc.kind == rules.REALISATION:
        realisation(pages, doc)
    else:
        attendance(pages, doc)
    pages.end_page()
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def title_of(doc: Document) -> str:
    if doc.kind == rules.REALISATION:
        return "Certificat de réalisation"
    return f"Attestation d'assiduité — {month_label(doc.month)}"


def month_label(month: str) -> str:
    """« mars 2026 »."""
    first, _ = rules.parse_month(month)
    return f"{MONTHS[first.month - 1]} {first.year}"


def day_text(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def realisation(pages: Pages, doc: Document) -> None:
    totals = rules.totals(doc.lines, rules.company_minutes(doc.company))
    first, last = rules.first_and_last_days(doc.lines, doc.company)
    pages.paras(
        para((b("CERTIFICAT DE RÉALISATION"),), TITLE),
        para("Programme régional de formation « Compétences Plus » — Région Occitanie", SUBTITLE),
    )
    pages.space(6 * mm)
    pages.para(
        para(
            (
                r("Je soussigné·e "),
                b(doc.signatory_name or "……………………"),
                r(
                    f", {doc.signatory_title or 'représentant·e légal·e'} du dispensateur de "
                    "l'action concourant au développement des compétences "
                ),
                b(doc.organisation),
                r(f" (SIRET {doc.siret}), atteste que :"),
            )
        )
    )
    pages.space(3 * mm)
    pages.para(para((b(doc.trainee),)))
    pages.space(2 * mm)
    pages.paras(
        para((r("a suivi l'action : "), b(doc.action_title))),
        para((r("Bon de commande n° "), b(doc.order_number), r(" de la Région Occitanie"))),
    )
    pages.space(2 * mm)
    pages.para(para("Nature de l'action concourant au développement des compétences :"))
    pages.plain_rows([[chosen, para(label)] for label, chosen in NATURES], [7 * mm, 150 * mm])
    pages.space(2 * mm)
    exit_text = f", sortie le {day_text(doc.exit_date)}" if doc.exit_date else ""
    pages.paras(
        para(
            (
                r("qui s'est déroulée du "),
                b(day_text(first)),
                r(" au "),
                b(day_text(last)),
                r(f" (entrée en formation le {day_text(doc.entry_date)}{exit_text}),"),
            )
        ),
        para(
            (
                r("pour une durée réalisée de "),
                b(rules.hours_text(totals.total)),
                r(", dont "),
                b(rules.hours_text(totals.distance)),
                r(" de formation à distance :"),
            )
        ),
    )
    pages.space(2 * mm)
    totals_table(pages, totals)
    closing(pages, doc)


def totals_table(pages: Pages, totals: rules.Totals) -> None:
    rows: list[Row] = [["Modalité", "Heures réalisées"]]
    for kind in (*rules.MODALITIES, rules.COMPANY):
        rows.append([KIND_LABELS[kind], rules.hours_text(totals.by_modality.get(kind, 0))])
    rows.append(["Total", rules.hours_text(totals.total)])
    pages.table(rows, [95 * mm, 45 * mm], last_bold=True)


def attendance(pages: Pages, doc: Document) -> None:
    totals = rules.totals(doc.lines, rules.company_minutes(doc.company))
    pages.paras(
        para((b("ATTESTATION D'ASSIDUITÉ"),), TITLE),
        para(f"Mois de {month_label(doc.month)}", SUBTITLE),
    )
    pages.space(5 * mm)
    pages.para(
        para(
            (
                r("L'organisme de formation "),
                b(doc.organisation),
                r(f" (SIRET {doc.siret}) atteste la présence de "),
                b(doc.trainee),
                r(" à l'action "),
                b(doc.action_title),
                r(
                    f" (bon de commande n° {doc.order_number} de la Région Occitanie) aux "
                    "séances suivantes :"
                ),
            )
        )
    )
    pages.space(3 * mm)
    sessions_table(pages, doc.lines)
    class_part(pages, doc.lines, doc.classes)
    company_part(pages, doc.company)
    pages.space(3 * mm)
    pages.para(para((b("Heures réalisées par modalité"),), HEADING))
    totals_table(pages, totals)
    absences_part(pages, doc.lines)
    closing(pages, doc)


def closing(pages: Pages, doc: Document) -> None:
    """What both certificates end with: how hours are counted, the commitment to keep the
    records, the signature, the verification."""
    pages.space(2 * mm)
    pages.para(para(DISTANCE_NOTE + class_note(doc.classes), SMALL))
    pages.space(2 * mm)
    pages.para(para(RETENTION, SMALL))
    pages.space(4 * mm)
    signature_block(pages, doc)
    pages.space(5 * mm)
    verification_block(pages, doc)


STATUS = {"present": "Présent·e", "absent": "Absent·e"}


def sessions_table(pages: Pages, lines: tuple[rules.Line, ...]) -> None:
    rows: list[Row] = [["Date", "Horaires", "Modalité", "Séance", "Statut", "Durée"]]
    for line in lines:
        rows.append(
            [
                day_text(line.day),
                f"{clock(line.starts_at)} – {clock(line.ends_at)}",
                line.kind.capitalize(),
                Cell(line.title),
                STATUS.get(line.status, line.status),
                rules.hours_text(line.minutes),
            ]
        )
    pages.table(rows, [20 * mm, 24 * mm, 33 * mm, 52 * mm, 25 * mm, 20 * mm])


def class_part(
    pages: Pages, lines: tuple[rules.Line, ...], classes: tuple[ClassEvidence, ...]
) -> None:
    """The tutorats held in the virtual class: the trainee's connected minutes and the
    presence checks answered out of those launched (R16), evidence beside the hours."""
    if not classes:
        return
    by_session = {line.session_id: line for line in lines}
    rows: list[Row] = [["Date", "Séance", "Connecté·e", "Appels de présence"]]
    for proof in classes:
        line = by_session[proof.session_id]
        rows.append(
            [
                day_text(line.day),
                Cell(line.title),
                rules.hours_text(proof.minutes),
                f"{proof.answered} répondu(s) sur {proof.launched}",
            ]
        )
    pages.space(2 * mm)
    pages.para(
        para(
            "Tutorats tenus en classe virtuelle : temps de connexion et appels de présence "
            "(preuves de présence ; les heures réalisées restent celles des émargements) :"
        )
    )
    pages.table(rows, [22 * mm, 70 * mm, 25 * mm, 40 * mm])


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


def company_part(pages: Pages, company: tuple[rules.CompanyLine, ...]) -> None:
    """The hours in a company (R2), each signed by the trainee and the tutor."""
    if not company:
        return
    rows: list[Row] = [["Du", "Au", "Entreprise", "Durée"]]
    for line in company:
        rows.append(
            [
                day_text(line.first_day),
                day_text(line.last_day),
                Cell(line.company),
                rules.hours_text(line.minutes),
            ]
        )
    pages.space(2 * mm)
    pages.para(para("En entreprise, heures signées par le stagiaire et son tuteur :"))
    pages.table(rows, [22 * mm, 22 * mm, 100 * mm, 20 * mm])


def clock(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%H:%M")


def absences_part(pages: Pages, lines: tuple[rules.Line, ...]) -> None:
    missed = rules.absences(lines)
    if not missed:
        pages.space(2 * mm)
        pages.para(para("Absences : aucune."))
        return
    rows: list[Row] = [["Date", "Séance", "Motif", "Justifiée"]]
    for line in missed:
        for reason, justified in line.absences:
            answer = "—" if justified is None else ("oui" if justified else "non")
            rows.append([day_text(line.day), Cell(line.title), Cell(reason or "—"), answer])
    pages.para(para((b("Absences"),), HEADING))
    pages.table(rows, [22 * mm, 55 * mm, 70 * mm, 20 * mm])


SIGNATURE_ROOM = (50 * mm, 20 * mm)


@dataclass(frozen=True, slots=True)
class Signature:
    """The signatory's image, encoded for PDF once per process (the same for all an
    organisation's certificates), and its size on the page: its pixels as points, shrunk to
    fit 50 × 20 mm. `canvas.drawImage` would read, hash and compress its pixels (and its
    transparency) again in every certificate: two thirds of drawing one with a PNG signature.
    The decoded pixels are not kept, only the compressed ones."""

    name: str  # as drawImage names it: the digest of its pixels and transparency
    image: pdfdoc.PDFImageXObject  # never registered itself: each document takes a copy
    mask: pdfdoc.PDFImageXObject | None  # its transparency (a soft mask), if any
    wide: float
    high: float

    def draw(self, canvas: Canvas, x: float, y: float) -> None:
        """What `canvas.drawImage(reader, x, y, wide, high, mask="auto")` writes, with the
        objects encoded once, registered in the same order (the same PDF)."""
        doc = canvas._doc  # noqa: SLF001 - reportlab's document, as drawImage uses it
        registered = pdfdoc.xObjectName(self.name)
        if registered not in doc.idToObject:
            image = copy.copy(self.image)
            doc.Reference(image, registered)
            doc.addForm(self.name, image)
            if self.mask is not None:
                doc.Reference(copy.copy(self.mask), pdfdoc.xObjectName(self.mask.name))
        canvas._currentPageHasImages = 1  # noqa: SLF001
        canvas.saveState()
        canvas.translate(x, y)
        canvas.scale(self.wide, self.high)
        canvas._code.append(f"/{registered} Do")  # noqa: SLF001
        canvas.restoreState()
        canvas._formsinuse.append(self.name)  # noqa: SLF001


@lru_cache(maxsize=8)
def signature_image(data: bytes) -> Signature:
    """The signatory's image, read and encoded once per process."""
    reader = ImageReader(io.BytesIO(data))
    wide, high = reader.getSize()
    scale = min(1.0, SIGNATURE_ROOM[0] / wide, SIGNATURE_ROOM[1] / high)
    pixels = reader.getRGBData()  # which also reads its transparency, as drawImage does
    alpha = reader._dataA  # noqa: SLF001
    name = _digester(pixels + (alpha.getRGBData() if alpha else b"auto"))
    image = pdfdoc.PDFImageXObject(name, reader, mask="auto")
    mask = getattr(image, "_smask", None)
    if mask is not None:
        image.smask = pdfdoc.PDFObjectReference(pdfdoc.xObjectName(mask.name))
        del image._smask
    return Signature(name, image, mask, wide * scale, high * scale)


def signature_block(pages: Pages, doc: Document) -> None:
    """Where and when, who signs, then the signature image or the line for it: together."""
    issued = doc.issued_at.astimezone(PARIS).date()
    place = para(f"Fait à {doc.city or '……………………'}, le {day_text(issued)}")
    who = (b(doc.signatory_name), r(f", {doc.signatory_title}"))
    name = para(who if doc.signatory_title else who[:1])
    image = signature_image(doc.signature_image) if doc.signature_image else None
    under = para("Signature du représentant légal de l'organisme", SMALL)
    height = place.height + 2 * mm + name.height + (image.high if image else under.height)
    pages.need(height)
    pages.paras(place)
    pages.y -= 2 * mm
    pages.para(name)
    if image:
        image.draw(pages.canvas, LEFT, pages.y - image.high)
        pages.y -= image.high
    else:
        pages.para(under)


class QrCode(Flowable):
    """A QR code drawn as filled squares (segno's matrix, quiet zone of 2 modules included in
    `size`): the same code as an image of it, without a PNG to encode, decode, compress and
    embed in every certificate (docs/benchmarks.md, "Certificates"). One path, one rectangle
    per run of dark modules in a row."""

    BORDER = 2

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.matrix = segno.make_qr(data, error="m", mask=3, boost_error=False).matrix
        self.width = self.height = size

    def draw(self) -> None:
        size = len(self.matrix)
        unit = self.width / (size + 2 * self.BORDER)
        at = [fp_str(i * unit) for i in range(size + 2 * self.BORDER + 1)]  # each place, once
        code = []
        for r, row in enumerate(self.matrix):
            y = at[size + self.BORDER - 1 - r]
            for run in DARK.finditer(bytes(row)):  # each run of dark modules: one rectangle
                start, end = run.span()
                code.append(f"{at[start + self.BORDER]} {y} {at[end - start]} {at[1]} re")
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(PDFPathObject(code), stroke=0, fill=1)


DARK = re.compile(rb"[^\x00]+")


def verification_block(pages: Pages, doc: Document) -> None:
    """A grey rule, then the QR code of the public verification page with the short id
    beside it: together."""
    room = 140 * mm - 2 * PADDING
    beside = [
        para((b(f"Certificat n° {doc.short_id}"),), BODY, room),
        para(
            "Vérifiez l'authenticité de ce document en scannant ce QR code ou sur "
            + doc.verify_url,
            BODY,
            room,
        ),
    ]
    if doc.replaces:
        beside.append(
            para(f"Ce document remplace le n° {doc.replaces}, désormais caduc.", SMALL, room)
        )
    qr = QrCode(doc.verify_url, 26 * mm)
    text_height = sum(p.height for p in beside)
    height = max(qr.height, text_height) + 2 * 3
    pages.need(3 + height)
    canvas = pages.canvas
    canvas.setStrokeColor(GREY)
    canvas.setLineWidth(1)
    canvas.line(LEFT, pages.y - 1.5, LEFT + FRAME, pages.y - 1.5)
    pages.y -= 3
    left = LEFT + (FRAME - 170 * mm) / 2
    middle = pages.y - height / 2
    qr.drawOn(canvas, left + PADDING, middle - qr.height / 2)
    top = middle + text_height / 2
    for paragraph in beside:
        pages.lines_at(left + 30 * mm + PADDING, top, paragraph)
        top -= paragraph.height
    pages.y -= height
