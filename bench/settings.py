"""Where the benchmark runs and the environment the server and the bench's own app share."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
)
DATABASE_NAME = DATABASE_URL.rsplit("/", 1)[1].split("?")[0]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# A plausible production address: the QR payload's length (hence the QR version) depends on it.
PUBLIC_BASE_URL = "https://emargement.competences-plus.fr"
# One-hour windows so that tokens drawn before the run stay valid through it (a run may cross
# a window boundary); verifying a token costs the same whatever the window length.
QR_ROTATE_S = 3600
QR_GRACE_S = 3600
# The QR payload's real length is that of the production rotation (15 s windows).
PRODUCTION_ROTATE_S = 15

GROUPS = 500
TRAINEES_PER_GROUP = 20

WRK_THREADS = 1
WRK_CONNECTIONS = 16
WRK_SECONDS = 4
WARMUP_SECONDS = 1
# (worker class, workers, threads): sync workers close the connection after each answer;
# gthread keeps it alive (FACTS.md saw it vary more between runs).
SERVERS = (("sync", 2, 1), ("sync", 3, 1), ("sync", 4, 1), ("gthread", 2, 4), ("gthread", 3, 4))
# Issue 8's CPU comparison: the service's and the bare sign-in's servers up side by side,
# loaded in turn (alternating which goes first), so that other programs weigh on both alike.
PAIRED_SETTING = ("sync", 3, 1)
PAIRED_ROUNDS = 4
PAIRED_SECONDS = 3
# The open-loop rate of issue 8 (it was 500/s for the previous issue): BENCH_RATE changes it.
FIXED_RATE = int(os.environ.get("BENCH_RATE", "300"))
FIXED_SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "8"))
OPEN_LOOP_MAX_IN_FLIGHT = 256
OPEN_LOOP_GIVE_UP_S = 5.0


# The ledger benchmark (bench/ledger.py): sessions changed since the last seal, each with a
# few entries; then the ledger extended to this many entries in all, sealed and verified.
LEDGER_CHANGED_SESSIONS = int(os.environ.get("BENCH_LEDGER_SESSIONS", "10000"))
LEDGER_ENTRIES = int(os.environ.get("BENCH_LEDGER_ENTRIES", "1000000"))


# Issue 9's benchmarks: certificates in bulk (bench/certificates.py: two orders of this many
# groups of 20 trainees, a month of full days; 0 leaves it out) and the Région-wide billing of
# a year (bench/billing.py: this many entries in its own database, kept between runs).
CERTIFICATES_GROUPS = int(os.environ.get("BENCH_CERTIFICATES_GROUPS", "10"))
BILLING_ENTRIES = int(os.environ.get("BENCH_BILLING_ENTRIES", "20000000"))


CREATED: list[str] = []  # temporary folders this process made (removed by `clean_up`)


def clean_up() -> None:
    """Remove the seal export folder the run made for itself (none was given)."""
    while CREATED:
        shutil.rmtree(CREATED.pop(), ignore_errors=True)


def _signing_key() -> str:
    """A fresh Ed25519 key for the seals (PEM), as production gives one in
    LEDGER_SIGNING_KEY; BENCH_LEDGER_SIGNING_KEY keeps one across runs."""
    given = os.environ.get("BENCH_LEDGER_SIGNING_KEY")
    if given:
        return given
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def app_env() -> dict[str, str]:
    """Production settings for the server and for the bench's in-process app (same secrets)."""
    seal_dir = os.environ.get("BENCH_LEDGER_SEAL_DIR") or ""
    if not seal_dir:
        seal_dir = tempfile.mkdtemp(prefix="bench-seals-")
        CREATED.append(seal_dir)
    return {
        "APP_ENV": "production",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(48),
        "JWT_SECRET": os.environ.get("BENCH_JWT_SECRET") or secrets.token_urlsafe(48),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "QR_ROTATE_S": str(QR_ROTATE_S),
        "QR_GRACE_S": str(QR_GRACE_S),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        # The API layout of README.md: sync workers publish to the live screens, they do not
        # serve Socket.IO clients (a separate gevent process does).
        "SOCKETIO_WRITE_ONLY": "1",
        # The seals' key and their export outside the database (attendance.sealing).
        "LEDGER_SIGNING_KEY": _signing_key(),
        "LEDGER_SEAL_DIR": seal_dir,
    }


def apply_env() -> dict[str, str]:
    """Set the app's environment in this process (before the app is created); return it."""
    env = app_env()
    os.environ.update(env)
    # The same secrets, key and seal folder for the bench's own subprocesses (bench.ledger).
    os.environ.update(
        {
            "BENCH_SECRET_KEY": env["SECRET_KEY"],
            "BENCH_JWT_SECRET": env["JWT_SECRET"],
            "BENCH_LEDGER_SIGNING_KEY": env["LEDGER_SIGNING_KEY"],
            "BENCH_LEDGER_SEAL_DIR": env["LEDGER_SEAL_DIR"],
        }
    )
    return env
