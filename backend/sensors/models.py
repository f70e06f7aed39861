"""Sensor readings of boxes and vehicles: temperature and relative humidity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UTCDateTime


class TemperatureReadingRow(Base):
    """One reading, from the box of an order or from a rider's vehicle (one of the two), of
    temperature, relative humidity or both (the table keeps its first name)."""

    __tablename__ = "temperature_readings"
    __table_args__ = (
        CheckConstraint("(order_id IS NULL) != (rider_id IS NULL)", name="order_or_vehicle"),
        CheckConstraint("celsius IS NOT NULL OR humidity IS NOT NULL", name="something_measured"),
        Index("ix_temperature_readings_order_at", "order_id", "at"),
        Index("ix_temperature_readings_rider_at", "rider_id", "at"),
        # The KPI window's readings, of every box and vehicle (`backend/kpi/sensors.py`).
        Index("ix_temperature_readings_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int | None]
    rider_id: Mapped[int | None]
    celsius: Mapped[float | None]
    humidity: Mapped[float | None]
    """Relative humidity, percent."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
