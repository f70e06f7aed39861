"""Plane geometry on a city's scale: the great-circle distance (geopy, offline), the point a
fraction of the way along a line, and the middle of some points. The flat-map distance for hot
paths and whether a point lies in a zone are `backend_client.geo`'s, shared with the simulator
and the console."""

from __future__ import annotations

from collections.abc import Sequence

from geopy.distance import great_circle

LatLng = tuple[float, float]


def metres(a: LatLng, b: LatLng) -> float:
    """The great-circle distance between two (lat, lng) points, in metres."""
    return float(great_circle(a, b).meters)


def between(a: LatLng, b: LatLng, fraction: float) -> LatLng:
    """The point `fraction` (0 to 1) of the way from `a` to `b`, linearly in degrees."""
    return (a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction)


def centre(points: Sequence[LatLng]) -> LatLng:
    """The mean of some nearby points."""
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
