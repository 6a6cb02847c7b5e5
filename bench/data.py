"""The bench database: emptied, migrated, filled in bulk; per (trainee, session) pair a bearer
header and a QR token; then the correctness checks (rows stored, ledger verified)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from attendance import rules, sealing
from attendance.models import Signature, TrainingSession
from bench import entries, settings
from core.db import new_id, utcnow
from core.extensions import db
from core.models import Invitation, Organisation, Role, Trainee, User
from core.tokens import issue_token
from training.models import Enrolment, Group, Order, group_trainer


@dataclass(frozen=True)
class Pair:
    """One distinct first sign-in: a trainee's bearer header and a QR token of its session."""

    authorization: str
    body: str


@dataclass(frozen=True)
class World:
    pairs: list[Pair]
    sessions: int
    trainees: int
    seconds: float


def ensure_database(url: str = settings.DATABASE_URL) -> None:
    """Create the bench database when it is missing."""
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise SystemExit(f"PostgreSQL is not reachable ({admin}): {error}") from None
    with conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{target.database}"')


def rebuild_schema(app: Flask) -> None:
    """Drop everything in the bench database and apply the migrations."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        db.session.remove()


@dataclass(frozen=True)
class Base:
    """The organisation, its trainer and order, the groups and their trainees (ids)."""

    org_id: str
    trainer_id: str
    order_id: str
    group_ids: list[str]
    trainee_ids: list[list[str]]  # per group
    invitation_ids: list[list[str]]  # per group, per trainee: the bound device
    now: datetime
    day: date


def base(
    app: Flask,
    groups: int,
    per_group: int,
    now: datetime | None = None,
    tag: int = 0,
) -> Base:
    """One organisation, one trainer, one e-formation order (60 days ago to 120 days ahead),
    `groups` groups of `per_group` enrolled trainees with redeemed invitations (bound
    devices); no session. Committed."""
    now = now or utcnow()
    day = rules.local_day(now)
    org_id, trainer_id, order_id = new_id(), new_id(), new_id()
    with app.app_context():
        db.session.execute(
            insert(Organisation),
            [
                {
                    "id": org_id,
                    "created_at": now,
                    "name": "Organisme bench",
                    "siret": f"{99999999900018 + tag:014d}",
                }
            ],
        )
        db.session.execute(
            insert(User),
            [
                {
                    "id": trainer_id,
                    "created_at": now,
                    "email": f"formateur{tag or ''}@bench.invalid",
                    "password_hash": "!bench-no-login",
                    "role": Role.TRAINER,
                    "first_name": "Paul",
                    "last_name": "Bench",
                    "organisation_id": org_id,
                }
            ],
        )
        db.session.execute(
            insert(Order),
            [
                {
                    "id": order_id,
                    "created_at": now,
                    "organisation_id": org_id,
                    "number": "BC-BENCH-0001",
                    "title": "Bench e-formation",
                    "modality": "e_formation",
                    "start_date": day - timedelta(days=60),
                    "end_date": day + timedelta(days=120),
                    "centre_hours": 140.0,
                    "min_synchronous_share": 0.5,
                    "forecast_headcount": groups * per_group,
                }
            ],
        )
        group_ids = [new_id() for _ in range(groups)]
        trainee_ids = [[new_id() for _ in range(per_group)] for _ in group_ids]
        invitation_ids = [[new_id() for _ in range(per_group)] for _ in group_ids]
        db.session.execute(
            insert(Group),
            [
                {
                    "id": gid,
                    "created_at": now,
                    "organisation_id": org_id,
                    "order_id": order_id,
                    "name": f"Groupe {g:04d}",
                    "component": "Bench",
                    "start_date": day - timedelta(days=59),
                }
                for g, gid in enumerate(group_ids)
            ],
        )
        db.session.execute(
            group_trainer.insert(), [{"group_id": gid, "user_id": trainer_id} for gid in group_ids]
        )
        db.session.execute(
            insert(Trainee),
            [
                {
                    "id": tid,
                    "created_at": now,
                    "organisation_id": org_id,
                    "first_name": f"Stagiaire{g}",
                    "last_name": f"N{t}",
                    "email": f"s{g}.{t}{f'.{tag}' if tag else ''}@bench.invalid",
                }
                for g, tids in enumerate(trainee_ids)
                for t, tid in enumerate(tids)
            ],
        )
        db.session.execute(
            insert(Invitation),
            [
                {
                    "id": invitation_ids[g][t],
                    "created_at": now,
                    "trainee_id": tid,
                    "organisation_id": org_id,
                    "code_digest": secrets.token_hex(32),
                    "expires_at": now + timedelta(days=14),
                    "created_by_id": trainer_id,
                    "redeemed_at": now,
                    "device_label": "bench",
                }
                for g, tids in enumerate(trainee_ids)
                for t, tid in enumerate(tids)
            ],
        )
        db.session.execute(
            insert(Enrolment),
            [
                _enrolment(org_id, group_ids[g], tid, now, day - timedelta(days=59))
                for g, tids in enumerate(trainee_ids)
                for tid in tids
            ],
        )
        db.session.commit()
        db.session.remove()
    return Base(org_id, trainer_id, order_id, group_ids, trainee_ids, invitation_ids, now, day)


# A session of the sign-in runs, as the service leaves it once planned and opened: its chain
# holds its plan and its opening (attendance.services.plan_session, attendance.signing.
# open_session). Every sign-in run starts again from these entries.
BASE_LENGTH = 2


def populate(app: Flask, groups: int, per_group: int) -> World:
    """One organisation, one e-formation order, `groups` groups each with one open tutorat
    session for the whole group (planned yesterday, started 5 min ago, ending in 2 h, opened
    now: its chain holds its plan and its opening) and `per_group` enrolled trainees with
    bound devices. Pairs are ordered so that consecutive ones belong to different sessions."""
    started = time.perf_counter()
    now = utcnow()
    world = base(app, groups, per_group, now)
    org_id, trainer_id, group_ids = world.org_id, world.trainer_id, world.group_ids
    trainee_ids, invitation_ids = world.trainee_ids, world.invitation_ids
    with app.app_context():
        cfg = app.config
        starts, ends = now - timedelta(minutes=5), now + timedelta(hours=2)
        session_rows = [_session(org_id, gid, trainer_id, now, starts, ends) for gid in group_ids]
        entry_rows = []
        for row in session_rows:
            planned = open_session_entries(row, trainer_id, planned_at=now - timedelta(days=1))
            entries, row["chain_length"], row["chain_head"] = planned
            entry_rows += entries
        db.session.execute(insert(TrainingSession), session_rows)
        db.session.execute(insert(Signature), entry_rows)
        db.session.commit()
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))

        window = rules.qr_window(now.timestamp(), cfg["QR_ROTATE_S"])
        qr_tokens = [
            rules.make_qr_token(row["id"], window, bytes.fromhex(row["qr_key"]))
            for row in session_rows
        ]
        pairs = []
        for t in range(per_group):
            for g in range(groups):
                token = issue_token(
                    cfg["JWT_SECRET"],
                    cfg["JWT_AUDIENCE"],
                    subject=trainee_ids[g][t],
                    typ="trainee",
                    now=now,
                    ttl_s=cfg["JWT_TRAINEE_TTL_S"],
                    claims={"role": Role.TRAINEE, "dev": invitation_ids[g][t]},
                )
                pairs.append(Pair(f"Bearer {token}", json.dumps({"qr": qr_tokens[g]})))
        db.session.remove()
    return World(pairs, groups, groups * per_group, time.perf_counter() - started)


def open_session_entries(
    row: dict[str, Any], author_id: str, planned_at: datetime
) -> tuple[list[dict[str, Any]], int, str]:
    """The chain of a session row planned at `planned_at` and opened at its `opened_at`:
    its entries, length and head."""
    session = session_object(row)
    return entries.chain(
        row["id"],
        [
            entries.plan_row(session, author_id, planned_at),
            entries.session_row(session, author_id, "opened", row["opened_at"]),
        ],
    )


def session_object(row: dict[str, Any]) -> TrainingSession:
    """A transient TrainingSession with the row's plan (what the entry builders read)."""
    return TrainingSession(
        id=row["id"],
        organisation_id=row["organisation_id"],
        kind=row["kind"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        site_id=row.get("site_id"),
        regroupement_reason=row.get("regroupement_reason"),
        whole_group=row.get("whole_group", True),
        lead_trainer_id=row.get("lead_trainer_id"),
    )


def _session(
    org_id: str, group_id: str, trainer_id: str, now: datetime, starts: datetime, ends: datetime
) -> dict:
    return {
        "id": new_id(),
        "created_at": now - timedelta(days=1),
        "organisation_id": org_id,
        "group_id": group_id,
        "kind": "tutorat",
        "title": "Tutorat bench",
        "starts_at": starts,
        "ends_at": ends,
        "status": "open",
        "on_public_holiday": False,
        "created_by_id": trainer_id,
        "opened_at": now,
        "opened_by_id": trainer_id,
        "qr_key": secrets.token_hex(32),
        "chain_length": 0,
        "chain_head": "",
        "whole_group": True,
        "lead_trainer_id": trainer_id,
    }


def _enrolment(org_id: str, group_id: str, trainee_id: str, now: datetime, entry: date) -> dict:
    return {
        "id": new_id(),
        "created_at": now,
        "organisation_id": org_id,
        "group_id": group_id,
        "trainee_id": trainee_id,
        "entry_date": entry,
        "planned_centre_hours": 140.0,
        "planned_company_hours": 0.0,
        "funding": "region",
        "warnings": "",
    }


def read_pairs(app: Flask, count: int) -> list[Pair]:
    """Pairs for the sessions and enrolments already in the bench database (fresh tokens),
    in the order `populate` gives them."""
    with app.app_context():
        cfg, now = app.config, utcnow()
        window = rules.qr_window(now.timestamp(), cfg["QR_ROTATE_S"])
        rows = db.session.execute(
            select(TrainingSession.id, TrainingSession.qr_key, Enrolment.trainee_id, Invitation.id)
            .join(Enrolment, Enrolment.group_id == TrainingSession.group_id)
            .join(Invitation, Invitation.trainee_id == Enrolment.trainee_id)
            .where(TrainingSession.status == "open")
            .order_by(Enrolment.trainee_id)
        ).all()
        db.session.remove()
    by_session: dict[str, list[tuple[str, str, str]]] = {}
    for session_id, qr_key, trainee_id, invitation_id in rows:
        assert qr_key is not None  # noqa: S101 - open sessions have their QR key
        by_session.setdefault(session_id, []).append((qr_key, trainee_id, invitation_id))
    pairs: list[Pair] = []
    for rank in range(max((len(v) for v in by_session.values()), default=0)):
        for session_id, members in by_session.items():
            if rank >= len(members) or len(pairs) >= count:
                continue
            qr_key, trainee_id, invitation_id = members[rank]
            token = issue_token(
                cfg["JWT_SECRET"],
                cfg["JWT_AUDIENCE"],
                subject=trainee_id,
                typ="trainee",
                now=now,
                ttl_s=cfg["JWT_TRAINEE_TTL_S"],
                claims={"role": Role.TRAINEE, "dev": invitation_id},
            )
            qr = rules.make_qr_token(session_id, window, bytes.fromhex(qr_key))
            pairs.append(Pair(f"Bearer {token}", json.dumps({"qr": qr})))
    return pairs


def write_pairs(pairs: list[Pair], path: Path) -> None:
    """One `Authorization<TAB>body` line per pair, for the wrk Lua script."""
    path.write_text("".join(f"{p.authorization}\t{p.body}\n" for p in pairs))


def reset_signatures(app: Flask) -> None:
    """Take every session's chain back to its plan and opening (BASE_LENGTH entries), so
    that each pair signs in first again."""
    with app.app_context():
        db.session.execute(text("SET LOCAL lock_timeout = '10s'"))  # never hang on a lock
        db.session.execute(text("DELETE FROM signature WHERE seq > :base"), {"base": BASE_LENGTH})
        db.session.execute(
            text(
                "UPDATE training_session t SET chain_length = s.seq, chain_head = s.hash "
                "FROM signature s WHERE s.session_id = t.id AND s.seq = :base "
                "AND t.chain_length <> :base"
            ),
            {"base": BASE_LENGTH},
        )
        db.session.commit()
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE signature, training_session")
            )
        db.session.remove()


def count_signatures(app: Flask) -> int:
    """The entries written by the run: those beyond each session's plan and opening."""
    with app.app_context():
        count = (
            db.session.scalar(
                select(func.count()).select_from(Signature).where(Signature.seq > BASE_LENGTH)
            )
            or 0
        )
        db.session.remove()
    return count


@dataclass(frozen=True)
class LedgerCheck:
    ok: bool
    entries: int
    sessions: int
    fault: str
    seconds: float


def verify_ledger(app: Flask) -> LedgerCheck:
    """What `flask --app wsgi ledger verify` runs (attendance.sealing.audit over every
    session: chains, the sessions' columns against them, seals) on the bench database."""
    started = time.perf_counter()
    with app.app_context():
        result = sealing.audit(select(TrainingSession), whole_region=True)
        db.session.remove()
    f = result.fault
    fault = "" if f is None else f"session {f.session_id}, entry {f.seq} ({f.entry_id}): {f.reason}"
    return LedgerCheck(
        result.ok, result.length, result.sessions, fault, time.perf_counter() - started
    )
