"""When the database cannot be reached, every answer is still JSON: 503, nothing changed."""

from __future__ import annotations

import pytest
from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.db import Database
from backend.realtime.bus import RedisBus
from tests.conftest import PG_SERVER, require_postgres
from tests.support import STARTUP_S, Api, settings_for


async def test_a_refused_database_connection_answers_503_json(api: Api, monkeypatch) -> None:
    token = await api.token("dispatcher")
    # Nothing listens on port 1: asyncpg raises ConnectionRefusedError, an OSError.
    gone = Database("postgresql+asyncpg://postgres@127.0.0.1:1/freshline")
    monkeypatch.setattr(api.app.state.runtime, "db", gone)
    try:
        for method, path in (("GET", "/orders"), ("POST", "/orders")):
            response = await api.client.request(
                method, f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, json={}
            )
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/json")
            assert "unavailable" in response.json()["detail"]
            assert response.headers["retry-after"]
    finally:
        await gone.dispose()


async def test_a_redis_bus_that_never_started_stops_quietly() -> None:
    await RedisBus("redis://127.0.0.1:6379/0").stop()


async def test_startup_failure_reports_the_real_error() -> None:
    # The database does not exist: that is what start-up must say, not something about a bus
    # that never got to start.
    require_postgres()
    settings = settings_for(
        f"{PG_SERVER}/freshline_no_such_database", bus_url="redis://127.0.0.1:6379/0"
    )
    with pytest.raises(Exception) as failure:
        async with LifespanManager(
            create_app(settings), startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S
        ):
            pass
    assert "freshline_no_such_database" in str(failure.value)
