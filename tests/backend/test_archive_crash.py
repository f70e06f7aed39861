"""`freshline archive` killed (SIGKILL, a real subprocess) at each point of a move, then run
again: every row is in exactly one tier, and the totals are those of before. On SQLite here, on
PostgreSQL in `test_archive_crash_postgresql.py` (each twin holds a worker for most of a minute:
in two files, `make test` runs them side by side)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.archive.faults import ENV, POINTS
from backend.clock import ManualClock
from tests.backend.archive_support import assert_one_tier_each, census, history, ten_days_ago
from tests.support import TEST_FIELD_KEYS, started

pytestmark = [pytest.mark.slow, pytest.mark.long(25)]


def archive_command(database_url: str, archive: Path, fault: str | None) -> int:
    env = {
        **os.environ,
        "FRESHLINE_DATABASE_URL": database_url,
        "FRESHLINE_ARCHIVE_DIR": str(archive),
        "FRESHLINE_FIELD_KEYS": TEST_FIELD_KEYS,
    }
    env.pop(ENV, None)
    if fault:
        env[ENV] = fault
    done = subprocess.run(
        [sys.executable, "-m", "backend", "archive"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, -9), done.stderr
    return done.returncode


async def totals(database_url: str, archive: Path) -> tuple[int, int]:
    """Orders and their value, both tiers together."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            count, amount = (
                await conn.execute(
                    text("SELECT count(*), coalesce(sum(amount_cents), 0) FROM orders")
                )
            ).one()
            parts = (
                await conn.execute(
                    text("SELECT day, part FROM archive_days WHERE state = 'archived'")
                )
            ).all()
    finally:
        await engine.dispose()
    for day, part in parts:
        day_text = day if isinstance(day, str) else day.isoformat()
        data = pq.read_table(archive / day_text / f"part-{part}" / "orders.parquet")
        count += data.num_rows
        amount += pc.sum(data.column("amount_cents")).as_py() or 0
    return int(count), int(amount)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_killed_at_every_point_of_a_move_loses_nothing(database_url: str, tmp_path: Path) -> None:
    killed_at_every_point_of_a_move(database_url, tmp_path)


def killed_at_every_point_of_a_move(url: str, tmp_path: Path) -> None:
    """The history of three days archived with a kill at each point in turn, then whole."""
    archive = tmp_path / "archive"

    async def make() -> None:
        async for api in started(url, ManualClock(ten_days_ago()), archive_seconds=0):
            await history(api, days=3)

    asyncio.run(make())
    before = asyncio.run(census(url, archive))
    money = asyncio.run(totals(url, archive))
    for point in POINTS:
        assert archive_command(url, archive, point) == -9, point
        assert_one_tier_each(before, asyncio.run(census(url, archive)))
        assert asyncio.run(totals(url, archive)) == money, point
    assert archive_command(url, archive, None) == 0
    after = asyncio.run(census(url, archive))
    assert_one_tier_each(before, after)
    assert len(after["orders"]["hot"]) == 1  # the open order
    assert asyncio.run(totals(url, archive)) == money
    assert not list(archive.glob("*/*/*.partial"))
    assert archive_command(url, archive, None) == 0  # a rerun: nothing more to do
    assert asyncio.run(census(url, archive)) == after
