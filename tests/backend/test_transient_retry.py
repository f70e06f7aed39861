"""A transaction PostgreSQL aborts as a deadlock or serialisation failure is run again, once
rolled back; any other database error is not retried (and answers JSON, never a bare 500)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, ProgrammingError
from starlette.requests import Request

from backend.auth.principal import Principal
from backend.clock import ManualClock
from backend.db import Database
from backend.idempotency import is_transient, run_once
from backend_client.models import Health


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def db_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE riders ...", {}, PgError(sqlstate))


def test_deadlocks_and_serialisation_failures_are_transient() -> None:
    assert is_transient(db_error("40P01"))
    assert is_transient(db_error("40001"))
    assert not is_transient(db_error("23505"))  # unique violation: an answer, not a glitch
    assert not is_transient(DBAPIError("x", {}, Exception("no code")))


@pytest.fixture
async def db(sqlite_template: Path, tmp_path: Path):
    shutil.copy(sqlite_template, tmp_path / "f.db")
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    yield database
    await database.dispose()


def request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/x", "headers": []})


async def test_a_transient_failure_is_retried_and_acts_once(db: Database) -> None:
    attempts: list[int] = []

    async def action(_session):
        attempts.append(1)
        if len(attempts) == 1:
            raise db_error("40P01")
        return 200, Health(time=ManualClock().now())

    principal = Principal(user_id=1, username="dispatcher", role="dispatcher")
    response = await run_once(request(), db, principal, ManualClock().now(), action)
    assert response.status_code == 200
    assert len(attempts) == 2


async def test_other_database_errors_are_not_retried(db: Database) -> None:
    attempts: list[int] = []

    async def action(_session):
        attempts.append(1)
        raise ProgrammingError("SELECT", {}, PgError("42601"))

    principal = Principal(user_id=1, username="dispatcher", role="dispatcher")
    with pytest.raises(ProgrammingError):
        await run_once(request(), db, principal, ManualClock().now(), action)
    assert len(attempts) == 1
