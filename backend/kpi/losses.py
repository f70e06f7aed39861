"""A warehouse's loss rate by SKU: units written off over units sold, in a window (beside the
KPIs: it reads orders, claims and the event log, over the inventory).

What it needs is already kept, so nothing new is recorded:

- sold: the lines of the warehouse's orders dispatched in the window (`delivering_at`), the
  moment their reserved units left the shelf (`inventory.service.consume`);
- claimed: the lines of claims approved in the window (`decided_at`): the goods arrived damaged,
  the customer is compensated and the goods are written off (`returns.service`);
- written off: negative `stock.adjusted` events in the window (spoilage, breakage, returned goods
  unfit to sell, count corrections): stock taken off the shelf by hand;
- returned: lines of returned orders back on the shelf in the window (`returned_at`), shown
  beside the loss, not in it: they are sold again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Unprocessable
from backend.inventory.models import SkuRow
from backend.orders.models import OrderItemRow, OrderRow
from backend.realtime.models import EventRow
from backend.returns.models import ReturnRequestRow
from backend_client.models import RequestKind, RequestState, SkuLoss, WarehouseLosses

DEFAULT_WINDOW = timedelta(days=7)
LONGEST_WINDOW = timedelta(days=92)
"""A quarter: the events read for the hand-made write-offs grow with the window."""


def window_of(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The window asked for: `end` defaults to now, `start` to a week before `end`; 422 for an
    empty or backward window, or one longer than a quarter."""
    end = end or now
    start = start or end - DEFAULT_WINDOW
    if start >= end:
        raise Unprocessable(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
    if end - start > LONGEST_WINDOW:
        raise Unprocessable(
            f"the window is {(end - start).days} days; at most {LONGEST_WINDOW.days} days"
        )
    return start, end


async def _sold(session: AsyncSession, warehouse_id: str, start: datetime, end: datetime):
    rows = await session.execute(
        select(OrderItemRow.sku, func.sum(OrderItemRow.quantity))
        .join(OrderRow, OrderRow.id == OrderItemRow.order_id)
        .where(
            OrderRow.warehouse_id == warehouse_id,
            OrderRow.delivering_at >= start,
            OrderRow.delivering_at < end,
        )
        .group_by(OrderItemRow.sku)
    )
    return Counter({sku: int(total) for sku, total in rows.all()})


async def _returned(session: AsyncSession, warehouse_id: str, start: datetime, end: datetime):
    rows = await session.execute(
        select(OrderItemRow.sku, func.sum(OrderItemRow.quantity))
        .join(OrderRow, OrderRow.id == OrderItemRow.order_id)
        .where(
            OrderRow.warehouse_id == warehouse_id,
            OrderRow.returned_at >= start,
            OrderRow.returned_at < end,
            OrderRow.stock_state == "returned",
        )
        .group_by(OrderItemRow.sku)
    )
    return Counter({sku: int(total) for sku, total in rows.all()})


async def _claimed(session: AsyncSession, warehouse_id: str, start: datetime, end: datetime):
    claims = await session.scalars(
        select(ReturnRequestRow.items).where(
            ReturnRequestRow.warehouse_id == warehouse_id,
            ReturnRequestRow.kind == RequestKind.CLAIM,
            ReturnRequestRow.state == RequestState.APPROVED,
            ReturnRequestRow.decided_at >= start,
            ReturnRequestRow.decided_at < end,
        )
    )
    units: Counter[str] = Counter()
    for items in claims.all():
        for line in items:
            units[str(line["sku"])] += int(line["quantity"])
    return units


async def _written_off(session: AsyncSession, warehouse_id: str, start: datetime, end: datetime):
    payloads = await session.scalars(
        select(EventRow.payload).where(
            EventRow.kind == "stock.adjusted",
            EventRow.at >= start,
            EventRow.at < end,
            EventRow.warehouse_id == warehouse_id,
        )
    )
    units: Counter[str] = Counter()
    for payload in payloads.all():
        delta = int(payload.get("delta", 0))
        if delta < 0:
            units[str(payload["sku"])] += -delta
    return units


def _rate(lost: int, sold: int) -> float | None:
    return round(lost / sold, 4) if sold else None


async def losses(
    session: AsyncSession, warehouse_id: str, start: datetime, end: datetime
) -> WarehouseLosses:
    """Units sold, claimed, written off and returned per SKU of `warehouse_id` in
    [`start`, `end`), the SKUs with the highest loss rate first (a loss with no sale before
    them all: nothing sold makes it the worst)."""
    sold = await _sold(session, warehouse_id, start, end)
    claimed = await _claimed(session, warehouse_id, start, end)
    written_off = await _written_off(session, warehouse_id, start, end)
    returned = await _returned(session, warehouse_id, start, end)
    skus = sorted(set(sold) | set(claimed) | set(written_off) | set(returned))
    names: dict[str, str] = {}
    if skus:
        rows = await session.execute(select(SkuRow.sku, SkuRow.name).where(SkuRow.sku.in_(skus)))
        names = {sku: name for sku, name in rows.all()}
    lines = [
        SkuLoss(
            sku=sku,
            name=names.get(sku, sku),
            sold=sold[sku],
            claimed=claimed[sku],
            written_off=written_off[sku],
            returned=returned[sku],
            lost=claimed[sku] + written_off[sku],
            loss_rate=_rate(claimed[sku] + written_off[sku], sold[sku]),
        )
        for sku in skus
    ]
    lines.sort(
        key=lambda line: (
            -(line.loss_rate if line.loss_rate is not None else (float("inf") if line.lost else 0)),
            -line.lost,
            line.sku,
        )
    )
    total_sold = sum(sold.values())
    total_lost = sum(claimed.values()) + sum(written_off.values())
    return WarehouseLosses(
        warehouse_id=warehouse_id,
        start=start,
        end=end,
        sold=total_sold,
        lost=total_lost,
        loss_rate=_rate(total_lost, total_sold),
        skus=lines,
    )
