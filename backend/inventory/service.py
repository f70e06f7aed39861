"""Stock: reserve at payment, release on cancel, consume at dispatch, restock on return.

Every reservation is one conditional UPDATE (`... WHERE on_hand - reserved >= qty`), so two
payments racing for the last units cannot both win on either database: the row is locked by
the first writer and the second re-evaluates the condition after it commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import Database
from backend.errors import Conflict, NotFound, Unprocessable
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.realtime.outbox import append_event
from backend.sql import Query, in_list, sql_of
from backend_client.models import StockLevel

Lines = Iterable[tuple[str, int]]


def _totals(lines: Lines) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for sku, quantity in lines:
        totals[sku] += quantity
    # A fixed order: two orders reserving the same SKUs lock their rows in the same order.
    return dict(sorted(totals.items()))


RESERVE = Query(
    "UPDATE stock SET reserved = reserved + :quantity WHERE warehouse_id = :warehouse_id "
    "AND sku = :sku AND on_hand - reserved >= :quantity"
)
ADD_RESERVED = Query(
    "UPDATE stock SET reserved = reserved + :quantity "
    "WHERE warehouse_id = :warehouse_id AND sku = :sku"
)
CONSUME = Query(
    "UPDATE stock SET on_hand = on_hand - :quantity, reserved = reserved - :quantity "
    "WHERE warehouse_id = :warehouse_id AND sku = :sku"
)
RESTOCK = Query(
    "UPDATE stock SET on_hand = on_hand + :quantity WHERE warehouse_id = :warehouse_id "
    "AND sku = :sku"
)


async def reserve(session: AsyncSession, warehouse_id: str, lines: Lines) -> list[str]:
    """Reserve every line or none; returns the SKUs that were short (empty when reserved)."""
    sql = sql_of(session)
    taken: list[tuple[str, int]] = []
    short: list[str] = []
    for sku, quantity in _totals(lines).items():
        at = {"warehouse_id": warehouse_id, "sku": sku, "quantity": quantity}
        if await sql.run(RESERVE, at) == 1:
            taken.append((sku, quantity))
        else:
            short.append(sku)
    if short:
        # All or nothing: hand back what this order took before it found a short line.
        await _each(session, ADD_RESERVED, warehouse_id, [(sku, -q) for sku, q in taken])
    return short


async def release(session: AsyncSession, warehouse_id: str, lines: Lines) -> None:
    """Give reserved units back."""
    await _each(session, ADD_RESERVED, warehouse_id, [(s, -q) for s, q in _totals(lines).items()])


async def consume(session: AsyncSession, warehouse_id: str, lines: Lines) -> None:
    """Reserved units leave the shelf with the rider."""
    await _each(session, CONSUME, warehouse_id, list(_totals(lines).items()))


async def restock(session: AsyncSession, warehouse_id: str, lines: Lines) -> None:
    """Returned goods go back on the shelf."""
    await _each(session, RESTOCK, warehouse_id, list(_totals(lines).items()))


async def _each(
    session: AsyncSession, query: Query, warehouse_id: str, lines: list[tuple[str, int]]
) -> None:
    """`query` for each (sku, quantity), in the order given (SKU order: see `_totals`)."""
    sql = sql_of(session)
    for sku, quantity in lines:
        await sql.run(query, {"warehouse_id": warehouse_id, "sku": sku, "quantity": quantity})


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What an order line copies from the catalogue."""

    sku: str
    name: str
    unit: str
    weight_g: int
    cold_chain: bool
    price_cents: int


async def catalogue(session: AsyncSession, skus: list[str]) -> dict[str, CatalogueEntry]:
    """The catalogue entries of `skus` that exist, by SKU."""
    if not skus:
        return {}
    listed, params = in_list("sku", skus)
    query = _CATALOGUE.get(len(skus))
    if query is None:
        query = _CATALOGUE[len(skus)] = Query(
            "SELECT sku, name, unit, weight_g, cold_chain, price_cents FROM skus "
            f"WHERE sku IN {listed}"
        )
    rows = await sql_of(session).all(query, params)
    return {
        row[0]: CatalogueEntry(row[0], row[1], row[2], row[3], bool(row[4]), row[5]) for row in rows
    }


_CATALOGUE: dict[int, Query] = {}


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
