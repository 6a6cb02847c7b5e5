"""The OpenAPI-described JSON API (flask-smorest): shared schema pieces and error shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, Response, request, send_from_directory
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from core.clock import PARIS
from core.errors import InvalidInput, NotFound
from core.http_errors import http_error_body

# Bounds of what the columns hold: ids are String(24), e-mails String(254), integers int4 on
# PostgreSQL. Days and times from 1900 to 2100: year 1 or 9999 overflows the arithmetic on them
# (a day later, a time zone), and no training of the programme is that far away.
ID = ma.validate.Length(min=1, max=24)
EMAIL = ma.validate.Length(max=254)
INT4_MAX = 2**31 - 1
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
FIRST_MOMENT, LAST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable snake_case code"})
    message = ma.fields.String(metadata={"description": "French sentence for a person"})
    rule = ma.fields.String(
        metadata={"description": "Rule id of SPEC.md (R1–R24), when a rule decided"}
    )
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema)


class Api(SmorestApi):
    """flask-smorest with the contract's error body `{"error": {code, message, rule?}}`.

    No catch-all `default` answer in the document: each operation lists the statuses it
    really answers (ErrorAnswers and the routes' `alt_response`), so that a client, and the
    schemathesis run of the tests, can hold the API to them."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException) -> Any:
        body, status = http_error_body(error)
        return body, status

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        """Also serve the documentation page's assets, from the swagger-ui-bundle package."""
        super().init_app(app, **kwargs)
        assets = app.config.get("OPENAPI_SWAGGER_UI_URL")
        if app.config.get("OPENAPI_SWAGGER_UI_PATH") and assets:
            app.add_url_rule(f"{assets}<filename>", "api-docs-assets", doc_asset)


# What the page at /api/v1/docs loads (flask-smorest's swagger_ui.html); not the bundle's own
# index.html, which would show an example API from the Internet.
DOC_ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}
)


def doc_asset(filename: str) -> Response:
    """A file of Swagger UI, served by the app itself: the page needs no CDN."""
    if filename not in DOC_ASSETS:
        raise NotFound()
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


class Parser(FlaskParser):
    """Invalid arguments answer 400 `invalid_input`, as the contract says (webargs: 422)."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(SmorestBlueprint):
    """The API's blueprints: arguments parsed by `Parser`, so documented with 400."""

    ARGUMENTS_PARSER = Parser()


class ErrorAnswers(BasePlugin):
    """Documents the error statuses every operation shares, from what the code declares:
    400 for any request (core.guards refuses a NUL character anywhere), 401 where a bearer is
    required, 403 where only some roles may call, 404 where the path names a resource, 413
    where a body is read. What only some operations answer (409, 410, 422, 429) each route
    documents with `alt_response`."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            statuses = {400}
            if operation.get("security"):
                statuses.add(401)
            if isinstance(operation.get("x-roles"), list):
                statuses.add(403)
            if "{" in (path or ""):
                statuses.add(404)
            if "requestBody" in operation:
                statuses.add(413)
            responses = operation.setdefault("responses", {})
            present = {str(status) for status in responses}
            for status in sorted(statuses):
                if str(status) not in present:
                    responses[status] = HTTPStatus(status).name


def within(low: Any, high: Any) -> Callable[[Any], None]:
    """A validator of `low <= value <= high` (apispec leaves it out of the document, where a
    Range on dates would be written as `x-minimum` in HTTP-date form)."""

    def check(value: Any) -> None:
        if not low <= value <= high:
            raise ma.ValidationError(f"Out of range: {low.isoformat()} to {high.isoformat()}.")

    return check


class Day(ma.fields.Date):
    """A calendar day, from FIRST_DAY to LAST_DAY."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [within(FIRST_DAY, LAST_DAY), *self.validators]


class Moment(ma.fields.AwareDateTime):
    """An instant with its offset, from FIRST_MOMENT to LAST_MOMENT."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [within(FIRST_MOMENT, LAST_MOMENT), *self.validators]


class ParisDateTime(ma.fields.AwareDateTime):
    """Reads ISO 8601 with an offset; writes Europe/Paris time with its offset."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(PARIS).isoformat()


class PartialLoad:
    """Mixin for PATCH bodies: every field optional, absent fields stay absent.

    marshmallow has no `Meta.partial` option (it is silently ignored): partial loading is a
    constructor argument, so it is defaulted here.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class PageArgs(ma.Schema):
    """`?limit=&cursor=` of every list endpoint."""

    limit = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """`{"items": [...], "next_cursor": ...}` around an item schema."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item)),
            "next_cursor": ma.fields.String(allow_none=True),
        },
        name=name,
    )


api = Api(spec_kwargs={"extra_plugins": [ErrorAnswers()]})


def image_doc(media_type: str, text: str) -> dict[str, Any]:
    """OpenAPI `responses` of a route answering an image (200, `media_type`)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"responses": {200: {"description": text, "content": {media_type: binary}}}}


def load_json(schema: ma.Schema) -> dict[str, Any]:
    """The request's JSON body loaded by `schema`, or 400 `invalid_input` with the same
    details as flask-smorest's `arguments` gives (`{"json": {field: [messages]}}`).

    For the hottest routes (sign-ins), which skip flask-smorest's argument parsing and answer
    plain dicts: they document their body with `json_doc` instead."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(details={"json": {"_schema": ["Envoyez un objet JSON."]}})
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ma.ValidationError as error:
        raise InvalidInput(details={"json": error.messages}) from None
    return loaded


def json_doc(
    body: type[ma.Schema], answers: dict[int, tuple[type[ma.Schema], str]]
) -> dict[str, Any]:
    """OpenAPI `requestBody` and `responses` for `Blueprint.doc`, where a route loads and dumps
    its JSON itself (`load_json`)."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            str(status): {"description": text, "content": {"application/json": {"schema": schema}}}
            for status, (schema, text) in answers.items()
        },
    }
