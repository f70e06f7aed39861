"""Ranking riders for an order: online, with room, with a cold-chain box when it needs one,
then by what the order costs each of them (`Ranking`): the metres and lateness it adds to their
route where it fits best (cheapest insertion, so a rider already collecting at that warehouse
takes it nearly for free: orders of one warehouse ride together), or, the old way, nearest to
the pick-up first with each order carried counting as a kilometre more.

The same ranking picks the rider in auto-dispatch and lists the suggestions a dispatcher sees.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.dispatch.insertion import Waypoint, cheapest_insertion
from backend.inventory.models import WarehouseRow
from backend.orders.models import OrderRow
from backend.riders.models import RiderRow
from backend_client.geo import EARTH_RADIUS_M, LatLng, flat_metres
from backend_client.models import OrderState, RiderStatus

# A city rider's average speed on an e-bike, door to door, for the ETA a suggestion promises.
NOMINAL_SPEED_KMH = 20.0
# Each order a rider already carries weighs like one more kilometre to ride.
LOAD_PENALTY_M = 1_000.0
# Minutes at the counter and at the door.
HANDOVER_MINUTES = 2.0
# Auto-dispatch does not send a rider across town: farther than this from the pick-up, the
# order waits for a nearer rider (a dispatcher can still choose anyone from the suggestions).
AUTO_DISPATCH_REACH_M = 5_000.0
# A degree of latitude on the sphere `flat_metres` measures on, for the shortlist's circle.
METRES_PER_DEGREE = math.radians(EARTH_RADIUS_M)
# Riders taken from the database (by squared degrees) before ranking them in metres.
SHORTLIST = 50


class Ranking(StrEnum):
    """How riders are ranked for an order (the `dispatch_ranking` setting)."""

    INSERTION = "insertion"
    """By the metres (and lateness, weighed as the route optimiser weighs it) the order adds to
    the rider's route at its cheapest place."""
    NEAREST = "nearest"
    """By the distance to the pick-up, plus `LOAD_PENALTY_M` per order carried."""


class Place(Protocol):
    """Where the goods are picked up: a warehouse, or a rider who has them on board."""

    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...


class DropOff(Protocol):
    """The order as the ranking sees it: where it goes, and whether it needs a cold box."""

    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...
    @property
    def cold_chain(self) -> bool: ...
    @property
    def promised_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rider who could take the order, and what it would cost."""

    rider: RiderRow
    distance_m: float
    """From the rider's last fix (their warehouse if none yet) to the pick-up."""
    eta_minutes: float
    """To the pick-up, then to the customer, at the nominal speed, with both handovers."""
    score: float
    """Metres: the detour with lateness weighed in (insertion), or distance plus load."""


async def rank_riders(
    session: AsyncSession,
    order: DropOff,
    pickup: Place,
    *,
    limit: int = 5,
    exclude: int | None = None,
    cold_chain: bool | None = None,
    by: Ranking = Ranking.INSERTION,
    now: datetime | None = None,
) -> list[Candidate]:
    """The best riders for `order`, best first: at most `limit`, never `exclude`. `cold_chain`
    says whether the parcel needs a cold box, when that is not the order's own need (a part
    of a split order, or a parcel it shares with other orders). Ranked `by` insertion cost
    (promises measured from `now`) or by nearness; the shortlist is the same either way."""
    base = aliased(WarehouseRow)
    lat = func.coalesce(RiderRow.last_lat, base.lat)
    lng = func.coalesce(RiderRow.last_lng, base.lng)
    # Squared degrees with longitude shrunk by the latitude: orders riders as the crow flies,
    # near enough to pick a shortlist in SQL on both databases.
    shrink = math.cos(math.radians(pickup.lat))
    flat = (lat - pickup.lat) * (lat - pickup.lat) + (lng - pickup.lng) * shrink * (
        lng - pickup.lng
    ) * shrink
    available = select(RiderRow, lat, lng).join(base, base.id == RiderRow.warehouse_id)
    available = available.where(
        RiderRow.status == RiderStatus.ONLINE, RiderRow.active_orders < RiderRow.capacity
    )
    if order.cold_chain if cold_chain is None else cold_chain:
        available = available.where(RiderRow.cold_chain.is_(True))
    if exclude is not None:
        available = available.where(RiderRow.id != exclude)
    size = max(SHORTLIST, limit)
    drop_off_m = flat_metres((pickup.lat, pickup.lng), (order.lat, order.lng))
    found: dict[int, Candidate] = {}
    where: dict[int, LatLng] = {}

    async def consider(query: Select[RiderRow, float, float]) -> None:
        for rider, rider_lat, rider_lng in (await session.execute(query)).all():
            if rider.id not in found:
                where[rider.id] = (rider_lat, rider_lng)
                found[rider.id] = _candidate(rider, where[rider.id], pickup, drop_off_m)

    # The nearest riders first. Someone farther can still win by carrying less, but only from
    # within the best score so far: the least loaded riders inside that circle come second.
    await consider(available.order_by(flat, RiderRow.id).limit(size))
    if found:
        best = min(c.score for c in found.values())
        radius = best / METRES_PER_DEGREE * 1.01
        await consider(
            available.where(flat < radius * radius)
            .order_by(RiderRow.active_orders, flat, RiderRow.id)
            .limit(size)
        )
    candidates = list(found.values())
    if by is Ranking.INSERTION and candidates:
        candidates = await _by_insertion(session, candidates, where, order, pickup, now)
    candidates.sort(key=lambda c: (c.score, c.rider.id))
    return candidates[:limit]


