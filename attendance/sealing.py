"""Sealing the ledger: signed checkpoints stored in the database and exported outside it.

`seal()` signs, with a key the database never holds, the (session, length, head) of every
session whose chain changed since the previous seal, after recomputing those chains. The
seal is stored (table `ledger_seal`) and appended to a JSON-lines file outside the database
(`LEDGER_SEAL_DIR`), from where it is shipped off the host (README, "The ledger's seals").
A closed session is sealed soon after its close (`seal_soon`); a timer seals periodically.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app
from sqlalchemy import Select, Table, delete, func, insert, or_, select, text

from attendance import company_journal, journal, ledger, seals
from attendance.models import CompanyPeriod, LedgerSeal, SealedState, TrainingSession
from core.config import LOCAL_ENVS
from core.db import utcnow
from core.extensions import db

log = logging.getLogger(__name__)
EXPORT_NAME = "seals.jsonl"
DEV_KEY_NAME = "ledger-signing-key.pem"


class SealingUnavailable(RuntimeError):
    """No signing key is configured: the operator must give one (LEDGER_SIGNING_KEY)."""


@dataclass(frozen=True)
class Keys:
    private: Ed25519PrivateKey | None
    public: Ed25519PublicKey | None


def _text_or_file(value: str) -> str:
    """A key given inline (PEM or base64) or as the path of a file holding it."""
    value = value.strip()
    if value.startswith("-----BEGIN") or not value:
        return value
    return Path(value).read_text(encoding="utf-8")


def keys(app: Flask | None = None) -> Keys:
    """The sealing keys, read once per app: LEDGER_SIGNING_KEY (never in the database) and
    LEDGER_PUBLIC_KEY (else derived from the private key). In development and testing, without
    a key, one is generated under the instance folder, and the log says so."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cached: Keys | None = app.extensions.get("ledger_keys")
    if cached is None:
        cached = app.extensions["ledger_keys"] = _load_keys(app)
    return cached


def _load_keys(app: Flask) -> Keys:
    cfg = app.config
    private_text = _text_or_file(cfg.get("LEDGER_SIGNING_KEY", ""))
    if not private_text and cfg["APP_ENV"] in LOCAL_ENVS:
        private_text = _development_key(Path(app.instance_path) / DEV_KEY_NAME)
    private = seals.load_private_key(private_text) if private_text else None
    public_text = _text_or_file(cfg.get("LEDGER_PUBLIC_KEY", ""))
    public: Ed25519PublicKey | None = private.public_key() if private else None
    if public_text:
        public = seals.load_public_key(public_text)
    return Keys(private, public)


def _development_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(seals.private_pem(Ed25519PrivateKey.generate()))
        log.warning(
            "No LEDGER_SIGNING_KEY: generated a development key in %s (never use it in "
            "production, where the key must live outside the database's host)",
            path,
        )
    return path.read_text(encoding="utf-8")


def export_path(app: Flask | None = None) -> Path:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    folder = app.config.get("LEDGER_SEAL_DIR") or os.path.join(app.instance_path, "seals")
    return Path(folder) / EXPORT_NAME


@dataclass
class Outcome:
    """What a sealing did: the seal (None when nothing changed) and the chains it refused."""

    seal: seals.Seal | None
    refused: list[ledger.Fault] = field(default_factory=list)


def seal(now: datetime) -> Outcome:
    """Seal every session whose chain changed since the last seal. Each such chain is
    recomputed first: a chain that does not verify is refused (named in the outcome) and
    stays unsealed. Flushes; the caller commits, then exports (`export`)."""
    private = keys().private
    if private is None:
        raise SealingUnavailable(
            "Aucune clé de scellement : définissez LEDGER_SIGNING_KEY (un fichier PEM Ed25519 "
            "hors de la base)."
        )
    _one_sealer_at_a_time()
    last = db.session.scalar(select(LedgerSeal).order_by(LedgerSeal.seq.desc()).limit(1))
    chains, refused = _changed_chains()
    periods, refused_periods = _changed_periods()
    chains, refused = (
        sorted(chains + periods, key=lambda c: c.session_id),
        refused + refused_periods,
    )
    if not chains:
        return Outcome(None, refused)
    made = seals.make_seal(
        (last.seq if last else 0) + 1, now, last.hash if last else seals.GENESIS, chains, private
    )
    db.session.add(_row(made))
    _record_states(chains, made.seq)
    db.session.flush()
    return Outcome(made, refused)


