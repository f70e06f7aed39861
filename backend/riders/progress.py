"""How riders are getting on, from each fix that moves them forward: whether they are standing
still, and for every order they have out for delivery how far its customer is, the nearest they
have come, and when they should arrive. The alert rules read what this keeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.orders.models import OrderRow
from backend.riders.geo import metres
from backend.riders.models import DeliveryProgressRow, RiderRow
from backend_client.models import OrderState, PositionPoint

NOMINAL_KMH = 20.0
"""Assumed until a rider's own pace is known."""
MIN_KMH, MAX_KMH = 8.0, 40.0
"""A sane floor and ceiling for the pace an ETA is worked out at (a rider at a red light is
not stopped for good; a GPS jump is not a motorway)."""
PACE_WEIGHT = 0.3
"""How much each batch's measured pace moves the rider's kept pace."""
HANDOVER = timedelta(minutes=2)
"""Parking, stairs and the doorstep."""
DEFAULT_STILL_RADIUS_M = 50.0
"""Fixes this close to where a rider stopped count as standing still (the stationary rule's
`radius_m` overrides it)."""


def in_sequence(orders: list[tuple[datetime, int]]) -> list[int]:
    """The order ids of (promised_at, id) pairs in the sequence a rider delivers them: earliest
    promise first, then the older order. By promise rather than nearest-next: the sequence
    does not flip with GPS jitter, and the order most at risk goes first."""
    return [order_id for _, order_id in sorted(orders)]


async def advance(
    session: AsyncSession,
    moves: list[tuple[RiderRow, list[PositionPoint]]],
    *,
    still_radius_m: float,
) -> None:
    """Take each rider's new fixes (newer than their cached last fix, oldest first) into
    account. Call before the cached last fix moves on: it is where the new ones start from."""
    moves = [(rider, fixes) for rider, fixes in moves if fixes]
    if not moves:
        return
    for rider, fixes in moves:
        _track_stillness(rider, fixes, still_radius_m)
    by_rider = {rider.id: (rider, fixes) for rider, fixes in moves}
    out = (
        await session.execute(
            select(OrderRow.id, OrderRow.rider_id, OrderRow.lat, OrderRow.lng).where(
                OrderRow.rider_id.in_(sorted(by_rider)),
                OrderRow.status == OrderState.DELIVERING,
            )
        )
    ).all()
    if not out:
        return
    kept = {
        row.order_id: row
        for row in await session.scalars(
            select(DeliveryProgressRow).where(DeliveryProgressRow.order_id.in_([o.id for o in out]))
        )
    }
    for order_id, rider_id, lat, lng in out:
        rider, fixes = by_rider[rider_id]
        _progress(session, kept.get(order_id), order_id, rider, fixes, (lat, lng))


async def new_leg(session: AsyncSession, rider_id: int) -> None:
    """The rider finished a stop: the closest approach to each remaining customer counts from
    here (passing near stop B on the way to stop A is not being on the way to B)."""
    await session.execute(
        update(DeliveryProgressRow)
        .where(DeliveryProgressRow.rider_id == rider_id)
        .values(closest_m=DeliveryProgressRow.distance_m)
        .execution_options(synchronize_session=False)
    )


def _track_stillness(rider: RiderRow, fixes: list[PositionPoint], radius_m: float) -> None:
    for fix in fixes:
        anchor = (rider.still_lat, rider.still_lng)
        if anchor[0] is None or anchor[1] is None or metres(anchor, (fix.lat, fix.lng)) > radius_m:
            rider.still_lat, rider.still_lng, rider.still_since = fix.lat, fix.lng, fix.at


def _measured_kmh(rider: RiderRow, fixes: list[PositionPoint]) -> float | None:
    """The pace these fixes show: what the phones reported, else distance over time from the
    previous fix."""
    reported = [f.speed_kmh for f in fixes if f.speed_kmh is not None]
    if reported:
        return median(reported)
    if rider.last_lat is None or rider.last_lng is None or rider.last_fix_at is None:
        return None
    newest = fixes[-1]
    hours = (newest.at - rider.last_fix_at).total_seconds() / 3600
    if hours <= 0:
        return None
    return metres((rider.last_lat, rider.last_lng), (newest.lat, newest.lng)) / 1000 / hours


def _progress(
    session: AsyncSession,
    row: DeliveryProgressRow | None,
    order_id: int,
    rider: RiderRow,
    fixes: list[PositionPoint],
    customer: tuple[float, float],
) -> None:
    newest = fixes[-1]
    distance = metres((newest.lat, newest.lng), customer)
    nearest = min(metres((f.lat, f.lng), customer) for f in fixes)
    measured = _measured_kmh(rider, fixes)
    if row is None or row.rider_id != rider.id:
        # A new delivery, or another rider took it over: their approach starts now.
        pace = measured if measured is not None else NOMINAL_KMH
        row = row or DeliveryProgressRow(order_id=order_id)
        row.rider_id, row.closest_m = rider.id, nearest
        session.add(row)
    else:
        pace = row.speed_kmh
        if measured is not None:
            pace = (1 - PACE_WEIGHT) * pace + PACE_WEIGHT * measured
        row.closest_m = min(row.closest_m, nearest)
    row.speed_kmh = max(MIN_KMH, min(MAX_KMH, pace))
    row.distance_m = distance
    row.fix_at = newest.at
    row.eta_at = eta(newest.at, distance, row.speed_kmh)


def eta(from_at: datetime, distance_m: float, kmh: float) -> datetime:
    """Arrival from `from_at`, `distance_m` away at `kmh`, plus the handover."""
    return from_at + timedelta(hours=distance_m / 1000 / kmh) + HANDOVER
