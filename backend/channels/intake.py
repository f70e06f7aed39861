"""Taking a channel's order or callback, in the caller's one write transaction.

Idempotent by the channel's own ids: the same order (channel, order id) answers its first
answer to every retry and is never made twice; the same callback (channel, callback id) is
applied once. A callback for an order that has not arrived is kept (`pending`) and applied
when the order comes. A refusal raises before anything is written, so nothing is half-made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.fields import FieldPolicy
from backend.auth.principal import Principal
from backend.channels.adapter import (
    CallbackKind,
    ChannelAdapter,
    ChannelCallback,
    ChannelOrder,
    FieldProblem,
)
from backend.channels.callbacks import apply_callback
from backend.channels.models import ChannelCallbackRow, ChannelStatementRow
from backend.crypto.cipher import seal_json, stored_json, unseal_json_text
from backend.db import lock_key
from backend.dispatch import deliveries
from backend.dispatch.deliveries import DeliveryPlan, pickup_key
from backend.dispatch.parcels import Limits, TooHeavy
from backend.dispatch.ranking import Ranking
from backend.errors import Conflict, Unprocessable
from backend.inventory import service as stock
from backend.orders import records
from backend.orders import service as orders
from backend.orders.models import OrderRow
from backend.orders.records import OrderRecord
from backend.orders.views import order_answer
from backend.proof.pins import customer_pin
from backend.settings import Settings
from backend.sql import Query, sql_of
from backend.tracking import tokens as tracking_tokens
from backend_client.models import (
    CallbackOutcome,
    ChannelCallbackResult,
    ChannelOrderReceipt,
    Order,
    OrderAction,
    TransitionRequest,
)

# Advisory-lock namespaces (PostgreSQL) of their own: one channel order id at a time, one
# callback id at a time.
CHANNEL_ORDER_LOCK = 0x46524C20
CHANNEL_CALLBACK_LOCK = 0x46524C21
CALLBACK_ID = re.compile(r"^[\x21-\x7e]{1,80}$")
RECEIPT = Query(
    "SELECT digest, order_id, status_code, response, reported_amount_cents FROM channel_orders "
    "WHERE channel = :channel AND external_id = :external_id"
)
KEEP_RECEIPT = Query(
    "INSERT INTO channel_orders (channel, external_id, order_id, digest, reported_amount_cents, "
    "received_at, status_code, response) VALUES (:channel, :external_id, :order_id, :digest, "
    ":reported_amount_cents, :received_at, :status_code, :response)"
)
RECEIPT_LABEL = "channel_orders.response"
ANY_WAITING = Query(
    "SELECT id FROM channel_callbacks WHERE channel = :channel AND external_id = :external_id "
    "AND outcome = 'pending' LIMIT 1"
)
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True, slots=True)
class Intake:
    """What taking an order needs besides the session."""

    actor: Principal
    now: datetime
    settings: Settings

    @property
    def default_promise(self) -> timedelta:
        return timedelta(minutes=self.settings.default_promise_minutes)

    def plan(self, merge_key: str | None) -> DeliveryPlan:
        s = self.settings
        return DeliveryPlan(
            limits=Limits(max_load_g=s.rider_max_load_g, cold_box_g=s.cold_box_max_g),
            merge_window=timedelta(minutes=s.delivery_merge_minutes),
            merge_key=merge_key,
        )


# --- Orders -------------------------------------------------------------------------------------


async def take_order(
    session: AsyncSession, adapter: ChannelAdapter, parsed: ChannelOrder, intake: Intake
) -> tuple[int, ChannelOrderReceipt]:
    """Make the channel's order (paid ones reserve their stock now), place it in deliveries,
    apply the callbacks that came before it; or answer the first answer again."""
    channel = str(adapter.channel)
    external_id = parsed.external_id
    sql = sql_of(session)
    await lock_key(session, CHANNEL_ORDER_LOCK, f"{channel}:{external_id}")
    ours = {"channel": channel, "external_id": external_id}
    receipt = await sql.one(RECEIPT, ours)
    if receipt is not None:
        digest, order_id, status_code, response, reported = receipt
        if digest != parsed.digest():
            raise Conflict(
                f"{channel} order {external_id} was taken already as order {order_id}, "
                "with other content; changes come as callbacks, not as the order again",
                order_id=order_id,
            )
        if stored_json(response) is None:  # past `answer_retention_hours`: as it is now
            order = await records.load(sql, order_id)
            assert order is not None  # orders are never deleted
            parcels = [d.id for d in await deliveries.of_order(session, order_id)]
            return status_code, ChannelOrderReceipt(
                channel=adapter.channel,
                external_id=external_id,
                order=await _with_link(
                    session,
                    await order_answer(session, order, intake.now, FieldPolicy.of(intake.actor)),
                    intake,
                ),
                deliveries=parcels,
                reported_amount_cents=reported,
                replayed=True,
                delivery_pin=await customer_pin(session, order_id),
            )
        text = unseal_json_text(response, RECEIPT_LABEL)
        answer = ChannelOrderReceipt.model_validate({**orjson.loads(text), "replayed": True})
        # Kept masked since the field policy; a receipt kept before it is masked on the way out.
        customer = answer.order.customer
        customer.phone = FieldPolicy.of(intake.actor).customer_phone(customer.phone)
        return status_code, answer

    await _check_catalogue(session, adapter, parsed)
    order = await _create(session, adapter, parsed, intake)
    if parsed.paid:
        pay = TransitionRequest(action=OrderAction.PAY, version=order.version)
        order = await orders.transition(
            session,
            order.id,
            pay,
            actor=intake.actor,
            now=intake.now,
            auto_dispatch=intake.settings.auto_dispatch,
            ranking=Ranking(intake.settings.dispatch_ranking),
        )
    if await sql.one(ANY_WAITING, ours) is not None:  # rarely: callbacks came before it
        waiting = await session.scalars(
            select(ChannelCallbackRow)
            .where(
                ChannelCallbackRow.channel == channel,
                ChannelCallbackRow.external_id == external_id,
                ChannelCallbackRow.outcome == CallbackOutcome.PENDING,
            )
            .order_by(ChannelCallbackRow.occurred_at, ChannelCallbackRow.id)
        )
        for row in waiting.all():
            outcome, detail, order = await apply_callback(session, order, _callback_of(row), intake)
            _settle(row, outcome, detail, order.id)
    parcels = [d.id for d in await deliveries.of_order(session, order.id)]
    answer = ChannelOrderReceipt(
        channel=adapter.channel,
        external_id=external_id,
        order=await _with_link(
            session,
            await order_answer(session, order, intake.now, FieldPolicy.of(intake.actor)),
            intake,
        ),
        deliveries=parcels,
        reported_amount_cents=parsed.reported_amount_cents,
        # The customer reads it out to the rider; the receipt is kept encrypted.
        delivery_pin=await customer_pin(session, order.id),
    )
    await sql.run(
        KEEP_RECEIPT,
        {
            **ours,
            "order_id": order.id,
            "digest": parsed.digest(),
            "reported_amount_cents": parsed.reported_amount_cents,
            "received_at": intake.now,
            "status_code": 201,
            # It carries the customer's name, phone and address: kept encrypted, pruned
            # after `answer_retention_hours` (backend/privacy/upkeep.py).
            "response": seal_json(answer.model_dump_json(), RECEIPT_LABEL),
        },
    )
    return 201, answer


async def _with_link(session: AsyncSession, order: Order, intake: Intake) -> Order:
    """The order with the customer's tracking link, for the channel to send them."""
    return await tracking_tokens.show_link(
        session, order, intake.actor, settings=intake.settings, now=intake.now
    )


