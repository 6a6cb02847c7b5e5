"""The floor on this machine: the least a durable sign-in can do, served like the real one.

FACTS.md's "bare sign-in": verify the bearer (PyJWT, HS256, audience and expiry), read the
JSON body, insert one row and commit it durably (PostgreSQL, synchronous_commit on), answer
201 with the row. No session, enrolment, QR or binding check, no ledger, no live event, no
failed-attempt limit. The bench serves it with the same gunicorn setting and wrk load as the
service (`gunicorn bench.bare:app`), beside its own trivial endpoint: what the real sign-in
costs over this floor is the service's own work; what the floor costs is the machine's.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Flask, jsonify, request
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
)

TABLE = "bench_bare_signature"
metadata = MetaData()
bare_signature = Table(
    TABLE,
    metadata,
    Column("id", String(24), primary_key=True),
    Column("trainee_id", String(24), nullable=False),
    Column("qr", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
)
INSERT = insert(bare_signature)

app = Flask(__name__)
engine = create_engine(
    os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
)
SECRET = os.environ.get("JWT_SECRET", "")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "competences-plus-api")


@app.get("/api/v1/health/live")
def health() -> Any:
    return {"status": "ok"}


@app.post("/api/v1/sign-ins")
def sign_in() -> Any:
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    except jwt.InvalidTokenError:
        return {"error": {"code": "invalid_token"}}, 401
    body = request.get_json(silent=True) or {}
    row = {
        "id": secrets.token_hex(12),
        "trainee_id": claims["sub"],
        "qr": str(body.get("qr", ""))[:200],
        "at": datetime.now(UTC).replace(tzinfo=None),
    }
    with engine.begin() as connection:  # COMMIT on exit: durable when the answer leaves
        connection.execute(INSERT, row)
    return jsonify(row | {"at": row["at"].isoformat()}), 201


def reset() -> None:
    """Create the table if needed, and empty it."""
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(bare_signature.delete())


def count() -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(bare_signature)).scalar_one()
        )
