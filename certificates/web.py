"""What the certificates' API, pages, command and bulk workers share: issue and commit, once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app
from limits import parse
from sqlalchemy.exc import IntegrityError

from attendance import sealing
from certificates import services
from certificates.models import Certificate
from certificates.rules import file_name
from core import ratelimit
from core.errors import Conflict, TooManyAttempts
from core.extensions import db
from core.models import Trainee
from training.models import Enrolment

ATTEMPTS = 5
# The public verification replays chains: each address may ask this many a minute.
VERIFY_RATE = parse("60/minute")
F = TypeVar("F", bound=Callable[..., Any])


def verify_limit(view: F) -> F:
    """Every public verification (the API's and the page's) counts per address; beyond
    VERIFY_RATE a minute it is answered 429 without reading anything."""

    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        counters = ratelimit.limiter(current_app)
        if not counters.hit(VERIFY_RATE, "certificate-verify", ratelimit.address_key()):
            raise TooManyAttempts(
                "Trop de vérifications depuis cette adresse : réessayez dans une minute."
            )
        return view(*args, **kwargs)

    return limited  # type: ignore[return-value]


def issue_once(
    author_id: str, enrolment: Enrolment, kind: str, month: str, now: datetime
) -> services.Issued:
    """Issue and commit one certificate (a group of one: issue_all_once)."""
    (result,) = issue_all_once(author_id, [services.Wanted(enrolment, kind, month)], now)
    if isinstance(result, Exception):
        raise result
    return result


def issue_all_once(
    author_id: str, wanted: Sequence[services.Wanted], now: datetime
) -> list[services.Issued | Exception]:
    """Issue certificates of one group together (services.issue_group) and commit them at
    once. Facts that moved while the PDFs were drawn (a correction chained meanwhile), or a
    concurrent issue of one of them that won: nothing of the attempt is kept, read again."""
    base_url = current_app.config["PUBLIC_BASE_URL"]
    for _ in range(ATTEMPTS):
        try:
            results = services.issue_group(author_id, wanted, now, base_url)
            db.session.commit()
        except (services.StaleFacts, IntegrityError):
            db.session.rollback()
            continue
        if any(isinstance(r, services.Issued) and r.created for r in results):
            sealing.seal_soon(current_app._get_current_object())  # type: ignore[attr-defined]
        return results
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
    """The stored PDF, as a download: the same bytes whose SHA-256 the ledger holds; 410 once
    a purge erased it."""
    if certificate.pdf is None:
        raise services.purged_error()
    response = Response(certificate.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name(certificate)}"'
    response.headers["Cache-Control"] = "private, no-store"  # personal data
    response.headers["X-Certificate-Id"] = certificate.short_id
    return response
