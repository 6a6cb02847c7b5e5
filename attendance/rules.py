"""Session planning rules (R6, R10, public holidays), pure: the clock and calendar are inputs."""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import InvalidInput, RuleViolation

PARIS = ZoneInfo("Europe/Paris")
KINDS = ("tutorat", "autoformation", "regroupement")
REGROUPEMENT_REASONS = ("accueil", "examen", "autorise")
MAX_SESSION = timedelta(hours=12)


def local_day(moment: datetime) -> date:
    """The Europe/Paris calendar day of an aware datetime."""
    return moment.astimezone(PARIS).date()


def check_session_times(starts_at: datetime, ends_at: datetime, first: date, last: date) -> None:
    """A session ends after it starts, on the same Paris day, inside the order's dates."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("Les horaires doivent porter un fuseau horaire.", code="invalid_dates")
    if ends_at <= starts_at:
        raise InvalidInput("La séance doit finir après son début.", code="invalid_dates")
    if local_day(starts_at) != local_day(ends_at) or ends_at - starts_at > MAX_SESSION:
        raise InvalidInput(
            "Une séance tient dans une seule journée (12 h au plus).", code="invalid_dates"
        )
    if not first <= local_day(starts_at) <= last:
        raise InvalidInput(
            f"La séance doit avoir lieu pendant le bon de commande ({first:%d/%m/%Y} – "
            f"{last:%d/%m/%Y}).",
            code="session_outside_order",
        )


def autoformation_cap(modality: str) -> float:
    """R6: share of the order's centre hours that autoformation may take."""
    return 0.5 if modality == "e_formation" else 0.2


def check_autoformation_share(
    modality: str, centre_hours: float, planned_hours: float, new_hours: float
) -> None:
    """R6: a group's autoformation stays within 20 % (50 % for e-formation) of centre hours."""
    cap = autoformation_cap(modality) * centre_hours
    if planned_hours + new_hours > cap + 1e-9:
        raise RuleViolation(
            f"L'autoformation est limitée à {autoformation_cap(modality) * 100:.0f} % des "
            f"heures centre du bon de commande, soit {cap:g} h ; {planned_hours:g} h sont "
            f"déjà prévues et cette séance en ajoute {new_hours:g}.",
            code="autoformation_cap",
            rule="R6",
        )


def check_regroupement(
    modality: str, reason: str | None, day: date, first_day: date, authorised_days: Container[date]
) -> None:
    """R10: in e-formation, regroupement only for the welcome day, exams, or with authorisation."""
    if modality != "e_formation":
        return
    if reason not in REGROUPEMENT_REASONS:
        raise RuleViolation(
            "En Occitanie e-formation, un regroupement doit avoir un motif : journée d'accueil, "
            "examen ou autorisation de la Région.",
            code="regroupement_not_allowed",
            rule="R10",
        )
    if reason == "accueil" and day != first_day:
        raise RuleViolation(
            f"Le regroupement d'accueil a lieu le premier jour du groupe ({first_day:%d/%m/%Y}).",
            code="regroupement_not_allowed",
            rule="R10",
        )
    if reason == "autorise" and day not in authorised_days:
        raise RuleViolation(
            "Aucune autorisation de la Région n'est enregistrée pour un regroupement ce jour-là.",
            code="regroupement_not_authorised",
            rule="R10",
        )


def is_public_holiday(day: date, holidays: Container[date]) -> bool:
    """A session planned on a French public holiday is flagged (signatures there are rejected)."""
    return day in holidays
