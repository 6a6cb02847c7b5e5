"""Rules of the virtual class (R16), pure: connected time, presence checks, what a message,
a stroke and a shared file may be. The clock is an argument; standard library only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.errors import Conflict, Forbidden, InvalidInput

# A Socket.IO message beyond this is refused (the contract of issue 11): 64 KB.
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHAT_CHARS = 2000
# What the class shares: documents and images people open without installing anything.
ALLOWED_FILE_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
# The leading bytes each type must start with (a renamed executable is refused).
MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
ZIP_TYPES = ("opendocument", "openxmlformats")
STROKE_TOOLS = ("pen", "eraser", "clear")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_POINTS = 2000


@dataclass(frozen=True)
class Interval:
    """A connection: joined, and left (None while still connected)."""

    joined_at: datetime
    left_at: datetime | None


def connected_minutes(
    intervals: Iterable[Interval], starts_at: datetime, ends_at: datetime, now: datetime
) -> int:
    """Whole minutes a person was connected within the session's times (R16, proof of
    presence): overlapping connections (two tabs, a phone and a PC) count once."""
    spans = []
    for item in intervals:
        start = max(item.joined_at, starts_at)
        end = min(item.left_at or now, ends_at, now)
        if end > start:
            spans.append((start, end))
    total = timedelta()
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(spans):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += current[1] - current[0]
    return int(total.total_seconds() // 60)


def was_connected(intervals: Iterable[Interval], moment: datetime) -> bool:
    """Whether one of the connections covered `moment`."""
    return any(
        item.joined_at <= moment and (item.left_at is None or moment <= item.left_at)
        for item in intervals
    )


class ChatBucket:
    """A connection's chat allowance (R16, « chat rate-limited »): `amount` messages at once,
    given back at `amount / period_s` a second. It lives with the connection, in the process
    that holds it (sticky sessions), so a message costs no round trip to a shared store."""

    __slots__ = ("amount", "period_s", "tokens", "at")

    def __init__(self, amount: int, period_s: float, now: float) -> None:
        self.amount, self.period_s = amount, period_s
        self.tokens, self.at = float(amount), now

    def take(self, now: float) -> bool:
        """Spend one message at monotonic time `now`; False when the allowance is spent."""
        elapsed = max(0.0, now - self.at)
        self.tokens = min(float(self.amount), self.tokens + elapsed * self.amount / self.period_s)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def check_answer_in_time(launched_at: datetime, closes_at: datetime, now: datetime) -> None:
    """A presence check is answered between its launch and its close (R16)."""
    if now < launched_at or now > closes_at:
        raise Conflict(
            "L'appel de présence est terminé : votre réponse arrive trop tard.",
            code="presence_check_closed",
            rule="R16",
        )


def check_message_size(data: Any) -> None:
    """A message over 64 KB is refused before anything reads it."""
    size = len(json.dumps(data, ensure_ascii=False, default=str).encode())
    if size > MAX_MESSAGE_BYTES:
        raise InvalidInput(
            "Message trop volumineux (64 Ko au plus).", code="message_too_large", rule="R16"
        )


def chat_text(data: Any) -> str:
    """The text of a chat message: 1 to 2,000 characters, trimmed."""
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Écrivez un message.", code="empty_message")
    text = text.strip()
    if len(text) > MAX_CHAT_CHARS:
        raise InvalidInput(
            f"Message trop long ({MAX_CHAT_CHARS} caractères au plus).", code="message_too_long"
        )
    return text


def stroke(data: Any) -> dict[str, Any]:
    """A whiteboard stroke as stored: a tool, a colour, a width and points within the board
    (0 to 1 on each axis, so every screen size draws the same)."""
    if not isinstance(data, dict) or data.get("tool") not in STROKE_TOOLS:
        raise InvalidInput("Tracé invalide.", code="invalid_stroke")
    if data["tool"] == "clear":
        return {"tool": "clear"}
    colour, width, points = data.get("colour", "#000000"), data.get("width", 3), data.get("points")
    if not isinstance(colour, str) or not COLOUR.fullmatch(colour):
        raise InvalidInput("Couleur invalide (#rrggbb).", code="invalid_stroke")
    if not isinstance(width, int | float) or isinstance(width, bool) or not 1 <= width <= 40:
        raise InvalidInput("Épaisseur invalide (1 à 40).", code="invalid_stroke")
    if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
        raise InvalidInput(f"Un tracé a de 1 à {MAX_POINTS} points.", code="invalid_stroke")
    clean = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(_unit(v) for v in point)
        ):
            raise InvalidInput("Point hors du tableau.", code="invalid_stroke")
        clean.append([round(float(point[0]), 4), round(float(point[1]), 4)])
    return {"tool": data["tool"], "colour": colour, "width": width, "points": clean}


def _unit(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def check_file(name: str, content_type: str, head: bytes, size: int, max_bytes: int) -> str:
    """A shared file's type and size (R16 file transfer); answers a safe file name."""
    if size == 0:
        raise InvalidInput("Le fichier est vide.", code="empty_file")
    if size > max_bytes:
        raise InvalidInput(
            f"Fichier trop volumineux ({size_label(max_bytes)} au plus).",
            code="file_too_large",
        )
    if content_type not in ALLOWED_FILE_TYPES or not _content_matches(content_type, head):
        raise InvalidInput(
            "Type de fichier refusé : PDF, image PNG ou JPEG, texte, document bureautique.",
            code="file_type_refused",
        )
    return safe_name(name, ALLOWED_FILE_TYPES[content_type])


