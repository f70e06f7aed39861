"""Geofences on riders' fixes: arriving at a customer, leaving and coming back to the warehouse.

Each crossing becomes an event for the caller to record (`RiderEvent`); nothing here writes. The
warehouse fence has two radii so a rider waiting at its edge, their fixes jittering by tens of
metres, is not seen leaving and returning over and over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.riders.geo import LatLng, metres
from backend.riders.models import RiderRow
from backend_client.geo import flat_metres
from backend_client.models import PositionPoint

ARRIVAL_M = 150.0
"""A fix this close to the customer is the rider arriving."""
LEAVE_WAREHOUSE_M = 200.0
"""Beyond this from their warehouse a rider has left it..."""
BACK_AT_WAREHOUSE_M = 100.0
"""...and within this they are back."""


@dataclass(frozen=True, slots=True)
class RiderEvent:
    """An event of a rider's progress (a fence crossed, an ETA worth telling) for the caller to
    record: `append_event`'s keyword arguments but the actor and time."""

    kind: str
    rider_id: int
    warehouse_id: str
    order_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def first_arrival(fixes: Sequence[PositionPoint], customer: LatLng) -> tuple[PositionPoint, float]:
    """The first of the fixes within ARRIVAL_M of the customer and its distance, else the
    nearest fix and its distance (over ARRIVAL_M)."""
    chosen = fixes[0]
    best = math.inf
    for fix in fixes:
        distance = flat_metres((fix.lat, fix.lng), customer)
        if distance <= ARRIVAL_M:
            chosen = fix
            break
        if distance < best:
            chosen, best = fix, distance
    return chosen, metres((chosen.lat, chosen.lng), customer)


def warehouse_crossings(
    rider: RiderRow, fixes: Sequence[PositionPoint], warehouse: LatLng
) -> list[RiderEvent]:
    """Walk the rider's new fixes (oldest first) through the warehouse fence, updating
    `rider.at_warehouse`; the first fix ever only says where they are, it crosses nothing."""
    crossings = []
    for fix in fixes:
        distance = flat_metres((fix.lat, fix.lng), warehouse)
        if rider.at_warehouse is None:
            rider.at_warehouse = distance <= LEAVE_WAREHOUSE_M
            continue
        if rider.at_warehouse and distance > LEAVE_WAREHOUSE_M:
            kind = "rider.left_warehouse"
        elif not rider.at_warehouse and distance <= BACK_AT_WAREHOUSE_M:
            kind = "rider.returned_warehouse"
        else:
            continue
        rider.at_warehouse = not rider.at_warehouse
        crossings.append(
            RiderEvent(
                kind=kind,
                rider_id=rider.id,
                warehouse_id=rider.warehouse_id,
                payload={
                    "distance_m": round(metres((fix.lat, fix.lng), warehouse), 1),
                    "lat": fix.lat,
                    "lng": fix.lng,
                    "fix_at": fix.at.isoformat(),
                },
            )
        )
    return crossings