async def _check_catalogue(
    session: AsyncSession, adapter: ChannelAdapter, parsed: ChannelOrder
) -> None:
    """What only the database knows: the SKUs and the store the channel names."""
    request = parsed.order
    known = set(await stock.catalogue(session, sorted({i.sku for i in request.items})))
    for index, item in enumerate(request.items):
        if item.sku not in known:
            ours = f"items[{index}].sku"
            raise FieldProblem(
                ours,
                adapter.their_name(ours),
                f"no SKU {item.sku} in our catalogue",
                external_id=parsed.external_id,
            )
    if request.warehouse_id is not None and (
        await sql_of(session).one(orders.WAREHOUSE, {"id": request.warehouse_id}) is None
    ):
        raise FieldProblem(
            "warehouse_id",
            adapter.their_name("warehouse_id"),
            f"no store {request.warehouse_id} of ours",
            external_id=parsed.external_id,
        )


async def _create(
    session: AsyncSession, adapter: ChannelAdapter, parsed: ChannelOrder, intake: Intake
) -> OrderRecord:
    request = parsed.order
    channel = str(adapter.channel)
    # Group-buy orders travel with the others to their leader; the rest with the same
    # customer's to the same address (the plan's default key).
    key = pickup_key(channel, parsed.pickup_point) if parsed.pickup_point else None
    try:
        order = await orders.create_order(
            session,
            request,
            actor=intake.actor,
            now=intake.now,
            default_promise=intake.default_promise,
            plan=intake.plan(key),
        )
    except TooHeavy as exc:
        index = next(i for i, item in enumerate(request.items) if item.sku == exc.line.sku)
        ours = f"items[{index}].quantity"
        raise FieldProblem(
            ours, adapter.their_name(ours), str(exc), external_id=parsed.external_id
        ) from None
    except Unprocessable as exc:
        if "promised_at" not in exc.detail:
            raise
        raise FieldProblem(
            "promised_at",
            adapter.their_name("promised_at"),
            exc.detail.removeprefix("promised_at "),
            external_id=parsed.external_id,
        ) from None
    return order


# --- Callbacks ----------------------------------------------------------------------------------


