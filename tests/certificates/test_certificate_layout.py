"""The certificates drawn straight on the canvas (issue 9, item 10): what they say read back
from the PDF, over as many pages as the sessions need, lines broken where reportlab's
paragraphs broke them, every font embedded (R17: the certificate is the proof)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Paragraph

from certificates import pdf, rules

URL = "https://emargement.competences-plus.fr/verifier/ABCDEFGHJK"


def lines(count: int) -> tuple[rules.Line, ...]:
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    return tuple(
        rules.Line(
            f"s{i}",
            date(2026, 11, 2) + timedelta(days=i % 28),
            start + timedelta(days=i % 28),
            start + timedelta(days=i % 28, hours=3),
            rules.MODALITIES[i % 3],
            f"Séance {i} — Bureautique",
            "present",
            180,
        )
        for i in range(count)
    )


def document(kind: str, count: int = 20, **changes: object) -> pdf.Document:
    fields: dict = {
        "kind": kind,
        "month": "2026-11" if kind == rules.ATTENDANCE else "",
        "short_id": "ABCDEFGHJK",
        "verify_url": URL,
        "issued_at": datetime(2026, 12, 4, 10, tzinfo=UTC),
        "organisation": "Formations & Compétences du Sud",
        "siret": "12345678900011",
        "signatory_name": "Élodie Martin",
        "signatory_title": "Directrice",
        "city": "Toulouse",
        "signature_image": None,
        "trainee": "Zoé Lefèvre",
        "action_title": "Compétences Plus — Remise à niveau",
        "order_number": "BC-2026-0042",
        "entry_date": date(2026, 9, 1),
        "exit_date": None,
        "lines": lines(count),
    }
    return pdf.Document(**(fields | changes))


def pages_text(data: bytes) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


HEADER = "Date Horaires Modalité Séance Statut Durée"


def test_r17_a_long_month_runs_over_pages_each_with_the_header_every_session_once() -> None:
    pages = pages_text(pdf.render(document(rules.ATTENDANCE, count=70)))
    assert len(pages) >= 3
    text = " ".join(pages)
    for i in range(70):
        assert len(re.findall(rf"Séance {i} — Bureautique Présent·e 3 h", text)) == 1
    with_sessions = [page for page in pages if "— Bureautique" in page]
    assert len(with_sessions) >= 2
    assert all(HEADER in page for page in with_sessions)  # the header repeated on each page
    assert f"Total {rules.hours_text(70 * 180)}" in text
    assert "Certificat n° ABCDEFGHJK" in pages[-1]  # the verification kept whole, at the end
    assert URL in pages[-1]


def test_r17_a_table_row_reads_in_order_and_what_is_written_is_not_escaped() -> None:
    text = " ".join(pages_text(pdf.render(document(rules.ATTENDANCE))))
    assert "02/11/2026 09:00 – 12:00 Tutorat Séance 0 — Bureautique Présent·e 3 h" in text
    assert "L'organisme de formation Formations & Compétences du Sud (SIRET" in text
    realisation = " ".join(pages_text(pdf.render(document(rules.REALISATION))))
    assert "Je soussigné·e Élodie Martin, Directrice du dispensateur" in realisation
    assert "pour une durée réalisée de 60 h, dont 42 h de formation à distance" in realisation


def test_every_font_is_embedded_none_left_to_the_reader() -> None:
    """PDF/A: the certificates use the embedded TrueType subsets only (the page's initial
    font is one of them: no Helvetica left unembedded)."""
    data = pdf.render(document(rules.REALISATION))
    fonts = re.findall(rb"/BaseFont /([^\s/]+)", data)
    assert fonts
    assert all(re.fullmatch(rb"[A-Z]{6}\+\S+", font) for font in fonts), fonts
    assert data.count(b"/FontFile2") == len(set(fonts))


def test_lines_break_where_reportlabs_paragraphs_broke_them() -> None:
    """The same words on each line as the paragraphs the certificates were drawn with."""
    texts = [
        (pdf.RETENTION, pdf.SMALL, "small"),
        (pdf.DISTANCE_NOTE, pdf.SMALL, "small"),
        ("a " * 40 + "pour une durée réalisée de 126 h, dont 84 h de formation", pdf.BODY, "body"),
    ]
    for text, style, name in texts:
        paragraph = Paragraph(text, pdf.styles()[name])
        paragraph.wrap(pdf.FRAME, 1000)
        theirs = [" ".join(words) for _, words in paragraph.blPara.lines]
        ours = ["".join(t for t, _ in segments) for _, segments in pdf.para(text, style).lines]
        assert ours == theirs


def test_a_word_wider_than_its_cell_is_cut_to_fit() -> None:
    room = 52 * 2.834645669 - 2 * pdf.PADDING
    wrapped = pdf.wrap((("Anticonstitutionnellement" * 3, False),), pdf.CELL_SIZE, room)
    assert len(wrapped) > 1
    assert all(width <= room for width, _ in wrapped)
    assert "".join(t for _, segments in wrapped for t, _ in segments) == (
        "Anticonstitutionnellement" * 3
    )


def png(mode: str, size: tuple[int, int] = (400, 160)) -> bytes:
    """A signature: a dark stroke over a transparent (RGBA) or white (RGB) field."""
    from PIL import Image, ImageDraw

    field = (255, 255, 255, 0) if mode == "RGBA" else (255, 255, 255)
    image = Image.new(mode, size, field)
    ImageDraw.Draw(image).line([(10, 120), (150, 30), (390, 100)], fill="#102040", width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("mode", ["RGBA", "RGB"])
def test_r17_the_signature_image_encoded_once_writes_the_pdf_drawimage_writes(
    mode, monkeypatch
) -> None:
    """The signatory's image is encoded once per process (pdf.Signature), not in every
    certificate; each certificate is the same PDF, byte for byte, as reportlab's drawImage
    makes, and a second certificate drawn from the cached image is too."""
    from reportlab import rl_config
    from reportlab.pdfgen.canvas import Canvas

    monkeypatch.setattr(rl_config, "invariant", 1)  # no date nor random id in the PDF
    signature = png(mode)
    doc = document(rules.REALISATION, signature_image=signature)
    pdf.signature_image.cache_clear()
    drawn = [pdf.render(doc), pdf.render(doc)]  # the second from the cache
    assert pdf.signature_image.cache_info().hits >= 1

    def as_drawimage(self: pdf.Signature, canvas: Canvas, x: float, y: float) -> None:
        reader = ImageReader(io.BytesIO(signature))
        canvas.drawImage(reader, x, y, self.wide, self.high, mask="auto")

    monkeypatch.setattr(pdf.Signature, "draw", as_drawimage)
    assert drawn == [pdf.render(doc)] * 2
    page = PdfReader(io.BytesIO(drawn[1])).pages[-1]
    (image,) = page.images
    assert image.image is not None
    assert image.image.size == (400, 160)
    assert image.indirect_reference is not None
    stream = image.indirect_reference.get_object()
    assert ("/SMask" in stream) == (mode == "RGBA")  # type: ignore[operator]
