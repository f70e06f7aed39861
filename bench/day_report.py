"""The day report on a month of a busy city's history: how long one business day's report takes
(computed and rendered, as `GET /reports/day` does) beside a raw SQL count over the same day's
rows, and the CPU each costs.

    .venv/bin/python bench/day_report.py [--days 30] [--orders-per-hour 72] [--repeat 3]

A temporary SQLite file is migrated, seeded with the demo city, and filled with `--days` of
history ending now (`kpi_history.py`: the simulator's plan at its peak rate all day, as
`kpi_query.py` builds it, written with direct inserts). Then yesterday's report (a whole
business day, with its alerts, claims, riders and the reconciliation) is built `--repeat` times
as JSON, Markdown and PDF, the baseline counting the day's orders and events in plain SQL just
before each round; then every other day of the month once, in a row. Not part of pytest;
`bench/run.py` runs it as benchmark 16.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kpi_history import seeded_history

from backend.db import Database
from backend.kpi.reconciliation import day_bounds
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend.reports.pdf import pdf_bytes
from backend.reports.render import markdown
from backend.reports.service import day_report

ZONE_NAME = "Asia/Shanghai"
ZONE = ZoneInfo(ZONE_NAME)
GOAL_S = 5.0
"""One business day's report on a month of history, computed and rendered."""


async def report_once(db: Database, day: date, now: datetime) -> None:
    async with db.read() as session:
        report = await day_report(session, day=day, zone=ZONE, zone_name=ZONE_NAME, now=now)
    markdown(report)
    pdf_bytes(report)


async def baseline(db: Database, day: date) -> None:
    """The raw reading of the same rows: the day's orders and events, counted."""
    start, end = day_bounds(day, ZONE)
    async with db.read() as session:
        await session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        )
        await session.scalar(
            select(func.count())
            .select_from(EventRow)
            .where(EventRow.at >= start, EventRow.at < end)
        )


async def timed(call: Any) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    await call()
    return time.perf_counter() - wall, time.process_time() - cpu


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="freshline-report-") as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/report.db")
        try:
            history = await seeded_history(
                db, days=args.days, orders_per_hour=args.orders_per_hour, seed=args.seed
            )
            now, counts, written = history.now, history.counts, history.written_s

            async def analyse(session: Any) -> None:
                await session.execute(text("ANALYZE"))

            await db.write(analyse)
            yesterday = (now.astimezone(ZONE) - timedelta(days=1)).date()
            await report_once(db, yesterday, now)  # warm: plans and pages cached
            reports, raws = [], []
            for _ in range(args.repeat):
                raws.append(await timed(lambda: baseline(db, yesterday)))
                reports.append(await timed(lambda: report_once(db, yesterday, now)))
            days = [yesterday - timedelta(days=n) for n in range(args.days - 1)]
            month_wall, month_cpu = time.perf_counter(), time.process_time()
            for day in days:
                await report_once(db, day, now)
            month_wall = time.perf_counter() - month_wall
            month_cpu = time.process_time() - month_cpu
            month_raw = [await timed(lambda d=day: baseline(db, d)) for day in days]
        finally:
            await db.dispose()
    return {
        "history": counts,
        "history_written_s": written,
        "orders_per_day": counts["orders"] / args.days,
        "report_s": statistics.median(w for w, _ in reports),
        "report_slowest_s": max(w for w, _ in reports),
        "report_cpu_s": statistics.median(c for _, c in reports),
        "baseline_s": statistics.median(w for w, _ in raws),
        "baseline_cpu_s": statistics.median(c for _, c in raws),
        "month_days": len(days),
        "month_s": month_wall,
        "month_cpu_s": month_cpu,
        "month_baseline_s": sum(w for w, _ in month_raw),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--orders-per-hour", type=float, default=72.0, help="the simulator's peak rate, all day"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    report = asyncio.run(run(parser.parse_args()))
    for name, value in report.items():
        print(f"{name:24} {value}")


if __name__ == "__main__":
    main()