async def take_callback(
    session: AsyncSession, adapter: ChannelAdapter, callback: ChannelCallback, intake: Intake
) -> tuple[int, ChannelCallbackResult]:
    """Apply the callback to its order, keep it for an order still to come, or record the
    day's statement; a repeated callback answers what became of it."""
    channel = str(adapter.channel)
    _check_ids(adapter, callback)
    callback = replace(callback, reason=_clean(callback.reason, 200))
    await lock_key(session, CHANNEL_CALLBACK_LOCK, f"{channel}:{callback.callback_id}")
    seen = await session.scalar(
        select(ChannelCallbackRow).where(
            ChannelCallbackRow.channel == channel,
            ChannelCallbackRow.callback_id == callback.callback_id,
        )
    )
    if seen is not None:
        # A retry says the same; the same id saying something else is another callback that
        # the channel gave a used id: refused (as a channel order id taken with other
        # content), never answered as if it had been applied. Callbacks kept before digests
        # were (an empty `response`) replay as before.
        kept = (seen.response or {}).get("digest")
        if kept is not None and kept != callback.digest():
            raise Conflict(
                f"{channel} callback {callback.callback_id} was taken already with other "
                "content; a new callback needs a new id",
                callback_id=callback.callback_id,
            )
        return await _answer(session, seen, intake, replayed=True)

    row = ChannelCallbackRow(
        channel=channel,
        callback_id=callback.callback_id,
        external_id=callback.external_id or "",
        kind=str(callback.kind),
        occurred_at=callback.occurred_at,
        received_at=intake.now,
        amount_cents=callback.amount_cents,
        reason=callback.reason,
        outcome=CallbackOutcome.PENDING,
        status_code=202,
        response={"digest": callback.digest()},
    )
    if callback.statement is not None:
        await _keep_statement(session, channel, callback, intake.now)
        row.outcome = CallbackOutcome.RECORDED
        row.detail = (
            f"statement for {callback.statement.day}: {callback.statement.orders} orders, "
            f"{callback.statement.amount_cents / 100:.2f} yuan"
        )
        row.status_code = 200
    else:
        # The same lock as the order's intake: the order either arrived before (apply now) or
        # arrives after, and then finds this callback waiting.
        await lock_key(session, CHANNEL_ORDER_LOCK, f"{channel}:{callback.external_id}")
        found = await session.scalar(
            select(OrderRow.id).where(
                OrderRow.channel == channel, OrderRow.external_id == callback.external_id
            )
        )
        if found is None:
            row.detail = f"order {callback.external_id} has not arrived; applied when it does"
        else:
            order = await orders.load_order(session, found, intake.actor, for_update=True)
            outcome, detail, order = await apply_callback(session, order, callback, intake)
            _settle(row, outcome, detail, order.id)
    session.add(row)
    await session.flush()
    return await _answer(session, row, intake, replayed=False)


async def _answer(
    session: AsyncSession, row: ChannelCallbackRow, intake: Intake, *, replayed: bool
) -> tuple[int, ChannelCallbackResult]:
    order = await records.load(sql_of(session), row.order_id) if row.order_id else None
    result = ChannelCallbackResult(
        channel=row.channel,
        callback_id=row.callback_id,
        external_id=row.external_id or None,
        kind=row.kind,
        outcome=CallbackOutcome(row.outcome),
        detail=row.detail or "",
        order=(
            await order_answer(session, order, intake.now, FieldPolicy.of(intake.actor))
            if order is not None
            else None
        ),
        replayed=replayed,
    )
    return row.status_code, result


def _settle(row: ChannelCallbackRow, outcome: CallbackOutcome, detail: str, order_id: int) -> None:
    row.outcome = outcome
    row.detail = detail[:300]
    row.order_id = order_id
    row.status_code = 200


def _callback_of(row: ChannelCallbackRow) -> ChannelCallback:
    return ChannelCallback(
        callback_id=row.callback_id,
        kind=CallbackKind(row.kind),
        occurred_at=row.occurred_at,
        external_id=row.external_id,
        amount_cents=row.amount_cents,
        reason=row.reason,
    )


async def _keep_statement(
    session: AsyncSession, channel: str, callback: ChannelCallback, now: datetime
) -> None:
    statement = callback.statement
    assert statement is not None
    held = await session.scalar(
        select(ChannelStatementRow)
        .where(ChannelStatementRow.channel == channel, ChannelStatementRow.day == statement.day)
        .with_for_update()
    )
    if held is None:
        held = ChannelStatementRow(channel=channel, day=statement.day, received_at=now)
        session.add(held)
    held.orders, held.amount_cents, held.received_at = (
        statement.orders,
        statement.amount_cents,
        now,
    )


def _check_ids(adapter: ChannelAdapter, callback: ChannelCallback) -> None:
    if not CALLBACK_ID.match(callback.callback_id):
        raise FieldProblem(
            "callback_id", None, "the callback id must be 1 to 80 printable ASCII characters"
        )
    if callback.statement is None and not ORDER_ID.match(callback.external_id or ""):
        ours = "external_id"
        raise FieldProblem(ours, adapter.their_name(ours), "not an order id of this channel")


def _clean(text: str | None, limit: int) -> str | None:
    """A platform's free text, safe to keep and show: no control characters, bounded."""
    if not text:
        return None
    kept = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    return kept.strip()[:limit] or None
