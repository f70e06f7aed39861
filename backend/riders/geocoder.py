"""Turning addresses into coordinates, behind one interface: `OfflineGeocoder`, the default,
places them on the zones, streets and warehouses in the database (`CityGeocoder` does the
placing, on one city's data); `NominatimGeocoder` asks OpenStreetMap's Nominatim over the
network (geopy, imported only when chosen, never in tests). A database without zones places
nothing but its warehouses' own addresses.

The map names streets but has no street geometry, so `CityGeocoder` lays each zone's
streets out itself: street i of a zone's n runs through the zone's warehouse at i/n of a half
turn, and house numbers 1 to 200 spread along the part of that line inside the zone (a higher
number wraps around). The same address always lands on the same point, inside its zone.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from backend.riders.geo import LatLng, metres
from backend.riders.zones import city_map
from backend_client.geo import contains

if TYPE_CHECKING:
    from backend.db import Database
    from backend.settings import Settings

HOUSES_PER_STREET = 200
_ADDRESS = re.compile(
    r"^(?P<street>.+?)\s+(?:no\.?\s*)?(?P<number>\d{1,5})\s*(?:,\s*(?P<area>.*))?$"
)
_REACH_M, _STEP_M = 15_000.0, 10.0
"""How far a street is followed from the warehouse to the zone's border, in steps of."""


class Geocoder(Protocol):
    """Something that turns an address into (lat, lng), or None if it cannot place it."""

    async def geocode(self, address: str) -> LatLng | None: ...


@dataclass(frozen=True, slots=True)
class _Zone:
    name: str
    anchor: LatLng
    polygon: tuple[LatLng, ...]
    streets: tuple[str, ...]


def _key(text: str) -> str:
    """Case, spacing and dots do not tell addresses apart."""
    spaced = re.sub(r"\s*,\s*", ", ", text.replace(".", " ").casefold())
    return " ".join(spaced.split()).strip(" ,")


class CityGeocoder:
    """Offline, from a city's data (`warehouses` with `id`, `address`, `lat`, `lng`; `zones`
    with `name`, `warehouse_id`, `polygon`, `streets`): a warehouse's own address to the
    warehouse; "<street> <number>, <area>" on a zone's street to a point on that street.
    The area (a zone or district name) picks among zones sharing a street name; it may be
    left out."""

    def __init__(self, city: dict[str, Any]) -> None:
        warehouses = {w["id"]: w for w in city["warehouses"]}
        self._exact = {_key(w["address"]): (w["lat"], w["lng"]) for w in city["warehouses"]}
        self._zones = [
            _Zone(
                name=z["name"],
                anchor=(warehouses[z["warehouse_id"]]["lat"], warehouses[z["warehouse_id"]]["lng"]),
                polygon=tuple((lat, lng) for lat, lng in z["polygon"]),
                streets=tuple(z["streets"]),
            )
            for z in city["zones"]
        ]
        self._lines: dict[tuple[str, int], tuple[LatLng, LatLng]] = {}

    async def geocode(self, address: str) -> LatLng | None:
        return self.place(address)

    def place(self, address: str) -> LatLng | None:
        """`geocode` without the await: pure computation."""
        key = _key(address)
        if key in self._exact:
            return self._exact[key]
        match = _ADDRESS.match(key)
        if match is None:
            return None
        street, area = match["street"], match["area"] or ""
        found = self._street(street, area)
        if found is None:
            return None
        zone, index = found
        start, end = self._line(zone, index)
        house = (int(match["number"]) - 1) % HOUSES_PER_STREET
        fraction = (house + 0.5) / HOUSES_PER_STREET
        lat = start[0] + (end[0] - start[0]) * fraction
        lng = start[1] + (end[1] - start[1]) * fraction
        return (round(lat, 6), round(lng, 6))

    def _street(self, street: str, area: str) -> tuple[_Zone, int] | None:
        """The zone and index of the street named, the zone named `area` first."""
        candidates = [
            (zone, index)
            for zone in self._zones
            for index, name in enumerate(zone.streets)
            if _key(name) == street
        ]
        for zone, index in candidates:
            if _key(zone.name) == area:
                return zone, index
        return candidates[0] if candidates else None

    def _line(self, zone: _Zone, index: int) -> tuple[LatLng, LatLng]:
        """Street `index` of the zone: both of its ends, just inside the zone's border."""
        cached = self._lines.get((zone.name, index))
        if cached is None:
            angle = math.pi * index / len(zone.streets)
            cached = (
                _to_border(zone, angle + math.pi),
                _to_border(zone, angle),
            )
            self._lines[(zone.name, index)] = cached
        return cached


def _to_border(zone: _Zone, angle: float) -> LatLng:
    """The last point inside the zone walking from its warehouse in direction `angle`
    (0 north, a quarter turn east), in steps of _STEP_M."""
    lat0, lng0 = zone.anchor
    per_m_lat = 1 / 111_195.0
    per_m_lng = per_m_lat / math.cos(math.radians(lat0))
    inside = zone.anchor
    for step in _steps():
        point = (
            lat0 + math.cos(angle) * step * per_m_lat,
            lng0 + math.sin(angle) * step * per_m_lng,
        )
        if not contains(zone.polygon, point):
            break
        inside = point
    # A street ends a little short of the border: the neighbour's street is not ours.
    back = min(metres(zone.anchor, inside), 2 * _STEP_M)
    shrink = 1 - back / max(metres(zone.anchor, inside), 1.0)
    return (lat0 + (inside[0] - lat0) * shrink, lng0 + (inside[1] - lng0) * shrink)


def _steps() -> Iterable[float]:
    step = _STEP_M
    while step <= _REACH_M:
        yield step
        step += _STEP_M


class OfflineGeocoder:
    """`CityGeocoder` on the map in the database, read again at each call (a few small
    tables) so that zones loaded after start count; the placing is rebuilt only when the map
    changed, keeping the streets' laid-out lines."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._city: tuple[dict[str, Any], CityGeocoder] | None = None

    async def geocode(self, address: str) -> LatLng | None:
        async with self._db.read() as session:
            city = await city_map(session)
        if self._city is None or self._city[0] != city:
            self._city = (city, CityGeocoder(city))
        return self._city[1].place(address)


class NominatimGeocoder:
    """OpenStreetMap's Nominatim through geopy, over the network: for a deployment outside the
    demo city. Its usage policy asks for an identifying user agent and at most one request a
    second, which this keeps to within one process."""

    def __init__(self, user_agent: str, *, timeout: float = 10.0) -> None:
        from geopy.geocoders import Nominatim  # imported only when chosen

        self._nominatim = Nominatim(user_agent=user_agent, timeout=timeout)
        self._turn = asyncio.Lock()

    async def geocode(self, address: str) -> LatLng | None:
        async with self._turn:
            found = await asyncio.to_thread(self._nominatim.geocode, address)
            await asyncio.sleep(1.0)
        if found is None:
            return None
        return (found.latitude, found.longitude)


def geocoder_for(settings: Settings, db: Database) -> Geocoder:
    """The geocoder the settings choose (`geocoder`: offline on the database's map by default,
    or nominatim)."""
    if settings.geocoder == "nominatim":
        return NominatimGeocoder(settings.geocoder_user_agent)
    return OfflineGeocoder(db)
