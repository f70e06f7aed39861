"""Where the login limiter counts: Redis when the bus is Redis, else the database.

Either way every instance of one deployment shares the counts, so N instances do not allow N
times the guesses. The `limits` library does the counting (fixed windows); this module gives it
a storage for the database, `DatabaseCounters`, one row per counter in `login_attempts`:
an upsert that starts a new window when the old one has ended, atomic on both databases
(PostgreSQL's ON CONFLICT locks the row; SQLite's writer holds the only write lock).

Why not always the database: with Redis configured, Redis already is the shared, fast place,
and a failed sign-in costs no write on the database. Why not always Redis: a deployment without
Redis must still share counts between its instances, and the database is what they share; and
while Redis does not answer, the database counts (`LoginLimiter` tries them in turn).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from limits.aio.storage import Storage
from limits.storage import storage_from_string
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.sql import Query, sql_of

KEY_LENGTH = 400
"""`login_attempts.key`'s length."""
PURGE_EVERY_SECONDS = 60.0
"""How often an instance deletes counters whose window has ended (at most)."""

_HIT = Query(
    "INSERT INTO login_attempts (key, hits, expires_at) VALUES (:key, :amount, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN login_attempts.expires_at <= :now THEN :amount "
    "ELSE login_attempts.hits + :amount END, "
    "expires_at = CASE WHEN login_attempts.expires_at <= :now THEN :expires "
    "ELSE login_attempts.expires_at END "
    "RETURNING hits"
)
_PURGE = Query("DELETE FROM login_attempts WHERE expires_at <= :now")
_CLEAR = Query("DELETE FROM login_attempts WHERE key = :key")


class DatabaseCounters(Storage):
    """A `limits` storage on the `login_attempts` table (fixed windows only).

    `now` is the app's clock in Unix seconds, so tests move windows on by moving the clock.
    """

    STORAGE_SCHEME = ["freshline+database"]

    def __init__(self, db: Database, *, now: Callable[[], float]) -> None:
        super().__init__()
        self.db = db
        self.now = now
        self._purged_at = -PURGE_EVERY_SECONDS

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        key = _stored(key)
        now = self.now()
        purge = now - self._purged_at >= PURGE_EVERY_SECONDS
        if purge:
            self._purged_at = now

        async def hit(session: AsyncSession) -> int:
            sql = sql_of(session)
            if purge:
                # Counters of names tried once are never touched again: drop the ended ones.
                await sql.run(_PURGE, {"now": now})
            row = await sql.one(
                _HIT, {"key": key, "amount": amount, "expires": now + expiry, "now": now}
            )
            assert row is not None
            return int(row[0])

        return await self.db.write(hit)

    async def get(self, key: str) -> int:
        row = await self._row(key)
        return 0 if row is None else int(row[0])

    async def get_expiry(self, key: str) -> float:
        row = await self._row(key)
        return self.now() if row is None else float(row[1])

    async def check(self) -> bool:
        try:
            async with self.db.read() as session:
                await session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    async def reset(self) -> int | None:
        async def wipe(session: AsyncSession) -> int:
            result: Any = await session.execute(text("DELETE FROM login_attempts"))
            return int(result.rowcount or 0)

        return await self.db.write(wipe)

    async def clear(self, key: str) -> None:
        key = _stored(key)

        async def forget(session: AsyncSession) -> None:
            await sql_of(session).run(_CLEAR, {"key": key})

        await self.db.write(forget)

    async def _row(self, key: str) -> tuple[int, float] | None:
        """The counter's hits and end, if its window has not ended."""
        key = _stored(key)
        async with self.db.read() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT hits, expires_at FROM login_attempts "
                        "WHERE key = :key AND expires_at > :now"
                    ),
                    {"key": key, "now": self.now()},
                )
            ).first()
        return None if row is None else (int(row[0]), float(row[1]))


def _stored(key: str) -> str:
    """The key as stored: itself, or its digest when too long for the column (an address a
    trusted proxy passed on is the client's word, of any length)."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class RedisCounters:
    """`limits`' own Redis storage on the bus's Redis, on a connection pool of ours (closed at
    shutdown). Keys live in the URL's database number, so deployments on different numbers do
    not share counts; it counts by the wall clock, as Redis expires keys by it."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import BlockingConnectionPool

        # Bounded waits: a Redis that hangs must not hang sign-ins (the database takes over).
        self.pool = BlockingConnectionPool.from_url(
            url, max_connections=20, timeout=2, socket_timeout=2, socket_connect_timeout=2
        )
        # `limits` types its options as scalars; a pool is what its redis-py bridge takes.
        options: dict[str, Any] = {"connection_pool": self.pool}
        storage = storage_from_string(
            f"async+{url}", implementation="redispy", wrap_exceptions=True, **options
        )
        assert isinstance(storage, Storage)
        self.storage = storage
        self.now: Callable[[], float] = time.time

    async def close(self) -> None:
        await self.pool.aclose()
