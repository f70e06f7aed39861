"""Database access: the engine, read sessions, writes, shared column types, migrations.

Reads open a session of their own (`Database.read`). Every change is a job handed to the
database's writer (`Database.write`, see `backend/writer.py`): on SQLite one thread of its own
commits jobs in batches; on PostgreSQL jobs run side by side. SQLite runs in WAL mode
(`backend/sqlite.py`); PostgreSQL through asyncpg. The same models and migrations serve both.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from backend.sqlite import install_hooks
from backend.writer import EventListener, Job, PostgresWriter, SqliteWriter, T

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit key that is ours alone among PostgreSQL advisory locks.
MIGRATION_LOCK_KEY = 0x46524C01


class Base(DeclarativeBase):
    """Declarative base for every table, with named constraints for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite only aliases the rowid for INTEGER PRIMARY KEY, so big ids are INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores it naive, we restore the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """One engine and its sessions; `read()` for queries, `write(job)` for one committed change."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {}
        database = self.url.database
        if self.dialect == "sqlite":
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
            # Reads only: a pool big enough that bursts of readers reuse connections (each is a
            # thread of aiosqlite's) instead of opening and closing overflow ones.
            kwargs["pool_size"], kwargs["max_overflow"] = 16, 16
        else:
            # No ping before each checkout (on asyncpg a transaction of three round trips): a
            # connection a restarted server dropped fails its statement, SQLAlchemy then drops
            # every connection older than it, and that one request answers 503 (retry it).
            # Sized for the writers side by side plus the readers, without opening and closing
            # overflow connections at every burst.
            kwargs["pool_size"], kwargs["max_overflow"] = 20, 20
        # A failed statement's error (logged with its traceback) names the statement, never
        # the values it carried: phones and names stay out of the logs (log_redaction.py).
        self.engine = create_async_engine(self.url, hide_parameters=True, **kwargs)
        if self.dialect == "sqlite":
            install_hooks(self.engine.sync_engine, busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.committed: list[EventListener] = []
        """Told of newly numbered events (rows in `seq` order), on the loop that first wrote."""
        self.writer: SqliteWriter | PostgresWriter
        if self.dialect == "sqlite":
            assert database, "SQLite needs a file: the writer and the readers share it"
            self.writer = SqliteWriter(
                database, busy_timeout_ms=busy_timeout_ms, listeners=self.committed
            )
        else:
            self.writer = PostgresWriter(self.engine, numbered=self.committed)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; rolled back at the end."""
        async with self.sessions() as session:
            yield session

    async def write(self, job: Job[T]) -> T:
        """Run `job(session)` in a write transaction and return its result once committed;
        if it raises, nothing it did is kept and the error reaches the caller."""
        return await self.writer.run(job)

    async def start(self) -> None:
        """Start the writer (its thread on SQLite, its sequencer on PostgreSQL) now, rather
        than on the first write."""
        await self.writer.start()

    async def migrate(self) -> None:
        """Upgrade the schema to the newest revision."""
        if not self.is_postgres:
            async with self.engine.connect() as conn:
                await conn.run_sync(_upgrade_sqlite_to_head)
            return
        async with self.engine.begin() as conn:
            # Two instances starting together must not both run the same migration.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await conn.run_sync(_upgrade_to_head)

    async def dispose(self) -> None:
        await self.writer.close()
        await self.engine.dispose()


async def lock_key(session: AsyncSession, namespace: int, key: str) -> None:
    """Serialise transactions working on the same `key` until this one ends.

    On PostgreSQL a transaction-level advisory lock; on SQLite nothing is needed, because a
    write transaction already holds the database's only write lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    value = zlib.crc32(key.encode())
    signed = value - 2**32 if value >= 2**31 else value  # pg_advisory_xact_lock takes int4
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:ns, :k)"), {"ns": namespace, "k": signed}
    )


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _upgrade_sqlite_to_head(connection: Connection) -> None:
    """SQLite alters a table by copying it and dropping the old one, which the foreign keys
    of rows elsewhere refuse (`DROP TABLE riders` with accounts of riders): they are off while
    the migrations run (a pragma outside any transaction, so before it begins) and checked
    whole before the upgrade commits."""
    driver = connection.connection.dbapi_connection
    assert driver is not None

    def pragma(sql: str) -> None:
        cursor = driver.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    pragma("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            _upgrade_to_head(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migrations left rows without their parents: {broken[:5]}")
    finally:
        pragma("PRAGMA foreign_keys=ON")


def conflict_insert(session: AsyncSession) -> Callable[..., Any]:
    """`insert` of the session's database, the one with `on_conflict_do_*` (both have it)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
