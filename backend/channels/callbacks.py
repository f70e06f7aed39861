"""What a channel's status callback does to an order we hold.

Paid: the order is paid (stock reserved) if it waits for payment. Cancelled by the customer:
cancelled while nothing is picked yet; too late once picking began (the desk decides; the
order's timeline says so). Refund requested: kept on the timeline and in reconciliation, and
the order cancelled if that is still possible; a refund whose reason is a complaint (quality,
late, the rider, a wrong item: `returns.reasons`) about an order under way or delivered opens a
complaint for support as well. Nothing here refuses the platform: every callback is
acknowledged with what became of it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from backend.channels.adapter import CallbackKind, ChannelCallback
from backend.dispatch.ranking import Ranking
from backend.errors import Conflict
from backend.orders import service as orders
from backend.orders.lifecycle import RULES_BY_ACTION
from backend.orders.records import OrderRecord
from backend.realtime.outbox import append_event
from backend.returns.complaints import check_complaint_window, open_complaint
from backend.returns.reasons import category_of
from backend_client.models import (
    CallbackOutcome,
    ComplaintCreate,
    OrderAction,
    OrderState,
    TransitionRequest,
)

if TYPE_CHECKING:
    from backend.channels.intake import Intake

S = OrderState
CANCELLABLE = RULES_BY_ACTION[OrderAction.CANCEL].sources


async def apply_callback(
    session: AsyncSession, order: OrderRecord, callback: ChannelCallback, intake: Intake
) -> tuple[CallbackOutcome, str, OrderRecord]:
    """Apply the callback to the order (row locked by the caller); what became of it, and the
    order as it is now."""
    state = OrderState(order.status)
    channel = order.channel
    reason = f": {callback.reason}" if callback.reason else ""
    match callback.kind:
        case CallbackKind.PAID if state == S.CREATED:
            order = await _act(session, order, OrderAction.PAY, None, intake)
            return CallbackOutcome.APPLIED, f"order {order.id} paid: {order.status}", order
        case CallbackKind.PAID if state == S.CANCELLED:
            detail = f"order {order.id} was cancelled before the payment came: refund it"
            await _note(session, order, callback, f"{channel} says paid; {detail}", intake)
            return CallbackOutcome.REFUSED, detail, order
        case CallbackKind.PAID:
            return CallbackOutcome.IGNORED, f"order {order.id} is paid already ({state})", order
        case CallbackKind.CANCELLED if state == S.CANCELLED:
            return CallbackOutcome.IGNORED, f"order {order.id} is cancelled already", order
        case CallbackKind.CANCELLED if state in CANCELLABLE:
            why = f"{channel}: cancelled by the customer{reason}"
            order = await _act(session, order, OrderAction.CANCEL, why, intake)
            return CallbackOutcome.APPLIED, f"order {order.id} cancelled", order
        case CallbackKind.CANCELLED:
            detail = f"order {order.id} is {state}: too late to cancel; the desk decides"
            note = f"{channel}: the customer cancelled{reason}; {detail}"
            await _note(session, order, callback, note, intake)
            return CallbackOutcome.REFUSED, detail, order
        case CallbackKind.REFUND_REQUESTED:
            amount = (
                f" of {callback.amount_cents / 100:.2f} yuan"
                if callback.amount_cents is not None
                else ""
            )
            note = f"{channel}: the customer asks for a refund{amount}{reason}"
            await _note(session, order, callback, note, intake)
            if state in CANCELLABLE and state != S.CANCELLED:
                order = await _act(session, order, OrderAction.CANCEL, note, intake)
                return CallbackOutcome.APPLIED, f"order {order.id} cancelled for the refund", order
            complaint = await _complaint(session, order, callback, intake)
            if complaint is not None:
                detail = f"refund request{amount} kept for the desk; complaint {complaint} opened"
                return CallbackOutcome.RECORDED, detail, order
            return CallbackOutcome.RECORDED, f"refund request{amount} kept for the desk", order
    return CallbackOutcome.IGNORED, f"{callback.kind} does not apply to an order", order


async def _complaint(
    session: AsyncSession, order: OrderRecord, callback: ChannelCallback, intake: Intake
) -> int | None:
    """The complaint a refund's reason makes, opened for support; None when the reason makes
    none, the order is past the window, or the same complaint waits already."""
    category = category_of(callback.reason)
    if category is None or not callback.reason:
        return None
    window = timedelta(hours=intake.settings.after_sale_hours)
    try:
        check_complaint_window(order, now=intake.now, window=window)
    except Conflict:
        return None
    body = ComplaintCreate(
        category=category,
        reason=callback.reason,
        amount_cents=min(callback.amount_cents or 0, order.amount_cents),
    )
    try:
        row = await open_complaint(
            session, order.id, body, actor=intake.actor, now=intake.now, after_sale_window=window
        )
    except Conflict:  # that complaint waits already: the refund is its repetition
        return None
    return row.id


async def _act(
    session: AsyncSession,
    order: OrderRecord,
    action: OrderAction,
    reason: str | None,
    intake: Intake,
) -> OrderRecord:
    request = TransitionRequest(
        action=action, version=order.version, reason=reason[:500] if reason else None
    )
    return await orders.transition(
        session,
        order.id,
        request,
        actor=intake.actor,
        now=intake.now,
        auto_dispatch=intake.settings.auto_dispatch,
        ranking=Ranking(intake.settings.dispatch_ranking),
    )


async def _note(
    session: AsyncSession,
    order: OrderRecord,
    callback: ChannelCallback,
    reason: str,
    intake: Intake,
) -> None:
    """A line on the order's timeline: what the channel said that did not change the order."""
    await append_event(
        session,
        kind="order.channel",
        actor=intake.actor,
        at=intake.now,
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        reason=reason[:500],
        payload={
            "version": order.version,
            "channel": order.channel,
            "zone": order.zone,
            "callback": str(callback.kind),
            "callback_id": callback.callback_id,
            "amount_cents": callback.amount_cents,
        },
    )
