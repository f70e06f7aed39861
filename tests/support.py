"""Shared test helpers: the demo-seeded app behind an httpx client, and shortcuts for orders."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from backend.clock import ManualClock
from backend.crypto.cipher import install
from backend.crypto.keys import new_ring_text, parse_ring
from backend.settings import Settings

_external_ids = itertools.count(1)


async def eventually(condition: Callable[[], Any], what: str, within: float = 30.0) -> None:
    """Wait until `condition()` (awaited if it is a coroutine) holds: looked at again every
    20 ms, failing with `what` after `within` seconds, a bound for a loaded machine and not a
    wait. The condition decides when the test goes on, never the clock."""
    deadline = time.monotonic() + within
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.02)  # polling the condition


async def one_turn() -> None:
    """Let the event loop go round once: tasks just created take their first step (send what
    they send), deterministically; nothing waits for time to pass."""
    await asyncio.sleep(0)


TEST_FIELD_KEYS = new_ring_text()
"""One key ring for every test app of this process (a fresh one each run): no key file is
written outside the test's folders, and apps started one after another read each other's
values as one deployment does. Installed now too, for tests that write rows through a
`Database` of their own, without an app (the demo seeded straight into it)."""
install(parse_ring(TEST_FIELD_KEYS, "tests", reload=None))

STARTUP_S = 60.0
"""How long an app may take to start (migrations, demo seeding) before a test gives up: a
bound for a loaded machine, not a wait; a healthy start takes well under a second."""


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app: demo data, cheap password hashing, the given database, no
    auto-dispatch (tests assign riders themselves unless they test auto-dispatch) and no alert
    or notification engine running by itself (their tests run passes on their own clock)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "demo": True,
        "auto_dispatch": False,
        "alerts": False,
        "notifications": False,
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 64,
        "field_keys": TEST_FIELD_KEYS,
        # Never the user's own folder (the default beside a PostgreSQL database); content is
        # addressed by its hash, so tests may share it (those that count files use their own).
        "proof_dir": str(Path(tempfile.gettempdir()) / "freshline-test-proofs"),
        # Never the user's own models either: no model, the straight-line ETA (tests of the
        # learned ETA give their own directory).
        "eta_model_dir": str(Path(tempfile.gettempdir()) / "freshline-test-no-models"),
        **overrides,
    }
    return Settings(**values)


def audited(payload: dict[str, Any]) -> dict[str, Any]:
    """An event's payload without the `http_request_id` every change made by a request carries
    (docs/metrics.md), which it must carry."""
    assert payload.get("http_request_id"), payload
    return {k: v for k, v in payload.items() if k != "http_request_id"}


def customer(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Wang Fang",
        "phone": "13800138000",
        "address": "Sanlitun Rd 19, Chaoyang",
        "lat": 39.9361,
        "lng": 116.4551,
        **overrides,
    }


class Api:
    """An httpx client on the real app, with tokens for the demo accounts."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, clock: ManualClock) -> None:
        self.client = client
        self.app = app
        self.clock = clock
        self._tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self._tokens:
            response = await self.client.post(
                "/api/v1/auth/token",
                data={"username": username, "password": f"demo-{username}"},
            )
            assert response.status_code == 200, response.text
            self._tokens[username] = response.json()["access_token"]
        return self._tokens[username]

    async def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    async def get(self, username: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(f"/api/v1{path}", headers=await self.auth(username), **kwargs)

    async def post(
        self, username: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        merged = {**await self.auth(username), **(headers or {})}
        return await self.client.post(f"/api/v1{path}", headers=merged, **kwargs)

    async def create_order(
        self,
        *,
        channel_user: str = "channel-app",
        items: list[dict[str, Any]] | None = None,
        expect: int = 201,
        **fields: Any,
    ) -> dict[str, Any]:
        body = {
            "external_id": f"EXT-{next(_external_ids)}",
            "customer": customer(),
            "items": items or [{"sku": "VEG-BOKCHOY", "quantity": 2}],
            **fields,
        }
        response = await self.post(channel_user, "/orders", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    async def act(
        self,
        username: str,
        order: dict[str, Any],
        action: str,
        *,
        reason: str | None = None,
        expect: int = 200,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"action": action, "version": order["version"]}
        if reason:
            body["reason"] = reason
        response = await self.post(username, f"/orders/{order['id']}/transitions", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    async def assign(
        self, order: dict[str, Any], rider_id: int, *, expect: int = 200
    ) -> dict[str, Any]:
        response = await self.post(
            "dispatcher",
            f"/orders/{order['id']}/assign",
            json={"rider_id": rider_id, "version": order["version"]},
        )
        assert response.status_code == expect, response.text
        return response.json()

    async def rider_online(self, rider_id: int) -> None:
        response = await self.post(
            f"rider-{rider_id}", f"/riders/{rider_id}/status", json={"status": "online"}
        )
        assert response.status_code == 200, response.text

    async def stock(self, warehouse_id: str, sku: str) -> dict[str, Any]:
        response = await self.get("admin", f"/warehouses/{warehouse_id}/stock")
        assert response.status_code == 200, response.text
        return next(level for level in response.json() if level["sku"] == sku)

    async def event_count(self) -> int:
        """How many events the log holds (read straight from the database)."""
        from sqlalchemy import func, select

        from backend.realtime.models import EventRow

        async with self.app.state.runtime.db.read() as session:
            return await session.scalar(select(func.count()).select_from(EventRow))


async def started(database_url: str, clock: ManualClock, **settings: Any) -> AsyncIterator[Api]:
    """The real app with the demo city on `database_url` (with `settings`), started, behind an
    httpx client; stopped when the loop over it ends (`async for api in started(...)`)."""
    from backend.app import create_app  # the whole backend, only for tests that start it

    app = create_app(settings_for(database_url, **settings), clock=clock)
    async with (
        # Shutdown gets the same bound as startup: on a loaded machine the background loops'
        # last passes can take over asgi-lifespan's 5 s, and an app whose shutdown timed out
        # goes on running against the next test's database.
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        yield Api(client, app, clock)
