"""What the `low_stock` rule adds to the alert engine, in this process, on SQLite.

    .venv/bin/python bench/low_stock.py [--skus 500] [--orders 3000] [--passes 50]

Seeds the demo city (6 warehouses), widens its catalogue to `--skus` SKUs stocked in every
warehouse, and writes an hour of `--orders` paid orders (3 lines each, their `order.transition`
events into PAID spread over the last hour): the reservation rate the rule reads. Then, in
turns, `--passes` times each:

- the rule's pass over one warehouse, what the engine adds after a stock change there, beside
  the engine's pass over one order's subjects (what it already does after an order event);
- the rule's pass over every warehouse, what it adds to each tick, beside every other rule's
  pass over everything (the tick as it was).

Reports CPU per pass (Python and SQLite, both in this process) and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.alerts import low_stock
from backend.alerts.findings import EVERYTHING, Subjects, find_all
from backend.alerts.rules import Rules
from backend.auth.passwords import Passwords
from backend.crypto.cipher import install
from backend.crypto.keys import new_ring_text, parse_ring
from backend.db import Database
from backend.demo import seed_demo
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.orders.models import OrderItemRow, OrderRow
from backend.realtime.models import EventRow
from bench.search import write_orders

WARMUP = 3


async def _widen(db: Database, skus: int) -> list[str]:
    """The catalogue grown to `skus` SKUs, each stocked in every warehouse; their codes."""
    async with db.read() as session:
        known = list((await session.scalars(select(SkuRow.sku))).all())
        warehouses = list((await session.scalars(select(WarehouseRow.id))).all())
    extra = [f"BENCH-{n:04d}" for n in range(max(0, skus - len(known)))]
    rng = random.Random(7)

    async def job(session: AsyncSession) -> None:
        if extra:
            await session.execute(
                insert(SkuRow),
                [
                    {"sku": sku, "name": f"Bench item {sku[-4:]}", "category": "vegetables",
                     "unit": "each", "weight_g": 300, "price_cents": 500, "cold_chain": False}
                    for sku in extra
                ],
            )  # fmt: skip
            await session.execute(
                insert(StockRow),
                [
                    {"warehouse_id": w, "sku": sku, "on_hand": rng.randint(0, 150), "reserved": 0}
                    for w in warehouses
                    for sku in extra
                ],
            )

    await db.write(job)
    return known + extra


async def _an_hour_of_orders(db: Database, orders: int, skus: list[str], now: datetime) -> None:
    await write_orders(db, orders, 0, now, 3)
    rng = random.Random(11)
    async with db.read() as session:
        placed = (await session.execute(select(OrderRow.id, OrderRow.warehouse_id))).all()
    items, events = [], []
    for order_id, warehouse_id in placed:
        for line, sku in enumerate(rng.sample(skus, 3), start=1):
            items.append(
                {"order_id": order_id, "line": line, "sku": sku, "name": sku,
                 "quantity": rng.choice((1, 1, 2, 3)), "unit": "each", "weight_g": 300,
                 "cold_chain": False, "unit_price_cents": 500}
            )  # fmt: skip
        events.append(
            {"kind": "order.transition", "order_id": order_id, "warehouse_id": warehouse_id,
             "from_state": "CREATED", "to_state": "PAID", "actor": "channel-app",
             "role": "channel", "at": now - timedelta(minutes=rng.uniform(0, 60)),
             "payload": {"action": "pay"}}
        )  # fmt: skip

    async def job(session: AsyncSession) -> None:
        for start in range(0, len(items), 5000):
            await session.execute(insert(OrderItemRow), items[start : start + 5000])
        for start in range(0, len(events), 5000):
            await session.execute(insert(EventRow), events[start : start + 5000])

    await db.write(job)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    install(parse_ring(new_ring_text(), "the bench's own keys", reload=None))
    rules = Rules()
    with tempfile.TemporaryDirectory(prefix="freshline-bench-stock-") as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/stock.db")
        try:
            await db.migrate()
            now = datetime.now(UTC).replace(microsecond=0)
            await seed_demo(db, Passwords(time_cost=1, memory_cost_kib=64), now=now)
            skus = await _widen(db, args.skus)
            await _an_hour_of_orders(db, args.orders, skus, now)
            async with db.read() as session:
                one_order = await session.scalar(select(OrderRow.id).limit(1))
                stocked = len((await session.scalars(select(StockRow.sku))).all())
            assert one_order is not None
            warehouse = Subjects(warehouses=frozenset({"WH-CY"}))
            an_order = Subjects(orders=frozenset({one_order}))

            async def rule(subjects: Subjects) -> int:
                async with db.read() as session:
                    return len(await low_stock.find(session, rules, now, subjects))

            async def others(subjects: Subjects) -> int:
                async with db.read() as session:
                    return len(await find_all(session, rules, now, subjects))

            passes: dict[str, Callable[[], Awaitable[int]]] = {
                "warehouse": lambda: rule(warehouse),
                "order": lambda: others(an_order),
                "tick_rule": lambda: rule(EVERYTHING),
                "tick_others": lambda: others(EVERYTHING),
            }
            cpu: dict[str, list[float]] = {name: [] for name in passes}
            found: dict[str, int] = {}
            for round_ in range(args.passes + WARMUP):
                for name, one_pass in passes.items():
                    started = time.process_time()
                    found[name] = await one_pass()
                    if round_ >= WARMUP:
                        cpu[name].append(time.process_time() - started)
        finally:
            await db.dispose()
    report: dict[str, Any] = {
        "skus": len(skus),
        "stock_rows": stocked,
        "orders_last_hour": args.orders,
        "low_warehouses": found["tick_rule"],
    }
    for name, samples in cpu.items():
        report[f"{name}_cpu_ms"] = statistics.median(samples) * 1000
    report["warehouse_ratio"] = report["warehouse_cpu_ms"] / report["order_cpu_ms"]
    report["tick_ratio"] = report["tick_rule_cpu_ms"] / report["tick_others_cpu_ms"]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=500, help="SKUs stocked in every warehouse")
    parser.add_argument("--orders", type=int, default=3000, help="orders paid in the last hour")
    parser.add_argument("--passes", type=int, default=50, help="passes measured each way")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
