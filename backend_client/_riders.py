"""`client.riders`: the fleet, their fixes, tracks and routes, and handovers."""

from __future__ import annotations

from datetime import datetime

from backend_client._transport import Resource, query_params
from backend_client.models import (
    FleetFix,
    FleetPositions,
    FleetPositionsResult,
    Handover,
    HandoverOrder,
    Order,
    PositionBatch,
    PositionBatchResult,
    PositionPoint,
    Rider,
    RiderIn,
    RiderRegistration,
    RiderRoute,
    RiderStatus,
    RiderStatusUpdate,
    RouteOrder,
    RoutePlan,
    RouteStopOrder,
    Track,
)
from backend_client.models.staffing import RiderMove, Shift, ShiftCreate, ShiftUpdate, Staffing


class Riders(Resource):
    """Riders: who is on shift, where they are, where they go next."""

    async def all(
        self, *, status: RiderStatus | None = None, warehouse_id: str | None = None
    ) -> list[Rider]:
        params = query_params(status=status and str(status), warehouse_id=warehouse_id)
        return await self._transport.call("GET", "/riders", list[Rider], params=params)

    async def get(self, rider_id: int) -> Rider:
        return await self._transport.call("GET", f"/riders/{rider_id}", Rider)

    async def set_status(self, rider_id: int, status: RiderStatus | str) -> Rider:
        request = RiderStatusUpdate(status=RiderStatus(status))
        return await self._transport.call("POST", f"/riders/{rider_id}/status", Rider, json=request)

    async def register(
        self, riders: list[RiderIn], *, idempotency_key: str | None = None
    ) -> list[Rider]:
        """Riders joining the fleet (a whole crew at once)."""
        return await self._transport.call(
            "POST",
            "/riders",
            list[Rider],
            json=RiderRegistration(riders=riders),
            idempotency_key=idempotency_key,
        )

    async def upload_positions(
        self, rider_id: int, points: list[PositionPoint], *, idempotency_key: str | None = None
    ) -> PositionBatchResult:
        """One rider's fixes, in any order, duplicates allowed (what the phone cached)."""
        return await self._transport.call(
            "POST",
            f"/riders/{rider_id}/positions",
            PositionBatchResult,
            json=PositionBatch(points=points),
            idempotency_key=idempotency_key,
        )

    async def relay_positions(
        self, fixes: list[FleetFix], *, idempotency_key: str | None = None
    ) -> FleetPositionsResult:
        """Many riders' fixes in one request, as a location gateway relays them."""
        return await self._transport.call(
            "POST",
            "/positions",
            FleetPositionsResult,
            json=FleetPositions(fixes=fixes),
            idempotency_key=idempotency_key,
        )

    async def track(
        self,
        rider_id: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Track:
        """The rider's path from `since` to `until` (default: the last hour; at most 24 h)."""
        params = query_params(since=since and since.isoformat(), until=until and until.isoformat())
        return await self._transport.call("GET", f"/riders/{rider_id}/track", Track, params=params)

    async def route(self, rider_id: int) -> RiderRoute:
        """The rider's next stops, in sequence, with their ETAs."""
        return await self._transport.call("GET", f"/riders/{rider_id}/route", RiderRoute)

    async def plan(self, rider_id: int) -> RoutePlan:
        """The rider's stops as the route optimiser proposes them now, locks kept."""
        return await self._transport.call("GET", f"/riders/{rider_id}/plan", RoutePlan)

    async def order_route(
        self, rider_id: int, version: int, stops: list[tuple[int, bool]]
    ) -> RoutePlan:
        """Set the order of the rider's stops, `(order_id, locked)` each, every stop once;
        `version` is the plan's as read (StaleVersion/Conflict when it moved on)."""
        body = RouteOrder(
            version=version,
            stops=[RouteStopOrder(order_id=order_id, locked=locked) for order_id, locked in stops],
        )
        return await self._transport.call("PUT", f"/riders/{rider_id}/plan", RoutePlan, json=body)

    async def hand_over(
        self,
        rider_id: int,
        to_rider_id: int,
        orders: list[tuple[int, int]],
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Order]:
        """Every order `rider_id` carries, as (id, version) in their sequence, to another rider."""
        body = Handover(
            to_rider_id=to_rider_id,
            orders=[HandoverOrder(id=i, version=v) for i, v in orders],
            reason=reason,
        )
        return await self._transport.call(
            "POST",
            f"/riders/{rider_id}/handover",
            list[Order],
            json=body,
            idempotency_key=idempotency_key,
        )

    # --- Shifts and staffing (docs/shifts.md) ------------------------------------------------

    async def shifts(
        self, rider_id: int, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Shift]:
        """The rider's planned shifts ending after `since` and starting before `until`."""
        params = query_params(since=since and since.isoformat(), until=until and until.isoformat())
        return await self._transport.call(
            "GET", f"/riders/{rider_id}/shifts", list[Shift], params=params
        )

    async def plan_shift(
        self,
        rider_id: int,
        starts_at: datetime,
        ends_at: datetime,
        zone: str,
        *,
        idempotency_key: str | None = None,
    ) -> Shift:
        body = ShiftCreate(starts_at=starts_at, ends_at=ends_at, zone=zone)
        return await self._transport.call(
            "POST", f"/riders/{rider_id}/shifts", Shift, json=body, idempotency_key=idempotency_key
        )

    async def change_shift(
        self,
        rider_id: int,
        shift_id: int,
        version: int,
        *,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        zone: str | None = None,
    ) -> Shift:
        body = ShiftUpdate(version=version, starts_at=starts_at, ends_at=ends_at, zone=zone)
        return await self._transport.call(
            "PATCH", f"/riders/{rider_id}/shifts/{shift_id}", Shift, json=body
        )

    async def remove_shift(self, rider_id: int, shift_id: int) -> None:
        await self._transport.call("DELETE", f"/riders/{rider_id}/shifts/{shift_id}", None)

    async def move_to_zone(self, rider_id: int, zone: str, *, reason: str | None = None) -> Rider:
        """Base the rider at the warehouse serving `zone` (409 while they carry orders)."""
        body = RiderMove(zone=zone, reason=reason)
        return await self._transport.call("POST", f"/riders/{rider_id}/zone", Rider, json=body)

    async def staffing(self, *, hours: int = 6) -> Staffing:
        """Per zone, planned against online now and planned against needed per hour."""
        return await self._transport.call(
            "GET", "/staffing", Staffing, params=query_params(hours=hours)
        )
