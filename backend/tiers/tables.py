"""What moves to the archive, and how a table's rows become Arrow columns and back.

Rows are read and written as the database stores them: encrypted columns (`Sealed`) as their
ciphertext, never decrypted on the way to Parquet (erasure and key rotation still reach them,
docs/data-tiers.md); JSON columns as their text; times as UTC timestamps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnClause,
    Date,
    Float,
    Integer,
    Table,
    TableClause,
    Text,
    column,
    table,
)
from sqlalchemy.types import TypeEngine

from backend.crypto.columns import Sealed
from backend.db import Base, UTCDateTime


@dataclass(frozen=True, slots=True)
class Moving:
    """A table whose rows move: those of the day's orders (`link` names the column holding
    the order id), or, for `link="at"`, those of the day by their time."""

    name: str
    link: str

    @property
    def table(self) -> Table:
        return Base.metadata.tables[self.name]


ORDER_TABLES = (
    # Children before their parents: the deletion goes in this order.
    Moving("delivery_progress", "order_id"),
    Moving("delivery_items", "order_id"),
    Moving("channel_callbacks", "order_id"),
    Moving("channel_orders", "order_id"),
    Moving("return_requests", "order_id"),
    Moving("notifications", "order_id"),
    Moving("proofs", "order_id"),
    Moving("order_pins", "order_id"),
    Moving("tracking_links", "order_id"),
    Moving("order_items", "order_id"),
    Moving("events", "order_id"),
    Moving("orders", "id"),
)
"""A closed order and everything that hangs on it. Alerts and sensor readings stay: they
carry the order's id without a foreign key, and have lives of their own."""
FIXES = Moving("rider_positions", "at")
MOVING = (*ORDER_TABLES, FIXES)
BY_NAME = {moving.name: moving for moving in MOVING}


def _raw_type(kind: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type a column is read and written as: ciphertexts and JSON as their text."""
    if isinstance(kind, Sealed | JSON):
        return Text()
    return kind


def raw_table(name: str) -> TableClause:
    """`name` as stored: ciphertexts stay ciphertexts, JSON stays text."""
    return table(name, *(column(c.name, _raw_type(c.type)) for c in Base.metadata.tables[name].c))


def raw_columns(name: str) -> list[ColumnClause[Any]]:
    return list(raw_table(name).c)


def arrow_type(kind: TypeEngine[Any]) -> pa.DataType:
    """The Parquet column type of a database column type."""
    if isinstance(kind, Sealed | JSON | Text):
        return pa.string()
    if isinstance(kind, UTCDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer | BigInteger):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    return pa.string()  # String(n) and the like


def schema(name: str) -> pa.Schema:
    columns = Base.metadata.tables[name].c
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=True) for c in columns])


def to_arrow(name: str, rows: list[Any]) -> pa.Table:
    """Rows read with `raw_columns(name)` as an Arrow table of the table's schema."""
    shape = schema(name)
    columns = [[row[i] for row in rows] for i in range(len(shape))]
    for i, kind in enumerate(c.type for c in Base.metadata.tables[name].c):
        if isinstance(kind, JSON):
            # asyncpg hands JSON over decoded whatever the column is read as: back to text.
            columns[i] = [
                v if v is None or isinstance(v, str) else json.dumps(v) for v in columns[i]
            ]
    return pa.Table.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, shape, strict=True)],
        schema=shape,
    )


def insert_table(name: str) -> TableClause:
    """`name` to insert archived rows into: ciphertexts as they are, JSON as JSON."""
    columns = Base.metadata.tables[name].c
    return table(
        name, *(column(c.name, Text() if isinstance(c.type, Sealed) else c.type) for c in columns)
    )


def from_arrow(name: str, data: pa.Table) -> list[dict[str, Any]]:
    """An Arrow table back as rows to insert through `insert_table(name)`."""
    rows = data.to_pylist()
    for c in Base.metadata.tables[name].c:
        if isinstance(c.type, JSON):
            for row in rows:
                row[c.name] = json_of(row[c.name])
    return rows


def from_sqlite(name: str, rows: list[Any]) -> pa.Table:
    """Rows read straight from SQLite (`SELECT` of every column in order) as an Arrow table:
    times parsed from their text in Arrow, booleans from integers (the ORM's per-value
    conversions cost more than the whole rest of a move)."""
    shape = schema(name)
    arrays = []
    for i, c in enumerate(Base.metadata.tables[name].c):
        values = [row[i] for row in rows]
        field = shape.field(i)
        if isinstance(c.type, UTCDateTime):
            text_values = pa.array(values, type=pa.string())
            arrays.append(text_values.cast(pa.timestamp("us")).cast(field.type))
        elif isinstance(c.type, Date):
            arrays.append(pa.array(values, type=pa.string()).cast(pa.date32()))
        elif isinstance(c.type, Boolean):
            arrays.append(pa.array(values, type=pa.int64()).cast(pa.bool_()))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=shape)


def sqlite_rows(name: str, data: pa.Table) -> list[tuple[Any, ...]]:
    """Archived rows as SQLite stores them (times as SQLAlchemy's naive UTC text, booleans as
    integers, JSON as its text), converted column by column in Arrow: a KPI window loads
    months of rows, and the ORM's per-value conversions would cost seconds."""
    arrays = []
    for c in Base.metadata.tables[name].c:
        values = data.column(c.name)
        if isinstance(c.type, UTCDateTime):
            # Naive, then text: "YYYY-MM-DD HH:MM:SS.ffffff", as SQLAlchemy writes it.
            values = values.cast(pa.timestamp("us")).cast(pa.string())
        elif isinstance(c.type, Date):
            values = values.cast(pa.string())
        elif isinstance(c.type, Boolean):
            values = values.cast(pa.int64())
        arrays.append(values.to_pylist())
    return list(zip(*arrays, strict=True))


def json_of(text: str | None) -> Any:
    """A JSON column's stored text as a value (the archive keeps the text)."""
    return None if text is None else json.loads(text)
