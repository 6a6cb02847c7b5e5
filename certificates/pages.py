"""Pages of certificates: the trainee's « Mes attestations », the organisation's certificates
of an order and month (one, or all with live progress, and the ZIP), who signs them, and the
public verification page that a certificate's QR code opens."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from certificates import bulk, events, rules, services
from certificates.models import Certificate, CertificateBatch
from certificates.web import issue_once, pdf_response, verify_limit
from core.auth import Principal, roles_required
from core.clock import PARIS
from core.db import utcnow
from core.errors import DomainError, InvalidInput, NotFound
from core.extensions import db
from core.forms import is_local_path
from core.models import Role
from core.templating import template_constants
from training import access
from training.models import Enrolment, Group, Order

bp = Blueprint("certificate_pages", __name__, template_folder="templates")

KIND_NAMES = {
    rules.REALISATION: "Certificat de réalisation",
    rules.ATTENDANCE: "Attestation d'assiduité",
}
MAX_IMAGE = 300 * 1024
template_constants(bp, certificate_kinds=KIND_NAMES)


def this_month() -> str:
    return utcnow().astimezone(PARIS).strftime("%Y-%m")


# --- The trainee ---


@bp.route("/mes-attestations")
@roles_required(Role.TRAINEE)
def mine(principal: Principal) -> Any:
    """The trainee's certificates, and a form to get one."""
    enrolments = list(db.session.scalars(access.visible_enrolments(principal)))
    certificates = services.own_certificates(principal)
    return render_template(
        "cert_trainee.html",
        certificates=certificates,
        purged=services.purged_orders({c.order_id for c in certificates}),
        enrolments=enrolments,
        month=this_month(),
    )


@bp.route("/mes-attestations", methods=["POST"])
@roles_required(Role.TRAINEE, Role.ORG_ADMIN)
def issue(principal: Principal) -> Any:
    """Issue one certificate (trainee: their own; admin: an enrolment of the organisation)."""
    kind = request.form.get("kind", "")
    month = request.form.get("month", "") if kind == rules.ATTENDANCE else ""
    back = request.form.get("back") or url_for("certificate_pages.mine")
    try:
        if kind not in rules.KINDS:
            raise InvalidInput("Choisissez un certificat.")
        if month:
            rules.parse_month(month)
        enrolment = services.get_enrolment(principal, request.form.get("enrolment_id", ""))
        issued = issue_once(principal.id, enrolment, kind, month, utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_local(back))
    said = "émis" if issued.created else "inchangé, déjà émis"
    flash(
        f"{KIND_NAMES[kind]} n° {issued.certificate.short_id} : {said}.",
        "success",
    )
    return redirect(_local(back))


def _local(target: str) -> str:
    """Back to a page of this site only (no scheme nor host, no backslash, no control or
    blank character that a browser would drop to read « //host »)."""
    return target if is_local_path(target) else url_for("pages.home")


@bp.route("/attestations/<short_id>.pdf")
@roles_required(Role.TRAINEE, Role.ORG_ADMIN)
def download(short_id: str, principal: Principal) -> Response:
    """One of the caller's certificates, as issued."""
    return pdf_response(services.get_certificate(principal, short_id))


# --- The organisation ---


@bp.route("/attestations")
@roles_required(Role.ORG_ADMIN)
def admin(principal: Principal) -> Any:
    """An order's certificates for a month: each trainee's, issue one or all, the ZIP."""
    orders = list(db.session.scalars(access.visible_orders(principal).order_by(Order.number)))
    month = request.args.get("month") or this_month()
    try:
        rules.parse_month(month)
    except DomainError as error:
        flash(error.message, "error")
        month = this_month()
    chosen = next((o for o in orders if o.id == request.args.get("order_id")), None)
    chosen = chosen or (orders[0] if orders else None)
    context: dict[str, Any] = {"orders": orders, "order": chosen, "month": month}
    if chosen is not None:
        context |= _order_month(chosen, month)
    context["signatory"] = services.signatory_of(principal.organisation_id or "")
    return render_template("cert_admin.html", **context)


def _order_month(order: Order, month: str) -> dict[str, Any]:
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .join(Group, Group.id == Enrolment.group_id)
            .where(Group.order_id == order.id)
            .order_by(Group.name, Enrolment.id)
        )
    )
    current = {
        (c.enrolment_id, c.kind): c
        for c in db.session.scalars(
            select(Certificate).where(
                Certificate.order_id == order.id,
                Certificate.month.in_([month, ""]),
                Certificate.superseded_by_id.is_(None),
            )
        )
    }
    batch = db.session.scalar(
        select(CertificateBatch)
        .where(CertificateBatch.order_id == order.id, CertificateBatch.month == month)
        .order_by(CertificateBatch.created_at.desc())
        .limit(1)
    )
    purged = services.is_purged(order.id)
    return {"enrolments": enrolments, "current": current, "batch": batch, "purged": purged}


