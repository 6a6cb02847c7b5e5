"""Request guards: input that no route can parse or store is refused before any route runs.

One guard for the whole class rather than a check in every schema, form and query: PostgreSQL
refuses a NUL character in text, and UTF-8 has no lone surrogate, so either one, in a path, a
query string, the user agent, a form or a JSON body, fails the first query that carries it (a 500,
whether the value was to be stored or only compared). JSON nested thousands deep makes every
parser (Flask's, webargs') recurse past Python's limit: it is refused before any of them reads
it. The size of a body is Flask's MAX_CONTENT_LENGTH (413).

The checks cost a few substring searches on an ordinary request: the slower ones run only when
those find something (a bracket count above the depth limit, a `\\u` escape).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from flask import Flask, Request, current_app, request

from core.errors import InvalidInput

FORBIDDEN_CHARACTER = (
    "Les données envoyées contiennent un caractère interdit "
    "(caractère nul ou codage invalide) : retirez-le et réessayez."
)
TOO_DEEP = "Le JSON envoyé est trop imbriqué : {depth} niveaux au plus."
FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
NOT_A_BRACKET = re.compile(rb"[^\[\]{}]+")
STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def init_app(app: Flask) -> None:
    """Run the guard before every request (API and pages), ahead of any other hook."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unreadable_input)


def refuse_unreadable_input() -> None:
    """400 `invalid_input` for a NUL character anywhere, or a JSON body nested too deep."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy look-up
    if has_nul_outside_the_body(req):
        raise InvalidInput(FORBIDDEN_CHARACTER)
    if req.mimetype in FORMS and any(
        # a multipart part whose name werkzeug cannot read (`name="\r"`) comes as None
        "\x00" in (key or "") or "\x00" in (value or "")
        for key, value in req.form.items(multi=True)
    ):
        raise InvalidInput(FORBIDDEN_CHARACTER)
    if req.is_json:
        check_json(req.get_data(cache=True), current_app.config["JSON_MAX_DEPTH"])


def has_nul_outside_the_body(req: Request) -> bool:
    """A NUL in the decoded path, the query string (from `%00` or a raw NUL byte) or the
    User-Agent, the one header kept as text (a phone's label); the others never reach a text
    column (the bearer is a signed token, the address is parsed)."""
    query = req.query_string
    return (
        "\x00" in req.path
        or b"%00" in query
        or b"\x00" in query
        or "\x00" in req.environ.get("HTTP_USER_AGENT", "")
    )


def check_json(body: bytes, max_depth: int) -> None:
    """Refuse a body nested deeper than `max_depth`, or with a text no database can hold.

    A body that is not JSON at all is left to the route, which answers it 400 as usual."""
    if body.count(b"[") + body.count(b"{") > max_depth and json_depth(body) > max_depth:
        raise InvalidInput(TOO_DEEP.format(depth=max_depth))
    if b"\\u" not in body:  # NUL and surrogates can only come as \u escapes in valid JSON
        return
    try:
        document = json.loads(body)
    except ValueError:
        return
    if not storable(document):
        raise InvalidInput(FORBIDDEN_CHARACTER)


def json_depth(body: bytes) -> int:
    """How deep brackets nest in a JSON text, outside its strings (no parsing, no recursion)."""
    brackets = NOT_A_BRACKET.sub(b"", JSON_STRING.sub(b"", body))
    return max(accumulate(map(STEP.__getitem__, brackets)), default=0)


def storable(value: Any) -> bool:
    """Whether every text in a parsed JSON value (keys too) is free of NUL and valid UTF-8."""
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or is_utf8(value))
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(storable(item) for item in value)
    return True


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
