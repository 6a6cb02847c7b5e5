"""Access-site rules, pure: opening hours and closures, seats under overlap, the waitlist's
order, R14 repositioning and R15 software deadlines. The clock and the calendar are inputs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import repeat
from typing import Any

from core.clock import PARIS
from core.errors import Conflict, InvalidInput, RuleViolation

# The 13 departments of Occitanie.
DEPARTMENTS = ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")
DAY_KEYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DEFAULT_EQUIPMENT = ("Windows 10 64 bits", "Office 2016")
SOFTWARE_REQUEST_WEEKS = 5  # R15: requested 5 weeks before the group's start
SOFTWARE_DECISION_DAYS = 15  # R15: validated at least 15 days before
_RANGE = re.compile(r"^\s*(\d{1,2})[:hH](\d{2})\s*-\s*(\d{1,2})[:hH](\d{2})\s*$")

Hours = dict[str, list[list[str]]]  # {"lun": [["08:30", "12:30"], ...], ...}


def check_department(department: str) -> str:
    """One of the 13 departments of Occitanie."""
    if department not in DEPARTMENTS:
        raise InvalidInput(
            "Ce département n'est pas en Occitanie.",
            code="invalid_department",
            details={"department": f"Choisissez parmi {', '.join(DEPARTMENTS)}."},
        )
    return department


def _day_keys(key: str) -> list[str]:
    """« lun », « lundi », « lun-ven » → the weekday keys they name."""
    parts = [part.strip().lower() for part in key.split("-")]
    short = [part[:3] for part in parts]
    known = all(part in DAY_KEYS or part in DAY_NAMES for part in parts)
    if not known or len(short) > 2:
        raise InvalidInput(
            f"Jour inconnu dans les horaires : « {key} ».",
            code="invalid_opening_hours",
            details={"opening_hours": "Jours : lun, mar, mer, jeu, ven, sam, dim (ou lun-ven)."},
        )
    first, last = DAY_KEYS.index(short[0]), DAY_KEYS.index(short[-1])
    return list(DAY_KEYS[first : last + 1])


def _ranges(value: Any) -> list[list[str]]:
    """« 08:30-12:30, 13:30-17:30 » or [["08:30", "12:30"], …] → sorted, non-overlapping."""
    parts = value.split(",") if isinstance(value, str) else value
    ranges: list[list[str]] = []
    for part in parts or []:
        text = part if isinstance(part, str) else "-".join(str(p) for p in part)
        match = _RANGE.match(text)
        if not match:
            raise InvalidInput(
                f"Plage horaire illisible : « {text} ».",
                code="invalid_opening_hours",
                details={"opening_hours": "Écrivez les plages ainsi : 08:30-12:30, 13:30-17:30."},
            )
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
            raise InvalidInput(
                f"Plage horaire impossible : « {text} ».",
                code="invalid_opening_hours",
                details={"opening_hours": "Chaque plage finit après son début, dans la journée."},
            )
        ranges.append([f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"])
    ranges.sort()
    for before, after in zip(ranges, ranges[1:], strict=False):
        if after[0] < before[1]:
            raise InvalidInput(
                "Deux plages horaires se chevauchent.",
                code="invalid_opening_hours",
                details={"opening_hours": "Les plages d'un même jour ne se chevauchent pas."},
            )
    return ranges


def normalize_hours(raw: Mapping[str, Any] | None) -> Hours:
    """Opening hours per weekday, from what people write (« lun-ven »: « 08:30-12:30, … »)."""
    return _normalized(json.dumps(raw or {}, sort_keys=True))


@lru_cache(maxsize=4096)
def _normalized(raw_json: str) -> Hours:
    # A site's hours are read for every day shown: parsed once per distinct text.
    raw = json.loads(raw_json)
    hours: Hours = {}
    for key, value in raw.items():
        for day in _day_keys(str(key)):
            hours[day] = _ranges(value)
    return {day: hours[day] for day in DAY_KEYS if hours.get(day)}


def hours_text(hours: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(« lundi », « 08:30–12:30, 13:30–17:30 ») per open weekday, for people."""
    normal = normalize_hours(hours)
    return [
        (DAY_NAMES[DAY_KEYS.index(day)], ", ".join(f"{a}–{b}" for a, b in ranges))
        for day, ranges in normal.items()
    ]


