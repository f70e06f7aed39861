"""SQLite connections: the pragmas every connection gets, who begins transactions, and the
writer's connection that runs statements where they are awaited.

Every connection runs in WAL mode (readers never block the writer) with a busy timeout, and
leaves transactions to SQLAlchemy: a write transaction begins with `BEGIN IMMEDIATE`, so it
holds the write lock from its first statement instead of failing on the upgrade from a read.

Reads go through aiosqlite as usual, a worker thread per connection. The writer
(`backend/writer.py`) runs on a thread of its own, so its statements need no worker thread:
`InlineConnection` runs each one where it is awaited. aiosqlite 0.22 has no switch for this;
`InlineConnection` overrides its private `_execute`, the one place every statement, cursor call
and commit goes through. aiosqlite is pinned in pyproject; `tests/backend/test_writer.py`
checks that writes run on the writer's thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Connection

WRITE = "freshline_write"
"""Execution option of a connection whose transactions write (`BEGIN IMMEDIATE`)."""


def install_hooks(sync_engine: Any, busy_timeout_ms: int) -> None:
    """Pragmas on connect, and SQLAlchemy (not the driver) beginning transactions."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            # A changed or deleted value is overwritten in the file, not left in a free page:
            # an erased customer (backend/privacy/erasure.py) leaves no bytes behind.
            "PRAGMA secure_delete=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run where they are awaited. It still opens
    (and closes) on its worker thread, as aiosqlite does."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_connector(database: str, *, timeout_s: float) -> Callable[[], Awaitable[Any]]:
    """An `async_creator` for `create_async_engine`: a connection to `database` whose
    statements run on the thread that awaits them (it is created on aiosqlite's)."""

    async def connect() -> InlineConnection:
        def open_database() -> sqlite3.Connection:
            return sqlite3.connect(database, timeout=timeout_s, check_same_thread=False)

        connection = InlineConnection(open_database, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        await connection  # connects, on the connection's own thread
        return connection

    return connect
