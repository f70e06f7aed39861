"""Route: the deliveries an order travels in (merged with others, or split in parts)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanReadOrders
from backend.deps import DbDep
from backend.dispatch import deliveries
from backend.dispatch.models import DeliveryItemRow, DeliveryRow
from backend.orders.models import OrderItemRow
from backend.orders.service import load_order
from backend.paths import OrderId
from backend.responses import PROTECTED, errors
from backend_client.models import Delivery, DeliveryPart

router = APIRouter(tags=["dispatch"], responses=PROTECTED)


@router.get(
    "/orders/{order_id}/deliveries",
    response_model=list[Delivery],
    responses=errors({404: "No such order in your scope."}),
)
async def order_deliveries(
    order_id: OrderId,
    db: DbDep,
    principal: CanReadOrders,
) -> list[Delivery]:
    """The parcels the order travels in, oldest first: one; one shared with other orders of
    the same customer and address (or group-buy leader); or several when it was split."""
    async with db.read() as session:
        await load_order(session, order_id, principal)
        return [
            await delivery_view(session, d) for d in await deliveries.of_order(session, order_id)
        ]


async def delivery_view(
    session: AsyncSession, delivery: DeliveryRow | deliveries.DeliveryRecord
) -> Delivery:
    parts = (
        await session.execute(
            select(DeliveryItemRow, OrderItemRow.sku)
            .join(
                OrderItemRow,
                (OrderItemRow.order_id == DeliveryItemRow.order_id)
                & (OrderItemRow.line == DeliveryItemRow.line),
            )
            .where(DeliveryItemRow.delivery_id == delivery.id)
            .order_by(DeliveryItemRow.order_id, DeliveryItemRow.line)
        )
    ).all()
    return Delivery(
        id=delivery.id,
        status=delivery.status,
        warehouse_id=delivery.warehouse_id,
        rider_id=delivery.rider_id,
        weight_g=delivery.weight_g,
        cold_chain=delivery.cold_chain,
        orders=sorted({item.order_id for item, _ in parts}),
        parts=[
            DeliveryPart(
                order_id=item.order_id,
                sku=sku,
                quantity=item.quantity,
                weight_g=item.weight_g,
                cold_chain=item.cold_chain,
            )
            for item, sku in parts
        ],
        opened_at=delivery.opened_at,
    )
