"""SQLite connections for write transactions that run their statements on the event loop's
thread instead of handing each one to aiosqlite's worker thread.

A write transaction holds SQLite's one write lock (and our FIFO writer lock) across all of its
statements. Handed to a worker thread, each statement costs two thread wake-ups; on a busy
two-core machine that is about a millisecond a statement, so the lock was held some 10 ms per
order transition while the event loop sat idle waiting for the thread (`bench/README.md`,
benchmark 4). Write statements are small (a row or a batch of rows by key; heavy questions,
such as the alert engine's findings and the KPIs, run in read sessions on the usual threaded
connections), so running them inline costs the loop less than the hand-offs did.

aiosqlite 0.22 has no switch for this: `InlineConnection` overrides its private `_execute`,
the one place every statement, cursor call and commit goes through. aiosqlite is pinned in
pyproject; `tests/backend/test_sqlite_writers.py` checks that writes run on the loop's thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run where they are awaited. It still opens
    (and closes) on its worker thread, as aiosqlite does."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_connector(database: str, *, timeout_s: float) -> Callable[[], Awaitable[Any]]:
    """An `async_creator` for `create_async_engine`: a connection to `database` that may be
    used from the loop's thread (it is created on aiosqlite's)."""

    async def connect() -> InlineConnection:
        def open_database() -> sqlite3.Connection:
            return sqlite3.connect(database, timeout=timeout_s, check_same_thread=False)

        connection = InlineConnection(open_database, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        return await connection

    return connect
