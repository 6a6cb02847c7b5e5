"""Access sites (sites Occitanie e-formation)."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import IdMixin
from core.extensions import Model


class Site(IdMixin, Model):
    """A regional access point with PCs and staff, where trainees can take a seat."""

    __tablename__ = "site"
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(3), index=True)
    city: Mapped[str] = mapped_column(String(100))
    seats: Mapped[int]
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
