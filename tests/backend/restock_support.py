"""Weeks of the simulator's demand written straight into a demo-seeded database: the orders of
`Demand`'s plan (the day's curve, the channel mix, the baskets) with their lines, paid as
their fates say, for the restock tests and benchmark. Only what the restock forecast reads is
written (orders, lines, their customers); no events, riders or fixes."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from backend.db import Database
from backend.models import CustomerRow, OrderItemRow, OrderRow, SkuRow
from backend.sim.city import demo_zones
from backend.sim.demand import Demand

BATCH = 5000


async def write_demand(
    db: Database,
    *,
    start: datetime,
    end: datetime,
    orders_per_hour: float,
    seed: int = 21,
    warehouses: Collection[str] | None = None,
    first_order_id: int = 1,
    catalogue: Sequence[str] | None = None,
) -> dict[str, int]:
    """Orders placed in [start, end) by the demand model (only those of `warehouses` if
    given); returns how many orders, lines and units were written. With `catalogue`, each
    line's SKU is drawn from it instead (the demo city's baskets over a bigger catalogue, for
    the benchmark), the same draw for the same order and line every time."""
    async with db.read() as session:
        skus = {s.sku: s for s in (await session.scalars(select(SkuRow))).all()}
        customer_base = (
            await session.scalar(select(CustomerRow.id).order_by(CustomerRow.id.desc()).limit(1))
        ) or 0
    warehouse_of = {z.name: z.warehouse_id for z in demo_zones()}
    orders: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    customers: dict[str, dict[str, Any]] = {}
    units = 0
    order_id = first_order_id
    for plan in Demand(seed, start, orders_per_hour=orders_per_hour):
        if plan.at >= end:
            break
        warehouse = warehouse_of[plan.zone]
        if warehouses is not None and warehouse not in warehouses:
            continue
        c = plan.customer
        if c.phone not in customers:
            customers[c.phone] = {
                "id": customer_base + len(customers) + 1,
                "name": c.name,
                "phone": c.phone,
                "address": c.address,
                "lat": c.lat,
                "lng": c.lng,
            }
        paid = plan.at + timedelta(seconds=plan.fate.pay_after_s) if plan.fate.pays else None
        weight = sum(skus[s].weight_g * q for s, q in plan.items)
        orders.append(
            {
                "id": order_id,
                "channel": str(plan.channel),
                "external_id": plan.external_id,
                "customer_id": customers[c.phone]["id"],
                "customer_name": c.name,
                "customer_phone": c.phone,
                "address": c.address,
                "lat": c.lat,
                "lng": c.lng,
                "zone": plan.zone,
                "warehouse_id": warehouse,
                "rider_id": None,
                "status": "SIGNED" if paid else "CANCELLED",
                "open_rank": 1,
                "version": 3,
                "stock_state": "consumed" if paid else "none",
                "amount_cents": sum(skus[s].price_cents * q for s, q in plan.items),
                "weight_g": weight,
                "cold_chain": any(skus[s].cold_chain for s, _ in plan.items),
                "note": None,
                "promised_at": plan.at + timedelta(minutes=plan.promise_minutes),
                "created_at": plan.at,
                "updated_at": plan.at,
                "paid_at": paid,
                "signed_at": paid + timedelta(minutes=30) if paid else None,
                "cancelled_at": None if paid else plan.at + timedelta(minutes=30),
            }
        )
        for line, (planned, quantity) in enumerate(plan.items, 1):
            sku = planned
            if catalogue is not None:
                sku = random.Random(f"{plan.index}:{line}").choice(catalogue)
            item = skus[sku]
            items.append(
                {
                    "order_id": order_id,
                    "line": line,
                    "sku": sku,
                    "name": item.name,
                    "quantity": quantity,
                    "unit": item.unit,
                    "weight_g": item.weight_g * quantity,
                    "cold_chain": item.cold_chain,
                    "unit_price_cents": item.price_cents,
                }
            )
            if paid:
                units += quantity
        order_id += 1
    for table, rows in (
        (CustomerRow, list(customers.values())),
        (OrderRow, orders),
        (OrderItemRow, items),
    ):
        for first in range(0, len(rows), BATCH):
            chunk = rows[first : first + BATCH]

            async def job(session: Any, table: Any = table, chunk: Any = chunk) -> None:
                await session.execute(insert(table), chunk)

            await db.write(job)
    return {"orders": len(orders), "lines": len(items), "paid units": units}