@dataclass(frozen=True)
class Span:
    """A time span [starts_at, ends_at), aware datetimes."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Span) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def check_span(span: Span) -> None:
    """A booking runs forward and within one Paris day."""
    if span.ends_at <= span.starts_at:
        raise InvalidInput("La fin doit suivre le début.", code="invalid_span")
    if (
        span.starts_at.astimezone(PARIS).date()
        != (span.ends_at - timedelta(microseconds=1)).astimezone(PARIS).date()
    ):
        raise InvalidInput("Une réservation tient dans une seule journée.", code="invalid_span")


def opening_spans(hours: Mapping[str, Any], day: date, *, normal: bool = False) -> list[Span]:
    """The site's opening spans on a Paris day (empty when closed that weekday); `normal`:
    the hours are normalized already (normalize_hours), as a caller over many days has them."""
    ranges = (hours if normal else normalize_hours(hours)).get(DAY_KEYS[day.weekday()], [])
    return [Span(_at(day, a), _at(day, b)) for a, b in ranges]


def paris_at(day: date, hhmm: str) -> datetime:
    """The aware datetime of a Paris wall-clock "HH:MM" (or "24:00") on a day."""
    return _at(day, hhmm)


@lru_cache(maxsize=256)
def hhmm_minutes(hhmm: str) -> int:
    """ "08:30" → 510: minutes of the day."""
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def minute_of_day(local: datetime, end: bool = False) -> int:
    """Minutes of the day of a Paris datetime; an end at midnight is the day's 1440."""
    minutes = local.hour * 60 + local.minute
    return 1440 if end and minutes == 0 else minutes


def peak_minutes(spans: Iterable[tuple[int, int, int]], low: int, high: int) -> int:
    """peak_overlap on minutes of one day: (start, end, count) spans within [low, high)."""
    events = []
    for start, end, count in spans:
        if start < high and low < end:
            events.append((max(start, low), count))
            events.append((min(end, high), -count))
    events.sort()  # an end (negative) before a start at the same minute: back to back fits
    peak = running = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def _at(day: date, hhmm: str) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(0), PARIS)
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), PARIS)


def closed_reason(
    hours: Mapping[str, Any],
    closures: Mapping[date, str],
    holidays: Mapping[date, str],
    span: Span,
) -> str | None:
    """Why the site is closed for the span (a closure, a public holiday, the hours), or None."""
    day = span.starts_at.astimezone(PARIS).date()
    if day in closures:
        return f"le site est fermé ce jour-là ({closures[day]})"
    if day in holidays:
        return f"le site est fermé les jours fériés ({holidays[day]})"
    if not any(
        o.starts_at <= span.starts_at and span.ends_at <= o.ends_at
        for o in opening_spans(hours, day)
    ):
        return "le créneau sort des horaires d'ouverture du site"
    return None


def check_open(
    hours: Mapping[str, Any],
    closures: Mapping[date, str],
    holidays: Mapping[date, str],
    span: Span,
) -> None:
    """409 `site_closed` when the span falls outside the hours or on a closure (R14)."""
    reason = closed_reason(hours, closures, holidays, span)
    if reason:
        raise Conflict(f"Réservation impossible : {reason}.", code="site_closed", rule="R14")


def peak_overlap(spans: Iterable[Span], window: Span, weights: Iterable[int] | None = None) -> int:
    """The most spans running at the same moment inside `window` (a sweep over their ends);
    `weights`: how many bookings each span stands for (identical spans counted once)."""
    events: list[tuple[datetime, int]] = []
    for span, weight in zip(spans, weights or repeat(1), strict=False):
        if span.overlaps(window):
            events.append((max(span.starts_at, window.starts_at), weight))
            events.append((min(span.ends_at, window.ends_at), -weight))
    events.sort()  # an end (-1) sorts before a start (+1) at the same moment: back to back fits
    peak = running = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def free_seats(seats: int, taken: Iterable[Span], window: Span) -> int:
    """Seats still free for the whole window: the seats minus the peak of the taken ones."""
    return max(seats - peak_overlap(taken, window), 0)


def check_no_overlap(own: Iterable[Span], span: Span) -> None:
    """A trainee cannot hold two overlapping bookings (confirmed or waitlisted)."""
    if any(other.overlaps(span) for other in own):
        raise Conflict(
            "Ce stagiaire a déjà une réservation sur ce créneau.", code="trainee_overlap"
        )


def full_error() -> Conflict:
    """409 `site_full`: no seat free for the whole span."""
    return Conflict(
        "Plus aucun poste libre sur ce créneau. Vous pouvez inscrire le stagiaire en liste "
        "d'attente.",
        code="site_full",
        rule="R14",
    )


def check_closure_day(day: date, today: date) -> None:
    """A closure is announced for today or later, never for a day gone by."""
    if day < today:
        raise InvalidInput(
            "Une fermeture s'annonce pour aujourd'hui ou plus tard.", code="closure_in_past"
        )


