"""The tamper-evident signature ledger: canonical form, chained hashes, verification (pure).

Each training session holds one shard of the ledger: a hash chain of its entries (seq 1..n),
whose head and length are also kept on the session row. See docs/ledger.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The fields an entry's hash covers, by format version. Version 1 (entries written before
# the chain covered the sessions' facts) hashed the device facts and the reason in clear.
FIELDS_V1 = (
    "id",
    "organisation_id",
    "session_id",
    "seq",
    "kind",
    "signer_kind",
    "signer_id",
    "half_day",
    "at",
    "method",
    "channel",
    "device",
    "author_id",
    "action",
    "reason",
    "justified",
)
# Version 2: every stored column is covered; the personal part (device and network facts, the
# reason typed for an absence or a correction) enters as a salted commitment, so that a purge
# of personal data (deleting them and their salt) leaves every hash checkable; `facts` holds
# the session's own facts (its plan, its edits).
FIELDS = (
    "id",
    "organisation_id",
    "session_id",
    "seq",
    "v",
    "kind",
    "signer_kind",
    "signer_id",
    "half_day",
    "at",
    "method",
    "channel",
    "author_id",
    "action",
    "justified",
    "facts",
    "commitment",
)
VERSION = 2
FIELDS_BY_VERSION = {1: FIELDS_V1, 2: FIELDS}
PERSONAL = ("device", "reason")  # what a purge erases (with the salt)


def genesis(session_id: str) -> str:
    """The `prev_hash` of a session's first entry."""
    return hashlib.sha256(f"ledger:{session_id}".encode()).hexdigest()


PLAIN = (str, int, float, bool, type(None))


def _value(value: Any) -> Any:
    if type(value) in PLAIN:  # most fields: checked first, exactly (an ABC check is slow)
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, Mapping):
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    return value


def exported(entry: Mapping[Any, Any]) -> dict[str, Any]:
    """An entry as JSON, with times written as they are hashed: checked offline as stored."""
    return {str(name): _value(value) for name, value in entry.items()}


def _json(record: Any) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(entry: Mapping[str, Any]) -> bytes:
    """Deterministic bytes of an entry: sorted keys, no spaces, UTC times to the microsecond."""
    names = FIELDS_BY_VERSION[entry.get("v") or 1]
    return _json({name: _value(entry.get(name)) for name in names})


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """sha256(previous hash ‖ canonical form): changing any covered field breaks the chain."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(entry)).hexdigest()


def personal(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The personal part of an entry, as committed."""
    return {"device": entry.get("device") or {}, "reason": entry.get("reason")}


def commitment(salt: str, facts: Mapping[str, Any]) -> str:
    """sha256(salt ‖ canonical personal facts): binds them without holding them."""
    return hashlib.sha256(bytes.fromhex(salt) + b"\n" + _json(_value(dict(facts)))).hexdigest()


def personal_fault(entry: Mapping[str, Any]) -> str | None:
    """Why a version-2 entry's personal part does not match its commitment, or None. Purged
    (no salt), nothing personal may be left; otherwise the commitment must match."""
    if (entry.get("v") or 1) < 2:
        return None
    facts = personal(entry)
    if entry.get("salt"):
        try:
            bound = commitment(entry["salt"], facts) == entry.get("commitment")
        except (ValueError, TypeError):
            bound = False
        return None if bound else "personal facts altered (device, network or reason)"
    if facts["device"] or facts["reason"] is not None:
        return "personal facts kept without their salt"
    return None


@dataclass(frozen=True)
class Fault:
    """The first entry (or seal) that does not verify, and why."""

    session_id: str
    seq: int
    entry_id: str | None
    reason: str
    seal: int | None = None  # the seal at fault, when the fault is in the seals
    field: str | None = None  # the session's column that its chain contradicts


@dataclass(frozen=True)
class ChainReport:
    length: int
    head: str
    fault: Fault | None


def verify_chain(
    session_id: str,
    entries: Iterable[Mapping[Any, Any]],
    stored_length: int,
    stored_head: str,
    sealed: Mapping[int, str] | None = None,
    start: tuple[int, str] | None = None,
) -> ChainReport:
    """Recompute one session's chain in seq order and name the first bad entry.

    Catches an edited entry (its hash), a deleted or inserted one (seq gap or broken link), a
    reordering (broken link), and a truncated tail (length and head kept on the session).
    With the chain as the seals saw it (`sealed`: the head at each length a seal recorded,
    every seal, not only the last), also a chain rewritten and hashed again after a seal, or
    cut below it, even with the session's head moved to match, and even sealed again since.
    `start` (length, head): check only the entries after a prefix already checked.
    """
    sealed = sealed or {}
    sealed_length = max(sealed, default=0)
    start_length, prev = start or (0, genesis(session_id))
    expected_seq, count = start_length + 1, start_length
    for entry in entries:
        count += 1
        fault = _check_entry(session_id, entry, prev, expected_seq)
        if fault is None and expected_seq > stored_length:
            fault = Fault(
                session_id,
                expected_seq,
                entry.get("id"),
                "entry beyond the chain length recorded on the session",
            )
        if fault is None and sealed.get(expected_seq, entry["hash"]) != entry["hash"]:
            fault = Fault(  # a head covers its whole prefix: the seal names its last entry
                session_id,
                expected_seq,
                entry.get("id"),
                f"entries 1 to {expected_seq} differ from the sealed chain (rewritten since)",
            )
        if fault:
            return ChainReport(count, prev, fault)
        prev, expected_seq = entry["hash"], expected_seq + 1
    if count < sealed_length:
        fault = Fault(session_id, count + 1, None, "sealed entries are missing")
        return ChainReport(count, prev, fault)
    if count < stored_length:
        fault = Fault(session_id, count + 1, None, "entries missing at the end of the chain")
        return ChainReport(count, prev, fault)
    if prev != (stored_head or genesis(session_id)):
        fault = Fault(session_id, max(count, 1), None, "chain head does not match the session")
        return ChainReport(count, prev, fault)
    return ChainReport(count, prev, None)


def _check_entry(
    session_id: str, entry: Mapping[str, Any], prev: str, expected_seq: int
) -> Fault | None:
    seq, entry_id = entry["seq"], entry.get("id")
    if entry["session_id"] != session_id:
        return Fault(session_id, seq, entry_id, "entry belongs to another session")
    if seq != expected_seq:
        return Fault(
            session_id, expected_seq, entry_id, f"expected entry {expected_seq}, found {seq}"
        )
    if entry["prev_hash"] != prev:
        return Fault(session_id, seq, entry_id, "link to the previous entry is broken")
    if entry_hash(prev, entry) != entry["hash"]:
        return Fault(session_id, seq, entry_id, "entry content was altered")
    reason = personal_fault(entry)
    if reason:
        return Fault(session_id, seq, entry_id, reason)
    return None


def combined_head(heads: Iterable[tuple[str, str]]) -> str:
    """One digest of many session chains: sha256 over their (session id, head) in id order."""
    digest = hashlib.sha256()
    for session_id, head in sorted(heads):
        digest.update(f"{session_id}:{head}\n".encode())
    return digest.hexdigest()
