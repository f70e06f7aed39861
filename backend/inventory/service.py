"""Stock: reserve at payment, release on cancel, consume at dispatch, restock on return.

Every reservation is one conditional UPDATE (`... WHERE on_hand - reserved >= qty`), so two
payments racing for the last units cannot both win on either database: the row is locked by
the first writer and the second re-evaluates the condition after it commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import Database
from backend.errors import Conflict, NotFound, Unprocessable
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.realtime.outbox import append_event
from backend_client.models import StockLevel

Lines = Iterable[tuple[str, int]]


def _totals(lines: Lines) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for sku, quantity in lines:
        totals[sku] += quantity
    # A fixed order: two orders reserving the same SKUs lock their rows in the same order.
    return dict(sorted(totals.items()))


async def reserve(session: AsyncSession, warehouse_id: str, lines: Lines) -> list[str]:
    """Reserve every line or none; returns the SKUs that were short (empty when reserved)."""
    totals = _totals(lines)
    taken: list[tuple[str, int]] = []
    short: list[str] = []
    for sku, quantity in totals.items():
        result = await session.execute(
            update(StockRow)
            .where(
                StockRow.warehouse_id == warehouse_id,
                StockRow.sku == sku,
                StockRow.on_hand - StockRow.reserved >= quantity,
            )
            .values(reserved=StockRow.reserved + quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            taken.append((sku, quantity))
        else:
            short.append(sku)
    if short:
        # All or nothing: hand back what this order took before it found a short line.
        await _add_reserved(session, warehouse_id, taken, sign=-1)
    return short


async def release(session: AsyncSession, warehouse_id: str, lines: Lines) -> None:
    """Give reserved units back."""
    await _add_reserved(session, warehouse_id, _totals(lines).items(), sign=-1)


async def consume(session: AsyncSession, warehouse_id: str, lines: Lines) -> None:
    """Reserved units leave the shelf with the rider."""
    for sku, quantity in _totals(lines).items():
        await session.execute(
            update(StockRow)
            .where(StockRow.warehouse_id == warehouse_id, StockRow.sku == sku)
            .values(on_hand=StockRow.on_hand - quantity, reserved=StockRow.reserved - quantity)
            .execution_options(synchronize_session=False)
        )


async def restock(session: AsyncSession, warehouse_id: str, lines: Lines) -> None:
    """Returned goods go back on the shelf."""
    for sku, quantity in _totals(lines).items():
        await session.execute(
            update(StockRow)
            .where(StockRow.warehouse_id == warehouse_id, StockRow.sku == sku)
            .values(on_hand=StockRow.on_hand + quantity)
            .execution_options(synchronize_session=False)
        )


async def _add_reserved(
    session: AsyncSession, warehouse_id: str, lines: Iterable[tuple[str, int]], *, sign: int
) -> None:
    for sku, quantity in lines:
        await session.execute(
            update(StockRow)
            .where(StockRow.warehouse_id == warehouse_id, StockRow.sku == sku)
            .values(reserved=StockRow.reserved + sign * quantity)
            .execution_options(synchronize_session=False)
        )


async def stock_levels(
    session: AsyncSession, warehouse_id: str, *, sku: str | None = None
) -> list[StockLevel]:
    """Stock of a warehouse, with catalogue facts, by SKU."""
    query = (
        select(StockRow, SkuRow)
        .join(SkuRow, SkuRow.sku == StockRow.sku)
        .where(StockRow.warehouse_id == warehouse_id)
        .order_by(StockRow.sku)
    )
    if sku is not None:
        query = query.where(StockRow.sku == sku)
    rows = (await session.execute(query)).all()
    return [
        StockLevel(
            warehouse_id=stock.warehouse_id,
            sku=item.sku,
            name=item.name,
            category=item.category,
            unit=item.unit,
            cold_chain=item.cold_chain,
            price_cents=item.price_cents,
            on_hand=stock.on_hand,
            reserved=stock.reserved,
            available=stock.on_hand - stock.reserved,
        )
        for stock, item in rows
    ]


async def adjust(
    session: AsyncSession,
    warehouse_id: str,
    sku: str,
    delta: int,
    reason: str,
    *,
    actor: Principal,
    now: datetime,
) -> StockLevel:
    """Add or remove units on hand; never below what paid orders have reserved."""
    if await session.get(WarehouseRow, warehouse_id) is None:
        raise NotFound(f"no warehouse {warehouse_id}")
    if await session.get(SkuRow, sku) is None:
        raise NotFound(f"no SKU {sku}")
    stock = await session.get(StockRow, (warehouse_id, sku), with_for_update=True)
    if stock is None:
        if delta < 0:
            raise Conflict(f"{warehouse_id} holds no {sku} to remove")
        stock = StockRow(warehouse_id=warehouse_id, sku=sku, on_hand=0, reserved=0)
        session.add(stock)
    before = stock.on_hand
    if before + delta < stock.reserved:
        raise Conflict(
            f"{warehouse_id} has {before} {sku} on hand and {stock.reserved} reserved; "
            f"removing {-delta} would leave paid orders short",
            on_hand=before,
            reserved=stock.reserved,
        )
    if delta == 0:
        raise Unprocessable("delta must not be 0")
    stock.on_hand = before + delta
    await session.flush()
    await append_event(
        session,
        kind="stock.adjusted",
        actor=actor,
        at=now,
        warehouse_id=warehouse_id,
        reason=reason,
        payload={"sku": sku, "delta": delta, "on_hand": stock.on_hand},
    )
    (level,) = await stock_levels(session, warehouse_id, sku=sku)
    return level


async def warehouse_zones(db: Database) -> dict[str, str]:
    """Warehouse id -> zone, for the stream's zone filter."""
    async with db.read() as session:
        rows = await session.execute(select(WarehouseRow.id, WarehouseRow.zone))
        return {warehouse_id: zone for warehouse_id, zone in rows.all()}
