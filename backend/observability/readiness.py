"""`GET /api/v1/health/ready`: may this instance be sent traffic? Beside liveness (`/health`).

Three checks, each bounded in time so a hung database answers "not ready" rather than
nothing: the database answers a query; its schema is at the newest migration this code knows
(an instance started on a database another deployment migrated past, or before, is not
ready); the bus (Redis) answers a ping when one is configured. 200 when all pass, else 503
naming each check that failed. No sign-in: load balancers and orchestrators ask it; it says
nothing about the data.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from backend.observability.metrics import Runtime

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
"""What each check may take; a slower answer counts as a failure."""

router = APIRouter(tags=["health"])


class Check(BaseModel):
    """One readiness check's outcome."""

    ok: bool
    detail: str


class Readiness(BaseModel):
    """Ready (`ok`) or not (`unavailable`), and each check's outcome."""

    status: str
    checks: dict[str, Check]


MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
"""The packaged migrations (`backend.db.alembic_config`'s; not imported: see `Runtime`)."""


@cache
def migration_heads() -> frozenset[str]:
    """The newest revisions of the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


class Bus(Protocol):
    async def ping(self) -> str: ...


async def database_check(db: Any) -> Check:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness: the database did not answer: %r", exc)
        return Check(ok=False, detail=f"unreachable ({type(exc).__name__})")
    return Check(ok=True, detail=db.dialect)


async def migrations_check(db: Any) -> Check:
    heads = migration_heads()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), db.read() as session:
            found = frozenset(
                (await session.scalars(text("SELECT version_num FROM alembic_version"))).all()
            )
    except Exception as exc:
        return Check(ok=False, detail=f"no schema version readable ({type(exc).__name__})")
    if found != heads:
        at = ", ".join(sorted(found)) or "nothing"
        return Check(ok=False, detail=f"at {at}; this code needs {', '.join(sorted(heads))}")
    return Check(ok=True, detail=f"at {', '.join(sorted(found))}")


async def bus_check(bus: Bus) -> Check:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return Check(ok=True, detail=await bus.ping())
    except Exception as exc:
        log.warning("readiness: the bus did not answer: %r", exc)
        return Check(ok=False, detail=f"unreachable ({type(exc).__name__})")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A check failed: not ready."}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness: the database reachable, its schema at head, the bus connected (if any)."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:  # answered while starting or stopping
        body = Readiness(status="unavailable", checks={})
        return JSONResponse(body.model_dump(), status_code=503)
    database, migrations, bus = await asyncio.gather(
        database_check(runtime.db), migrations_check(runtime.db), bus_check(runtime.bus)
    )
    checks = {"database": database, "migrations": migrations, "bus": bus}
    ok = all(check.ok for check in checks.values())
    body = Readiness(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(
        body.model_dump(),
        status_code=200 if ok else 503,
        headers={} if ok else {"Retry-After": "5"},
    )
