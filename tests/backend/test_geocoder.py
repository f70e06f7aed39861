"""The offline geocoder on the demo city: warehouses' own addresses, and "<street> <number>,
<area>" on a zone's street to a point of that street inside its zone, the same every time."""

from __future__ import annotations

import itertools

import pytest

from backend.riders import geo
from backend.riders.geocoder import CityGeocoder, NominatimGeocoder, geocoder_for
from backend.sim.city import demo_city, demo_zones
from tests.support import settings_for


@pytest.fixture(scope="module")
def city() -> CityGeocoder:
    return CityGeocoder()


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
    assert await CityGeocoder().geocode("sanlitun rd no. 12") == point  # area and case optional
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


def test_the_offline_geocoder_is_the_default() -> None:
    assert isinstance(geocoder_for(settings_for("sqlite+aiosqlite:///:memory:")), CityGeocoder)
    chosen = geocoder_for(settings_for("sqlite+aiosqlite:///:memory:", geocoder="nominatim"))
    assert isinstance(chosen, NominatimGeocoder)  # built, never asked: tests stay offline
