"""The demo city (Beijing), shipped as data in `city.json`: warehouses, delivery zones with
their streets, the fresh-produce catalogue, starting stock, riders and people's names."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from backend_client import geo

LatLng = tuple[float, float]


@cache
def demo_city() -> dict[str, Any]:
    """The raw city data."""
    city: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("city.json").read_text("utf-8")
    )
    return city


@dataclass(frozen=True, slots=True)
class Zone:
    """A delivery zone: the polygon a front warehouse serves, and its streets."""

    name: str
    warehouse_id: str
    polygon: tuple[LatLng, ...]
    streets: tuple[str, ...]

    def contains(self, point: LatLng) -> bool:
        return geo.contains(self.polygon, point)

    def random_point(self, rng: random.Random) -> LatLng:
        """A uniformly drawn point inside the zone."""
        lats = [p[0] for p in self.polygon]
        lngs = [p[1] for p in self.polygon]
        while True:
            # Rounded before the check: rounding a point on the border could move it out.
            point = (
                round(rng.uniform(min(lats), max(lats)), 6),
                round(rng.uniform(min(lngs), max(lngs)), 6),
            )
            if self.contains(point):
                return point


@cache
def demo_zones() -> tuple[Zone, ...]:
    return tuple(
        Zone(
            name=z["name"],
            warehouse_id=z["warehouse_id"],
            polygon=tuple((lat, lng) for lat, lng in z["polygon"]),
            streets=tuple(z["streets"]),
        )
        for z in demo_city()["zones"]
    )
