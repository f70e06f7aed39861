"""Plane geometry on a city's scale: the great-circle distance (geopy, offline; the flat-map one
for hot paths is `backend_client.geo.flat_metres`), whether a point lies in a zone's polygon (ray
casting), and the point a fraction of the way along a line."""

from __future__ import annotations

from collections.abc import Sequence

from geopy.distance import great_circle

LatLng = tuple[float, float]


def metres(a: LatLng, b: LatLng) -> float:
    """The great-circle distance between two (lat, lng) points, in metres."""
    return float(great_circle(a, b).meters)


def contains(polygon: Sequence[LatLng], point: LatLng) -> bool:
    """Whether `point` lies inside `polygon` (its (lat, lng) corners, not closed).

    Ray casting: a city zone is small enough to treat degrees as a plane. A point exactly on
    an edge may count as either side.
    """
    lat, lng = point
    inside = False
    ring = list(polygon)
    for (lat1, lng1), (lat2, lng2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (lng1 > lng) != (lng2 > lng):
            crossing = lat1 + (lng - lng1) * (lat2 - lat1) / (lng2 - lng1)
            if lat < crossing:
                inside = not inside
    return inside


def between(a: LatLng, b: LatLng, fraction: float) -> LatLng:
    """The point `fraction` (0 to 1) of the way from `a` to `b`, linearly in degrees."""
    return (a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction)


def centre(points: Sequence[LatLng]) -> LatLng:
    """The mean of some nearby points."""
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
