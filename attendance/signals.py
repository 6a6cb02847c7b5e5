"""What attendance announces to the packages above it (blinker signals, docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

order_purged = _signals.signal(
    "order-purged",
    doc="An order's personal data is being erased (sender: the order's id; `trainee_ids`: "
    "the trainees erased). Receivers erase what they hold of them (flush, no commit).",
)

session_sheet = _signals.signal(
    "session-sheet",
    doc="A session's attendance sheet is shown (sender: the session; `now`: the time). "
    "Receivers answer a section (HTML markup) or None: the virtual class adds connected "
    "minutes, presence checks and the QR sign-ins given outside the class.",
)