def _record_states(chains: list[seals.SealedChain], seq: int) -> None:
    """The sealer's index: each sealed chain's (length, head), replaced in bulk (a thousand
    sessions per statement), not one look-up per session."""
    states = cast(Table, SealedState.__table__)
    for start in range(0, len(chains), CHUNK):
        part = chains[start : start + CHUNK]
        ids = [chain.session_id for chain in part]
        db.session.execute(delete(states).where(states.c.session_id.in_(ids)))
        db.session.execute(insert(states), [_state(chain, seq) for chain in part])


def _one_sealer_at_a_time() -> None:
    """Two processes sealing at once would both number their seal n+1: on PostgreSQL they
    queue on an advisory lock (held to the commit); SQLite has one writer at a time anyway."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ledger-seal'))"))


def _changed_chains() -> tuple[list[seals.SealedChain], list[ledger.Fault]]:
    """The sessions whose chain moved since their last seal, each checked from its last sealed
    head on (the entries before were checked when sealed; `audit` checks every seal's heads
    against the whole chain, so a rewritten prefix is caught even if sealed again)."""
    changed = db.session.execute(
        select(
            TrainingSession.id,
            TrainingSession.chain_length,
            TrainingSession.chain_head,
            SealedState.length,
            SealedState.head,
        )
        .outerjoin(SealedState, SealedState.session_id == TrainingSession.id)
        .where(
            TrainingSession.chain_length > 0,
            or_(
                SealedState.session_id.is_(None),
                SealedState.length != TrainingSession.chain_length,
                SealedState.head != TrainingSession.chain_head,
            ),
        )
        .order_by(TrainingSession.id)
    ).all()
    return _checked(changed, _tails)


def _changed_periods() -> tuple[list[seals.SealedChain], list[ledger.Fault]]:
    """The company periods' chains (attendance.company_journal) moved since their last seal:
    sealed beside the sessions', in the same index (ids never collide)."""
    periods = company_journal.PERIODS
    changed = db.session.execute(
        select(
            periods.c.id,
            periods.c.chain_length,
            periods.c.chain_head,
            SealedState.length,
            SealedState.head,
        )
        .outerjoin(SealedState, SealedState.session_id == periods.c.id)
        .where(
            periods.c.chain_length > 0,
            or_(
                SealedState.session_id.is_(None),
                SealedState.length != periods.c.chain_length,
                SealedState.head != periods.c.chain_head,
            ),
        )
        .order_by(periods.c.id)
    ).all()
    return _checked(changed, _period_tails)


def _checked(
    changed: Sequence[Any], tails_of: Callable[[list[str]], dict[str, list[Any]]]
) -> tuple[list[seals.SealedChain], list[ledger.Fault]]:
    """Each changed chain checked from its last sealed head: sealed, or refused and named."""
    chains, refused = [], []
    for start in range(0, len(changed), CHUNK):
        rows = changed[start : start + CHUNK]
        tails = tails_of([row[0] for row in rows])
        for session_id, length, head, sealed_length, sealed_head in rows:
            begin = (sealed_length, sealed_head) if sealed_length else None
            entries = tails.get(session_id, [])
            report = ledger.verify_chain(session_id, entries, length, head, start=begin)
            if report.fault:
                log.error("Not sealed: session %s does not verify: %s", session_id, report.fault)
                refused.append(report.fault)
            else:
                chains.append(seals.SealedChain(session_id, length, head))
    return chains, refused


CHUNK = 1000  # sessions per query


def _tails(session_ids: list[str]) -> dict[str, list[Any]]:
    """The entries after each session's last sealed head, in chain order (one query)."""
    entries = journal.SIGNATURES
    query = (
        select(entries)
        .outerjoin(SealedState, SealedState.session_id == entries.c.session_id)
        .where(
            entries.c.session_id.in_(session_ids),
            entries.c.seq > func.coalesce(SealedState.length, 0),
        )
        .order_by(entries.c.session_id, entries.c.seq)
    )
    tails: dict[str, list[Any]] = {}
    for row in db.session.execute(query).mappings():
        tails.setdefault(row["session_id"], []).append(row)
    return tails


