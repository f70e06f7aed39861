"""What a restock plan costs: 500 SKUs in each of 5 warehouses, over two weeks of demand.

    .venv/bin/python bench/restock.py [--skus 500] [--days 14] [--orders-per-hour 288]
                                      [--rounds 5]

A temporary SQLite file is migrated and seeded with the demo city; the catalogue grows to
`--skus` SKUs, stocked in five warehouses, and `--days` of the simulator's demand are written
into it (its day curve and baskets, each line's SKU drawn from the whole catalogue). Then each
warehouse's plan is computed `--rounds` times through `restock.service.plan` (the function
behind `GET /warehouses/{id}/restock`: the history read, hot and archived, the stock and open
decisions, the forecast), beside the baseline: the same history read with the driver alone
(`sqlite3`, the one query, rows fetched, nothing else). Reported: CPU per plan and per raw read
(this process's, the database's work included on SQLite), and the forecast alone
(`build_plan` on rows already read). Not part of pytest; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.auth.passwords import Passwords
from backend.crypto.cipher import install
from backend.crypto.keys import new_ring_text, parse_ring
from backend.db import Database
from backend.demo import seed_demo
from backend.inventory.models import SkuRow, StockRow
from backend.restock import service
from backend.settings import Settings
from tests.backend.restock_support import write_demand

WAREHOUSES = ("WH-CY", "WH-WJ", "WH-HD", "WH-DC", "WH-XC")
RAW_HISTORY = (
    "SELECT oi.sku, o.created_at, oi.quantity FROM order_items oi "
    "JOIN orders o ON o.id = oi.order_id WHERE o.warehouse_id = ? AND o.created_at >= ? "
    "AND o.created_at < ? AND o.paid_at IS NOT NULL"
)


async def _catalogue(db: Database, skus: int) -> list[str]:
    """The demo's SKUs and more like them, up to `skus`, each stocked in every warehouse."""
    async with db.read() as session:
        known = list((await session.scalars(select(SkuRow))).all())
    extra = [
        {
            "sku": f"BEN-{n:04d}",
            "name": f"bench item {n}",
            "category": known[n % len(known)].category,
            "unit": "piece",
            "weight_g": 300,
            "price_cents": 990,
            "cold_chain": False,
        }
        for n in range(max(0, skus - len(known)))
    ]
    names = [s.sku for s in known][:skus] + [str(e["sku"]) for e in extra]

    async def job(session: Any) -> None:
        if extra:
            await session.execute(insert(SkuRow), extra)
        stocked = {
            (w, s)
            for w, s in (await session.execute(select(StockRow.warehouse_id, StockRow.sku))).all()
        }
        rows = [
            {"warehouse_id": w, "sku": s, "on_hand": 10, "reserved": 0}
            for w in WAREHOUSES
            for s in names
            if (w, s) not in stocked
        ]
        if rows:
            await session.execute(insert(StockRow), rows)

    await db.write(job)
    return names


def _sqlite_time(at: datetime) -> str:
    """A time as SQLAlchemy writes it into SQLite (naive UTC text)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    install(parse_ring(new_ring_text(), "the bench's own keys", reload=None))
    with tempfile.TemporaryDirectory(prefix="freshline-bench-restock-") as folder:
        path = Path(folder) / "restock.db"
        url = f"sqlite+aiosqlite:///{path}"
        settings = Settings(database_url=url, demo=True, archive_dir=str(Path(folder) / "a"))
        db = Database(url)
        now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
        try:
            await db.migrate()
            await seed_demo(db, Passwords(time_cost=1, memory_cost_kib=64), now=now)
            names = await _catalogue(db, args.skus)
            start = now - timedelta(days=args.days)
            written = await write_demand(
                db,
                start=start,
                end=now,
                orders_per_hour=args.orders_per_hour,
                warehouses=set(WAREHOUSES),
                catalogue=names,
            )
            sizing = service.Sizing.of(settings, weeks=max(1, round(args.days / 7)))
            since = now - timedelta(weeks=sizing.weeks)
            plan_cpu, raw_cpu, build_cpu = [], [], []
            suggested = 0
            raw = sqlite3.connect(path)
            for _ in range(args.rounds):
                for warehouse in WAREHOUSES:
                    cpu = time.process_time()
                    plan = await service.plan(db, settings, warehouse, now, sizing)
                    plan_cpu.append(time.process_time() - cpu)
                    suggested += sum(1 for s in plan.suggestions if s.suggested > 0)

                    cpu = time.process_time()
                    rows = raw.execute(
                        RAW_HISTORY, (warehouse, _sqlite_time(since), _sqlite_time(now))
                    ).fetchall()
                    raw_cpu.append(time.process_time() - cpu)

                    lines = await service.demand_lines(db, settings, warehouse, since, now)
                    async with db.read() as session:
                        stock = await service.positions(session, warehouse)
                    cpu = time.process_time()
                    service.build_plan(warehouse, now, sizing, settings.zone, lines, stock, [], {})
                    build_cpu.append(time.process_time() - cpu)
            raw.close()
        finally:
            await db.dispose()
    plans = len(plan_cpu)
    return {
        "skus": len(names),
        "warehouses": len(WAREHOUSES),
        "written": written,
        "history_rows_per_warehouse": len(rows),
        "plans": plans,
        "suggestions_with_units": suggested / max(1, plans),
        "plan_cpu_ms": 1000 * sum(plan_cpu) / plans,
        "raw_read_cpu_ms": 1000 * sum(raw_cpu) / plans,
        "forecast_cpu_ms": 1000 * sum(build_cpu) / plans,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--orders-per-hour", type=float, default=288.0)
    parser.add_argument("--rounds", type=int, default=5)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
