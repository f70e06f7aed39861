"""The rider asking the customer to sign on the tracking page: recorded on the link, and in the
log as `order.signature_requested` (the order itself does not change: its version stays)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict
from backend.orders.records import OrderRecord
from backend.realtime.outbox import append_event
from backend.sql import Query, sql_of
from backend_client.models import OrderState
from backend_client.models.tracking import SignatureRequest

ASKED = Query("UPDATE tracking_links SET sign_requested_at = :at WHERE order_id = :order_id")


async def ask(
    session: AsyncSession, order: OrderRecord, *, actor: Principal, now: datetime
) -> SignatureRequest:
    """Open the signature pad of `order`'s page (loaded in the caller's scope, locked)."""
    if order.status != OrderState.DELIVERING:
        raise Conflict(
            f"order {order.id} is {order.status}: a signature is asked for at the door, "
            "while DELIVERING",
            from_state=order.status,
        )
    if await sql_of(session).run(ASKED, {"at": now, "order_id": order.id}) == 0:
        raise Conflict(f"order {order.id} has no tracking link (made before links were)")
    await append_event(
        session,
        kind="order.signature_requested",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=order.rider_id,
        warehouse_id=order.warehouse_id,
        payload={"version": order.version, "channel": order.channel, "zone": order.zone},
    )
    return SignatureRequest(order_id=order.id, requested_at=now)
