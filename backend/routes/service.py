"""A rider's route: what they have to collect and drop (read from their orders, parcels and
the dispatcher's locks), the optimiser's plan of it, and the dispatcher's order and locks
written back (version-checked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.dispatch.models import DeliveryItemRow, DeliveryRow
from backend.dispatch.parcels import Limits
from backend.errors import Conflict, StaleVersion, Unprocessable
from backend.inventory.models import WarehouseRow
from backend.orders.models import OrderRow
from backend.realtime.outbox import append_event
from backend.riders.models import DeliveryProgressRow, RiderRow
from backend.riders.service import load_rider
from backend.routes.models import RiderRouteRow, RouteStopRow
from backend.routes.optimiser import Broken, Kind, Plan, Problem, Stop, check
from backend_client.models import OrderState, PlannedVisit, PlanSource, RouteOrder, RoutePlan
from backend_client.models import VisitKind as WireKind

ON_ROUTE = (OrderState.PICKING, OrderState.DELIVERING)


@dataclass(frozen=True, slots=True)
class StopFacts:
    """One order on the rider's route, as read."""

    order_id: int
    lat: float
    lng: float
    promised_at: datetime
    weight_g: int
    cold_weight_g: int
    pickup: tuple[float, float] | None
    locked_at: int | None
    """Its place among the drops, if a dispatcher locked it there."""


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """Everything a plan of the rider's route is made from."""

    rider_id: int
    start: tuple[float, float]
    capacity: int
    cold_box: bool
    version: int
    stops: tuple[StopFacts, ...]

    def problem(self, limits: Limits, now: datetime) -> Problem:
        return Problem(
            start=self.start,
            stops=tuple(
                Stop(
                    s.order_id,
                    (s.lat, s.lng),
                    (s.promised_at - now).total_seconds(),
                    s.weight_g,
                    s.cold_weight_g,
                    s.pickup,
                )
                for s in self.stops
            ),
            limits=limits,
            capacity=self.capacity,
            cold_box=self.cold_box,
            locked={s.order_id: s.locked_at for s in self.stops if s.locked_at is not None},
        )


async def route_facts(
    session: AsyncSession, rider_id: int, principal: Principal, *, for_update: bool = False
) -> RouteFacts:
    """The rider's orders being picked for them or out with them, with their parcels' weight
    (this rider's parts of a split order only) and the dispatcher's locks. NotFound outside
    the caller's scope."""
    rider = await load_rider(session, rider_id, principal, for_update=for_update)
    home = (
        await session.execute(
            select(WarehouseRow.lat, WarehouseRow.lng).where(WarehouseRow.id == rider.warehouse_id)
        )
    ).one()
    start = (
        (rider.last_lat, rider.last_lng)
        if rider.last_lat is not None and rider.last_lng is not None
        else (home[0], home[1])
    )
    rows = (
        await session.execute(
            select(
                OrderRow,
                WarehouseRow.lat,
                WarehouseRow.lng,
                DeliveryProgressRow.pickup_lat,
                DeliveryProgressRow.pickup_lng,
                RouteStopRow.position,
                RouteStopRow.locked,
            )
            .join(WarehouseRow, WarehouseRow.id == OrderRow.warehouse_id)
            .outerjoin(
                DeliveryProgressRow,
                and_(
                    DeliveryProgressRow.order_id == OrderRow.id,
                    DeliveryProgressRow.rider_id == OrderRow.rider_id,
                ),
            )
            .outerjoin(
                RouteStopRow,
                and_(RouteStopRow.order_id == OrderRow.id, RouteStopRow.rider_id == rider_id),
            )
            .where(OrderRow.rider_id == rider_id, OrderRow.status.in_(ON_ROUTE))
            .order_by(OrderRow.id)
        )
    ).all()
    ids = [order.id for order, *_ in rows]
    weights = {
        order_id: (int(weight or 0), int(cold or 0))
        for order_id, weight, cold in await session.execute(
            select(
                DeliveryItemRow.order_id,
                func.sum(DeliveryItemRow.weight_g),
                func.sum(case((DeliveryItemRow.cold_chain, DeliveryItemRow.weight_g), else_=0)),
            )
            .join(DeliveryRow, DeliveryRow.id == DeliveryItemRow.delivery_id)
            .where(
                DeliveryItemRow.order_id.in_(ids),
                DeliveryRow.rider_id == rider_id,
                DeliveryRow.status != "done",
            )
            .group_by(DeliveryItemRow.order_id)
        )
    }
    # Locks count among the stops still out, in the order the dispatcher set.
    locked = sorted(
        (position, order.id) for order, *_, position, lock in rows if position is not None and lock
    )
    placed = sorted((position, order.id) for order, *_, position, _ in rows if position is not None)
    place_of = {order_id: n for n, (_, order_id) in enumerate(placed)}
    locked_at = {order_id: place_of[order_id] for _, order_id in locked}
    stops = []
    for order, wh_lat, wh_lng, left_lat, left_lng, _, _ in rows:
        if order.status == OrderState.PICKING:
            pickup: tuple[float, float] | None = (wh_lat, wh_lng)
        elif left_lat is not None and left_lng is not None:
            pickup = (left_lat, left_lng)  # the goods wait where the rider before left them
        else:
            pickup = None
        weight, cold = weights.get(order.id, (0, 0))
        stops.append(
            StopFacts(
                order.id, order.lat, order.lng, order.promised_at, weight, cold, pickup,
                locked_at.get(order.id),
            )
        )  # fmt: skip
    version = await session.scalar(
        select(RiderRouteRow.version).where(RiderRouteRow.rider_id == rider_id)
    )
    return RouteFacts(rider.id, start, rider.capacity, rider.cold_chain, version or 0, tuple(stops))


