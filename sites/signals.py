"""What the sites ask of the sessions' package above them (blinker signals, as Indico does).

Sessions live in `attendance`, which imports `sites`; the sites never import it. They ask
through these signals and the sessions' package answers (attendance/site_links.py). A question
nobody answers would let a booking pass unchecked, so `ask` requires one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blinker import Namespace

_signals = Namespace()


@dataclass(frozen=True)
class SessionInfo:
    """What a booking needs of a training session."""

    id: str
    organisation_id: str
    group_id: str
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    site_id: str | None


session_for_booking = _signals.signal(
    "session-for-booking",
    doc="Sent with the acting principal, `session_id` and `trainee_id`; the receiver answers "
    "the SessionInfo of a session the principal may see and the trainee takes part in, or "
    "raises NotFound (not visible) / Conflict (`not_participant`).",
)
trainee_sessions = _signals.signal(
    "trainee-sessions",
    doc="Sent with `trainee_id`, `first_day`, `last_day` (or None); the receiver answers the "
    "SessionInfo of the trainee's sessions in those Paris days, by start.",
)
organisation_sessions = _signals.signal(
    "organisation-sessions",
    doc="Sent with the principal and a Paris `day`; answers the SessionInfo of the sessions "
    "of the principal's organisation that day that a seat can be booked for.",
)
signed_in = _signals.signal(
    "signed-in",
    doc="Sent with `pairs`, a list of (session_id, trainee_id); answers the set of those pairs "
    "with a sign-in in the session (the no-show report).",
)


def ask(signal: Any, sender: Any = None, **kwargs: Any) -> Any:
    """The one answer of the signal's receiver: no receiver is a wiring fault, not a 'no'."""
    answers = signal.send(sender, **kwargs)
    if not answers:
        raise RuntimeError(f"no subscriber answers {signal.name}: is the app fully built?")
    return answers[0][1]
