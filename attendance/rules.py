"""Session planning rules (R6, R10, public holidays), pure: the clock and calendar are inputs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.clock import PARIS, local_day
from core.errors import Conflict, Gone, InvalidInput, RuleViolation

KINDS = ("tutorat", "autoformation", "regroupement")
REGROUPEMENT_REASONS = ("accueil", "examen", "autorise")
MAX_SESSION = timedelta(hours=12)


def check_session_times(starts_at: datetime, ends_at: datetime, first: date, last: date) -> None:
    """A session ends after it starts, on the same Paris day, inside the order's dates."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("Les horaires doivent porter un fuseau horaire.", code="invalid_dates")
    # Real elapsed time: aware datetimes sharing one ZoneInfo subtract on the wall clock,
    # which is an hour off on daylight-saving days.
    elapsed = timedelta(seconds=ends_at.timestamp() - starts_at.timestamp())
    if elapsed <= timedelta(0):
        raise InvalidInput("La séance doit finir après son début.", code="invalid_dates")
    if local_day(starts_at) != local_day(ends_at) or elapsed > MAX_SESSION:
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
    """R6: the autoformation planned in all the groups of an order stays within 20 % (50 % for
    e-formation) of the order's centre hours."""
    cap = autoformation_cap(modality) * centre_hours
    if planned_hours + new_hours > cap + 1e-9:
        added = f" et cette séance en ajoute {new_hours:g}" if new_hours else ""
        raise RuleViolation(
            f"L'autoformation est limitée à {autoformation_cap(modality) * 100:.0f} % des "
            f"heures centre du bon de commande, soit {cap:g} h ; {planned_hours:g} h sont "
            f"déjà prévues{added}.",
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


# --- Signing: half-days, windows, realised minutes (SPEC.md, "Time and hours") ---

MIDDAY = time(13, 0)  # a session that crosses 13:00 (Paris) takes one signature per half


@dataclass(frozen=True)
class HalfDay:
    """One half of a session: `name` is "am" or "pm"; bounds are aware datetimes."""

    name: str
    start: datetime
    end: datetime


def half_days(starts_at: datetime, ends_at: datetime) -> list[HalfDay]:
    """The session's halves: one, or two when it crosses 13:00 Europe/Paris."""
    local = starts_at.astimezone(PARIS)
    midday = datetime.combine(local.date(), MIDDAY, tzinfo=PARIS)
    if ends_at <= midday:
        return [HalfDay("am", starts_at, ends_at)]
    if starts_at >= midday:
        return [HalfDay("pm", starts_at, ends_at)]
    return [HalfDay("am", starts_at, midday), HalfDay("pm", midday, ends_at)]


def half_day_for(halves: list[HalfDay], moment: datetime) -> HalfDay:
    """The half a signature at `moment` belongs to (before the start: the first one)."""
    for half in halves:
        if moment < half.end:
            return half
    return halves[-1]


def signing_opens_at(starts_at: datetime, margin_min: int) -> datetime:
    """Signing opens a configurable margin before the start (15 min by default)."""
    return starts_at - timedelta(minutes=margin_min)


def check_can_sign(
    status: str, now: datetime, starts_at: datetime, ends_at: datetime, margin_min: int
) -> None:
    """A trainee signs while the session is open, from the margin before start until the end."""
    if status != "open":
        raise Conflict(
            "La séance n'est pas ouverte à l'émargement. Attendez que le formateur l'ouvre.",
            code="session_not_open",
        )
    if now < signing_opens_at(starts_at, margin_min):
        raise Conflict(
            f"L'émargement ouvre {margin_min} minutes avant le début de la séance.",
            code="session_not_open",
        )
    if now >= ends_at:
        raise Conflict("La séance est terminée : l'émargement est fermé.", code="signing_closed")


def check_can_sign_out(
    status: str,
    now: datetime,
    starts_at: datetime,
    ends_at: datetime,
    closed_at: datetime | None,
    margin_min: int,
    grace_min: int,
) -> None:
    """A departure is signed while the session is open, and up to `grace_min` minutes after its
    end or close (R7: the time counted still stops at the end or the close)."""
    if status not in ("open", "closed") or now < signing_opens_at(starts_at, margin_min):
        raise Conflict("La séance n'est pas ouverte à l'émargement.", code="session_not_open")
    stop = min(ends_at, closed_at) if closed_at else ends_at
    if now >= stop + timedelta(minutes=grace_min):
        raise Conflict(
            f"Le départ s'émarge au plus tard {grace_min} minutes après la fin de la séance.",
            code="signing_closed",
        )


def check_can_open(
    status: str, now: datetime, starts_at: datetime, ends_at: datetime, margin_min: int
) -> None:
    """A planned session opens from the signing margin before its start until its end."""
    if status != "planned":
        raise Conflict("Cette séance est déjà ouverte ou close.", code="session_not_planned")
    if not signing_opens_at(starts_at, margin_min) <= now < ends_at:
        raise Conflict(
            f"Une séance s'ouvre au plus tôt {margin_min} minutes avant son début et avant sa fin.",
            code="outside_session_time",
        )


def half_minutes(
    half: HalfDay,
    *,
    signed_in_at: datetime | None,
    signed_out_at: datetime | None,
    closed_at: datetime | None,
    needs_sign_out: bool,
) -> int:
    """Minutes realised in one half: from the later of sign-in and start to the earliest of
    sign-out, close and end. Without a sign-out, autoformation counts nothing (R7)."""
    if signed_in_at is None or (needs_sign_out and signed_out_at is None):
        return 0
    stops = [half.end] + [t for t in (signed_out_at, closed_at) if t is not None]
    seconds = (min(stops) - max(signed_in_at, half.start)).total_seconds()
    return max(0, int(seconds // 60))


def group_minutes(starts_at: datetime, ends_at: datetime, closed_at: datetime | None) -> int:
    """A held synchronous session's group-time runs from its start to its end or earlier close."""
    stop = min(ends_at, closed_at) if closed_at else ends_at
    return max(0, int((stop - starts_at).total_seconds() // 60))


def is_held(synchronous: bool, opened: bool, trainer_signed: bool, trainees_signed: int) -> bool:
    """Held: a synchronous session opened, signed by its trainer and by at least one trainee."""
    return synchronous and opened and trainer_signed and trainees_signed > 0


# --- Rotating QR tokens: bound to one session and one time window ---


def qr_window(now_s: float, rotate_s: int) -> int:
    """The number of the rotation window containing `now_s` (Unix seconds)."""
    return int(now_s // rotate_s)


def is_qr_window_valid(window: int, now_s: float, rotate_s: int, grace_s: float) -> bool:
    """The current window is valid; the previous one only `grace_s` after it expired."""
    current = qr_window(now_s, rotate_s)
    if window == current:
        return True
    return window == current - 1 and now_s < (window + 1) * rotate_s + grace_s


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_qr_token(session_id: str, window: int, key: bytes) -> str:
    """`<session id>.<window>.<128-bit HMAC>`: short, so the QR code stays small."""
    body = f"{session_id}.{window:x}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


QR_TOKEN = re.compile(r"[0-9A-Za-z]{1,40}\.[0-9a-f]{1,12}\.[A-Za-z0-9_-]{22}")


def parse_qr_token(token: str) -> tuple[str, int, str]:
    """Split a token into (session id, window, mac); anything malformed is refused (400)."""
    token = token.strip()
    if not QR_TOKEN.fullmatch(token):
        raise InvalidInput("Ce QR code n'est pas un QR code d'émargement.", code="qr_invalid")
    session_id, window, mac = token.split(".")
    return session_id, int(window, 16), mac


def check_qr_token(
    token: str, key: bytes, now_s: float, rotate_s: int, grace_s: float
) -> tuple[str, int]:
    """Verify the MAC (forged → 400) then the window (expired → 410)."""
    session_id, window, mac = parse_qr_token(token)
    expected = make_qr_token(session_id, window, key).rsplit(".", 1)[1]
    if not hmac.compare_digest(expected, mac):
        raise InvalidInput("Ce QR code n'est pas valide.", code="qr_invalid")
    if not is_qr_window_valid(window, now_s, rotate_s, grace_s):
        raise Gone("Ce QR code a expiré. Scannez celui affiché maintenant.", code="qr_expired")
    return session_id, window
