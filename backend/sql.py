"""Hand-written SQL for the write path, run on the driver's own connection.

SQLAlchemy costs 60 to 140 µs of Python per statement here (building the statement, its cache
key, the execution context, the result), where the driver itself takes 2 to 20 µs; an order
transition is five to ten statements. So the statements every transition makes are written
out as SQL both databases understand, and run on the connection of the writer's transaction
(`sqlite3` on the SQLite writer's thread; `asyncpg` on PostgreSQL), inside that transaction.
Everything else (reads, rare writes) stays with SQLAlchemy, on the same connection.

A `Query` is SQL with `:name` parameters. For PostgreSQL they become `$1, $2, ...`; for SQLite
a trailing `FOR UPDATE [OF table]` is dropped (its writer already holds the only write lock).
Values cross as each database keeps them: SQLite gets times as the text SQLAlchemy writes there
(so both compare and sort alike) and `when()` reads them back; JSON crosses as text both ways
in, and comes back parsed from PostgreSQL and as text from SQLite (`json_value`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

import asyncpg
import orjson
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

SQL = "freshline_sql"
"""Where a write session keeps its `Sql`."""
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_ROW_LOCK = re.compile(r" FOR UPDATE( OF \w+)?$")


class Query:
    """One statement, written once, prepared for either database on first use."""

    __slots__ = ("_postgres", "_sqlite", "text")

    def __init__(self, text: str) -> None:
        self.text = " ".join(text.split())
        self._sqlite: str | None = None
        self._postgres: tuple[str, tuple[str, ...]] | None = None

    def for_sqlite(self) -> str:
        if self._sqlite is None:
            self._sqlite = _ROW_LOCK.sub("", self.text)
        return self._sqlite

    def for_postgres(self) -> tuple[str, tuple[str, ...]]:
        """The text with `$n` placeholders, and the parameter name of each `n`."""
        if self._postgres is None:
            names: list[str] = []

            def number(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in names:
                    names.append(name)
                return f"${names.index(name) + 1}"

            self._postgres = (_PARAM.sub(number, self.text), tuple(names))
        return self._postgres

    def __repr__(self) -> str:
        return f"Query({self.text[:60]!r})"


Row = Sequence[Any]


class Sql(Protocol):
    """Statements on the connection of the caller's write transaction."""

    async def all(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def one(self, query: Query, params: Mapping[str, Any] | None = None) -> Row | None: ...

    async def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        """Execute; how many rows it changed."""
        ...

    async def many(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None: ...


def sql_of(session: AsyncSession) -> Sql:
    """The `Sql` of a session: on the driver's connection in a write session (the writer puts
    it there); through SQLAlchemy in any other (a read), slower but the same statements."""
    found = session.info.get(SQL)
    if found is None:
        found = session.info[SQL] = SessionSql(session)
    return found


def in_list(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`(:name_0, :name_1, ...)` and its parameters: an IN list both databases take."""
    params = {f"{name}_{n}": value for n, value in enumerate(values)}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params


# --- Values ---------------------------------------------------------------------------------


def when(value: Any) -> datetime | None:
    """A time as read from either database: aware, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def json_value(value: Any) -> Any:
    """A JSON column as read: text from SQLite, already parsed from PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _failed(query: Query, error: Exception) -> NoReturn:
    """Raise a driver's error as SQLAlchemy raises it for its own statements, so a statement
    of ours fails as one of the ORM's would: a duplicate is an `IntegrityError` (409), a value
    out of range a `DataError` (422), a deadlock an `OperationalError` that the PostgreSQL
    writer retries (it reads the SQLSTATE on `orig`), anything else a `DBAPIError` (503)."""
    state = getattr(error, "sqlstate", None) or ""
    kind: type[sa_exc.DBAPIError]
    if isinstance(error, sqlite3.IntegrityError) or state.startswith("23"):
        kind = sa_exc.IntegrityError
    elif isinstance(error, sqlite3.DataError) or state.startswith("22"):
        kind = sa_exc.DataError
    else:
        kind = sa_exc.OperationalError
    raise kind(query.text, None, error) from error


class Changed(Protocol):
    """A row held as a record that notes which columns were assigned since it was read."""

    id: int
    changed: set[str]


_UPDATES: dict[tuple[str, frozenset[str]], Query] = {}


async def save_changed(sql: Sql, table: str, record: Changed) -> None:
    """Write the columns of `record` assigned since it was loaded (or last saved): one UPDATE,
    its text made once per table and set of columns."""
    if not record.changed:
        return
    names = frozenset(record.changed)
    query = _UPDATES.get((table, names))
    if query is None:
        assignments = ", ".join(f"{name} = :{name}" for name in sorted(names))
        query = Query(f"UPDATE {table} SET {assignments} WHERE id = :id")
        _UPDATES[(table, names)] = query
    await sql.run(query, {"id": record.id, **{name: getattr(record, name) for name in names}})
    record.changed.clear()


# --- SQLite ---------------------------------------------------------------------------------


class SqliteSql:
    """`sqlite3` calls on the writer's thread: no await is needed, none is made."""

    __slots__ = ("connection",)

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def all(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        try:
            return self.connection.execute(query.for_sqlite(), _sqlite(params)).fetchall()
        except sqlite3.Error as error:
            _failed(query, error)

    async def one(self, query: Query, params: Mapping[str, Any] | None = None) -> Row | None:
        try:
            return self.connection.execute(query.for_sqlite(), _sqlite(params)).fetchone()
        except sqlite3.Error as error:
            _failed(query, error)

    async def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        try:
            return self.connection.execute(query.for_sqlite(), _sqlite(params)).rowcount
        except sqlite3.Error as error:
            _failed(query, error)

    async def many(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        try:
            self.connection.executemany(query.for_sqlite(), [_sqlite(row) for row in rows])
        except sqlite3.Error as error:
            _failed(query, error)


def _sqlite(params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not params:
        return {}
    if not any(isinstance(v, datetime) for v in params.values()):
        return params
    return {k: _stamp(v) if isinstance(v, datetime) else v for k, v in params.items()}


def _stamp(value: datetime) -> str:
    # As SQLAlchemy writes a UTC time on SQLite (`backend.db.UTCDateTime`), so text compares
    # in time order with what it wrote.
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a timezone")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# --- Any session ----------------------------------------------------------------------------


class SessionSql:
    """The same statements through SQLAlchemy's `text()`, for sessions the writer did not open
    (reads): values as the driver gives them, as on the fast path."""

    __slots__ = ("session", "sqlite")

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def _text(self, query: Query) -> Any:
        from sqlalchemy import text

        return text(query.for_sqlite() if self.sqlite else query.text)

    def _params(self, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        return _sqlite(params) if self.sqlite else (params or {})

    async def all(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        result = await self.session.execute(self._text(query), self._params(params))
        return [tuple(row) for row in result.all()]

    async def one(self, query: Query, params: Mapping[str, Any] | None = None) -> Row | None:
        result = await self.session.execute(self._text(query), self._params(params))
        row = result.first()
        return None if row is None else tuple(row)

    async def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        result = await self.session.execute(self._text(query), self._params(params))
        return getattr(result, "rowcount", 0)

    async def many(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        await self.session.execute(self._text(query), [self._params(row) for row in rows])


# --- PostgreSQL -----------------------------------------------------------------------------


class PostgresSql:
    """`asyncpg` calls on the session's connection, inside the session's transaction.

    SQLAlchemy's asyncpg adapter begins its transaction on the first statement it runs; a
    statement of ours may come first, so it begins it the same way (`_start_transaction`, the
    adapter's own). SQLAlchemy is pinned; `tests/backend/test_sql.py` checks that a statement
    of ours rolls back with the session.
    """

    __slots__ = ("adapter",)

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    async def _connection(self) -> Any:
        adapter = self.adapter
        if adapter._transaction is None:
            await adapter._start_transaction()
        return adapter._connection

    async def all(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        text, names = query.for_postgres()
        try:
            return await (await self._connection()).fetch(text, *_args(names, params))
        except asyncpg.PostgresError as error:
            _failed(query, error)

    async def one(self, query: Query, params: Mapping[str, Any] | None = None) -> Row | None:
        text, names = query.for_postgres()
        try:
            return await (await self._connection()).fetchrow(text, *_args(names, params))
        except asyncpg.PostgresError as error:
            _failed(query, error)

    async def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        text, names = query.for_postgres()
        try:
            status = await (await self._connection()).execute(text, *_args(names, params))
        except asyncpg.PostgresError as error:
            _failed(query, error)
        # "UPDATE 3", "INSERT 0 1", "DELETE 0": the count is the last word.
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def many(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        text, names = query.for_postgres()
        try:
            await (await self._connection()).executemany(text, [_args(names, row) for row in rows])
        except asyncpg.PostgresError as error:
            _failed(query, error)


def _args(names: tuple[str, ...], params: Mapping[str, Any] | None) -> list[Any]:
    if not names:
        return []
    assert params is not None, "the query has parameters"
    return [params[name] for name in names]


async def postgres_sql(session: AsyncSession) -> PostgresSql:
    """The `Sql` of a PostgreSQL write session (on its connection)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return PostgresSql(raw.dbapi_connection)
