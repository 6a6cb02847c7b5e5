"""Enrolment rules of the programme (R1–R4), pure: no Flask, no database, no clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from core.errors import InvalidInput, RuleViolation

MAX_TOTAL_HOURS = 200.0  # R1
MAX_COMPANY_HOURS = 70.0  # R2
MAX_CONCURRENT_TRAINEES = 20  # R3
MODALITIES = ("e_formation", "hybride", "presentiel")
# The 13 departments of Occitanie, where an order is delivered (the Région's dashboards).
DEPARTMENTS = {
    "09": "Ariège",
    "11": "Aude",
    "12": "Aveyron",
    "30": "Gard",
    "31": "Haute-Garonne",
    "32": "Gers",
    "34": "Hérault",
    "46": "Lot",
    "48": "Lozère",
    "65": "Hautes-Pyrénées",
    "66": "Pyrénées-Orientales",
    "81": "Tarn",
    "82": "Tarn-et-Garonne",
}


@dataclass(frozen=True)
class Period:
    """A closed interval of days; `end` None means open-ended."""

    start: date
    end: date | None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def check_order_dates(start_date: date, end_date: date) -> None:
    """An order ends on or after the day it starts."""
    if end_date < start_date:
        raise InvalidInput("La date de fin doit suivre la date de début.", code="invalid_dates")


def check_total_hours(centre_hours: float, company_hours: float) -> None:
    """R1: centre + company hours of one path ≤ 200 h."""
    if centre_hours < 0 or company_hours < 0:
        raise InvalidInput(
            "Les heures prévues ne peuvent pas être négatives.", code="invalid_hours"
        )
    if centre_hours + company_hours > MAX_TOTAL_HOURS:
        raise RuleViolation(
            f"Un parcours ne peut dépasser {MAX_TOTAL_HOURS:g} h (centre + entreprise) : "
            f"{centre_hours + company_hours:g} h demandées.",
            code="too_many_hours",
            rule="R1",
        )


def check_company_hours(company_hours: float) -> None:
    """R2: the optional company period lasts at most 70 h."""
    if company_hours > MAX_COMPANY_HOURS:
        raise RuleViolation(
            f"La période en entreprise est limitée à {MAX_COMPANY_HOURS:g} h : "
            f"{company_hours:g} h demandées.",
            code="too_many_company_hours",
            rule="R2",
        )


def max_concurrent(existing: Iterable[Period], new: Period) -> int:
    """How many paths (the new one included) run at once, at worst, during `new`."""
    others = [p for p in existing if p.end is None or new.end is None or p.start <= new.end]
    others = [p for p in others if p.end is None or p.end >= new.start]
    instants = {new.start} | {p.start for p in others if new.contains(p.start)}
    return 1 + max((sum(p.contains(day) for p in others) for day in instants), default=0)


def check_group_size(existing: Iterable[Period], new: Period, *, acknowledged: bool) -> bool:
    """R3 (recommended): ≤ 20 trainees at once; refused unless the warning is acknowledged.

    Returns True when the group goes over the size and the caller acknowledged it.
    """
    count = max_concurrent(existing, new)
    if count <= MAX_CONCURRENT_TRAINEES:
        return False
    if acknowledged:
        return True
    raise RuleViolation(
        f"Le groupe compterait {count} stagiaires en même temps ; le cahier des charges "
        f"préconise {MAX_CONCURRENT_TRAINEES} au plus (financements autres compris). "
        "Confirmez avec « confirm_over_capacity » pour passer outre.",
        code="group_full",
        rule="R3",
    )


def check_entry_date(entry_date: date, order_start: date, order_end: date) -> None:
    """R4: entries happen in the calendar year of the order's planned start, within the order."""
    if entry_date.year != order_start.year:
        raise RuleViolation(
            f"Les entrées en formation doivent avoir lieu en {order_start.year}, année du "
            "démarrage prévu du bon de commande ; l'année suivante ne sert qu'à terminer "
            "les parcours.",
            code="entry_out_of_year",
            rule="R4",
        )
    if not order_start <= entry_date <= order_end:
        raise RuleViolation(
            "La date d'entrée doit se situer entre le début et la fin du bon de commande.",
            code="entry_outside_order",
            rule="R4",
        )


def check_exit_date(entry_date: date, exit_date: date | None) -> None:
    """A path ends on or after the day it starts."""
    if exit_date is not None and exit_date < entry_date:
        raise InvalidInput("La date de sortie doit suivre la date d'entrée.", code="invalid_dates")
