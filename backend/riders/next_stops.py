"""A rider's next stops: their orders out for delivery in the sequence their ETAs are chained
in (the dispatcher's order where they set one, `backend/routes/`), with what the newest fix
made of each (see `progress`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.eta.features import in_sequence
from backend.orders.models import OrderRow
from backend.riders.models import DeliveryProgressRow, RouteStopRow
from backend.riders.service import load_rider
from backend_client.models import LATE_RISK, OrderState, RiderRoute, RouteStop


async def rider_route(
    session: AsyncSession, rider_id: int, principal: Principal, *, now: datetime
) -> RiderRoute:
    """The rider's orders out for delivery, next first (NotFound outside your scope).

    An order with no fix since it went out has no ETA yet; it counts as predicted late only
    once its promise has passed. Otherwise its delay risk says (backend/eta/).
    """
    await load_rider(session, rider_id, principal)
    rows = (
        await session.execute(
            select(OrderRow, DeliveryProgressRow, RouteStopRow.position)
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
            .where(OrderRow.rider_id == rider_id, OrderRow.status == OrderState.DELIVERING)
        )
    ).all()
    by_id = {order.id: (order, progress) for order, progress, _ in rows}
    placed = {order.id: place for order, _, place in rows if place is not None}
    stops = []
    for order_id in in_sequence([(order.promised_at, order.id) for order, _, _ in rows], placed):
        order, progress = by_id[order_id]
        eta = progress.eta_at if progress is not None else None
        risk = progress.late_risk if progress is not None else None
        late = (eta or now) > order.promised_at if risk is None else risk >= LATE_RISK
        stops.append(
            RouteStop(
                order_id=order.id,
                lat=order.lat,
                lng=order.lng,
                eta=eta,
                distance_m=round(progress.distance_m, 1) if progress is not None else None,
                promised_at=order.promised_at,
                predicted_late=late,
                late_risk=risk,
                pickup_lat=progress.pickup_lat if progress is not None else None,
                pickup_lng=progress.pickup_lng if progress is not None else None,
            )
        )
    return RiderRoute(rider_id=rider_id, at=now, stops=stops)
