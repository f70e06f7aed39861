"""Migrations: an empty database upgrades to head on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

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
