"""Helpers of the émargement tests: a controllable clock for the routes, planning and opening a
session, enrolling more trainees, reading the ledger rows as they are stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, func, insert, select, update

import attendance.routes
from attendance import ledger
from attendance.models import Signature
from core.db import new_id
from core.extensions import db
from core.models import Trainee
from tests.conftest import ORDER_START, THIS_YEAR, Tenant, bearer, make_trainee, paris

PARIS = ZoneInfo("Europe/Paris")
DAY = date(THIS_YEAR, 3, 10)  # inside every test order, a working day, winter time
SIGNATURES = cast(Table, Signature.__table__)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Paris wall-clock time as an aware UTC datetime."""
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PARIS)
    return local.astimezone(UTC)


class Clock:
    """What `attendance.routes.utcnow()` answers: the routes pass it to every use case."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
        self.now = at(day, hour, minute, second)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def install_clock(monkeypatch: pytest.MonkeyPatch, now: datetime | None = None) -> Clock:
    clock = Clock(now or at(DAY, 9))
    monkeypatch.setattr(attendance.routes, "utcnow", clock)
    return clock


@dataclass
class Learner:
    """An enrolled trainee and the Authorization header of their bound phone."""

    trainee: Trainee
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.trainee.id


def tenant_learner(app: Flask, tenant: Tenant) -> Learner:
    return Learner(tenant.trainee, bearer(app, tenant.trainee, dev=tenant.invitation_id))


def enrol(
    app: Flask,
    client: FlaskClient,
    tenant: Tenant,
    first_name: str = "Léa",
    entry_date: date = ORDER_START,
) -> Learner:
    """One more trainee of the tenant, enrolled in its group, with an invitation (a device)."""
    trainee = make_trainee(tenant.org, first_name)
    h = bearer(app, tenant.admin)
    enrolled = client.post(
        f"/api/v1/groups/{tenant.group_id}/enrolments",
        headers=h,
        json={
            "trainee_id": trainee.id,
            "entry_date": entry_date.isoformat(),
            "planned_centre_hours": 100,
            "planned_company_hours": 0,
            "confirm_over_capacity": True,
        },
    )
    assert enrolled.status_code == 201, enrolled.get_json()
    invitation = client.post(f"/api/v1/trainees/{trainee.id}/invitations", headers=h)
    assert invitation.status_code == 201, invitation.get_json()
    return Learner(trainee, bearer(app, trainee, dev=invitation.get_json()["id"]))


def plan(
    app: Flask,
    client: FlaskClient,
    tenant: Tenant,
    *,
    kind: str = "tutorat",
    start: tuple[int, int] = (9, 0),
    end: tuple[int, int] = (12, 0),
    day: date = DAY,
    **fields: Any,
) -> str:
    """Plan a session of the tenant's group (as its admin) and answer its id."""
    body = {
        "kind": kind,
        "title": f"Séance {kind}",
        "starts_at": paris(day, *start),
        "ends_at": paris(day, *end),
        **fields,
    }
    answer = client.post(
        f"/api/v1/groups/{tenant.group_id}/sessions", json=body, headers=bearer(app, tenant.admin)
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def open_session(client: FlaskClient, trainer_h: dict[str, str], session_id: str) -> None:
    answer = client.post(f"/api/v1/sessions/{session_id}/open", headers=trainer_h)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "open"


def qr_token(client: FlaskClient, headers: dict[str, str], session_id: str) -> str:
    """The secret of the QR code shown now: what a phone reads after the '#'."""
    answer = client.get(f"/api/v1/sessions/{session_id}/qr", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["payload"].split("#", 1)[1]


def sign_in(client: FlaskClient, learner: Learner, token: str) -> Any:
    return client.post("/api/v1/sign-ins", json={"qr": token}, headers=learner.headers)


def rows(session_id: str | None = None) -> list[dict[str, Any]]:
    """The ledger rows as stored, in chain order (read on a fresh connection)."""
    query = select(SIGNATURES).order_by(SIGNATURES.c.session_id, SIGNATURES.c.seq)
    if session_id is not None:
        query = query.where(SIGNATURES.c.session_id == session_id)
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def count_rows(session_id: str, **where: Any) -> int:
    """How many records of people (signatures, absences, corrections) the session's chain
    holds: the session's own entries (its plan, opening, close) are not counted."""
    query = select(func.count()).select_from(SIGNATURES)
    query = query.where(SIGNATURES.c.session_id == session_id)
    query = query.where(SIGNATURES.c.signer_kind != "session")
    for name, value in where.items():
        query = query.where(SIGNATURES.c[name] == value)
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# --- a real session's chain, and tampering with its stored rows (test_ledger, test_sealing) ---

VERIFY = "/api/v1/ledger/verify"


@dataclass
class Built:
    session_id: str
    rows: list[dict[str, Any]]
    people: dict[str, str]  # first name → trainee id

    def row(self, seq: int) -> dict[str, Any]:
        """The entry at this place of the chain."""
        (found,) = [r for r in self.rows if r["seq"] == seq]
        return found

    def entry(self, n: int) -> dict[str, Any]:
        """The n-th record of a person (signature, absence, correction), from 1."""
        return [r for r in self.rows if r["signer_kind"] != "session"][n - 1]

    def seq(self, n: int) -> int:
        """The place in the chain of the n-th record of a person."""
        return int(self.entry(n)["seq"])


def verify(client, headers):  # noqa: ANN001, ANN201
    answer = client.get(VERIFY, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def run_sql(statement: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(statement)


def set_row(row_id: str, **values: Any) -> None:
    run_sql(update(SIGNATURES).where(SIGNATURES.c.id == row_id).values(**values))


def forge(built: Built, seq: int, prev_hash: str) -> dict[str, Any]:
    """A self-consistent entry, as someone with database access and the code would forge it:
    a correction marking Chloé absent, its reason committed with a salt of its own."""
    sample = built.entry(7)  # the correction
    values = {name: sample[name] for name in sample if name not in ("prev_hash", "hash")}
    values |= {
        "id": new_id(),
        "seq": seq,
        "kind": "correction",
        "signer_id": built.people["Chloé"],
        "at": sample["at"] + timedelta(minutes=1),
        "action": "mark_absent",
        "reason": "Ajout frauduleux",
        "salt": "ab" * 16,
    }
    values["commitment"] = ledger.commitment(values["salt"], ledger.personal(values))
    values |= {"prev_hash": prev_hash, "hash": ledger.entry_hash(prev_hash, values)}
    run_sql(insert(SIGNATURES).values(**values))
    return values


def shift_seqs(session_id: str, from_seq: int, by: int) -> None:
    """Renumber entries from `from_seq` on (through a free range: seq is unique per session)."""
    where = (SIGNATURES.c.session_id == session_id) & (SIGNATURES.c.seq >= from_seq)
    run_sql(update(SIGNATURES).where(where).values(seq=SIGNATURES.c.seq + 100_000))
    moved = (SIGNATURES.c.session_id == session_id) & (SIGNATURES.c.seq >= 100_000)
    run_sql(update(SIGNATURES).where(moved).values(seq=SIGNATURES.c.seq - 100_000 + by))
