"""Reading hot and archived rows together, with the queries written for the database alone.

A tiered read opens a connection of its own and, in it, a temporary table named like each
table it needs (`orders`, `events`, ...): both databases look a bare table name up in the
connection's temporary tables first, so every query of the KPIs, the timeline or the track
replay, unchanged, reads the temporary table. It is filled with the hot rows asked for (copied
inside the database) and the archived rows of the days asked for (read with pyarrow). The
connection is thrown away afterwards, temporary tables and all: no pooled connection ever
keeps one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Base, Database, UTCDateTime
from backend.tiers.models import ArchiveDayRow
from backend.tiers.store import PartitionStore
from backend.tiers.tables import from_arrow, insert_table, schema, sqlite_rows

INDEXES = {
    "orders": ("id", "created_at", "signed_at", "promised_at", "updated_at", "status"),
    "events": ("id", "order_id", "kind, at", "rider_id, at"),
    "order_items": ("order_id",),
    "rider_positions": ("rider_id, at",),
}
"""The temporary tables' indexes: those the readers' queries lean on."""
INSERT_BATCH = 5_000
LOAD_BATCH = 50_000


@dataclass(slots=True)
class Shadow:
    """One table of a tiered read: which hot rows (`hot_where`, SQL over the table, with
    `params`; None for none) and which archived rows (`archived`, filters for pyarrow)."""

    name: str
    hot_where: str | None = "1 = 1"
    params: dict[str, Any] = field(default_factory=dict)
    archived: list[tuple[str, str, object]] | None = None
    blank: tuple[str, ...] = ()
    """Text columns the reader never looks at, loaded empty: not read from the files, not
    copied (a KPI window never reads a customer's encrypted name)."""


async def archived_parts(
    db: Database,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    order_id: int | None = None,
) -> list[tuple[date, int]]:
    """The archived parts whose rows reach into [start, end) (all of them without bounds), or
    that may hold the order `order_id`."""
    row = ArchiveDayRow
    query = select(row.day, row.part).where(row.state == "archived")
    if order_id is not None:
        query = query.where(row.min_order_id <= order_id, row.max_order_id >= order_id)
    if start is not None:
        query = query.where(row.last_at >= start)
    if end is not None:
        query = query.where(row.first_at < end)
    async with db.read() as session:
        return [(day, part) for day, part in (await session.execute(query.order_by(row.day)))]


def read_parts(
    store: PartitionStore,
    parts: Sequence[tuple[date, int]],
    name: str,
    filters: list[tuple[str, str, object]] | None,
    blank: Sequence[str] = (),
) -> pa.Table:
    """One table's archived rows of `parts`, matching `filters`; `blank` columns empty."""
    shape = schema(name)
    columns = [field.name for field in shape if field.name not in blank] if blank else None
    tables = [store.read(day, part, name, filters=filters, columns=columns) for day, part in parts]
    if not tables:
        return shape.empty_table()
    data = pa.concat_tables(tables)
    for index in sorted(shape.get_field_index(column) for column in blank):
        empty = pa.array([""] * data.num_rows, type=shape.field(index).type)
        data = data.add_column(index, shape.field(index), empty)
    return data


@asynccontextmanager
async def tiered_session(
    db: Database,
    store: PartitionStore,
    parts: Sequence[tuple[date, int]],
    shadows: Sequence[Shadow],
) -> AsyncIterator[AsyncSession]:
    """A read session whose `shadows` tables hold their hot rows plus their archived rows of
    `parts`; every other table is the database's own."""
    conn = await db.engine.connect()
    try:
        schema_name = None
        if db.is_postgres:
            schema_name = await conn.scalar(text("SELECT current_schema()"))
        else:
            # In memory: the tables die with the connection, nothing to write to disk (set
            # through the driver, before SQLAlchemy begins a transaction: SQLite refuses it in one).
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.execute("PRAGMA temp_store = MEMORY")
        for shadow in shadows:
            await _create(conn, shadow, postgres=db.is_postgres, schema_name=schema_name)
            archived = read_parts(store, parts, shadow.name, shadow.archived, shadow.blank)
            if archived.num_rows:
                if db.is_postgres:
                    target = insert_table(shadow.name)
                    for batch in archived.to_batches(INSERT_BATCH):
                        rows = from_arrow(shadow.name, pa.Table.from_batches([batch]))
                        if rows:
                            await conn.execute(insert(target), rows)
                else:
                    await _load_sqlite(conn, shadow.name, archived)
            for n, columns in enumerate(INDEXES.get(shadow.name, ())):
                await conn.execute(
                    text(f"CREATE INDEX tier_{shadow.name}_{n} ON {shadow.name} ({columns})")
                )
        async with AsyncSession(bind=conn) as session:
            yield session
    finally:
        # Thrown away, not pooled: its temporary tables go with it.
        await conn.invalidate()
        await conn.close()


async def _load_sqlite(conn: Any, name: str, data: pa.Table) -> None:
    """Archived rows into the temporary table through the driver, as SQLite stores them."""
    columns = [c.name for c in Base.metadata.tables[name].c]
    sql = (
        f"INSERT INTO temp.{name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    driver = (await conn.get_raw_connection()).driver_connection
    for batch in data.to_batches(LOAD_BATCH):
        await driver.executemany(sql, sqlite_rows(name, pa.Table.from_batches([batch])))


async def _create(conn: Any, shadow: Shadow, *, postgres: bool, schema_name: str | None) -> None:
    name = shadow.name
    if postgres:
        source = f'"{schema_name}".{name}'
        await conn.execute(text(f"CREATE TEMPORARY TABLE {name} (LIKE {source})"))
        target = f"pg_temp.{name}"
    else:
        source = f"main.{name}"
        await conn.execute(text(f"CREATE TEMPORARY TABLE {name} AS SELECT * FROM {source} WHERE 0"))
        target = f"temp.{name}"
    if shadow.hot_where is not None:
        # Times bound as the column stores them (SQLite: naive UTC text).
        params = [
            bindparam(key, value, type_=UTCDateTime() if isinstance(value, datetime) else None)
            for key, value in shadow.params.items()
        ]
        copy = text(f"INSERT INTO {target} SELECT * FROM {source} WHERE {shadow.hot_where}")
        await conn.execute(copy.bindparams(*params))