def size_label(size: int) -> str:
    """A size as people read it: "5 Mo", "100 Ko"."""
    if size >= 1024 * 1024:
        return f"{size // (1024 * 1024)} Mo"
    return f"{max(1, size // 1024)} Ko"


def _content_matches(content_type: str, head: bytes) -> bool:
    if content_type in MAGIC:
        return head.startswith(MAGIC[content_type])
    if any(kind in content_type for kind in ZIP_TYPES):
        return head.startswith(b"PK\x03\x04")
    return b"\x00" not in head  # text


def safe_name(name: str, extension: str) -> str:
    """The file's own name without path nor control characters, at most 120 characters."""
    base = re.sub(r"[\x00-\x1f/\\]+", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    base = base.strip(".") or "fichier"
    if not base.lower().endswith(extension):
        base += extension
    return base[-120:]


def require_trainer(is_trainer: bool) -> None:
    if not is_trainer:
        raise Forbidden("Seul le formateur de la séance fait cela.", code="trainer_only")


def conference_url(url: str | None) -> str | None:
    """An external conference link (BigBlueButton, Jitsi): https only, or none."""
    url = (url or "").strip()
    if not url:
        return None
    if not re.fullmatch(r"https://[^\s/?#]+(/[^\s]*)?", url) or len(url) > 500:
        raise InvalidInput(
            "Le lien de visioconférence commence par https:// (500 caractères au plus).",
            code="invalid_conference_url",
        )
    return url


def pointer(data: Any) -> dict[str, Any]:
    """The trainer's pointer over a guided screen (R16 remote control): `x` and `y` as
    fractions of its width and height, 0 to 1, and whether it clicks there; `n`, when given,
    the page's increasing number of the position, relayed so that the screens keep the latest
    one: each event is handled in its own greenlet, and two positions may reach the room in
    the other order."""
    found = data if isinstance(data, dict) else {}
    x, y = _fraction(found.get("x")), _fraction(found.get("y"))
    if x is None or y is None:
        raise InvalidInput(
            "Position du pointeur invalide : x et y entre 0 et 1.", code="invalid_pointer"
        )
    point: dict[str, Any] = {"x": x, "y": y, "click": found.get("click") is True}
    if "n" in found:
        n = found["n"]
        if isinstance(n, bool) or not isinstance(n, int | float) or not 0 <= n < 2**53:
            raise InvalidInput(
                "Numéro de position du pointeur invalide : un nombre positif.",
                code="invalid_pointer",
            )
        point["n"] = n
    return point


def _fraction(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value), 4) if 0 <= value <= 1 else None
