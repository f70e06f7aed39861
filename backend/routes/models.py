"""Tables for a dispatcher's say over a rider's route: the order they set, and which stops
they locked in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class RiderRouteRow(Base):
    """The version of a rider's dispatcher-set stop order: a write names the version it read."""

    __tablename__ = "rider_routes"

    rider_id: Mapped[int] = mapped_column(ForeignKey("riders.id"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    set_by: Mapped[str] = mapped_column(String(40))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RouteStopRow(Base):
    """One stop's place in the order a dispatcher set. Kept only while the order is the
    rider's: once it is signed or handed to someone else, the row no longer counts (and goes
    with the rider's next write)."""

    __tablename__ = "route_stops"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    rider_id: Mapped[int] = mapped_column(ForeignKey("riders.id"), index=True)
    position: Mapped[int]
    """From 0, in the dispatcher's order of the stops the rider had then."""
    locked: Mapped[bool]
    """The optimiser keeps this drop at `position` (among the rider's stops still out)."""
