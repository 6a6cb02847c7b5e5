"""Keyset pagination (`?limit=&cursor=`) over any select ordered by (key, id)."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, TypeDecorator, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from core.errors import InvalidInput
from core.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _encode(key: Any, row_id: str) -> str:
    if isinstance(key, datetime | date):
        key = key.isoformat()
    raw = json.dumps([key, row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, column: InstrumentedAttribute) -> tuple[Any, str]:
    try:
        key, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        column_type = column.type
        if isinstance(column_type, TypeDecorator):  # e.g. UTCDateTime: its impl knows
            column_type = column_type.impl
        python_type = column_type.python_type
        if python_type is datetime:
            key = datetime.fromisoformat(key)
        elif python_type is date:
            key = date.fromisoformat(key)
        return key, str(row_id)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput("Curseur de pagination invalide.", code="invalid_cursor") from exc


def paginate(
    query: Select,
    key: InstrumentedAttribute,
    id_column: InstrumentedAttribute,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """One page of `query` in (key, id) order, and the cursor of the next page or None."""
    limit = min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
    if cursor:
        after_key, after_id = _decode(cursor, key)
        # Bind with the columns' own types (UTCDateTime stores naive UTC), not as strings.
        after = tuple_(literal(after_key, key.type), literal(after_id, id_column.type))
        query = query.where(tuple_(key, id_column) > after)
    rows = list(db.session.scalars(query.order_by(key, id_column).limit(limit + 1)).unique())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], _encode(getattr(last, key.key), last.id)
