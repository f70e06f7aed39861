"""How riders are getting on, from each fix that moves them forward: whether they are standing
still, and for every order they have out for delivery how far its customer is, the nearest they
have come, whether they arrived, and when they should arrive, stop after stop in their sequence.
The alert rules read what this keeps; ETAs worth telling go out as `order.eta` events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any, ClassVar

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.eta import features
from backend.eta.features import HANDOVER, NOMINAL_KMH
from backend.eta.predictor import EtaPredictor, straight
from backend.inventory.models import WarehouseRow
from backend.orders.models import OrderRow
from backend.realtime.outbox import append_event
from backend.riders import geofences
from backend.riders.geo import metres
from backend.riders.geofences import RiderEvent
from backend.riders.models import DeliveryProgressRow, RiderRow, RouteStopRow
from backend.sql import Query, sql_of
from backend_client.geo import flat_metres
from backend_client.models import OrderState, PositionPoint

ETA_EVERY = timedelta(seconds=30)
"""An order's `order.eta` goes out at most this often..."""
ETA_JUMP = timedelta(minutes=3)
"""...unless it moved this much, or predicted-late flipped..."""
ETA_NUDGE = timedelta(minutes=1)
"""...and a smaller move than this is not worth one at all."""
DEFAULT_STILL_RADIUS_M = 50.0
"""Fixes this close to where a rider stopped count as standing still (the stationary rule's
`radius_m` overrides it)."""


async def advance(
    session: AsyncSession,
    moves: list[tuple[RiderRow, list[PositionPoint]]],
    *,
    still_radius_m: float,
    actor: Principal,
    now: datetime,
    eta: EtaPredictor | None = None,
) -> None:
    """Take each rider's new fixes (newer than their cached last fix, oldest first) into
    account, and record what they crossed (arrivals, the warehouse fence) and the ETAs worth
    publishing. Call before the cached last fix moves on: it is where the new ones start from.
    A few queries per call whatever the number of riders: the fleet relay's batches are big.
    ETAs come from `eta` (one model call for the batch); without one, the straight line."""
    moves = [(rider, fixes) for rider, fixes in moves if fixes]
    if not moves:
        return
    for rider, fixes in moves:
        _track_stillness(rider, fixes, still_radius_m)
    warehouses = {
        warehouse_id: (lat, lng)
        for warehouse_id, lat, lng in await session.execute(
            select(WarehouseRow.id, WarehouseRow.lat, WarehouseRow.lng).where(
                WarehouseRow.id.in_(sorted({rider.warehouse_id for rider, _ in moves}))
            )
        )
    }
    news = [
        item
        for rider, fixes in moves
        if rider.warehouse_id in warehouses
        for item in geofences.warehouse_crossings(rider, fixes, warehouses[rider.warehouse_id])
    ]
    by_rider = {rider.id: (rider, fixes) for rider, fixes in moves}
    out = (
        await session.execute(
            select(*Delivery.COLUMNS)
            .outerjoin(
                RouteStopRow,
                and_(
                    RouteStopRow.order_id == OrderRow.id,
                    RouteStopRow.rider_id == OrderRow.rider_id,
                ),
            )
            .where(
                OrderRow.rider_id.in_(sorted(by_rider)),
                OrderRow.status == OrderState.DELIVERING,
            )
        )
    ).all()
    if out:
        kept = {
            row.order_id: row
            for row in await session.scalars(
                select(DeliveryProgressRow).where(
                    DeliveryProgressRow.order_id.in_([o.id for o in out])
                )
            )
        }
        queues: dict[int, list[Delivery]] = {}
        for columns in out:
            delivery = Delivery(*columns)
            queues.setdefault(delivery.rider_id, []).append(delivery)
        pending: list[_Pending] = []
        for rider_id, queue in queues.items():
            rider, fixes = by_rider[rider_id]
            news += _progress(session, kept, rider, fixes, queue, pending)
        news += _estimate(pending, eta, now)
    for item in news:
        await append_event(
            session,
            kind=item.kind,
            actor=actor,
            at=now,
            order_id=item.order_id,
            rider_id=item.rider_id,
            warehouse_id=item.warehouse_id,
            payload=item.payload,
        )


NEW_LEG = Query("UPDATE delivery_progress SET closest_m = distance_m WHERE rider_id = :rider_id")


