"""A session's facts replayed from its chain (pure): what the session's columns must say.

Every fact that sets hours is an entry of the session's chain: its plan (kind, times, site,
participants, lead trainer) and each edit, its opening, its close; signatures, absences and
corrections beside them. The columns of `training_session` are a projection of those entries:
hours are computed from the replay, and `ledger verify` names each column that disagrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

# entries of the session itself
SESSION_KINDS = ("planned", "edited", "opened", "closed", "substituted")
PLAN = (
    "kind",
    "starts_at",
    "ends_at",
    "site_id",
    "regroupement_reason",
    "participants",
    "lead_trainer_id",
)
MOMENTS = ("starts_at", "ends_at")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def plan_facts(
    *,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    site_id: str | None,
    regroupement_reason: str | None,
    participants: Iterable[str] | None,
    lead_trainer_id: str | None,
) -> dict[str, Any]:
    """The `facts` of a `planned` or `edited` entry (JSON: times in UTC, ids sorted)."""
    return {
        "kind": kind,
        "starts_at": _utc(starts_at),
        "ends_at": _utc(ends_at),
        "site_id": site_id,
        "regroupement_reason": regroupement_reason,
        "participants": None if participants is None else sorted(participants),
        "lead_trainer_id": lead_trainer_id,
    }


@dataclass(frozen=True)
class SessionState:
    """A session as its chain tells it."""

    kind: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    site_id: str | None = None
    regroupement_reason: str | None = None
    participants: tuple[str, ...] | None = None  # None: the whole group
    lead_trainer_id: str | None = None
    substitute_trainer_id: str | None = None  # replaces the group's trainers (CCTP §4.1.2)
    status: str = "planned"
    opened_at: datetime | None = None
    opened_by_id: str | None = None
    closed_at: datetime | None = None
    closed_by_id: str | None = None

    @property
    def synchronous(self) -> bool:
        return self.kind != "autoformation"


def step(state: SessionState, entry: Mapping[Any, Any]) -> SessionState:
    """The state after one entry (signatures, absences and corrections leave it as it is)."""
    kind = entry["kind"]
    if kind in ("planned", "edited"):
        facts = dict(entry.get("facts") or {})
        for name in MOMENTS:
            facts[name] = _moment(facts[name])
        if facts.get("participants") is not None:
            facts["participants"] = tuple(facts["participants"])
        planned: dict[str, Any] = {name: facts.get(name) for name in PLAN}
        return replace(state, **planned)
    if kind == "substituted":
        trainer = (entry.get("facts") or {}).get("substitute_trainer_id")
        return replace(state, substitute_trainer_id=trainer)
    if kind == "opened":
        return replace(state, status="open", opened_at=entry["at"], opened_by_id=entry["author_id"])
    if kind == "closed":
        return replace(
            state, status="closed", closed_at=entry["at"], closed_by_id=entry["author_id"]
        )
    return state


def replay(entries: Iterable[Mapping[Any, Any]]) -> SessionState:
    state = SessionState()
    for entry in entries:
        state = step(state, entry)
    return state


def out_of_turn(state: SessionState, entry: Mapping[Any, Any]) -> str | None:
    """Why an entry cannot stand where it is in the chain (read before applying it), or None.
    The service never writes these: a sign-in before the opening or after the close, a plan
    edited once the session opened, a second plan, an opening twice."""
    kind = entry["kind"]
    if kind == "planned":
        return "a second plan" if state.kind is not None else None
    if state.kind is None:
        return "an entry before the session's plan"
    if kind == "edited" and state.status != "planned":
        return "the plan edited after the opening"
    if kind == "opened" and state.status != "planned":
        return "opened twice"
    if kind == "closed" and state.status != "open":
        return "closed while not open"
    if kind == "substituted" and state.status == "closed":
        return "a substitute named after the close"
    if kind == "sign_in" and state.status != "open":
        return "a signature while the session was not open"
    if kind == "help_requested" and state.status != "open":
        return "a help request while the session was not open"
    return None


PROJECTED = (
    *PLAN,
    "substitute_trainer_id",
    "status",
    "opened_at",
    "opened_by_id",
    "closed_at",
    "closed_by_id",
)


def differences(state: SessionState, stored: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(column, stored, chained) for each column of the session that the chain contradicts."""
    chained = {f.name: getattr(state, f.name) for f in fields(state)}
    found = []
    for name in PROJECTED:
        held, told = stored.get(name), chained[name]
        if name == "participants" and held is not None:
            held = tuple(sorted(held))
        if held != told:
            found.append((name, held, told))
    return found
