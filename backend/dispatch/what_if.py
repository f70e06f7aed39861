"""What a reassignment does before it is confirmed: for each candidate rider, the order put into
their route in the order the rider rides it (`features.in_sequence`: the dispatcher's kept
order, then earliest promise), the route's ETAs chained again with the straight-line estimate
(`features.straight_line`, the learned model's fallback, at the rider's kept pace), and the
orders on that route that are on time now and would be late with it.

Two queries for all the candidates together (their routes, and where those without a fix
stand), whatever their number: the dialog asks once, not once per rider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.eta import features
from backend.inventory.models import WarehouseRow
from backend.orders.models import OrderRow
from backend.riders.geo import LatLng, metres
from backend.riders.models import DeliveryProgressRow, RiderRow, RouteStopRow
from backend_client.models import MadeLate, OrderState, RouteWhatIf


@dataclass(frozen=True, slots=True)
class Stop:
    """A customer on a route, and where the goods must be collected first (None: on board)."""

    order_id: int
    customer: LatLng
    promised_at: datetime
    pickup: LatLng | None = None
    place: int | None = None
    """In the order the dispatcher kept for the rider's stops (None: not in it)."""


def sequence_of(stops: list[Stop]) -> list[int]:
    """The stops in the order the rider rides them (`features.in_sequence`): the dispatcher's
    kept order first, the rest by promise."""
    placed = {s.order_id: s.place for s in stops if s.place is not None}
    return features.in_sequence([(s.promised_at, s.order_id) for s in stops], placed)


def chain(start: datetime, here: LatLng, stops: list[Stop], kmh: float) -> dict[int, datetime]:
    """Each stop's arrival, stop after stop in `in_sequence` order from `here` at `start`: the
    leg from the stop before (via the pick-up, with its own handover, where there is one)."""
    by_id = {stop.order_id: stop for stop in stops}
    arrivals: dict[int, datetime] = {}
    arrival, leg_from = start, here
    for order_id in sequence_of(stops):
        stop = by_id[order_id]
        if stop.pickup is not None:
            arrival = features.straight_line(
                arrival, metres(leg_from, stop.pickup), kmh
            )  # collecting
            leg_from = stop.pickup
        arrival = features.straight_line(arrival, metres(leg_from, stop.customer), kmh)
        arrivals[order_id] = arrival
        leg_from = stop.customer
    return arrivals


def what_if(
    start: datetime, here: LatLng, route: list[Stop], added: Stop, kmh: float
) -> RouteWhatIf:
    """The route with `added` in it, against the route as it is."""
    before = chain(start, here, route, kmh)
    after = chain(start, here, [*route, added], kmh)
    sequence = sequence_of([*route, added])
    made_late = [
        MadeLate(
            order_id=stop.order_id,
            promised_at=stop.promised_at,
            eta_before=before[stop.order_id],
            eta_after=after[stop.order_id],
        )
        for stop in sorted(route, key=lambda s: (s.promised_at, s.order_id))
        if before[stop.order_id] <= stop.promised_at < after[stop.order_id]
    ]
    eta = after[added.order_id]
    return RouteWhatIf(
        eta=eta,
        stop=sequence.index(added.order_id) + 1,
        stops=len(sequence),
        late=eta > added.promised_at,
        made_late=made_late,
    )


async def what_ifs(
    session: AsyncSession, riders: list[RiderRow], added: Stop, *, now: datetime
) -> dict[int, RouteWhatIf]:
    """`what_if` for each rider: their orders out for delivery as their route, from their last
    fix (their warehouse without one), at the pace kept on those deliveries (nominal if none)."""
    if not riders:
        return {}
    ids = [rider.id for rider in riders]
    rows = (
        await session.execute(
            select(
                OrderRow.id,
                OrderRow.rider_id,
                OrderRow.lat,
                OrderRow.lng,
                OrderRow.promised_at,
                DeliveryProgressRow.speed_kmh,
                DeliveryProgressRow.pickup_lat,
                DeliveryProgressRow.pickup_lng,
                RouteStopRow.position,
            )
            .outerjoin(
                DeliveryProgressRow,
                and_(
                    DeliveryProgressRow.order_id == OrderRow.id,
                    DeliveryProgressRow.rider_id == OrderRow.rider_id,
                ),
            )
            .outerjoin(
                RouteStopRow,
                and_(
                    RouteStopRow.order_id == OrderRow.id,
                    RouteStopRow.rider_id == OrderRow.rider_id,
                ),
            )
            .where(
                OrderRow.rider_id.in_(ids),
                OrderRow.status == OrderState.DELIVERING,
                OrderRow.id != added.order_id,
            )
        )
    ).all()
    routes: dict[int, list[Stop]] = {rider_id: [] for rider_id in ids}
    paces: dict[int, list[float]] = {rider_id: [] for rider_id in ids}
    for order_id, rider_id, lat, lng, promised_at, kmh, pickup_lat, pickup_lng, place in rows:
        assert rider_id is not None  # chosen by rider
        pickup = None
        if pickup_lat is not None and pickup_lng is not None:
            pickup = (pickup_lat, pickup_lng)
        routes[rider_id].append(Stop(order_id, (lat, lng), promised_at, pickup, place))
        if kmh is not None:
            paces[rider_id].append(kmh)
    unfixed = {r.warehouse_id for r in riders if r.last_lat is None or r.last_lng is None}
    bases: dict[str, LatLng] = {}
    if unfixed:
        found = await session.execute(
            select(WarehouseRow.id, WarehouseRow.lat, WarehouseRow.lng).where(
                WarehouseRow.id.in_(sorted(unfixed))
            )
        )
        bases = {warehouse_id: (lat, lng) for warehouse_id, lat, lng in found.all()}
    answers = {}
    for rider in riders:
        if rider.last_lat is not None and rider.last_lng is not None:
            here = (rider.last_lat, rider.last_lng)
        elif rider.warehouse_id in bases:
            here = bases[rider.warehouse_id]
        else:
            continue
        kept = paces[rider.id]
        kmh = features.clamp_kmh(sum(kept) / len(kept) if kept else features.NOMINAL_KMH)
        answers[rider.id] = what_if(now, here, routes[rider.id], added, kmh)
    return answers
