"""What a route may ask for, one FastAPI dependency each: the database (and its writer), the
clock, the settings.

A route declares the parts it uses (`db: DbDep, clock: ClockDep`) instead of the whole
`Runtime`, so a package imports only what its routes touch and nothing below `backend.app`
imports the runtime. Each part is read off the runtime that `backend.app` keeps on
`app.state.runtime`, at call time: parts a test swaps in are seen at once.

Each dependency is solved once per request, a few microseconds. The permission gate
(`backend.auth.deps`) authenticates and checks the role in one, so a signed-in route asking for
up to four parts solves no more than one taking the runtime did (five: the runtime twice, the
bearer scheme, the caller, the check); a transition solves four, a read three.

The parts of one domain (the stream's hub and feed, the token cache, ...) are declared beside it,
the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.clock import Clock
from backend.db import Database
from backend.settings import Settings


# async: a plain function dependency would run in the thread pool, a hop per request.
# HTTPConnection: the same dependencies serve WebSocket routes.
async def database(connection: HTTPConnection) -> Database:
    """The database: `read()` for reads, `write(job)` through the writer (docs/writes.md)."""
    return connection.app.state.runtime.db


async def clock(connection: HTTPConnection) -> Clock:
    """The backend's clock (simulated in the demo)."""
    return connection.app.state.runtime.clock


async def settings(connection: HTTPConnection) -> Settings:
    """The settings this instance started with."""
    return connection.app.state.runtime.settings


DbDep = Annotated[Database, Depends(database)]
ClockDep = Annotated[Clock, Depends(clock)]
SettingsDep = Annotated[Settings, Depends(settings)]
