"""What a certificate says, computed from facts (pure): its lines, totals per modality, its
fingerprint, its public short id, its file name. Standard library only; the clock is an input.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from attendance.company_rules import CompanyLine
from core.errors import InvalidInput

REALISATION = "realisation"
ATTENDANCE = "attendance"
KINDS = (REALISATION, ATTENDANCE)
MODALITIES = ("tutorat", "autoformation", "regroupement")
COMPANY = "entreprise"  # company periods (R2): hours signed by the trainee and the tutor
DISTANCE = ("tutorat", "autoformation")  # FAD: hours followed at distance

# The public id printed on the PDF and in its QR code: 10 characters of an alphabet without
# 0/O nor 1/I (core.services.CODE_ALPHABET), 50 bits: unguessable, read aloud, typed by hand.
SHORT_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SHORT_ID_LENGTH = 10
SHORT_ID = re.compile(f"[{SHORT_ID_ALPHABET}]{{{SHORT_ID_LENGTH}}}")
MONTH = re.compile(r"(\d{4})-(\d{2})")


def new_short_id() -> str:
    """A fresh public id of a certificate."""
    return "".join(secrets.choice(SHORT_ID_ALPHABET) for _ in range(SHORT_ID_LENGTH))


def normal_short_id(text: str) -> str | None:
    """The short id as typed (spaces, dashes, lower case forgiven), or None if it cannot be one."""
    cleaned = re.sub(r"[\s-]", "", text or "").upper()
    return cleaned if SHORT_ID.fullmatch(cleaned) else None


def parse_month(text: str | None) -> tuple[date, date]:
    """`YYYY-MM` → its first and last days; anything else is refused (400)."""
    found = MONTH.fullmatch(text or "")
    year, month = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if not found or not 1 <= month <= 12 or not 1900 <= year <= 2100:
        raise InvalidInput("Indiquez un mois sous la forme AAAA-MM.", code="invalid_month")
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


@dataclass(frozen=True)
class Line:
    """One session on a certificate, as its chain tells it, for one trainee."""

    session_id: str
    day: date
    starts_at: datetime
    ends_at: datetime
    kind: str
    title: str
    status: str  # present | absent
    minutes: int
    absences: tuple[tuple[str | None, bool | None], ...] = ()  # (reason, justified) per half


def company_minutes(lines: Iterable[CompanyLine]) -> int:
    return sum(line.minutes for line in lines)


def first_and_last_days(lines: Sequence[Line], company: Sequence[CompanyLine]) -> tuple[date, date]:
    """The first and last days a certificate covers: its sessions' and its company hours'."""
    days = [line.day for line in lines]
    days += [day for line in company for day in (line.first_day, line.last_day)]
    return min(days), max(days)


@dataclass(frozen=True)
class Totals:
    """Minutes per modality, company included, and their sum."""

    by_modality: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_modality.values())

    @property
    def distance(self) -> int:
        return sum(self.by_modality.get(kind, 0) for kind in DISTANCE)


def totals(lines: Iterable[Line], company_minutes: int = 0) -> Totals:
    """Realised minutes per modality (tutorat, autoformation, regroupement) and in company."""
    found = dict.fromkeys(MODALITIES, 0)
    for line in lines:
        found[line.kind] = found.get(line.kind, 0) + line.minutes
    found[COMPANY] = company_minutes
    return Totals(found)


def absences(lines: Iterable[Line]) -> list[Line]:
    """The lines where the trainee was absent, or absent for part of the session."""
    return [line for line in lines if line.absences]


def hours(minutes: int) -> float:
    """Minutes as hours, to the hundredth (what the API's `hours` answers)."""
    return round(minutes / 60, 2)


def hours_text(minutes: int) -> str:
    """« 3 h », « 2 h 30 », « 0 h »: what the PDF prints (core.templating says it alike)."""
    whole, rest = divmod(minutes, 60)
    return f"{whole} h {rest:02d}" if rest else f"{whole} h"


def fingerprint(
    kind: str, month: str, lines: Sequence[Line], company: Sequence[CompanyLine] = ()
) -> str:
    """SHA-256 of the facts a certificate states: the same facts, the same certificate (issued
    again, it is answered as it is); other facts (a correction since), a new one."""
    facts = {
        "kind": kind,
        "month": month,
        "company": company_minutes(company),
        "lines": [_canonical(_fields(line)) for line in lines],
    }
    if company:  # company hours (R2) signed since change the facts
        facts["company_lines"] = [_canonical(_fields(line)) for line in company]
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _fields(line: Line | CompanyLine) -> dict[str, object]:
    """A line's fields by name: what dataclasses.asdict answers for these flat lines, without
    its deep copies (a tenth of a bulk issue's time went there)."""
    return {name.name: getattr(line, name.name) for name in fields(line)}


def _canonical(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def initials(first_name: str, last_name: str) -> str:
    """« A. S. »: all the public verification says of the trainee."""
    parts = [name.strip()[:1].upper() for name in (first_name, last_name) if name.strip()]
    return " ".join(f"{part}." for part in parts)


def slug(text: str) -> str:
    """ASCII letters, digits and dashes: a file name any system accepts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-") or "x"


def file_name(kind: str, last_name: str, first_name: str, month: str, short_id: str) -> str:
    """« attestation-assiduite_2026-03_DUPONT-Amina_ABCDEFGH23.pdf »."""
    who = f"{slug(last_name).upper()}-{slug(first_name)}"
    if kind == ATTENDANCE:
        return f"attestation-assiduite_{month}_{who}_{short_id}.pdf"
    return f"certificat-realisation_{who}_{short_id}.pdf"
