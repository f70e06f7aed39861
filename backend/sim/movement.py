"""Riders moving through the city: street-like routes and where a rider is at a given time.

Beijing's streets are largely a grid, so a route runs along one axis, then the other, through
a jittered corner or two; that is a plausible path without a road network.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from backend.sim.city import LatLng
from backend_client.geo import flat_metres


def route(start: LatLng, end: LatLng, rng: random.Random) -> list[LatLng]:
    """Waypoints from `start` to `end` along grid-like streets."""
    if start == end:
        return [start, end]
    (lat1, lng1), (lat2, lng2) = start, end
    if rng.random() < 0.5:  # east-west first, or north-south first
        middle = [(lat1, lng1 + (lng2 - lng1) * rng.uniform(0.3, 0.7))]
        middle.append((lat2, middle[0][1]))
    else:
        middle = [(lat1 + (lat2 - lat1) * rng.uniform(0.3, 0.7), lng1)]
        middle.append((middle[0][0], lng2))
    return [start, *middle, end]


@dataclass(frozen=True, slots=True)
class Leg:
    """Riding `points` from `depart` to `arrive`, at an even pace."""

    points: tuple[LatLng, ...]
    depart: datetime
    arrive: datetime
    lengths: tuple[float, ...]

    @classmethod
    def ride(cls, points: list[LatLng], depart: datetime, speed_kmh: float) -> Leg:
        # Flat-map lengths: a ride across town is off by well under 0.3%, and every simulated
        # order plans several legs.
        lengths = tuple(flat_metres(a, b) for a, b in pairwise(points))
        seconds = sum(lengths) / (speed_kmh / 3.6)
        return cls(tuple(points), depart, depart + timedelta(seconds=seconds), lengths)

    @classmethod
    def stay(cls, point: LatLng, depart: datetime, until: datetime) -> Leg:
        return cls((point, point), depart, until, (0.0,))

    def position(self, at: datetime) -> LatLng:
        """Where the rider is at `at` (clamped to the leg's ends)."""
        total = sum(self.lengths)
        span = (self.arrive - self.depart).total_seconds()
        if total == 0 or span <= 0 or at <= self.depart:
            return self.points[0] if at <= self.depart or total == 0 else self.points[-1]
        travelled = total * min(1.0, (at - self.depart).total_seconds() / span)
        for (a, b), length in zip(
            zip(self.points, self.points[1:], strict=False), self.lengths, strict=True
        ):
            if travelled <= length and length > 0:
                f = travelled / length
                return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
            travelled -= length
        return self.points[-1]

    def speed_kmh(self) -> float:
        span = (self.arrive - self.depart).total_seconds()
        return 0.0 if span <= 0 else sum(self.lengths) / span * 3.6
