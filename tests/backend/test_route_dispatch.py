"""Auto-dispatch ranked by insertion cost (the default), through the real API on both
databases: the order goes to the rider whose route it lengthens least, which batches orders of
one warehouse on a rider already collecting there, and never to a rider heading the other way
when an idle one is at hand.

Riders 2 and 4 of the demo city (WH-CY, no cold box needed here) stand at the warehouse or
due north of it; customers are placed due north or south of it.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.clock import ManualClock
from backend_client.geo import EARTH_RADIUS_M
from tests.support import STARTUP_S, Api, customer, settings_for


@pytest.fixture
async def api(database_url: str, clock: ManualClock) -> AsyncIterator[Api]:
    """The real app with auto-dispatch on (ranked by insertion, the default); no sweeps."""
    settings = settings_for(database_url, auto_dispatch=True, auto_dispatch_seconds=3600)
    assert settings.dispatch_ranking == "insertion"
    app = create_app(settings, clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        yield Api(client, app, clock)


async def warehouse(api: Api) -> tuple[float, float]:
    rows = (await api.get("admin", "/warehouses")).json()
    home = next(w for w in rows if w["id"] == "WH-CY")
    return home["lat"], home["lng"]


def north(home: tuple[float, float], metres: float) -> tuple[float, float]:
    return home[0] + math.degrees(metres / EARTH_RADIUS_M), home[1]


async def place(api: Api, rider_id: int, at: tuple[float, float]) -> None:
    fix = {"lat": at[0], "lng": at[1], "at": api.clock.now().isoformat()}
    response = await api.post("admin", f"/riders/{rider_id}/positions", json={"points": [fix]})
    assert response.status_code == 200, response.text


async def picking_to(api: Api, at: tuple[float, float]) -> dict[str, Any]:
    """A WH-CY order to `at`, promised in an hour, paid and being picked (auto-dispatch runs)."""
    promised = api.clock.now() + timedelta(hours=1)
    order = await api.create_order(
        customer=customer(lat=at[0], lng=at[1]),
        warehouse_id="WH-CY",
        promised_at=promised.isoformat(),
    )
    order = await api.act("channel-app", order, "pay")
    order = await api.act("merchant-wh-cy", order, "start_picking")
    assert order["status"] == "PICKING"
    return order


async def suggested(api: Api, order: dict[str, Any]) -> list[int]:
    response = await api.get("dispatcher", f"/orders/{order['id']}/rider-suggestions")
    assert response.status_code == 200, response.text
    return [s["rider"]["id"] for s in response.json()]


async def test_an_order_joins_the_rider_already_collecting_at_its_warehouse(api: Api) -> None:
    home = await warehouse(api)
    await place(api, 2, home)
    await api.rider_online(2)
    first = await picking_to(api, north(home, 2_000))
    assert first["rider_id"] == 2
    # Rider 4 waits at the warehouse too, carrying nothing: the nearest ranking would choose
    # them (rider 2's order counts a kilometre). Rider 2 rides that way anyway: 100 m more.
    await place(api, 4, home)
    await api.rider_online(4)
    probe = await api.create_order(
        customer=customer(lat=north(home, 2_100)[0], lng=home[1]), warehouse_id="WH-CY"
    )
    assert (await suggested(api, probe))[:2] == [2, 4]
    second = await picking_to(api, north(home, 2_100))
    assert second["rider_id"] == 2
    timeline = (await api.get("dispatcher", f"/orders/{second['id']}/timeline")).json()
    assert any("auto-dispatch" in (e.get("reason") or "") for e in timeline)


async def test_a_rider_heading_the_other_way_loses_to_an_idle_one(api: Api) -> None:
    home = await warehouse(api)
    await place(api, 2, home)
    await api.rider_online(2)
    south = await picking_to(api, north(home, -2_000))
    assert south["rider_id"] == 2
    # Rider 4 stands 600 m north, idle: the order 2 km north costs them 600 m + 2 km; rider 2
    # would ride 2 km south and 4 km back north (or the other way round).
    await place(api, 4, north(home, 600))
    await api.rider_online(4)
    northbound = await picking_to(api, north(home, 2_000))
    assert northbound["rider_id"] == 4