@bp.route("/attestations/lots", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def issue_all(principal: Principal) -> Any:
    """Issue every certificate of an order's month in the background; the page follows."""
    order_id, month = request.form.get("order_id", ""), request.form.get("month", "")
    try:
        rules.parse_month(month)
        order = bulk.find_order(order_id, principal.organisation_id)
        if services.is_purged(order.id):
            raise services.purged_error()
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("certificate_pages.admin"))
    batch = CertificateBatch(
        organisation_id=order.organisation_id,
        order_id=order.id,
        month=month,
        started_by_id=principal.id,
    )
    db.session.add(batch)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = threading.Thread(target=events.run_batch, args=(app, batch.id), daemon=True)
    worker.start()
    flash("Émission de tous les certificats lancée : suivez-la ci-dessous.", "success")
    return redirect(url_for("certificate_pages.admin", order_id=order.id, month=month))


@bp.route("/attestations/lots/<batch_id>")
@roles_required(Role.ORG_ADMIN)
def batch_progress(batch_id: str, principal: Principal) -> Any:
    """The progress of a batch (for a page whose live connection is lost)."""
    return jsonify(events.progress_of(events.get_batch(principal, batch_id)))


@bp.route("/attestations/commandes/<order_id>/<month>.zip")
@roles_required(Role.ORG_ADMIN)
def month_zip(order_id: str, month: str, principal: Principal) -> Response:
    """The month's current certificates of an order, in one ZIP."""
    rules.parse_month(month)
    order = bulk.find_order(order_id, principal.organisation_id)
    stored = [c for c in bulk.month_certificates(order.id, month) if c.pdf is not None]
    if not stored and services.is_purged(order.id):
        raise services.purged_error()  # a ZIP of empty files would pass for certificates
    body = bulk.zip_of(stored)
    response = Response(body, mimetype="application/zip")
    name = f"certificats_{rules.slug(order.number)}_{month}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/attestations/signataire", methods=["POST"])
@roles_required(Role.ORG_ADMIN)
def signatory(principal: Principal) -> Any:
    """Who signs the organisation's certificates, where, and an optional signature image."""
    name, title, city = (request.form.get(k, "").strip() for k in ("name", "title", "city"))
    try:
        if not name or not title or not city:
            raise InvalidInput("Indiquez le nom, la qualité et la ville du signataire.")
        services.set_signatory(principal, name[:200], title[:200], city[:100], _image(), utcnow())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash("Signataire des certificats enregistré.", "success")
    return redirect(url_for("certificate_pages.admin"))


def _image() -> bytes | None:
    """The uploaded signature (PNG or JPEG), b"" to remove it, None to keep it."""
    if request.form.get("remove_image"):
        return b""
    file = request.files.get("image")
    data = file.read() if file else b""
    if not data:
        return None
    if len(data) > MAX_IMAGE:
        raise InvalidInput(services.BAD_IMAGE)
    return services.signature_png(data)


# --- The public ---


@bp.route("/verifier", methods=["GET"])
def verify_form() -> Any:
    """Type the number printed on a certificate."""
    typed = request.args.get("numero", "")
    if typed:
        normal = rules.normal_short_id(typed)
        if normal:
            return redirect(url_for("certificate_pages.verify", short_id=normal))
        return render_template("cert_verify.html", answer=None, typed=typed, unknown=True), 404
    return render_template("cert_verify.html", answer=None, typed="", unknown=False)


@bp.route("/verifier/<short_id>", methods=["GET", "POST"])
@verify_limit
def verify(short_id: str) -> Any:
    """What the QR code opens: is the certificate genuine, superseded; is this file it?"""
    try:
        certificate = services.find_public(short_id)
    except NotFound:
        return render_template("cert_verify.html", answer=None, typed=short_id, unknown=True), 404
    file_sha = None
    if request.method == "POST":
        file = request.files.get("file")
        data = file.read() if file else b""
        if not data:
            flash("Choisissez le fichier PDF à vérifier.", "error")
        else:
            file_sha = hashlib.sha256(data).hexdigest()
    answer = services.verification(certificate, utcnow(), file_sha)  # initials only, as the API
    return render_template("cert_verify.html", answer=answer, typed=short_id, unknown=False)
