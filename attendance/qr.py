"""QR code images of the sign-in payload: text in, SVG or PNG bytes out (segno)."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

# Choosing the mask is most of the cost of a QR code; a fixed mask keeps it cheap and the
# payload's length (hence the version) is the same for every window of a deployment.
MASK = 4
ERROR = "m"


@lru_cache(maxsize=64)
def _version(length: int) -> int:
    return int(segno.make_qr("x" * length, error=ERROR, boost_error=False).version)


def _qr(payload: str) -> segno.QRCode:
    return segno.make_qr(
        payload, error=ERROR, version=_version(len(payload)), mask=MASK, boost_error=False
    )


@lru_cache(maxsize=256)
def svg(payload: str) -> bytes:
    """An SVG that scales to its container (the trainer's screen), with a quiet zone."""
    out = io.BytesIO()
    _qr(payload).save(
        out,
        kind="svg",
        scale=1,
        border=4,
        xmldecl=False,
        svgns=True,
        title="QR code d'émargement",
        omitsize=True,
    )
    return out.getvalue()


@lru_cache(maxsize=256)
def png(payload: str, scale: int = 8) -> bytes:
    """A PNG for clients that cannot show SVG; zbar decodes it to the exact payload."""
    out = io.BytesIO()
    _qr(payload).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
