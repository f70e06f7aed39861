"""Tables for riders and their position track, and the map they ride on: zones and streets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.crypto.columns import Sealed
from backend.db import Base, BigId, UTCDateTime


class RiderRow(Base):
    """A rider based at a warehouse, with the last fix we trust."""

    __tablename__ = "riders"
    __table_args__ = (
        CheckConstraint("active_orders >= 0", name="load_not_negative"),
        CheckConstraint("active_orders <= capacity", name="load_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(Sealed("riders.phone"))
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="offline")
    capacity: Mapped[int]
    active_orders: Mapped[int] = mapped_column(default=0)
    cold_chain: Mapped[bool]
    last_lat: Mapped[float | None]
    last_lng: Mapped[float | None]
    last_fix_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    still_lat: Mapped[float | None]
    still_lng: Mapped[float | None]
    still_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Since when the rider's fixes have stayed near (still_lat, still_lng)."""
    at_warehouse: Mapped[bool | None]
    """Whether the rider is at their warehouse (with hysteresis); null before their first fix."""


class RiderPositionRow(Base):
    """One fix of a rider's track; a fix is identified by rider and the phone's timestamp."""

    __tablename__ = "rider_positions"
    __table_args__ = (UniqueConstraint("rider_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rider_id: Mapped[int] = mapped_column(ForeignKey("riders.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float]
    lng: Mapped[float]
    speed_kmh: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeliveryProgressRow(Base):
    """How a delivering order's rider is getting on: updated from each forward fix."""

    __tablename__ = "delivery_progress"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    rider_id: Mapped[int] = mapped_column(ForeignKey("riders.id"), index=True)
    distance_m: Mapped[float]
    """From the rider's newest fix to the customer."""
    closest_m: Mapped[float]
    """The nearest this rider has been to the customer since taking the order out or since
    their last stop, whichever is later."""
    speed_kmh: Mapped[float]
    eta_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """After the rider's earlier stops in their sequence, and the handover at each."""
    late_risk: Mapped[float | None]
    """The chance the order is delivered after its promise (backend/eta/): 0 or 1 from the
    straight line, in between from the learned model. Null before the first estimate."""
    fix_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sequence: Mapped[int] = mapped_column(default=1)
    """The order's place among the rider's deliveries, from 1 (see `progress.in_sequence`)."""
    eta_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When an `order.eta` event was last recorded for this order (the rate limit's clock)."""
    eta_sent: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_sent: Mapped[bool | None]
    """The ETA and predicted-late flag that event carried."""
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The fix that came within the arrival radius of the customer (`order.arrived`)."""
    pickup_lat: Mapped[float | None]
    pickup_lng: Mapped[float | None]
    """Where the goods wait for this rider first: the rider before them left the road there (an
    accident). Cleared once this rider has been there; distance and ETA go via it until then."""


class ZoneRow(Base):
    """A delivery zone: the area one front warehouse serves."""

    __tablename__ = "zones"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"), index=True)
    polygon: Mapped[list[list[float]]] = mapped_column(JSON)
    """The border as [lat, lng] pairs, not closed (the last point joins the first)."""


class StreetRow(Base):
    """A named street of a zone. The zone's order of streets counts: the offline geocoder lays
    street i of n at i/n of a half turn around the warehouse, so renumbering moves addresses."""

    __tablename__ = "streets"

    zone: Mapped[str] = mapped_column(ForeignKey("zones.name"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


# A dispatcher's say over a rider's route (`backend/routes/`): kept here, beside the riders'
# other tables, because the ETA chain and the rider's next stops read it.


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
