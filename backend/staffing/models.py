"""The roster: riders' planned shifts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class ShiftRow(Base):
    """One planned shift of a rider in a zone, [starts_at, ends_at). A rider's shifts never
    overlap: the service checks it under the rider's row lock (a constraint cannot say it on
    SQLite)."""

    __tablename__ = "rider_shifts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_rider_shifts_rider_starts", "rider_id", "starts_at"),
        Index("ix_rider_shifts_zone_ends", "zone", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rider_id: Mapped[int] = mapped_column(ForeignKey("riders.id"))
    zone: Mapped[str] = mapped_column(String(60))
    """A zone some warehouse serves (`warehouses.zone`), checked when the shift is planned."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1)
