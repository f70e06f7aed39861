"""Complaints: the customer is unhappy with the service (late, rude rider, wrong item, poor
quality). Opened by support or by the customer's channel (its refund reason told apart by
`reasons.category_of`), resolved by support with an apology, a voucher or a refund.

Unlike a return or a claim, a complaint never moves the order: it is opened for an order out
for delivery or in exception, or after it was signed within `after_sale_hours` (whatever
followed the signing: a complaint about the rider still stands once the goods came back), and
it neither blocks nor is blocked by the order's other requests. One complaint per category waits
per order at a time: a second one of the same category is the first one told again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import claim_limit_cents
from backend.auth.principal import Principal, system_principal
from backend.errors import Conflict, Forbidden, Unprocessable
from backend.orders import service as orders
from backend.orders.records import OrderRecord
from backend.returns.models import ReturnRequestRow
from backend.returns.records import announce
from backend.returns.service import check_version, load_request
from backend_client.models import (
    ComplaintCreate,
    ComplaintOutcome,
    ComplaintResolution,
    OrderState,
    RequestKind,
    RequestState,
)

S = OrderState
BEFORE_SIGNING = (S.DELIVERING, S.EXCEPTION)
"""An order the customer is waiting for: late, or the rider was rude at the door."""


async def open_complaint(
    session: AsyncSession,
    order_id: int,
    body: ComplaintCreate,
    *,
    actor: Principal,
    now: datetime,
    after_sale_window: timedelta,
) -> ReturnRequestRow:
    """A complaint about an order in the caller's scope, waiting for support; the order stays
    where it is. 409 outside the states and window above, or when the same category waits."""
    order = await orders.load_order(session, order_id, actor, for_update=True)
    check_complaint_window(order, now=now, window=after_sale_window)
    if body.amount_cents > order.amount_cents:
        raise Unprocessable(
            f"amount_cents: {body.amount_cents} is more than the order's {order.amount_cents}"
        )
    waiting = await session.scalar(
        select(ReturnRequestRow.id).where(
            ReturnRequestRow.order_id == order.id,
            ReturnRequestRow.kind == RequestKind.COMPLAINT,
            ReturnRequestRow.category == body.category,
            ReturnRequestRow.state == RequestState.PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(
            f"order {order.id} already has a {body.category} complaint waiting (request {waiting})",
            request_id=waiting,
        )
    row = ReturnRequestRow(
        kind=RequestKind.COMPLAINT,
        state=RequestState.PENDING,
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        reason=body.reason,
        items=[],
        amount_cents=body.amount_cents,
        opened_by=actor.username,
        opened_role=str(actor.role),
        opened_at=now,
        version=1,
        after_sale=order.signed_at is not None,
        category=body.category,
    )
    session.add(row)
    await announce(session, row, order, "opened", actor=actor, now=now, reason=body.reason)
    return row


def check_complaint_window(order: OrderRecord, *, now: datetime, window: timedelta) -> None:
    """409 unless the order is out for delivery or in exception, or was signed at most
    `window` ago."""
    if order.signed_at is None:
        if order.status in BEFORE_SIGNING:
            return
        raise Conflict(
            f"a complaint is opened for an order out for delivery or in exception, or after it "
            f"was signed; order {order.id} is {order.status}",
            from_state=order.status,
        )
    closes = order.signed_at + window
    if window <= timedelta(0) or now > closes:
        raise Conflict(
            f"order {order.id} was signed at {order.signed_at.isoformat()}; a complaint may be "
            f"opened up to {window.total_seconds() / 3600:g} h after that, until "
            f"{closes.isoformat()}: too late",
            from_state=order.status,
            closed_at=closes.isoformat(),
        )


async def resolve_complaint(
    session: AsyncSession,
    request_id: int,
    body: ComplaintResolution,
    *,
    actor: Principal,
    now: datetime,
) -> ReturnRequestRow:
    """Answer a waiting complaint with an outcome. A voucher or refund needs an amount (a
    refund no more than the order cost) within the role's claim limit; an apology has none."""
    row = await load_request(session, request_id, actor, for_update=True)
    if row.kind != RequestKind.COMPLAINT:
        raise Conflict(
            f"request {row.id} is a {row.kind}: approve or reject it; only complaints are resolved"
        )
    check_version(row, body.version, actor)
    if row.state != RequestState.PENDING:
        raise Conflict(f"complaint {row.id} was already {row.state} by {row.decided_by}")
    order = await orders.load_order(session, row.order_id, system_principal(), for_update=True)
    _check_amount(order, body, actor)
    row.state = RequestState.RESOLVED
    row.outcome = body.outcome
    row.outcome_cents = body.amount_cents
    row.decided_by, row.decided_at, row.decision_reason = actor.username, now, body.note
    row.version += 1
    await announce(session, row, order, "resolved", actor=actor, now=now, reason=_said(body))
    return row


def _check_amount(order: OrderRecord, body: ComplaintResolution, actor: Principal) -> None:
    if body.outcome == ComplaintOutcome.APOLOGY:
        if body.amount_cents:
            raise Unprocessable("amount_cents: an apology pays nothing; send 0 or leave it out")
        return
    if body.amount_cents <= 0:
        raise Unprocessable(f"amount_cents: a {body.outcome} needs an amount above 0")
    if body.outcome == ComplaintOutcome.REFUND and body.amount_cents > order.amount_cents:
        raise Unprocessable(
            f"amount_cents: {body.amount_cents} is more than the order's {order.amount_cents}"
        )
    limit = claim_limit_cents(actor.role)
    if limit is not None and body.amount_cents > limit:
        raise Forbidden(
            f"a {actor.role} grants up to {limit / 100:.2f}; this {body.outcome} is "
            f"{body.amount_cents / 100:.2f}, for a supervisor to decide"
        )


def _said(body: ComplaintResolution) -> str:
    """The resolution in a line for the order's timeline."""
    what = str(body.outcome)
    if body.amount_cents:
        what += f" of {body.amount_cents / 100:.2f}"
    return f"{what}: {body.note}" if body.note else what
