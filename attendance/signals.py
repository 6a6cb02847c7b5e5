"""What attendance announces to the packages above it (blinker signals, docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace

_signals = Namespace()


@dataclass(frozen=True)
class ClassEvidence:
    """What the virtual class proves of one trainee in one tutorat held there (R16): minutes
    connected within the session's times, presence checks answered out of those launched.
    Evidence printed beside the hours, never hours: those come from the chain alone (R7)."""

    session_id: str
    minutes: int
    answered: int
    launched: int


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

class_evidence = _signals.signal(
    "class-evidence",
    doc="Certificates ask what the virtual class proves of trainees (sender: the trainees' "
    "ids, a tuple; `session_ids`: their tutorats on it; `now`: the time). The receiver "
    "answers {trainee_id: {session_id: ClassEvidence}} for those held in the class (its "
    "trainer connected), and leaves the others out. Certificates print it; no hour is "
    "counted from it (R7).",
)


def evidence_of(
    trainee_ids: Collection[str], session_ids: Collection[str], now: datetime
) -> dict[str, dict[str, ClassEvidence]]:
    """Every receiver's answer to `class_evidence`, merged, per trainee (none: no class, no
    evidence). Asked once for a group's certificates (certificates.services.issue_group)."""
    found: dict[str, dict[str, ClassEvidence]] = {trainee_id: {} for trainee_id in trainee_ids}
    if session_ids and trainee_ids:
        sender = tuple(sorted(trainee_ids))
        for _, answer in class_evidence.send(sender, session_ids=sorted(session_ids), now=now):
            for trainee_id, proofs in (answer or {}).items():
                found.setdefault(trainee_id, {}).update(proofs)
    return found
