"""The offline geocoder on the demo city: warehouses' own addresses, and "<street> <number>,
<area>" on a zone's street to a point of that street inside its zone, the same every time; in
the app, on the map in the database (the demo's, or none)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import create_app
from backend.auth.models import UserRow
from backend.clock import ManualClock
from backend.db import Database
from backend.riders import geo
from backend.riders.geocoder import (
    CityGeocoder,
    NominatimGeocoder,
    OfflineGeocoder,
    geocoder_for,
)
from backend.riders.models import StreetRow, ZoneRow
from backend.settings import Settings
from backend.sim.city import demo_city, demo_zones
from backend_client.models import Role
from tests.support import STARTUP_S, Api, settings_for


@pytest.fixture(scope="module")
def city() -> CityGeocoder:
    return CityGeocoder(demo_city())


async def test_a_warehouses_address_is_the_warehouse(city: CityGeocoder) -> None:
    for warehouse in demo_city()["warehouses"]:
        assert await city.geocode(warehouse["address"]) == (warehouse["lat"], warehouse["lng"])
    assert await city.geocode("  gongti north rd. 8 ,  CHAOYANG ") == (39.9334, 116.455)


async def test_a_street_address_lands_on_its_street_inside_its_zone(city: CityGeocoder) -> None:
    point = await city.geocode("Sanlitun Rd 12, Chaoyang")
    assert point is not None
    chaoyang = next(z for z in demo_zones() if z.name == "Chaoyang")
    assert chaoyang.contains(point)
    assert await city.geocode("Sanlitun Rd 12, Chaoyang") == point  # deterministic
    assert (
        await CityGeocoder(demo_city()).geocode("sanlitun rd no. 12") == point
    )  # area and case optional
    assert await city.geocode("Sanlitun Rd 212, Chaoyang") == point  # numbers wrap at 200

    # Neighbouring houses are neighbours; the far end of the street is far.
    next_door = await city.geocode("Sanlitun Rd 13, Chaoyang")
    far_end = await city.geocode("Sanlitun Rd 200, Chaoyang")
    assert next_door is not None and far_end is not None
    assert 1 < geo.metres(point, next_door) < 60
    assert geo.metres(point, far_end) > 1000

    # Houses of one street lie on one line: the middle one is between its neighbours.
    a, b, c = [await city.geocode(f"Sanlitun Rd {n}") for n in (20, 60, 100)]
    assert a and b and c
    assert geo.metres(a, c) == pytest.approx(geo.metres(a, b) + geo.metres(b, c), rel=1e-3)


async def test_every_zones_streets_stay_inside_it_and_apart(city: CityGeocoder) -> None:
    for zone in demo_zones():
        lines = []
        for street in zone.streets:
            points = [
                await city.geocode(f"{street} {n}, {zone.name}") for n in (1, 50, 100, 150, 200)
            ]
            assert all(p is not None and zone.contains(p) for p in points), (zone.name, street)
            lines.append(points)
        for one, other in itertools.combinations(lines, 2):
            assert one[0] != other[0] and one[-1] != other[-1]


async def test_what_it_cannot_place_is_none(city: CityGeocoder) -> None:
    for address in ("", "Sanlitun Rd", "Nowhere Rd 5, Chaoyang", "12", "Baker Street 221, London"):
        assert await city.geocode(address) is None, address


async def test_the_offline_geocoder_is_the_default(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'freshline.db'}"
    db = Database(url)
    try:
        assert isinstance(geocoder_for(settings_for(url), db), OfflineGeocoder)
        chosen = geocoder_for(settings_for(url, geocoder="nominatim"), db)
        assert isinstance(chosen, NominatimGeocoder)  # built, never asked: tests stay offline
    finally:
        await db.dispose()


async def test_the_app_places_addresses_on_the_demo_map_in_its_database(api: Api) -> None:
    served = api.app.state.runtime.geocoder
    assert isinstance(served, OfflineGeocoder)
    city = CityGeocoder(demo_city())
    for address in ("Sanlitun Rd 12, Chaoyang", "Gongti North Rd 8, Chaoyang", "Nowhere Rd 5"):
        assert await served.geocode(address) == await city.geocode(address), address


async def test_a_database_without_zones_serves_none_and_places_no_street(
    database_url: str, clock: ManualClock
) -> None:
    async with serving(settings_for(database_url, demo=False), clock) as api:
        runtime = api.app.state.runtime
        await runtime.db.write(viewer_account(runtime))
        response = await api.get("viewer", "/zones")
        assert (response.status_code, response.json()) == (200, [])
        assert await runtime.geocoder.geocode("Sanlitun Rd 12, Chaoyang") is None
        assert await runtime.geocoder.geocode("Gongti North Rd 8, Chaoyang") is None


@asynccontextmanager
async def serving(settings: Settings, clock: ManualClock) -> AsyncIterator[Api]:
    """The real app on `settings`, started, behind an httpx client."""
    app = create_app(settings, clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        yield Api(client, app, clock)


def viewer_account(runtime: Any) -> Callable[[AsyncSession], Awaitable[None]]:
    """A job adding the viewer the tests sign in as, password `demo-viewer`, and nothing else."""

    async def add(session: AsyncSession) -> None:
        session.add(
            UserRow(
                username="viewer",
                password_hash=await runtime.passwords.hash_async("demo-viewer"),
                role=Role.VIEWER,
                created_at=runtime.clock.now(),
            )
        )

    return add


async def test_the_demo_seeds_its_zones_into_a_database_kept_from_before_them(
    database_url: str, clock: ManualClock
) -> None:
    settings = settings_for(database_url)
    app = create_app(settings, clock=clock)
    async with LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S):

        async def forget_the_map(session: AsyncSession) -> None:
            await session.execute(delete(StreetRow))
            await session.execute(delete(ZoneRow))

        await app.state.runtime.db.write(forget_the_map)

    async with serving(settings, clock) as api:
        zones = (await api.get("viewer", "/zones")).json()
        assert [z["name"] for z in zones] == sorted(z.name for z in demo_zones())
        assert await api.app.state.runtime.geocoder.geocode("Sanlitun Rd 12, Chaoyang") is not None
