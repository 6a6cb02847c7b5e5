"""What training announces to the packages above it (blinker signals, as Indico does).

Orders and groups know nothing of sessions; the sessions' package subscribes to these and
refuses (raises the rule's error) an edit that would break what is planned. A signal sent
with no subscriber would let such an edit through, so the senders require one.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace

_signals = Namespace()

order_replanned = _signals.signal(
    "order-replanned",
    doc="An order's modality, centre hours or dates changed (set on the order, not flushed "
    "yet). Receivers raise the rule's error when what is planned under it no longer holds.",
)
group_moved = _signals.signal(
    "group-moved",
    doc="A group's start day changed. Receivers raise when its sessions no longer hold.",
)


group_page = _signals.signal(
    "group-page",
    doc="A group's page is shown (sender: the group; `principal`: who looks). Receivers answer "
    "a section of the page (HTML markup) or None: the sessions' package adds the sessions.",
)


trainee_page = _signals.signal(
    "trainee-page",
    doc="A trainee's page is shown (sender: the trainee; `principal`: who looks). Receivers "
    "answer a section of the page (HTML markup) or None.",
)


trainee_read = _signals.signal(
    "trainee-read",
    doc="A trainee's record was read (sender: the trainee; `principal`: who read; `what`: a "
    "few words). Receivers keep the trace for the organisation's data protection officer.",
)


def sections(signal: Any, sender: Any, **kwargs: Any) -> list[Any]:
    """The sections the subscribers add to a page, in the order they subscribed."""
    return [answer for _, answer in signal.send(sender, **kwargs) if answer]


def send_checked(signal: Any, sender: Any) -> None:
    """Send `signal` and require a subscriber: a check nobody runs must not pass silently."""
    if not signal.receivers:
        raise RuntimeError(f"no subscriber checks {signal.name}: is the app fully built?")
    signal.send(sender)
