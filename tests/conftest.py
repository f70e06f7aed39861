"""Fixtures: every database-backed test runs on SQLite and on the real PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth). Each session creates its own database
from `test` and drops it at the end. Without the server, PostgreSQL cases skip locally and fail
under CI (`CI` set), as a missing service must never pass silently there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.clock import ManualClock
from backend.db import Base, Database
from tests.support import Api, started

# Property tests: a short run on a developer's machine, the full one under CI (`CI` set). The
# lifecycle machine (tests/backend/test_lifecycle_stateful.py) reads its sizes from here.
settings.register_profile(
    "ci",
    max_examples=30,
    stateful_step_count=45,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=8,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

PG_SERVER = os.environ.get(
    "FRESHLINE_TEST_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if postgres_reachable():
        return
    message = "PostgreSQL is not running on 127.0.0.1:5432 (start it: make services)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


async def pg_admin(sql: str) -> None:
    """One statement on the server's `test` database, outside a transaction (CREATE DATABASE)."""
    engine = create_async_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextmanager
def empty_postgres_database(prefix: str = "freshline_test") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server; dropped, connections and all, on exit."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    db = Database(url)
    await db.migrate()
    await db.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Deal out the files marked `long(seconds)` first, longest first, then the others by how
    many tests they hold, most first; a file's own tests keep their order.

    `make test` runs the files in this order (`--dist loadfile --no-loadscope-reorder`): xdist
    alone sorts by test count, which starts the one-test files that hold a worker for a minute
    or more last, so one worker ran alone at the end while the other two sat idle."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def first(tests: list[pytest.Item]) -> tuple[float, int]:
        marks = [m for t in tests if (m := t.get_closest_marker("long"))]
        seconds = max((float(m.args[0]) if m.args else 1.0 for m in marks), default=0.0)
        return -seconds, -len(tests)

    items[:] = [item for tests in sorted(files.values(), key=first) for item in tests]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "freshline.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own on the PostgreSQL server, migrated to head, dropped at the end."""
    with empty_postgres_database() as url:
        asyncio.run(_migrate(url))
        yield url


async def truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


ON_BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]
"""Every database test runs on both; the inner loop (`make test-fast`, `-m "not slow"`) on
SQLite only, and `make test` on PostgreSQL too."""


@pytest.fixture(params=ON_BOTH_DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a fresh SQLite copy, or the session's PostgreSQL truncated."""
    if request.param == "sqlite":
        path = tmp_path / "freshline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    asyncio.run(truncate_all(url))
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def api(database_url: str, clock: ManualClock) -> AsyncIterator[Api]:
    """The real app with the demo city, on the parametrised database, behind an httpx client."""
    async for api in started(database_url, clock):
        yield api
