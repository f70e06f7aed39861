"""Trouble by state and reason, from the event log: how often orders ran out of stock, hit an
exception on the road, were refused, went to a claim or were cancelled, and why. A reason that
starts with a catalogue code (`VEG-SPINACH: wilted`, as stores report shortages) is answered
with the item's name beside it, so screens need not show codes."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import SkuRow
from backend.kpi.scope import KpiScope
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend_client.models import ExceptionCount, OrderState

TROUBLE_STATES = (
    OrderState.OUT_OF_STOCK,
    OrderState.EXCEPTION,
    OrderState.RETURNING,
    OrderState.CLAIMING,
    OrderState.CANCELLED,
)
TOP_REASONS = 20
SKU_PREFIX = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,39}):\s")
"""A reason naming an item first: `VEG-SPINACH: the last units failed the freshness check`."""


async def trouble(
    session: AsyncSession, scope: KpiScope
) -> tuple[dict[str, int], list[ExceptionCount]]:
    """Entries into each trouble state in the window, and the most frequent reasons."""
    e = EventRow
    reason = func.coalesce(e.reason, "")
    query = (
        select(e.to_state, reason.label("reason"), func.count().label("count"))
        .join(OrderRow, OrderRow.id == e.order_id)
        .where(
            e.kind == "order.transition",
            e.to_state.in_(TROUBLE_STATES),
            e.at >= scope.start,
            e.at < scope.end,
            *scope.order_filters(),
        )
        .group_by(e.to_state, reason)
    )
    rows: list[tuple[str, str, int]] = []
    for state, text, count in (await session.execute(query)).all():
        assert state is not None  # only entries into a trouble state were asked for
        rows.append((state, text, count))
    by_state = {str(state): 0 for state in TROUBLE_STATES}
    for state, _reason, count in rows:
        by_state[state] += count
    top = sorted(rows, key=lambda r: (-r[2], r[0], r[1]))[:TOP_REASONS]
    codes = {_sku_of(text) for _state, text, _count in top} - {None}
    names: dict[str, str] = {}
    if codes:
        known = select(SkuRow.sku, SkuRow.name).where(SkuRow.sku.in_(codes))
        names = {sku: name for sku, name in (await session.execute(known)).all()}
    counts = []
    for state, text, count in top:
        sku = _sku_of(text)
        named = sku if sku in names else None
        counts.append(
            ExceptionCount(
                state=OrderState(state),
                reason=text,
                count=count,
                sku=named,
                sku_name=names.get(named) if named else None,
            )
        )
    return by_state, counts


def _sku_of(reason: str) -> str | None:
    found = SKU_PREFIX.match(reason)
    return found.group(1) if found else None