async def new_leg(session: AsyncSession, rider_id: int) -> None:
    """The rider finished a stop: the closest approach to each remaining customer counts from
    here (passing near stop B on the way to stop A is not being on the way to B)."""
    await sql_of(session).run(NEW_LEG, {"rider_id": rider_id})


def _track_stillness(rider: RiderRow, fixes: list[PositionPoint], radius_m: float) -> None:
    for fix in fixes:
        lat, lng = rider.still_lat, rider.still_lng
        if lat is None or lng is None or flat_metres((lat, lng), (fix.lat, fix.lng)) > radius_m:
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """An order out for delivery, as much of it as progress needs."""

    id: int
    rider_id: int
    lat: float
    lng: float
    promised_at: datetime
    version: int
    channel: str
    zone: str
    warehouse_id: str
    weight_g: int
    cold_chain: bool
    place: int | None
    """In the order the dispatcher set for the rider's stops (None: not set)."""

    COLUMNS: ClassVar[tuple[Any, ...]] = (
        OrderRow.id,
        OrderRow.rider_id,
        OrderRow.lat,
        OrderRow.lng,
        OrderRow.promised_at,
        OrderRow.version,
        OrderRow.channel,
        OrderRow.zone,
        OrderRow.warehouse_id,
        OrderRow.weight_g,
        OrderRow.cold_chain,
        RouteStopRow.position,
    )


@dataclass(frozen=True, slots=True)
class _Pending:
    """A delivery whose new ETA waits for the model (one call for the whole batch)."""

    row: DeliveryProgressRow
    order: Delivery
    leg: features.Leg
    at: datetime
    pace: float
    rider_id: int


def _progress(
    session: AsyncSession,
    kept: dict[int, DeliveryProgressRow],
    rider: RiderRow,
    fixes: list[PositionPoint],
    queue: list[Delivery],
    pending: list[_Pending],
) -> list[RiderEvent]:
    """One rider's deliveries after their new fixes: each order's distance, closest approach
    and arrival, and its straight-line ETA chained along the rider's sequence (the ETA of the
    stop before, the leg from it at the rider's pace, the handover), which the model then
    corrects (`_estimate`)."""
    newest = fixes[-1]
    here = (newest.lat, newest.lng)
    pace = _rider_pace(rider, fixes, [kept.get(d.id) for d in queue])
    orders = {d.id: d for d in queue}
    news = []
    stops = []
    for order in queue:
        row = kept.get(order.id)
        pickup = _pickup(row, rider)
        if pickup is not None and geofences.first_arrival(fixes, pickup)[1] <= geofences.ARRIVAL_M:
            assert row is not None
            row.pickup_lat = row.pickup_lng = None  # the goods are on board again
            news.append(
                _order_event("order.collected", order, {"lat": pickup[0], "lng": pickup[1]})
            )
            pickup = None
        stops.append(
            features.Stop(
                order.id,
                order.lat,
                order.lng,
                order.promised_at,
                order.zone,
                order.weight_g,
                order.cold_chain,
                pickup,
                order.place,
            )
        )
    for leg in features.chain(here, newest.at, pace, stops):
        order = orders[leg.stop.order_id]
        customer = (order.lat, order.lng)
        row = kept.get(order.id)
        # Approaching the customer counts once the goods are on board.
        fix, nearest = geofences.first_arrival(fixes, customer)
        if leg.stop.pickup is not None:
            fix, nearest = newest, metres(here, customer)
        if row is None or row.rider_id != rider.id:
            # A new delivery, or another rider took it over: their approach starts now.
            row = row or DeliveryProgressRow(order_id=order.id)
            row.rider_id, row.closest_m, row.arrived_at = rider.id, nearest, None
            row.eta_sent_at = row.eta_sent = row.late_sent = None
            row.pickup_lat = row.pickup_lng = None
            session.add(row)
            kept[order.id] = row
        elif leg.stop.pickup is None:
            row.closest_m = min(row.closest_m, nearest)
        row.speed_kmh = pace
        row.distance_m = leg.distance_m
        row.fix_at = newest.at
        row.sequence = leg.place
        if row.arrived_at is None and leg.stop.pickup is None and nearest <= geofences.ARRIVAL_M:
            row.arrived_at = fix.at
            news.append(
                _order_event(
                    "order.arrived",
                    order,
                    {
                        "distance_m": round(nearest, 1),
                        "lat": fix.lat,
                        "lng": fix.lng,
                        "fix_at": fix.at.isoformat(),
                    },
                )
            )
        pending.append(_Pending(row, order, leg, newest.at, pace, rider.id))
    return news


