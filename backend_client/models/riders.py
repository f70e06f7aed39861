"""Riders: the fleet, their GPS fixes, suggestions for an order, and handovers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
)

from backend_client.models.common import (
    ByValue,
    Code,
    DbId,
    Latitude,
    Longitude,
    Moment,
    Name,
    Phone,
    Reason,
    Request,
    Response,
    RiderStatus,
    Version,
)


class Rider(Response):
    id: int
    name: str
    phone: str = Field(
        description="Whole for accounts with `phones:read` and for the rider themself, else "
        "masked: `138****7474` (`backend_client.phones`)."
    )
    status: RiderStatus
    warehouse_id: str
    capacity: int
    active_orders: int
    cold_chain: bool
    last_lat: float | None
    last_lng: float | None
    last_fix_at: datetime | None


class RiderStatusUpdate(Request):
    status: Annotated[RiderStatus, ByValue]


class PositionPoint(Request):
    """One GPS fix as the rider's phone recorded it."""

    lat: Latitude
    lng: Longitude
    at: Moment
    speed_kmh: Annotated[float, Field(ge=0, le=200, allow_inf_nan=False)] | None = None
    accuracy_m: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] | None = None


class PositionBatch(Request):
    """Fixes in any order, duplicates allowed (phones upload what they cached offline)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "points": [
                        {"lat": 39.9361, "lng": 116.4551, "at": "2026-11-22T10:00:15Z"},
                        {"lat": 39.9358, "lng": 116.4560, "at": "2026-11-22T10:00:00Z"},
                    ]
                }
            ]
        },
    )

    points: Annotated[list[PositionPoint], Field(min_length=1, max_length=1000)]


class FleetFix(PositionPoint):
    """One fix of one rider, as a location gateway relays it."""

    rider_id: DbId


class FleetPositions(Request):
    """Body of `POST /api/v1/positions`: many riders' fixes in one request (a location gateway
    or a load test); the same rules as one rider's batch, per rider."""

    fixes: Annotated[list[FleetFix], Field(min_length=1, max_length=5000)]


class FleetPositionsResult(Response):
    accepted: int
    duplicates: int
    moved: int = Field(description="Riders whose last fix moved forward.")


class RiderIn(Request):
    """A rider joining the fleet."""

    name: Name
    phone: Phone
    warehouse_id: Code
    capacity: Annotated[int, Field(ge=1, le=20, description="Orders carried at once.")]
    cold_chain: bool = False
    status: Annotated[RiderStatus, ByValue] = RiderStatus.OFFLINE


class RiderRegistration(Request):
    """Body of `POST /api/v1/riders`: riders to register (a whole crew at once)."""

    riders: Annotated[list[RiderIn], Field(min_length=1, max_length=1000)]


class RiderSuggestion(Response):
    """A rider who could take an order, from the ranking auto-dispatch uses."""

    rider: Rider
    distance_m: float = Field(
        description="From the rider's last fix to the pick-up: the warehouse, or, for an order "
        "out for delivery, where its rider is now."
    )
    eta_minutes: float = Field(description="Pick-up, then drop-off, at a nominal 20 km/h.")
    what_if: RouteWhatIf | None = Field(
        None,
        description="What taking the order does to the rider's route (asked with what_if=true).",
    )


class MadeLate(Response):
    """An order on a rider's route that taking another order would make late."""

    order_id: int
    promised_at: datetime
    eta_before: datetime | None = Field(description="Its arrival on the route as it is now.")
    eta_after: datetime = Field(description="Its arrival with the new order in the route.")


class RouteWhatIf(Response):
    """The order placed in a candidate's route in today's stop order (earliest promise first),
    and the route's ETAs chained again at the rider's pace."""

    eta: datetime = Field(description="The order's arrival with this rider.")
    stop: int = Field(description="Its place in the rider's sequence, 1 first.")
    stops: int = Field(description="The stops on the route with it.")
    late: bool = Field(description="Its arrival would be after its promise.")
    made_late: list[MadeLate] = Field(
        description="Orders on the route on time now and late with it, earliest promise first."
    )


class PositionBatchResult(Response):
    accepted: int
    duplicates: int
    moved: bool = Field(description="The batch held a fix newer than the rider's last one.")
    last_lat: float | None
    last_lng: float | None
    last_fix_at: datetime | None


class HandoverOrder(Request):
    id: DbId
    version: Version


class Handover(Request):
    """Move every order a rider carries to another rider, in the same sequence."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"to_rider_id": 7, "orders": [{"id": 41, "version": 5}], "reason": "x"}]
        },
    )

    to_rider_id: DbId
    orders: list[HandoverOrder] = Field(
        min_length=1, max_length=100, description="The rider's orders as you last saw them."
    )
    reason: Reason | None = None
