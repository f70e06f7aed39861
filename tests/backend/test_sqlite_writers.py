"""SQLite's single write lock, shared fairly: writers of one process commit in arrival order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from backend.db import Database


async def test_writers_take_turns_in_arrival_order_and_none_is_refused(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=200)
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE turn (n INTEGER NOT NULL)"))

        async def writer(n: int) -> None:
            async with db.write() as session:
                await session.execute(text("INSERT INTO turn (n) VALUES (:n)"), {"n": n})
                # Hold the lock across awaits, as a real transaction does: more than the busy
                # timeout in all, so the busy handler alone would refuse some of them.
                await asyncio.sleep(0.01)
                await session.execute(text("SELECT count(*) FROM turn"))

        await asyncio.gather(*(writer(n) for n in range(40)))
        async with db.read() as session:
            order = [
                row[0] for row in await session.execute(text("SELECT n FROM turn ORDER BY rowid"))
            ]
        assert order == list(range(40))
    finally:
        await db.dispose()
