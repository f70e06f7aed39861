"""Riders on the map (zones, track replay, next stops), mixed into `FreshlineClient`: one
method per endpoint, as in `http.py`, kept apart to keep that file small."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from backend_client.models import RiderRoute, Track, Zone


class _Caller(Protocol):
    # `FreshlineClient._call`'s own keywords: a `**kwargs` here is a signature it does not
    # match, and every call through a mixin method failed the type check.
    async def _call(
        self,
        method: str,
        path: str,
        answer: Any,
        *,
        json: BaseModel | None = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        seconds: float | None = None,
        retry: bool = True,
    ) -> Any: ...


class RiderCalls:
    """Zones, tracks and routes."""

    async def zones(self: _Caller) -> list[Zone]:
        """The delivery zones with their polygons."""
        return await self._call("GET", "/zones", list[Zone])

    async def rider_track(
        self: _Caller,
        rider_id: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Track:
        """The rider's path from `since` to `until` (default: the last hour; at most 24 h)."""
        params = {
            name: value.isoformat()
            for name, value in (("since", since), ("until", until))
            if value is not None
        }
        return await self._call("GET", f"/riders/{rider_id}/track", Track, params=params)

    async def order_track(self: _Caller, order_id: int) -> Track:
        """The order's path from pick-up to sign-off (or now), with its timeline in that time."""
        return await self._call("GET", f"/orders/{order_id}/track", Track)

    async def rider_route(self: _Caller, rider_id: int) -> RiderRoute:
        """The rider's next stops, in sequence, with their ETAs."""
        return await self._call("GET", f"/riders/{rider_id}/route", RiderRoute)