async def _by_insertion(
    session: AsyncSession,
    candidates: list[Candidate],
    where: dict[int, LatLng],
    order: DropOff,
    pickup: Place,
    now: datetime | None,
) -> list[Candidate]:
    """The candidates scored by what the order adds to each one's route: the warehouses they
    are still to collect at first, then their drops by promise (the rider's sequence today;
    the optimiser improves on it once the order is theirs). One query for all of them."""
    routes: dict[int, list[Waypoint]] = defaultdict(list)
    collecting: dict[int, set[LatLng]] = defaultdict(set)
    at = now or order.promised_at
    rows = await session.execute(
        select(OrderRow.rider_id, OrderRow.status, OrderRow.lat, OrderRow.lng,
               OrderRow.promised_at, WarehouseRow.lat, WarehouseRow.lng)
        .join(WarehouseRow, WarehouseRow.id == OrderRow.warehouse_id)
        .where(
            OrderRow.rider_id.in_([c.rider.id for c in candidates]),
            OrderRow.status.in_((OrderState.PICKING, OrderState.DELIVERING)),
        )
        .order_by(OrderRow.promised_at, OrderRow.id)
    )  # fmt: skip
    for rider_id, status, lat, lng, promised_at, wh_lat, wh_lng in rows:
        assert rider_id is not None
        if status == OrderState.PICKING:
            collecting[rider_id].add((wh_lat, wh_lng))
        routes[rider_id].append(Waypoint((lat, lng), (promised_at - at).total_seconds()))
    scored = []
    for candidate in candidates:
        rider_id = candidate.rider.id
        route = [Waypoint(w) for w in sorted(collecting[rider_id])] + routes[rider_id]
        fit = cheapest_insertion(
            where[rider_id],
            route,
            (pickup.lat, pickup.lng),
            (order.lat, order.lng),
            (order.promised_at - at).total_seconds(),
        )
        scored.append(
            Candidate(
                rider=candidate.rider,
                distance_m=candidate.distance_m,
                eta_minutes=(fit.eta_s + HANDOVER_MINUTES * 60) / 60,
                score=fit.cost,
            )
        )
    return scored


def _candidate(
    rider: RiderRow, at: tuple[float, float], pickup: Place, drop_off_m: float
) -> Candidate:
    # The flat map, not geopy's geodesic: within 0.3% of it across a city, which moves no
    # rider past another that matters, and some fifty times cheaper for every candidate of
    # every order auto-dispatch places.
    distance = flat_metres(at, (pickup.lat, pickup.lng))
    ride_minutes = (distance + drop_off_m) / (NOMINAL_SPEED_KMH * 1000 / 60)
    return Candidate(
        rider=rider,
        distance_m=distance,
        eta_minutes=ride_minutes + 2 * HANDOVER_MINUTES,
        score=distance + LOAD_PENALTY_M * rider.active_orders,
    )
