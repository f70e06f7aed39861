"""Database access: the engine, read and write sessions, shared column types, migrations.

SQLite (the default) runs in WAL mode with a busy timeout; write transactions start with
`BEGIN IMMEDIATE` so two writers queue for the lock instead of failing on upgrade, and within
one process they queue in arrival order on an asyncio lock first. PostgreSQL runs through
asyncpg. The same models and migrations serve both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Where the outbox leaves the highest seq a write session appended.
COMMITTED_SEQ = "freshline_last_seq"

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
    """One engine and its sessions; `read()` for queries, `write()` for one committed change."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"pool_pre_ping": self.dialect != "sqlite"}
        if self.dialect == "sqlite":
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        self.engine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self.engine.sync_engine, busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one write lock per file, and its busy handler is not fair: a writer that
        # polls and sleeps can lose the lock again and again to newcomers (seconds under load).
        # Writers of this process take turns here, first come first served, and only the
        # holder sits on a pooled connection; the busy timeout is left for other processes.
        self._writer = asyncio.Lock() if self.dialect == "sqlite" else None
        self.committed: list[Callable[[int], None]] = []
        """Told the highest event `seq` of each committed write that appended events."""

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; rolled back at the end."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits as one transaction when the block ends without error."""
        async with self._writer or contextlib.nullcontext(), self.sessions() as session:
            # On SQLite take the write lock up front (BEGIN IMMEDIATE): a deferred transaction
            # that reads and then writes fails with SQLITE_BUSY when another writer got there first.
            await session.connection(execution_options={"freshline_write": True})
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            seq = session.info.get(COMMITTED_SEQ)
            if seq is not None:
                # Announced only now that it is committed (DESIGN.md data flow, step 2).
                for listener in self.committed:
                    listener(seq)

    async def migrate(self) -> None:
        """Upgrade the schema to the newest revision."""
        async with self.engine.begin() as conn:
            if self.is_postgres:
                # Two instances starting together must not both run the same migration.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(_upgrade_to_head)

    async def dispose(self) -> None:
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


def _install_sqlite_hooks(sync_engine: Any, busy_timeout_ms: int) -> None:
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
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("freshline_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def conflict_insert(session: AsyncSession) -> Callable[..., Any]:
    """`insert` of the session's database, the one with `on_conflict_do_*` (both have it)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
