"""Seals of the ledger, without the app: Merkle root, signature, the chain of seals, and the
auditor's offline command (python -m attendance.seals check)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from attendance import seals
from attendance.seals import GENESIS, SealedChain, check_seals, make_seal, merkle_root

KEY = Ed25519PrivateKey.generate()
AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def chain(n: int, length: int = 3) -> SealedChain:
    return SealedChain(f"session{n:04d}", length, f"{n:064x}")


def series(count: int = 3, key: Ed25519PrivateKey = KEY) -> list[seals.Seal]:
    made, previous = [], GENESIS
    for seq in range(1, count + 1):
        seal = make_seal(
            seq, AT + timedelta(hours=seq), previous, [chain(seq), chain(99, seq)], key
        )
        made.append(seal)
        previous = seal.hash
    return made


chains = st.lists(
    st.builds(
        SealedChain, st.text("abc0123", min_size=1, max_size=6), st.integers(0, 9), st.just("h")
    ),
    unique_by=lambda c: c.session_id,
    max_size=40,
)


@given(chains, st.randoms())
def test_the_merkle_root_does_not_depend_on_the_order_given(listed, random):
    shuffled = list(listed)
    random.shuffle(shuffled)
    assert merkle_root(shuffled) == merkle_root(listed)


@given(chains.filter(bool), st.data())
def test_any_change_of_a_sealed_chain_changes_the_root(listed, data):
    index = data.draw(st.integers(0, len(listed) - 1))
    changed = list(listed)
    changed[index] = replace(changed[index], length=changed[index].length + 1)
    assert merkle_root(changed) != merkle_root(listed)
    assert merkle_root(listed[:index] + listed[index + 1 :]) != merkle_root(listed)


def test_a_series_of_seals_checks_with_the_public_key():
    assert check_seals(series(), KEY.public_key()) is None


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        (lambda s: s[:1] + s[2:], 2, "expected seal 2, found 3"),  # a deleted seal
        (lambda s: [s[0], s[2], s[1]], 2, "expected seal 2, found 3"),  # reordered
        (lambda s: s[:2] + [replace(s[2], root="0" * 64)], 3, "Merkle root"),
        (
            lambda s: s[:1] + [replace(s[1], sessions=(chain(2, 9), chain(99, 2)))] + s[2:],
            2,
            "Merkle root",
        ),
        (
            lambda s: (
                s[:1]
                + [
                    replace(
                        s[1],
                        sessions=(chain(2, 9), chain(99, 2)),
                        root=merkle_root([chain(2, 9), chain(99, 2)]),
                    )
                ]
                + s[2:]
            ),
            2,
            "signature",
        ),
        (lambda s: s[:1] + [replace(s[1], sessions=s[1].sessions[:1])] + s[2:], 2, "Merkle"),
        (lambda s: s[:1] + [replace(s[1], at=AT)] + s[2:], 2, "signature"),
        (lambda s: s[:1] + [replace(s[1], previous="0" * 64)] + s[2:], 2, "previous seal"),
    ],
    ids=["deleted", "reordered", "root", "sessions", "resigned-root", "dropped", "time", "link"],
)
def test_each_tampering_of_the_seals_is_named(tamper, seq, reason):
    fault = check_seals(tamper(series()), KEY.public_key())
    assert fault is not None
    assert fault.seq == seq
    assert reason in fault.reason


def test_a_seal_forged_with_another_key_is_refused():
    forged = series(key=Ed25519PrivateKey.generate())
    fault = check_seals(forged, KEY.public_key())
    assert fault is not None
    assert (fault.seq, fault.reason) == (1, "signed with another key than the one given")


def test_a_line_round_trips_through_json():
    seal = series(1)[0]
    again = seals.Seal.from_json(json.loads(json.dumps(seal.to_json())))
    assert again == seal
    assert again.hash == seal.to_json()["hash"]


def offline_check(export: Path, public: Path, *more: str) -> subprocess.CompletedProcess:
    """The auditor's command, run as they would: no app, no database."""
    return subprocess.run(  # noqa: S603 - our interpreter, our module
        [
            sys.executable,
            "-m",
            "attendance.seals",
            "check",
            str(export),
            "--public-key",
            str(public),
            *more,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_offline(tmp_path: Path, lines: list[dict], key_text: str) -> subprocess.CompletedProcess:
    export = tmp_path / "seals.jsonl"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    public = tmp_path / "public-key.pem"
    public.write_text(key_text, encoding="utf-8")
    return offline_check(export, public)


def test_the_auditor_checks_a_seal_file_offline_with_the_public_key_alone(tmp_path):
    lines = [seal.to_json() for seal in series()]
    ok = run_offline(tmp_path, lines, seals.public_pem(KEY.public_key()))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("3 sceaux valides (4 séances) ; dernier : n° 3")
    del lines[1]  # a deleted line
    bad = run_offline(tmp_path, lines, seals.public_pem(KEY.public_key()))
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Sceau n° 2 NON VALIDE : expected seal 2, found 3."


@given(chains.filter(bool), st.data())
def test_each_session_is_proved_against_the_root_by_its_audit_path(listed, data):
    chosen = data.draw(st.sampled_from(listed))
    root = merkle_root(listed)
    path = seals.merkle_proof(listed, chosen.session_id)
    assert seals.proves(chosen, path, root)
    assert not seals.proves(replace(chosen, length=chosen.length + 1), path, root)
