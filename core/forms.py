"""Browser forms: read a posted form through the API's own schema, answer errors in French.

Pages validate with the same marshmallow schemas as the API, so both refuse the same input;
only the wording changes (marshmallow speaks English, people here read French).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from flask import render_template, request
from werkzeug.datastructures import MultiDict

from core.errors import DomainError, InvalidInput
from core.extensions import db

FRENCH_MESSAGES = (
    ("Missing data", "Ce champ est obligatoire."),
    ("Shorter than minimum length", "Ce champ est obligatoire."),
    ("Longer than maximum length", "Ce texte est trop long."),
    # The longer message first: "Not a valid datetime" starts with "Not a valid date".
    ("Not a valid datetime", "Indiquez une date et une heure valides."),
    ("Not a valid date", "Indiquez une date valide (jj/mm/aaaa)."),
    ("Out of range", "Indiquez une date entre 1900 et 2100."),
    ("Not a valid number", "Indiquez un nombre."),
    ("Not a valid integer", "Indiquez un nombre entier."),
    ("Not a valid email", "Indiquez une adresse électronique valide."),
    ("Must be one of", "Choisissez une des valeurs proposées."),
    ("Must be greater than or equal", "Cette valeur sort des limites permises."),
    ("String does not match", "Ce format n'est pas reconnu."),
    ("Unknown field", "Ce champ n'est pas attendu."),
    ("Field may not be null", "Ce champ est obligatoire."),
    ("Not a valid boolean", "Indiquez oui ou non (true ou false)."),
    ("Not a valid", "Cette valeur n'est pas valide."),
    ("Invalid input type", "Cette valeur n'est pas valide."),
    ("Length must be", "La longueur de ce texte n'est pas permise."),
)
UNKNOWN = "Cette valeur n'est pas valide."


def french_message(messages: Any) -> str:
    """The French sentence for marshmallow's (English) message about one field."""
    text = messages[0] if isinstance(messages, list) and messages else str(messages)
    return french_text(str(text)) or UNKNOWN


def french_text(text: str) -> str | None:
    """marshmallow's English message in French; None for a message it does not know (the
    project's own validators already speak French)."""
    for start, french in FRENCH_MESSAGES:
        if text.startswith(start):
            return french
    return None


def read_form(
    schema: ma.Schema, form: Mapping[str, Any], lists: Iterable[str] = ()
) -> dict[str, Any]:
    """Load a form with an API schema; empty fields count as absent. 400 with field details."""
    raw: dict[str, Any] = {
        name: _typed(schema, name, value.strip())
        for name, value in form.items()
        if name != "csrf_token" and isinstance(value, str) and value.strip()
    }
    for name in lists:
        raw[name] = form.getlist(name) if isinstance(form, MultiDict) else form.get(name, [])
    try:
        return schema.load(raw, unknown=ma.EXCLUDE)
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        details = {name: french_message(msg) for name, msg in messages.items()}
        raise InvalidInput("Vérifiez les champs signalés.", details=details) from exc


def _typed(schema: ma.Schema, name: str, value: str) -> str:
    """French decimal commas (« 37,5 ») become points for number fields."""
    if isinstance(schema.fields.get(name), ma.fields.Number):
        return value.replace(",", ".")
    return value


def form_error(template: str, error: DomainError, **context: Any) -> tuple[str, int]:
    """Undo the request's changes and show the form again with the typed values and the error."""
    db.session.rollback()
    context.setdefault("values", request.form)
    return render_template(template, error=error, **context), error.status


def is_local_path(target: str) -> bool:
    """A path of this site to go back to (a form's `next` or `back`): one leading "/", no
    scheme nor host, no backslash, control or whitespace character."""
    if "\\" in target or any(c.isspace() or not c.isprintable() for c in target):
        return False
    parts = urlsplit(target)
    local = not parts.scheme and not parts.netloc
    return local and target.startswith("/") and not target.startswith("//")