def _period_tails(period_ids: list[str]) -> dict[str, list[Any]]:
    """The entries after each company period's last sealed head, as the ledger hashes them."""
    entries = company_journal.ENTRIES
    query = (
        select(entries)
        .outerjoin(SealedState, SealedState.session_id == entries.c.period_id)
        .where(
            entries.c.period_id.in_(period_ids),
            entries.c.seq > func.coalesce(SealedState.length, 0),
        )
        .order_by(entries.c.period_id, entries.c.seq)
    )
    tails: dict[str, list[Any]] = {}
    for row in db.session.execute(query).mappings():
        tails.setdefault(row["period_id"], []).append(company_journal.hashed(row))
    return tails


def _row(made: seals.Seal) -> LedgerSeal:
    line = made.to_json()
    return LedgerSeal(
        seq=made.seq,
        at=made.at,
        previous=made.previous,
        root=made.root,
        count=made.count,
        key_id=made.key_id,
        signature=made.signature,
        hash=made.hash,
        sessions=line["sessions"],
    )


def _state(chain: seals.SealedChain, seq: int) -> dict[str, Any]:
    return {
        "session_id": chain.session_id,
        "length": chain.length,
        "head": chain.head,
        "seal_seq": seq,
    }


def _seal_of(row: LedgerSeal) -> seals.Seal:
    chains = tuple(seals.SealedChain(str(i), int(n), str(h)) for i, n, h in row.sessions)
    return seals.Seal(
        row.seq, row.at, row.previous, row.root, row.count, row.key_id, row.signature, chains
    )


def stored_seals() -> list[seals.Seal]:
    """The seals in the database, in order."""
    return [
        _seal_of(row) for row in db.session.scalars(select(LedgerSeal).order_by(LedgerSeal.seq))
    ]


def exported_seals(app: Flask | None = None) -> list[seals.Seal] | None:
    """The seals of the export file, or None when there is no file to read."""
    path = export_path(app)
    if not path.exists():
        return None
    return seals.read_lines(path)


def export(app: Flask | None = None) -> int:
    """Append to the export file every stored seal it lacks (after a commit, and again at the
    next seal if the disk refused): the file is append-only and locked while written.
    Answers how many lines were written."""
    path = export_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.strip()]
        last = json.loads(lines[-1])["seq"] if lines else 0
        missing = db.session.scalars(
            select(LedgerSeal).where(LedgerSeal.seq > last).order_by(LedgerSeal.seq)
        ).all()
        for row in missing:
            line = _seal_of(row).to_json()
            out.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return len(missing)


def seal_and_export(now: datetime | None = None) -> Outcome:
    """Seal, commit, export: what the command, the timer and a close run."""
    outcome = seal(now or utcnow())
    db.session.commit()
    export()
    return outcome


_pending: dict[int, threading.Timer] = {}
_pending_lock = threading.Lock()


def seal_soon(app: Flask) -> None:
    """After a close: seal within LEDGER_SEAL_DELAY_S seconds, from a thread of this process
    (one timer at a time gathers the closes meanwhile). Without a key, or with the delay
    unset, nothing happens here: the periodic timer seals (README)."""
    delay = app.config.get("LEDGER_SEAL_DELAY_S")
    if delay is None or keys(app).private is None:
        return
    with _pending_lock:
        if os.getpid() in _pending:
            return
        timer = threading.Timer(float(delay), _seal_in_background, args=(app,))
        timer.daemon = True
        _pending[os.getpid()] = timer
    timer.start()


def _seal_in_background(app: Flask) -> None:
    with _pending_lock:
        _pending.pop(os.getpid(), None)
    with app.app_context():
        try:
            outcome = seal_and_export()
        except Exception:  # noqa: BLE001 - a background seal must never kill the worker
            db.session.rollback()
            log.exception("Sealing after a close failed; the periodic seal will cover it")
        else:
            if outcome.seal:
                log.info("Sealed %d session(s) in seal %d", outcome.seal.count, outcome.seal.seq)
        finally:
            db.session.remove()


# --- Verification against the seals ---------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """The ledger recomputed, and checked against its seals (GET /api/v1/ledger/verify)."""

    ok: bool
    length: int
    head: str
    sessions: int
    sealed: int  # entries covered by a seal
    unsealed: int  # entries after their session's last seal
    seals: int
    last_seal_at: datetime | None
    seals_checked: bool  # False without a public key to check them with
    fault: ledger.Fault | None
    company_periods: int = 0  # company periods' chains checked (attendance.company_journal)


