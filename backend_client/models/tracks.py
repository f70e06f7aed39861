"""Zones, tracks and routes: riders on the map."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    Field,
)

from backend_client.models.common import Response
from backend_client.models.orders import Event


class Zone(Response):
    """A delivery zone: the polygon a front warehouse serves."""

    name: str
    warehouse_id: str
    polygon: list[tuple[float, float]] = Field(
        description="The zone's border as (lat, lng) pairs, not closed (the last point joins "
        "the first)."
    )


class TrackPoint(Response):
    """One fix of a replayed track."""

    at: datetime
    lat: float
    lng: float
    speed_kmh: float | None = Field(
        description="As the phone reported it, else from the previous fix; null for the first "
        "fix of a track with no reported speed."
    )


class TrackStop(Response):
    """Where a rider stayed within about 30 m for over 2 minutes."""

    start: datetime
    end: datetime
    lat: float
    lng: float
    minutes: float


class Track(Response):
    """A rider's path over a time range (`rider_id` set), or an order's from pick-up to sign-off
    (`order_id` set; `rider_id` is its rider, or null if more than one carried it)."""

    rider_id: int | None
    order_id: int | None
    since: datetime
    until: datetime
    points: list[TrackPoint] = Field(
        description="Oldest first; a long range is thinned evenly to at most 5,000 points."
    )
    stops: list[TrackStop] = Field(description="Found on every fix, before any thinning.")
    events: list[Event] = Field(
        description="The rider's (or the order's) timeline events in the range, oldest first."
    )


LATE_RISK = 0.5
"""An order whose delay risk (`late_risk`) is at least this is predicted late: the board's `!`."""


class RouteStop(Response):
    """One of a rider's next stops: an order out for delivery."""

    order_id: int
    lat: float
    lng: float
    eta: datetime | None = Field(description="Null until the rider's first fix on this delivery.")
    distance_m: float | None = Field(description="From the rider's newest fix, as the crow flies.")
    promised_at: datetime
    predicted_late: bool
    late_risk: float | None = Field(
        None,
        ge=0,
        le=1,
        description="The chance of delivering after the promise (predicted late from 0.5); "
        "null until the rider's first fix on this delivery.",
    )
    pickup_lat: float | None = Field(
        None,
        description="Where the goods wait to be collected first (the rider before left the road "
        "there, e.g. an accident), until this rider has been there; null: they are on board.",
    )
    pickup_lng: float | None = None


class RiderRoute(Response):
    """A rider's orders out for delivery, in the sequence their ETAs are worked out in."""

    rider_id: int
    at: datetime
    stops: list[RouteStop]
