"""Migrations: an empty database upgrades to head on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, MetaData, inspect, text

from backend.db import Database, alembic_config
from backend.models import Base
from tests.conftest import ON_BOTH_DATABASES, PG_SERVER, pg_admin, require_postgres


@pytest.fixture(params=ON_BOTH_DATABASES)
async def empty_database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A database with nothing in it at all."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    require_postgres()
    name = f"freshline_migrate_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_upgrade_from_empty_to_head_matches_the_models(empty_database: str) -> None:
    db = Database(empty_database)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            revision = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
        assert revision == _head()
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        assert diff == [], "the models and the migrations disagree; add a migration"
    finally:
        await db.dispose()


async def test_upgrade_twice_is_a_no_op(empty_database: str) -> None:
    db = Database(empty_database)
    try:
        await db.migrate()
        await db.migrate()
        async with db.engine.connect() as conn:
            revision = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
        assert revision == _head()
    finally:
        await db.dispose()


def test_migrations_form_one_line() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "two migration heads: merge them"


async def test_a_database_with_rows_upgrades_from_the_last_release(empty_database: str) -> None:
    """SQLite alters a table by copying it and dropping the old one: rows elsewhere that point
    at it (an account of a rider, an order of a customer) must not stop the upgrade."""
    db = Database(empty_database)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0011")
            await conn.run_sync(_fill, ["warehouses", "riders", "users", "customers", "orders"])
        await db.migrate()
        async with db.engine.connect() as conn:
            revision = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
            riders = (await conn.execute(text("SELECT count(*) FROM riders"))).scalar_one()
            orders = (await conn.execute(text("SELECT count(*) FROM orders"))).scalar_one()
        assert revision == _head()
        assert (riders, orders) == (1, 1)
    finally:
        await db.dispose()


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _fill(connection: Connection, tables: list[str]) -> None:
    """One row in each table (in an order where parents come first), every column that must
    have a value given one of its type, foreign keys pointing at the parents' rows."""
    metadata = MetaData()
    metadata.reflect(connection, only=tables)
    keys: dict[str, Any] = {}
    for name in tables:
        table = metadata.tables[name]
        row: dict[str, Any] = {}
        for column in table.columns:
            parents = [fk.column.table.name for fk in column.foreign_keys]
            if parents:
                row[column.name] = keys[parents[0]]
            elif column.primary_key or not column.nullable:
                row[column.name] = _a_value(column.type)
        connection.execute(table.insert().values(row))
        keys[name] = row[next(iter(table.primary_key.columns)).name]


def _a_value(kind: Any) -> Any:
    python = kind.python_type if not isinstance(kind, JSON) else dict
    return {
        int: 1,
        float: 1.0,
        bool: False,
        str: "1",
        datetime: datetime(2026, 11, 1, tzinfo=UTC),
        dict: {},
    }[python]
