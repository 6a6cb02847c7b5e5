"""What attendance announces to the packages above it (blinker signals, docs/architecture.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

order_purged = _signals.signal(
    "order-purged",
    doc="An order's personal data is being erased (sender: the order's id; `trainee_ids`: "
    "the trainees erased). Receivers erase what they hold of them (flush, no commit).",
)

session_settled = _signals.signal(
    "session-settled",
    doc="A closed session's facts changed: its close, or an absence or correction after it "
    "(sender: the session, flushed). Receivers update what they derive from it, in the same "
    "transaction (flush, no commit).",
)

session_sheet = _signals.signal(
    "session-sheet",
    doc="A session's page or attendance sheet is shown (sender: the session; `now`: the time; "
    "`principal`: who looks, a trainee on their own page or staff). Receivers answer a section "
    "(HTML markup) or None: the virtual class adds connected minutes, presence checks and the "
    "QR sign-ins given outside the class; compliance the help requests (R8).",
)
