"""What the console keeps of one order and one rider, and the map's static layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from backend_client.models import LATE_RISK, Event, Order, OrderState, Rider
from backend_client.phones import phone_tail
from console.store.lanes import LANE_OF_STATE, Lane


@dataclass(slots=True)
class OrderCard:
    """What the board needs to know about one order."""

    id: int
    status: OrderState
    version: int
    channel: str
    zone: str
    warehouse_id: str
    customer: str
    phone_tail: str
    promised_at: datetime
    rider_id: int | None
    cold_chain: bool
    lat: float
    lng: float
    external_id: str = ""
    signed_at: datetime | None = None
    eta: datetime | None = None
    """The backend's arrival estimate (the order's `eta`, then its `order.eta` events); the
    store's own is the fallback. Dropped when the order leaves DELIVERING."""
    predicted_late: bool = False
    """The backend predicts it arrives after its promise."""
    eta_distance_m: float | None = None
    key: tuple[float, int] = (0.0, 0)
    """Its place in its lane (kept so it can be found again without a scan)."""

    @property
    def lane(self) -> Lane | None:
        return LANE_OF_STATE.get(self.status)

    @classmethod
    def of(cls, order: Order) -> OrderCard:
        eta = aware(order.eta) if order.eta is not None else None
        return cls(
            id=order.id,
            status=order.status,
            version=order.version,
            channel=order.channel,
            zone=order.zone,
            warehouse_id=order.warehouse_id,
            customer=order.customer.name,
            phone_tail=phone_tail(order.customer.phone),
            promised_at=aware(order.promised_at),
            rider_id=order.rider_id,
            cold_chain=order.cold_chain,
            lat=order.lat,
            lng=order.lng,
            external_id=order.external_id,
            signed_at=order.signed_at and aware(order.signed_at),
            # The order's own ETA, until `order.eta` events bring newer ones.
            eta=eta,
            # Its delay risk says whether it is predicted late (the learned ETA's, or 0/1
            # from the straight line); a server without one: the ETA against the promise.
            predicted_late=eta is not None
            and (
                order.late_risk >= LATE_RISK
                if order.late_risk is not None
                else eta > aware(order.promised_at)
            ),
        )


@dataclass(slots=True)
class RiderCard:
    """What the riders screen and the map need to know about one rider."""

    id: int
    name: str
    warehouse_id: str = ""
    status: str = "offline"
    cold_chain: bool = False
    lat: float | None = None
    lng: float | None = None
    fix_at: datetime | None = None
    capacity: int = 0
    active_orders: int = 0
    """As the snapshot said; the store's own count of the rider's open orders is fresher."""
    speed_kmh: float | None = None
    """Between the last two fixes (None until there are two close enough in time)."""

    @classmethod
    def of(cls, rider: Rider) -> RiderCard:
        return cls(
            id=rider.id,
            name=rider.name,
            warehouse_id=rider.warehouse_id,
            status=rider.status,
            cold_chain=rider.cold_chain,
            lat=rider.last_lat,
            lng=rider.last_lng,
            fix_at=rider.last_fix_at and aware(rider.last_fix_at),
            capacity=rider.capacity,
            active_orders=rider.active_orders,
        )


MapZone = tuple[str, tuple[tuple[float, float], ...]]
"""A zone's name and outline, (lat, lng) points."""
MapPlace = tuple[str, float, float]
"""A warehouse's id, lat and lng."""


class RiderState(StrEnum):
    """How a rider shows on the map and in the list; the worse state wins a shared cell."""

    LATE = "late"
    """Carrying an order past its promise, or predicted to arrive after it."""
    SILENT = "silent"
    """On shift, but no fix for longer than `SILENT_AFTER`."""
    DELIVERING = "delivering"
    IDLE = "idle"
    """On shift with nothing to carry."""
    OFFLINE = "offline"
    """Off shift (or on a break): not on the map."""


SILENT_AFTER = timedelta(minutes=2)
"""A rider on shift without a fix for this long is silent (phones send one every ~15 s)."""
SPEED_WINDOW = timedelta(minutes=5)
"""Two fixes further apart than this say nothing about the rider's speed now."""
GPS_JITTER_M = 15.0
"""A phone standing still wanders this far between fixes: a rider who moved less is stopped
(read as moving, a rider waiting at a door showed 1-3 km/h)."""
RIDER_ORDER_LANES = frozenset({Lane.PICKING, Lane.DELIVERING, Lane.EXCEPTION})
"""A rider's current orders: given to them and not done yet."""


def card_from_created(event: Event) -> OrderCard | None:
    p: dict[str, Any] = event.payload
    try:
        return OrderCard(
            id=event.order_id or 0,
            status=OrderState(event.to_state or OrderState.CREATED),
            version=int(p["version"]),
            channel=str(p["channel"]),
            zone=str(p["zone"]),
            warehouse_id=event.warehouse_id or "",
            customer=str(p["customer"]),
            phone_tail=str(p["phone_tail"]),
            promised_at=aware(datetime.fromisoformat(p["promised_at"])),
            rider_id=event.rider_id,
            cold_chain=bool(p["cold_chain"]),
            lat=float(p["lat"]),
            lng=float(p["lng"]),
            external_id=str(p.get("external_id", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def aware(moment: datetime) -> datetime:
    """`moment` with UTC as its zone when it came without one."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