def parse_day(text: str) -> date:
    """« 2026-05-12 » → the day, or 400 `invalid_date`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Indiquez une date valide (aaaa-mm-jj).", code="invalid_date") from None


def check_withdrawal_day(day: date, today: date) -> None:
    """A closure is withdrawn before its day is over: a day gone by stays as it was."""
    if day < today:
        raise Conflict(
            "Cette fermeture est passée : elle ne se retire plus.", code="closure_in_past"
        )


# R14: repositioning


REPOSITION_DIRECTIONS = ("home", "site")


def check_reposition(
    direction: str, site_id: str | None, from_day: date, today: date, reason: str
) -> None:
    """R14: the organisation moves a trainee home, or to a site, from a day on, with a reason."""
    if direction not in REPOSITION_DIRECTIONS:
        raise InvalidInput("Indiquez « home » ou « site ».", code="invalid_direction")
    if direction == "site" and not site_id:
        raise InvalidInput("Choisissez le site d'accueil.", code="site_required", rule="R14")
    if from_day < today:
        raise RuleViolation(
            "Un repositionnement vaut pour l'avenir : choisissez aujourd'hui ou plus tard.",
            code="reposition_in_past",
            rule="R14",
        )
    if not reason.strip():
        raise InvalidInput(
            "Indiquez la raison du repositionnement.", code="reason_required", rule="R14"
        )


# R15: software requests


@dataclass(frozen=True)
class SoftwareFlags:
    """What R15 flags on a group's software request."""

    late_request: bool  # asked less than 5 weeks before the start
    decision_overdue: bool  # not validated 15 days before the start (or decided later)
    unvalidated: bool  # refused or still pending

    def messages(self) -> list[str]:
        out = []
        if self.late_request:
            out.append("Demande tardive : moins de 5 semaines avant le début (R15).")
        if self.decision_overdue:
            out.append("Validation hors délai : moins de 15 jours avant le début (R15).")
        if self.unvalidated:
            out.append("Logiciels non validés par la Région (R15).")
        return out

    @property
    def any(self) -> bool:
        return self.late_request or self.decision_overdue or self.unvalidated


def request_deadline(start: date) -> date:
    """R15: the last day to ask (5 weeks before the start)."""
    return start - timedelta(weeks=SOFTWARE_REQUEST_WEEKS)


def decision_deadline(start: date) -> date:
    """R15: the last day for the Région to validate (15 days before the start)."""
    return start - timedelta(days=SOFTWARE_DECISION_DAYS)


def software_flags(
    start: date, requested_on: date, status: str, decided_on: date | None, today: date
) -> SoftwareFlags:
    """R15's flags of a request for a group starting on `start`."""
    deadline = decision_deadline(start)
    if status == "validated":
        overdue = decided_on is not None and decided_on > deadline
    else:
        overdue = status == "pending" and today > deadline
    return SoftwareFlags(
        late_request=requested_on > request_deadline(start),
        decision_overdue=overdue,
        unvalidated=status != "validated",
    )


def check_decision(status: str, decision: str, reason: str) -> None:
    """The Région decides a pending request once: validated, or refused with a reason."""
    if status != "pending":
        raise Conflict("Cette demande a déjà été traitée.", code="already_decided", rule="R15")
    if decision not in ("validated", "refused"):
        raise InvalidInput("Décision : « validated » ou « refused ».", code="invalid_decision")
    if decision == "refused" and not reason.strip():
        raise InvalidInput("Indiquez la raison du refus.", code="reason_required", rule="R15")


# CSV import


SITE_COLUMNS = ("name", "address", "city", "department", "seats", "opening_hours", "equipment")
FRENCH_COLUMNS = {
    "nom": "name",
    "adresse": "address",
    "ville": "city",
    "commune": "city",
    "département": "department",
    "departement": "department",
    "postes": "seats",
    "places": "seats",
    "horaires": "opening_hours",
    "équipement": "equipment",
    "equipement": "equipment",
}


def parse_hours_cell(text: str) -> Hours:
    """« lun-ven 08:30-12:30, 13:30-17:30 / sam 09:00-12:00 » → opening hours (day groups
    apart with « / », « | » or « ; »)."""
    raw: dict[str, str] = {}
    for chunk in re.split(r"[;/|]", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        days, _, ranges = chunk.partition(" ")
        raw[days] = ranges
    return normalize_hours(raw)


def site_row(row: Mapping[str, str]) -> dict[str, Any]:
    """One CSV line → a site's fields, or InvalidInput saying what is wrong with it."""
    data = {
        FRENCH_COLUMNS.get(k.strip().lower(), k.strip().lower()): (v or "").strip()
        for k, v in row.items()
        if k
    }
    missing = [
        c for c in ("name", "city", "department", "seats", "opening_hours") if not data.get(c)
    ]
    if missing:
        raise InvalidInput(f"Colonnes vides : {', '.join(missing)}.", code="missing_fields")
    if not data["seats"].isdigit() or not 1 <= int(data["seats"]) <= 500:
        raise InvalidInput(
            "Le nombre de postes doit être un entier de 1 à 500.", code="invalid_seats"
        )
    department = data["department"].zfill(2)
    check_department(department)
    equipment = [e.strip() for e in data.get("equipment", "").split(",") if e.strip()]
    return {
        "name": data["name"][:200],
        "address": data.get("address", "")[:300],
        "city": data["city"][:100],
        "department": department,
        "seats": int(data["seats"]),
        "opening_hours": parse_hours_cell(data["opening_hours"]),
        "equipment": equipment or list(DEFAULT_EQUIPMENT),
    }
