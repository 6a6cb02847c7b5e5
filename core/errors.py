"""Domain errors and the one place that turns them into the API's error body."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refusal with an HTTP status, a stable code, a French message and maybe a rule id."""

    status = 400
    code = "bad_request"
    message = "Requête invalide."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        rule: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.rule = rule
        self.details = details

    def body(self) -> dict[str, Any]:
        """The API error body of this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.rule:
            error["rule"] = self.rule
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidInput(DomainError):
    status = 400
    code = "invalid_input"
    message = "Les données envoyées sont invalides."


class Unauthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    message = "Connexion requise."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "Vous n'avez pas le droit de faire cela."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Introuvable."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "Conflit avec l'état actuel."


class Gone(DomainError):
    status = 410
    code = "expired"
    message = "Ce lien ou ce code a expiré."


class RuleViolation(DomainError):
    """A rule of SPEC.md refuses the request (422); always carries the rule id."""

    status = 422
    code = "rule_violation"
    message = "Une règle du programme refuse cette demande."


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"
    message = "Trop de tentatives. Réessayez dans une minute."


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
        body["details"] = data["messages"]
        return {"error": body}, status
    code, message = HTTP_CODES.get(status, ("error", error.description or "Erreur."))
    return {"error": {"code": code, "message": message}}, status


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
