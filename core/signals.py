"""What core asks of the packages above it, without importing them (blinker signals).

A staff account of an access site names its site; the sites' package answers whether that
site exists. Core never imports a feature: the features subscribe (docs/architecture.md).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

site_known = _signals.signal(
    "site-known",
    doc="Sent with a site id; a receiver answers True when the site exists. No receiver, or "
    "none answering True, means unknown.",
)


def is_known_site(site_id: str) -> bool:
    """Whether a subscriber knows this site (no subscriber: unknown, so refused)."""
    return any(answer for _, answer in site_known.send(site_id))
