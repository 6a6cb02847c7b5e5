"""What the certificates' API, pages, command and bulk workers share: issue and commit, once."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app
from sqlalchemy.exc import IntegrityError

from attendance import sealing
from certificates import services
from certificates.models import Certificate
from certificates.rules import file_name
from core.errors import Conflict
from core.extensions import db
from core.models import Trainee
from training.models import Enrolment

ATTEMPTS = 5


def issue_once(
    author_id: str, enrolment: Enrolment, kind: str, month: str, now: datetime
) -> services.Issued:
    """Issue and commit. Facts that moved while the PDF was drawn (a correction chained
    meanwhile), or a concurrent issue of the same certificate that won: read again."""
    base_url = current_app.config["PUBLIC_BASE_URL"]
    for _ in range(ATTEMPTS):
        try:
            issued = services.issue(author_id, enrolment, kind, month, now, base_url)
            db.session.commit()
        except (services.StaleFacts, IntegrityError):
            db.session.rollback()
            continue
        if issued.created:
            sealing.seal_soon(current_app._get_current_object())  # type: ignore[attr-defined]
        return issued
    raise Conflict(
        "Les émargements de ce parcours changent en ce moment : réessayez dans un instant.",
        code="certificate_busy",
    )


def download_name(certificate: Certificate) -> str:
    trainee = db.session.get_one(Trainee, certificate.trainee_id)
    return file_name(
        certificate.kind,
        trainee.last_name,
        trainee.first_name,
        certificate.month,
        certificate.short_id,
    )


def pdf_response(certificate: Certificate) -> Response:
    """The stored PDF, as a download: the same bytes whose SHA-256 the ledger holds."""
    response = Response(certificate.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name(certificate)}"'
    response.headers["Cache-Control"] = "private, no-store"  # personal data
    response.headers["X-Certificate-Id"] = certificate.short_id
    return response
