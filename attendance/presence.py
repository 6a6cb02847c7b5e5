"""Who was present, and for how long: a pure fold over a session's ledger entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from attendance.rules import HalfDay, half_minutes


@dataclass
class HalfState:
    """A trainee's state in one half-day of a session, after the entries so far."""

    half: HalfDay
    status: str = "absent"
    signed_at: datetime | None = None
    signed_out_at: datetime | None = None
    method: str | None = None
    channel: str | None = None
    attested: bool = False  # presence recorded by a correction, not a signature
    reason: str | None = None
    justified: bool | None = None
    minutes: int = 0


@dataclass
class TraineePresence:
    trainee_id: str
    halves: list[HalfState] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "present" if any(h.status == "present" for h in self.halves) else "absent"

    @property
    def minutes(self) -> int:
        return sum(h.minutes for h in self.halves)

    def first(self, name: str) -> Any:
        values = [getattr(h, name) for h in self.halves if getattr(h, name) is not None]
        return values[0] if values else None

    @property
    def signed_out_at(self) -> datetime | None:
        outs = [h.signed_out_at for h in self.halves if h.signed_out_at]
        return max(outs) if outs else None


def _apply(state: HalfState, entry: dict[str, Any]) -> None:
    kind, action = entry["kind"], entry.get("action")
    if kind == "sign_in":
        state.status, state.signed_at = "present", entry["at"]
        state.method, state.channel = entry["method"], entry["channel"]
    elif kind == "sign_out":
        state.signed_out_at = entry["at"]
    elif kind == "absence" and state.status != "present":
        state.reason, state.justified = entry.get("reason") or state.reason, entry.get("justified")
    elif kind == "correction" and action == "mark_present":
        state.status, state.attested, state.reason = "present", True, entry.get("reason")
        state.method, state.channel = "correction", entry["channel"]
        state.signed_at = state.signed_at or state.half.start
    elif kind == "correction" and action == "mark_absent":
        state.status, state.attested, state.reason = "absent", False, entry.get("reason")
        state.justified = entry.get("justified")


def fold(
    trainee_ids: Iterable[str],
    halves: list[HalfDay],
    entries: Iterable[dict[str, Any]],
    *,
    synchronous: bool,
    closed_at: datetime | None,
) -> list[TraineePresence]:
    """Replay the entries (in chain order) into each trainee's presence and realised minutes."""
    people = {t: TraineePresence(t, [HalfState(h) for h in halves]) for t in trainee_ids}
    names = [h.name for h in halves]
    for entry in entries:
        person = people.get(entry["signer_id"])
        if person is not None and entry["half_day"] in names:
            _apply(person.halves[names.index(entry["half_day"])], entry)
    for person in people.values():
        _count(person, synchronous, closed_at)
    return list(people.values())


def _count(person: TraineePresence, synchronous: bool, closed_at: datetime | None) -> None:
    for index, state in enumerate(person.halves):
        if state.status != "present":
            continue
        signed_out = state.signed_out_at
        later = person.halves[index + 1 :]
        if signed_out is None and any(h.status == "present" for h in later):
            signed_out = state.half.end  # signed again after the midday split: continuous
        state.minutes = half_minutes(
            state.half,
            signed_in_at=state.signed_at,
            signed_out_at=signed_out,
            closed_at=closed_at,
            needs_sign_out=not synchronous and not state.attested,
        )