def _estimate(
    pending: list[_Pending], predictor: EtaPredictor | None, now: datetime
) -> list[RiderEvent]:
    """Every waiting delivery's ETA and delay risk, from one model call; the `order.eta`
    events worth publishing."""
    if predictor is None:
        estimates = [straight(p.leg) for p in pending]
    else:
        estimates = predictor.estimate([(p.leg, p.at, p.pace, p.rider_id) for p in pending])
    news = []
    for item, estimate in zip(pending, estimates, strict=True):
        row = item.row
        row.eta_at, row.late_risk = estimate.eta_at, estimate.late_risk
        late = estimate.late
        if _worth_publishing(row, late, now):
            row.eta_sent_at, row.eta_sent, row.late_sent = now, estimate.eta_at, late
            payload = {
                "eta": estimate.eta_at.isoformat(),
                "predicted_late": late,
                "late_risk": estimate.late_risk,
                "distance_m": round(row.distance_m, 1),
                "sequence": row.sequence,
            }
            news.append(_order_event("order.eta", item.order, payload))
    return news


def _pickup(row: DeliveryProgressRow | None, rider: RiderRow) -> tuple[float, float] | None:
    """Where this rider still has to collect the order's goods, if not at the warehouse."""
    if row is None or row.rider_id != rider.id or row.pickup_lat is None or row.pickup_lng is None:
        return None
    return (row.pickup_lat, row.pickup_lng)


async def goods_left_at(
    session: AsyncSession,
    order_id: int,
    customer: tuple[float, float],
    rider: RiderRow,
    pickup: tuple[float, float],
    *,
    now: datetime,
) -> DeliveryProgressRow:
    """An order out for delivery changed rider on the road: its goods wait at `pickup` (where
    the rider before left the road) for `rider`, whose distance and ETA go via it until they
    have been there. Worked out now at the nominal pace, from the rider's last fix."""
    row = await session.get(DeliveryProgressRow, order_id, with_for_update=True)
    if row is None:
        row = DeliveryProgressRow(order_id=order_id)
        session.add(row)
    lat, lng = rider.last_lat, rider.last_lng
    to_goods = 0.0 if lat is None or lng is None else metres((lat, lng), pickup)
    row.rider_id = rider.id
    row.pickup_lat, row.pickup_lng = pickup
    row.distance_m = row.closest_m = to_goods + metres(pickup, customer)
    row.speed_kmh = NOMINAL_KMH
    # Collecting the goods is a handover of its own.
    row.eta_at = eta(now, row.distance_m, NOMINAL_KMH) + HANDOVER
    row.late_risk = None  # its promise is the caller's to weigh (orders.service._announce_eta)
    row.fix_at, row.sequence, row.arrived_at = now, 1, None
    row.eta_sent_at = row.eta_sent = row.late_sent = None
    await session.flush()
    return row


def _order_event(kind: str, order: Delivery, payload: dict[str, Any]) -> RiderEvent:
    """An order's event: its version as it is (nothing of the order changed), channel and zone
    for the stream's scope and filters."""
    return RiderEvent(
        kind=kind,
        rider_id=order.rider_id,
        warehouse_id=order.warehouse_id,
        order_id=order.id,
        payload={"version": order.version, **payload, "channel": order.channel, "zone": order.zone},
    )


def _worth_publishing(row: DeliveryProgressRow, late: bool, now: datetime) -> bool:
    """Whether the order's new ETA goes out: the first one; a flip of predicted-late or a jump
    at once; any other change of note at most once every ETA_EVERY."""
    if row.eta_sent_at is None or row.eta_sent is None or row.late_sent is None:
        return True
    change = abs(row.eta_at - row.eta_sent)
    if late != row.late_sent or change >= ETA_JUMP:
        return True
    return now - row.eta_sent_at >= ETA_EVERY and change >= ETA_NUDGE


def _rider_pace(
    rider: RiderRow, fixes: list[PositionPoint], rows: list[DeliveryProgressRow | None]
) -> float:
    """The pace the rider's ETAs are worked out at: the one kept on their deliveries, moved a
    little by what these fixes show; what they show (or NOMINAL_KMH) for a first delivery."""
    known = [row.speed_kmh for row in rows if row is not None and row.rider_id == rider.id]
    kept = sum(known) / len(known) if known else None
    return features.next_pace(kept, _measured_kmh(rider, fixes))


eta = features.straight_line
