"""Seals of the signature ledger: signed checkpoints over the sessions' chain heads (pure).

A seal lists (session id, chain length, head) for every session whose chain changed since
the previous seal, their Merkle root, the previous seal's hash and the time, signed with an
Ed25519 key that the database never holds. Seals form a chain of their own. Anyone holding
the seals (the export file) and the public key can check them, with no database and no app:

    python -m attendance.seals check SEALS.jsonl --public-key PUBLIC_KEY.pem \
        [--entries ENTRIES.jsonl]

(the entries exported by `flask --app wsgi ledger export`: then every chain is recomputed and
checked against what was sealed, too).
See docs/ledger.md. Standard library and `cryptography` only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from attendance import ledger

VERSION = 1
GENESIS = hashlib.sha256(b"ledger-seals").hexdigest()  # the `previous` of the first seal


@dataclass(frozen=True, order=True)
class SealedChain:
    """One session's chain as a seal saw it."""

    session_id: str
    length: int
    head: str


def _leaf(chain: SealedChain) -> bytes:
    text = f"{chain.session_id}\n{chain.length}\n{chain.head}"
    return hashlib.sha256(b"\x00" + text.encode()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(chains: Iterable[SealedChain]) -> list[list[bytes]]:
    """The Merkle tree's levels, leaves first (RFC 6962's shape: leaves and nodes hashed with
    distinct prefixes; an odd node goes up as it is)."""
    level = [_leaf(chain) for chain in sorted(chains)]
    levels = [level]
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
        levels.append(level)
    return levels


def merkle_root(chains: Iterable[SealedChain]) -> str:
    """Root of the Merkle tree over the chains in session id order."""
    top = _levels(chains)[-1]
    return top[0].hex() if top else hashlib.sha256(b"").hexdigest()


def merkle_proof(chains: Iterable[SealedChain], session_id: str) -> list[tuple[str, str]]:
    """The audit path of one session's chain: (side, sibling hash) from the leaf up, so that
    someone shown only their own sessions can check them against a seal's signed root."""
    levels = _levels(chains)
    ordered = sorted(chains)
    index = next(i for i, chain in enumerate(ordered) if chain.session_id == session_id)
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(("left" if sibling < index else "right", level[sibling].hex()))
        index //= 2
    return path


def proves(chain: SealedChain, path: Iterable[tuple[str, str]], root: str) -> bool:
    """Whether `path` leads from this chain's leaf to `root`."""
    digest = _leaf(chain)
    for side, sibling in path:
        other = bytes.fromhex(sibling)
        digest = _node(other, digest) if side == "left" else _node(digest, other)
    return digest.hex() == root


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key (which key signed a seal)."""
    return hashlib.sha256(public_raw(public_key)).hexdigest()[:16]


def public_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Seal:
    """A signed checkpoint; `hash` links the next seal to this one.

    The signature covers the Merkle root and the number of sessions, not their list: the list
    travels beside it (bound by the root), so that an organisation can be shown its own
    sessions with their audit paths and still check the signature."""

    seq: int
    at: datetime
    previous: str
    root: str
    count: int
    key_id: str
    signature: str  # base64url of the Ed25519 signature over `body()`
    sessions: tuple[SealedChain, ...] = ()

    def body(self) -> bytes:
        """The signed bytes: canonical JSON (sorted keys, no spaces, UTC to the microsecond)."""
        record = {
            "v": VERSION,
            "seq": self.seq,
            "at": _time(self.at),
            "previous": self.previous,
            "root": self.root,
            "count": self.count,
            "key_id": self.key_id,
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.body() + b"\n" + self.signature.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """One line of the export (and the API's item): everything needed to check it."""
        return {
            **json.loads(self.body()),
            "signature": self.signature,
            "hash": self.hash,
            "sessions": [[c.session_id, c.length, c.head] for c in sorted(self.sessions)],
        }

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Seal:
        return cls(
            seq=int(record["seq"]),
            at=datetime.strptime(record["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
            previous=str(record["previous"]),
            root=str(record["root"]),
            count=int(record["count"]),
            key_id=str(record["key_id"]),
            signature=str(record["signature"]),
            sessions=tuple(SealedChain(str(s), int(n), str(h)) for s, n, h in record["sessions"]),
        )


def make_seal(
    seq: int,
    at: datetime,
    previous: str,
    chains: Iterable[SealedChain],
    private_key: Ed25519PrivateKey,
) -> Seal:
    """Sign a checkpoint of these chains after the seal whose hash is `previous`."""
    ordered = tuple(sorted(chains))
    unsigned = Seal(
        seq,
        at,
        previous,
        merkle_root(ordered),
        len(ordered),
        key_id(private_key.public_key()),
        "",
        ordered,
    )
    signature = base64.urlsafe_b64encode(private_key.sign(unsigned.body())).decode()
    return replace(unsigned, signature=signature)


@dataclass(frozen=True)
class SealFault:
    """The first seal that does not check, and why."""

    seq: int
    reason: str


def check_seal(seal: Seal, public_key: Ed25519PublicKey) -> str | None:
    """Why this seal is not genuine (its root or its signature), or None."""
    if seal.count != len(seal.sessions) or seal.root != merkle_root(seal.sessions):
        return "the Merkle root does not match the sessions listed"
    if seal.key_id != key_id(public_key):
        return "signed with another key than the one given"
    try:
        public_key.verify(base64.urlsafe_b64decode(seal.signature.encode()), seal.body())
    except (InvalidSignature, ValueError):
        return "the signature does not match"
    return None


def check_seals(seals: Sequence[Seal], public_key: Ed25519PublicKey) -> SealFault | None:
    """The chain of seals: numbered from 1 without a gap, each linked to the one before, each
    genuine. A seal deleted, inserted, edited or forged is named."""
    previous = GENESIS
    for expected, seal in enumerate(seals, start=1):
        if seal.seq != expected:
            return SealFault(expected, f"expected seal {expected}, found {seal.seq}")
        if seal.previous != previous:
            return SealFault(seal.seq, "link to the previous seal is broken")
        reason = check_seal(seal, public_key)
        if reason:
            return SealFault(seal.seq, reason)
        previous = seal.hash
    return None


def checkpoints(seals: Iterable[Seal]) -> dict[str, dict[int, str]]:
    """Every (length → head) each seal recorded, per session: a chain must still hold them
    all, so that a chain rewritten after a seal stays caught even once sealed again."""
    found: dict[str, dict[int, str]] = {}
    for seal in seals:
        for chain in seal.sessions:
            found.setdefault(chain.session_id, {})[chain.length] = chain.head
    return found


def latest_sealed(seals: Iterable[Seal]) -> dict[str, SealedChain]:
    """Each session's last sealed state (a later seal supersedes an earlier one)."""
    latest: dict[str, SealedChain] = {}
    for seal in seals:
        for chain in seal.sessions:
            latest[chain.session_id] = chain
    return latest


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its PEM, or from its 32 raw bytes in base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def load_private_key(text: str) -> Ed25519PrivateKey:
    """A private key from its PEM (PKCS#8, unencrypted)."""
    key = serialization.load_pem_private_key(text.strip().encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def private_pem(private_key: Ed25519PrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def read_lines(path: Path) -> list[Seal]:
    """The seals of an export file (JSON lines), in file order."""
    seals = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            seals.append(Seal.from_json(json.loads(line)))
    return seals


def check_entries(
    lines: Iterable[dict[str, Any]], sealed: dict[str, dict[int, str]]
) -> ledger.Fault | None:
    """An export of the ledger's entries (`flask ledger export`) against the seals: every
    chain whole, and every sealed (length, head) still a prefix of it."""
    chains: dict[str, list[dict[str, Any]]] = {}
    for entry in lines:
        chains.setdefault(entry["session_id"], []).append(entry)
    for session_id in sorted(set(chains) | set(sealed)):
        entries = sorted(chains.get(session_id, []), key=lambda e: e["seq"])
        head = entries[-1]["hash"] if entries else ""
        report = ledger.verify_chain(
            session_id, entries, len(entries), head, sealed.get(session_id)
        )
        if report.fault:
            return report.fault
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m attendance.seals check SEALS.jsonl --public-key KEY [--entries FILE]`: exit 0
    when every seal of the file is genuine and in an unbroken chain (and, given an export of
    the ledger's entries, every chain whole and still holding what was sealed), 1 naming the
    first bad seal or entry."""
    parser = argparse.ArgumentParser(
        prog="python -m attendance.seals", description="Check a file of ledger seals offline."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="Check every seal of a JSON-lines export.")
    check.add_argument("file", type=Path, help="the seals, one JSON object per line")
    check.add_argument("--public-key", type=Path, required=True, help="PEM or base64 file")
    check.add_argument("--entries", type=Path, help="the ledger's entries (flask ledger export)")
    args = parser.parse_args(argv)
    public_key = load_public_key(args.public_key.read_text(encoding="utf-8"))
    try:
        seals = read_lines(args.file)
        entries = _json_lines(args.entries) if args.entries else None
    except (ValueError, KeyError, TypeError) as error:
        print(f"Fichier illisible : {error}", file=sys.stderr)
        return 1
    fault = check_seals(seals, public_key)
    if fault:
        print(f"Sceau n° {fault.seq} NON VALIDE : {fault.reason}.", file=sys.stderr)
        return 1
    if entries is not None:
        bad = check_entries(entries, checkpoints(seals))
        if bad:
            print(
                f"Registre ALTÉRÉ : séance {bad.session_id}, entrée n° {bad.seq} "
                f"(id {bad.entry_id or '—'}) : {bad.reason}.",
                file=sys.stderr,
            )
            return 1
    last = seals[-1] if seals else None
    sessions = len(latest_sealed(seals))
    print(
        f"{len(seals)} sceaux valides ({sessions} séances) ; dernier : n° "
        f"{last.seq if last else '—'}, {last.at.isoformat() if last else '—'}, "
        f"empreinte {last.hash if last else '—'}."
        + (f" {len(entries)} entrées conformes aux sceaux." if entries is not None else "")
    )
    return 0


def _json_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


if __name__ == "__main__":
    raise SystemExit(main())