def plan_view(facts: RouteFacts, plan: Plan, baseline_metres: float, *, now: datetime) -> RoutePlan:
    """The wire form of a plan of the rider's route."""
    stops = {s.order_id: s for s in facts.stops}
    visits = []
    for visit in plan.visits:
        stop = stops[visit.order_id]
        eta = now + timedelta(seconds=visit.eta_s)
        where = (stop.lat, stop.lng) if visit.kind is Kind.DROP else stop.pickup
        assert where is not None
        visits.append(
            PlannedVisit(
                kind=WireKind(visit.kind.value),
                order_id=stop.order_id,
                lat=where[0],
                lng=where[1],
                eta=eta,
                promised_at=stop.promised_at,
                predicted_late=visit.kind is Kind.DROP and eta > stop.promised_at,
                locked=stop.locked_at is not None and visit.kind is Kind.DROP,
                weight_g=stop.weight_g,
                cold_weight_g=stop.cold_weight_g,
            )
        )
    return RoutePlan(
        rider_id=facts.rider_id,
        at=now,
        version=facts.version,
        source=PlanSource(plan.source.value),
        why=plan.why,
        km=round(plan.metres / 1000, 2),
        late_minutes=round(plan.late_s / 60, 1),
        promise_order_km=round(baseline_metres / 1000, 2),
        visits=visits,
    )


async def set_route_order(
    session: AsyncSession,
    rider_id: int,
    body: RouteOrder,
    *,
    limits: Limits,
    actor: Principal,
    now: datetime,
) -> RouteFacts:
    """Keep the dispatcher's order of the rider's stops and which of them are locked. Refused:
    a stale `version` (409), a list that is not exactly the rider's stops now (409: the route
    changed since it was read), locks that cannot be kept within the rider's limits (422)."""
    facts = await route_facts(session, rider_id, actor, for_update=True)
    if body.version != facts.version:
        raise StaleVersion(
            f"rider {rider_id}'s route changed since you read it (version {facts.version})",
            current_version=facts.version,
        )
    theirs = {s.order_id for s in facts.stops}
    named = [s.order_id for s in body.stops]
    if set(named) != theirs:
        missing, foreign = sorted(theirs - set(named)), sorted(set(named) - theirs)
        raise Conflict(
            f"rider {rider_id}'s stops are {sorted(theirs)} now"
            + (f"; missing {missing}" if missing else "")
            + (f"; not theirs {foreign}" if foreign else ""),
            current_version=facts.version,
        )
    locks = {s.order_id: n for n, s in enumerate(body.stops) if s.locked}
    problem = facts.problem(limits, now)
    wanted = Problem(
        problem.start, problem.stops, limits, problem.capacity, problem.cold_box, locks
    )
    by_id = {s.order_id: s for s in facts.stops}
    visits: list[tuple[Kind, int]] = []
    for order_id in named:
        if by_id[order_id].pickup is not None:
            visits.append((Kind.PICKUP, order_id))
        visits.append((Kind.DROP, order_id))
    try:
        check(wanted, visits)
    except Broken as broken:
        raise Unprocessable(f"that order cannot be ridden: {broken}") from None
    await session.execute(
        delete(RouteStopRow).where(
            (RouteStopRow.rider_id == rider_id) | RouteStopRow.order_id.in_(named)
        )
    )
    session.add_all(
        RouteStopRow(order_id=s.order_id, rider_id=rider_id, position=n, locked=s.locked)
        for n, s in enumerate(body.stops)
    )
    row = await session.get(RiderRouteRow, rider_id)
    if row is None:
        row = RiderRouteRow(rider_id=rider_id, version=0, set_by=actor.username, set_at=now)
        session.add(row)
    row.version += 1
    row.set_by, row.set_at = actor.username, now
    await session.flush()
    rider = await session.get(RiderRow, rider_id)
    assert rider is not None
    await append_event(
        session,
        kind="rider.route",
        actor=actor,
        at=now,
        rider_id=rider_id,
        warehouse_id=rider.warehouse_id,
        payload={"stops": named, "locked": sorted(locks), "version": row.version},
    )
    return await route_facts(session, rider_id, actor)
