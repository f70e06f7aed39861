"""Route: what the customers of an order were told, and what failed to reach them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from backend.auth.deps import CanReadNotifications
from backend.deps import DbDep
from backend.errors import NotFound
from backend.notifications.models import NotificationRow
from backend.orders.models import OrderRow
from backend.responses import PROTECTED, errors
from backend_client.models import Notification, NotificationStatus

router = APIRouter(tags=["notifications"], responses=PROTECTED)


@router.get(
    "/notifications",
    response_model=list[Notification],
    responses=errors({404: "No such order."}),
)
async def list_notifications(
    db: DbDep,
    _principal: CanReadNotifications,
    order_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: Annotated[
        list[NotificationStatus] | None, Query(description="Any of these; all if omitted.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[Notification]:
    """The customer notifications of one order (`order_id`), oldest first; without it the
    newest first over every order (e.g. `status=parked`: the ones that never got through)."""
    query = select(NotificationRow)
    if status:
        query = query.where(NotificationRow.status.in_([str(s) for s in status]))
    async with db.read() as session:
        if order_id is not None:
            if await session.scalar(select(OrderRow.id).where(OrderRow.id == order_id)) is None:
                raise NotFound(f"no order {order_id}")
            query = query.where(NotificationRow.order_id == order_id).order_by(NotificationRow.id)
        else:
            query = query.order_by(NotificationRow.id.desc())
        rows = (await session.scalars(query.limit(limit))).all()
        return [Notification.model_validate(r, from_attributes=True) for r in rows]
