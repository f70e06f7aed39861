"""How long the KPI questions take on 30 days of history at the simulator's peak rate, on SQLite
and PostgreSQL, each beside a plain COUNT over the same window's orders.

    .venv/bin/python bench/kpi_query.py [--days 30] [--orders-per-hour 72] [--repeat 7]
                                        [--only sqlite|postgresql] [--without-kpi-indexes]

For each database (a temporary SQLite file; a temporary PostgreSQL database on
--postgres-server, dropped afterwards) it migrates, seeds the demo city, writes the history
(`kpi_history.py`: the simulator's own plan at its peak rate all day, played out on paper),
then times each question through the service layer the API uses, `--repeat` times, and the
baseline `SELECT count(*) FROM orders WHERE created_at in the window` just before each round.
Prints median and slowest in ms, and the ratio of the medians. Not part of pytest; see
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kpi_history import seeded_history

from backend.db import Database
from backend.kpi import service
from backend.kpi.reconciliation import reconcile
from backend.kpi.scope import KpiScope
from backend.kpi.sensors import sensor_kpis
from backend.orders.models import OrderRow

BEIJING = ZoneInfo("Asia/Shanghai")
BUDGET_MS = 1000.0
KPI_INDEXES = {
    "orders": (
        "ix_orders_created_at",
        "ix_orders_promised_at",
        "ix_orders_signed_at",
        "ix_orders_updated_at",
    ),
    "events": ("ix_events_kind_at",),
}


async def baseline(db: Database, scope: KpiScope) -> None:
    async with db.read() as session:
        await session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(OrderRow.created_at >= scope.start, OrderRow.created_at < scope.end)
        )


def questions(db: Database, now: datetime) -> list[tuple[str, KpiScope, Callable]]:
    def scope(length: timedelta, **kw) -> KpiScope:
        return service.scope_for(now=now, start=None, end=None, default_length=length, **kw)

    async def summary(s: KpiScope) -> None:
        async with db.read() as session:
            await service.summary(session, s, now=now)

    async def series(s: KpiScope) -> None:
        async with db.read() as session:
            await service.series(session, s)

    async def sensors(s: KpiScope) -> None:
        async with db.read() as session:
            await sensor_kpis(session, s)

    async def exceptions(s: KpiScope) -> None:
        async with db.read() as session:
            await service.exceptions(session, s)

    yesterday = (now.astimezone(BEIJING) - timedelta(days=1)).date()

    async def reconciliation(_s: KpiScope) -> None:
        async with db.read() as session:
            await reconcile(session, yesterday, BEIJING, "Asia/Shanghai")

    hour, day, month = timedelta(hours=1), timedelta(days=1), timedelta(days=30)
    return [
        ("summary, last hour (the stream's push)", scope(hour), summary),
        ("sensors alone, last hour (in the summary)", scope(hour), sensors),
        ("summary, last 24 h", scope(day), summary),
        ("summary, last 24 h, one zone", scope(day, zone="Chaoyang"), summary),
        ("series, last 24 h, 96 x 15 min", scope(day), series),
        ("exceptions, last 24 h", scope(day), exceptions),
        ("reconciliation, yesterday", scope(day), reconciliation),
        ("summary, all 30 days", scope(month), summary),
        ("series, all 30 days, 720 x 1 h", scope(month, bucket_minutes=60), series),
    ]


async def timed(call: Callable[[], Awaitable[None]]) -> float:
    begin = time.perf_counter()
    await call()
    return (time.perf_counter() - begin) * 1000


async def measure(
    db: Database, now: datetime, repeat: int
) -> list[tuple[str, float, float, float]]:
    rows = []
    for name, scope, ask in questions(db, now):
        await ask(scope)  # warm: plans and pages cached, as for a screen asking again
        kpi, base = [], []
        for _ in range(repeat):
            base.append(await timed(lambda s=scope: baseline(db, s)))
            kpi.append(await timed(lambda s=scope, a=ask: a(s)))
        rows.append((name, statistics.median(kpi), max(kpi), statistics.median(base)))
    return rows


async def run(url: str, args: argparse.Namespace, label: str) -> None:
    db = Database(url)
    try:
        history = await seeded_history(
            db, days=args.days, orders_per_hour=args.orders_per_hour, seed=args.seed
        )
        now, counts, written = history.now, history.counts, history.written_s
        if args.without_kpi_indexes:

            async def _job(session):
                for names in KPI_INDEXES.values():
                    for name in names:
                        await session.execute(text(f"DROP INDEX {name}"))

            await db.write(_job)

        async def _job(session):
            await session.execute(text("ANALYZE"))

        await db.write(_job)
        print(
            f"\n{label}: {', '.join(f'{v:,} {k}' for k, v in counts.items())} "
            f"written in {written:.1f} s"
            + (" (KPI indexes dropped)" if args.without_kpi_indexes else "")
        )
        print(
            f"{'question':44} {'median ms':>10} {'max ms':>8} {'COUNT ms':>9} {'ratio':>7}  budget"
        )
        for name, median, slowest, base in await measure(db, now, args.repeat):
            verdict = "ok" if slowest < BUDGET_MS else "OVER"
            print(
                f"{name:44} {median:10.1f} {slowest:8.1f} {base:9.2f} "
                f"{median / base:7.1f}  {verdict}"
            )
    finally:
        await db.dispose()


async def postgres(server: str, args: argparse.Namespace) -> None:
    name = f"freshline_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(f"{server}/test", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await run(f"{server}/{name}", args, "PostgreSQL")
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--orders-per-hour",
        type=float,
        default=72.0,
        help="the simulator's peak rate (its default), all day",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--without-kpi-indexes",
        action="store_true",
        help="drop migration 0006's indexes first, to see what they buy",
    )
    args = parser.parse_args()
    print(
        f"{args.days} days at {args.orders_per_hour:g} orders/h; each question {args.repeat}x "
        f"after a warm-up; baseline: count(*) of the window's orders; budget {BUDGET_MS:.0f} ms"
    )
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory(prefix="freshline-kpi-bench-") as folder:
            asyncio.run(run(f"sqlite+aiosqlite:///{folder}/bench.db", args, "SQLite"))
    if args.only != "sqlite":
        asyncio.run(postgres(args.postgres_server, args))


if __name__ == "__main__":
    main()
