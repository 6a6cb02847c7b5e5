"""The one place that turns domain and HTTP errors into answers: the API's error body under
/api (and for JSON requests), a French error page elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from core.errors import DomainError, Unauthenticated
from core.forms import french_text

HTTP_CODES = {
    400: ("bad_request", "Requête invalide."),
    401: ("not_authenticated", "Connexion requise."),
    403: ("forbidden", "Vous n'avez pas le droit de faire cela."),
    404: ("not_found", "Introuvable."),
    405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
    409: ("conflict", "Conflit avec l'état actuel."),
    413: ("too_large", "Requête trop volumineuse."),
    415: ("unsupported_media_type", "Envoyez du JSON (Content-Type: application/json)."),
    422: ("invalid_input", "Les données envoyées sont invalides."),
    429: ("too_many_attempts", "Trop de tentatives. Réessayez dans une minute."),
    500: ("internal_error", "Erreur interne. Réessayez plus tard."),
}


def wants_json() -> bool:
    """API requests get JSON errors; pages get HTML ones."""
    return request.path.startswith("/api/") or request.is_json


def http_error_body(error: HTTPException) -> tuple[dict[str, Any], int]:
    """Map werkzeug/webargs errors onto the API error body (validation errors → 400)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status in (400, 422) and "messages" in data:  # webargs: invalid JSON or fields
        status = 400
        body = {"code": "invalid_input", "message": "Les données envoyées sont invalides."}
        body["details"] = french_details(data["messages"])
        return {"error": body}, status
    code, message = HTTP_CODES.get(status, ("error", error.description or "Erreur."))
    return {"error": {"code": code, "message": message}}, status


def french_details(messages: Any) -> Any:
    """webargs' messages by location then field, as given, with marshmallow's English ones
    in French (the project's validators already write French)."""
    if isinstance(messages, dict):
        return {name: french_details(value) for name, value in messages.items()}
    if isinstance(messages, list):
        return [french_details(value) for value in messages]
    return french_text(messages) or messages if isinstance(messages, str) else messages


REVOKED_PHONE = (
    "Ce téléphone n'est plus relié à votre compte : demandez un nouveau code à votre organisme."
)


def to_sign_in() -> Any:
    """A signed-out page visit goes to the staff login; a revoked phone to the invitation page."""
    from core.auth import device_revoked

    if device_revoked():
        flash(REVOKED_PHONE, "error")
        return redirect(url_for("pages.invitation"))
    return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))


def register_error_handlers(app: Flask) -> None:
    """One handler for domain errors, one for HTTP errors; JSON under /api, HTML elsewhere."""
    from core.extensions import db

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Any:
        # A refused request changes nothing, even what a use case changed before refusing.
        db.session.rollback()
        if wants_json():
            return jsonify(error.body()), error.status
        if isinstance(error, Unauthenticated) and request.method == "GET":
            return to_sign_in()
        return render_template("error.html", error=error.body()["error"]), error.status

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        body, status = http_error_body(error)
        if wants_json():
            return jsonify(body), status
        return render_template("error.html", error=body["error"]), status
