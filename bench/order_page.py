"""What the ETA and rider on each order cost a page of the order list, beside the same page
without them (the list as it was before), in this process, on SQLite.

    .venv/bin/python bench/order_page.py [--open 4000] [--pages 200]

Seeds the demo city and `--open` open orders (a quarter out for delivery, each with its rider's
progress, as `backend/riders/progress.py` keeps it), then reads the first page (100) of the
DELIVERING lane `--pages` times each way, in turns, through `orders.service.list_orders` in one
read session as the route does: with the answers built by `order_views` (the page's riders and
ETAs in one more query), and by `order_view` with none (the baseline). Reports CPU per page (the
Python side and SQLite's, both in this process), wall p50 / p99, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.auth.fields import FULL
from backend.auth.passwords import Passwords
from backend.crypto.cipher import install
from backend.crypto.keys import new_ring_text, parse_ring
from backend.db import Database
from backend.demo import seed_demo
from backend.orders import service
from backend.orders.models import OrderRow
from backend.orders.views import order_view, order_views
from backend.riders.models import DeliveryProgressRow
from backend_client.models import OrderState
from bench.common import percentile
from bench.search import DISPATCHER, write_orders

GOAL = 1.5
"""A page with its riders and ETAs may cost at most this many times the page without."""
PAGE = 100


async def _progress(db: Database, now: datetime) -> int:
    """Progress rows for every order out for delivery with a rider: what a rider's fixes keep."""
    async with db.read() as session:
        out = (
            await session.execute(
                select(OrderRow.id, OrderRow.rider_id).where(
                    OrderRow.status == OrderState.DELIVERING, OrderRow.rider_id.is_not(None)
                )
            )
        ).all()
    rows = [
        {
            "order_id": order_id,
            "rider_id": rider_id,
            "distance_m": 1500.0,
            "closest_m": 1500.0,
            "speed_kmh": 20.0,
            "eta_at": now + timedelta(minutes=12),
            "fix_at": now,
            "sequence": 1,
        }
        for order_id, rider_id in out
    ]

    async def job(session: AsyncSession) -> None:
        if rows:
            await session.execute(insert(DeliveryProgressRow), rows)

    await db.write(job)
    return len(rows)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    install(parse_ring(new_ring_text(), "the bench's own keys", reload=None))
    with tempfile.TemporaryDirectory(prefix="freshline-bench-page-") as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/page.db")
        try:
            await db.migrate()
            now = datetime.now(UTC).replace(microsecond=0)
            await seed_demo(db, Passwords(time_cost=1, memory_cost_kib=64), now=now)
            await write_orders(db, args.open, 0, now, 1)
            delivering = await _progress(db, now)
            filters = service.OrderFilters(statuses=(OrderState.DELIVERING,), limit=PAGE)

            async def page(with_road: bool) -> int:
                async with db.read() as session:
                    rows, _ = await service.list_orders(session, DISPATCHER, filters, now=now)
                    if with_road:
                        views = await order_views(session, rows, now, FULL)
                    else:
                        views = [order_view(r, now, FULL, None) for r in rows]
                    return sum(1 for v in views if v.eta is not None)

            samples: dict[str, dict[str, list[float]]] = {
                k: {"cpu": [], "wall": []} for k in ("with", "without")
            }
            with_eta = 0
            for round_ in range(args.pages + 5):
                for name in ("with", "without"):
                    wall, cpu = time.perf_counter(), time.process_time()
                    found = await page(name == "with")
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    if round_ >= 5:  # the first few warm the caches
                        samples[name]["cpu"].append(cpu)
                        samples[name]["wall"].append(wall)
                    if name == "with":
                        with_eta = found
        finally:
            await db.dispose()
    report: dict[str, Any] = {"orders": args.open, "delivering": delivering, "with_eta": with_eta}
    for name, got in samples.items():
        walls = [w * 1000 for w in got["wall"]]
        report[name] = {
            "cpu_ms": statistics.median(got["cpu"]) * 1000,
            "p50_ms": percentile(walls, 50),
            "p99_ms": percentile(walls, 99),
        }
    report["ratio"] = report["with"]["cpu_ms"] / report["without"]["cpu_ms"]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=4000, help="open orders written")
    parser.add_argument("--pages", type=int, default=200, help="pages read each way")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2))
    verdict = "met" if report["ratio"] <= GOAL else "missed"
    print(
        f"CPU per page with ETAs and riders / without: {report['ratio']:.2f} (<= {GOAL} {verdict})"
    )


if __name__ == "__main__":
    main()
