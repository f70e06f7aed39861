"""Requests as the wire shows them, the events that announce them, and withdrawing the ones an
order leaves behind. Kept apart from `service` so the order lifecycle can withdraw a request
without importing the desk's decisions (which import the lifecycle)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.orders.models import OrderRow
from backend.orders.records import OrderRecord
from backend.realtime.outbox import append_event
from backend.returns.models import ReturnRequestRow
from backend.sql import Query, sql_of
from backend_client.models import RequestKind, RequestState, ReturnRequest


def request_view(row: ReturnRequestRow) -> ReturnRequest:
    """The return or claim as the API shows it: the row's columns by name, its items validated
    from the stored JSON (see `user_view`)."""
    return ReturnRequest.model_validate(row, from_attributes=True)


async def announce(
    session: AsyncSession,
    row: ReturnRequestRow,
    order: OrderRecord | OrderRow,
    what: str,
    *,
    actor: Principal,
    now: datetime,
    reason: str | None,
) -> None:
    """A `request.<what>` event on the order's timeline and the stream."""
    await session.flush()
    await append_event(
        session,
        kind=f"request.{what}",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=order.rider_id,
        warehouse_id=order.warehouse_id,
        to_state=row.state,
        reason=reason,
        payload={
            **request_view(row).model_dump(mode="json"),
            "channel": order.channel,
            "zone": order.zone,
        },
    )


ANY_PENDING = Query(
    "SELECT id FROM return_requests WHERE order_id = :order_id AND state = 'pending' "
    "AND kind <> 'complaint' LIMIT 1"
)
"""A return, claim or exchange waiting (a complaint waits whatever the order does)."""


async def withdraw_pending(
    session: AsyncSession,
    order: OrderRecord | OrderRow,
    *,
    actor: Principal,
    now: datetime,
    why: str,
) -> None:
    """The order left EXCEPTION some other way (the customer took the goods after all and the
    desk resumed it): a request still waiting could no longer be carried out, and left pending
    it would sit in the queue and block the next one, so it is withdrawn, by whoever moved the
    order. The caller holds the order's row lock."""
    if await sql_of(session).one(ANY_PENDING, {"order_id": order.id}) is None:
        return  # the usual case, told by one statement
    waiting = (
        await session.scalars(
            select(ReturnRequestRow)
            .where(
                ReturnRequestRow.order_id == order.id,
                ReturnRequestRow.state == RequestState.PENDING,
                ReturnRequestRow.kind != RequestKind.COMPLAINT,
            )
            .with_for_update()
        )
    ).all()
    for row in waiting:
        row.state = RequestState.WITHDRAWN
        row.decided_by, row.decided_at, row.decision_reason = actor.username, now, why
        row.version += 1
        await announce(session, row, order, "withdrawn", actor=actor, now=now, reason=why)
