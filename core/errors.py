"""Domain errors: a refusal with its status, stable code, French message and rule (pure: the
rules raise them; core.http_errors turns them into answers)."""

from __future__ import annotations

from typing import Any


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