def audit(sessions: Select, *, whole_region: bool, periods: Select | None = None) -> Audit:
    """Recompute every selected chain and check it against the seals: the seals' signatures
    and their chain, the database's seals against the export outside it, and each sealed
    (length, head) still a prefix of the live chain. Names the first bad seal or entry.
    `periods`: the company periods' chains to check too (by default those of the sessions'
    organisations, every one for the whole region)."""
    public = keys().public
    stored, exported = stored_seals(), exported_seals()
    fault, reference = _check_sources(stored, exported, public)
    latest = seals.latest_sealed(reference)
    checkpoints = seals.checkpoints(reference)
    chains = journal.verify(sessions, checkpoints)
    if periods is None:
        periods = _periods_of(sessions, whole_region)
    company = company_journal.verify(periods, checkpoints)
    fault = fault or chains.fault or company.fault
    if fault is None and whole_region:
        fault = _sealed_but_gone(latest)
    sealed = _sealed_entries(sessions, latest) + _sealed_entries(periods, latest, CompanyPeriod)
    length = chains.length + company.length
    head = chains.head
    if company.heads:  # the sessions' combined head and each period's, in one digest
        head = ledger.combined_head([("sessions", chains.head), *company.heads])
    return Audit(
        ok=fault is None,
        length=length,
        head=head,
        sessions=chains.sessions,
        sealed=sealed,
        unsealed=max(0, length - sealed),
        seals=len(reference),
        last_seal_at=reference[-1].at if reference else None,
        seals_checked=public is not None,
        fault=fault,
        company_periods=company.periods,
    )


def _periods_of(sessions: Select, whole_region: bool) -> Select:
    if whole_region:
        return select(CompanyPeriod)
    organisations = sessions.with_only_columns(TrainingSession.organisation_id)
    return select(CompanyPeriod).where(CompanyPeriod.organisation_id.in_(organisations))


def _check_sources(
    stored: list[seals.Seal],
    exported: list[seals.Seal] | None,
    public: Ed25519PublicKey | None,
) -> tuple[ledger.Fault | None, list[seals.Seal]]:
    """The seals to trust, and the first fault among them. The export, kept outside the
    database, is the reference; seals stored but not exported yet (an export that failed)
    extend it. A seal missing from either side, or different there, is a fault."""
    reference = list(stored)
    if exported is not None:
        in_file = {seal.seq: seal for seal in exported}
        in_base = {seal.seq: seal for seal in stored}
        last_exported = max(in_file, default=0)
        for seq in sorted(set(in_file) | set(in_base)):
            if seq not in in_base:
                return _seal_fault(seq, "missing from the database (in its export)"), exported
            if seq not in in_file and seq <= last_exported:
                return _seal_fault(seq, "missing from its export"), stored
            if seq in in_file and in_file[seq].hash != in_base[seq].hash:
                return _seal_fault(seq, "differs from its export"), exported
        reference = exported + [seal for seal in stored if seal.seq > last_exported]
    if public is not None:
        bad = seals.check_seals(reference, public)
        if bad:
            return _seal_fault(bad.seq, bad.reason), reference
    return None, reference


def _seal_fault(seq: int, reason: str) -> ledger.Fault:
    return ledger.Fault("", 0, None, f"seal {seq}: {reason}", seal=seq)


def _sealed_but_gone(latest: dict[str, seals.SealedChain]) -> ledger.Fault | None:
    """A sealed session whose row is gone (deleted with its entries)."""
    present = set(db.session.scalars(select(TrainingSession.id)))
    present |= set(db.session.scalars(select(CompanyPeriod.id)))
    for session_id, chain in sorted(latest.items()):
        if session_id not in present:
            return ledger.Fault(
                session_id, 1, None, f"sealed session missing ({chain.length} entries)"
            )
    return None


def _sealed_entries(
    chains: Select, latest: dict[str, seals.SealedChain], model: Any = TrainingSession
) -> int:
    ids = db.session.scalars(chains.with_only_columns(model.id))
    return sum(latest[i].length for i in ids if i in latest)
