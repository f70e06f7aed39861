"""What the learned ETA sees of a delivery at one moment, worked out the same way from a live
fix (`backend/riders/progress.py`) and from the history it is trained on (`history.py`), so the
model meets at run time exactly the numbers it learned from.

A rider's stops are chained in their sequence: the straight-line estimate of a stop is the
estimate of the stop before, the leg from it at the rider's pace, and the handover. That
estimate is the fallback, and one of the features the model corrects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from backend.riders.geo import metres

LatLng = tuple[float, float]

NOMINAL_KMH = 20.0
"""Assumed until a rider's own pace is known."""
MIN_KMH, MAX_KMH = 8.0, 40.0
"""A sane floor and ceiling for the pace an ETA is worked out at (a rider at a red light is
not stopped for good; a GPS jump is not a motorway)."""
PACE_WEIGHT = 0.3
"""How much each batch's measured pace moves the rider's kept pace."""
HANDOVER = timedelta(minutes=2)
"""Parking, stairs and the doorstep."""

FEATURES = (
    "straight_min",
    "distance_m",
    "leg_m",
    "stops_before",
    "hour",
    "weekday",
    "zone",
    "pace_kmh",
    "rider_kmh",
    "weight_kg",
    "cold_chain",
    "via_pickup",
)
"""The model's inputs, in column order. `zone` is categorical (its index in the model's own
list of zones); `rider_kmh` is the rider's usual riding speed in the history (missing for a
rider the model never saw)."""
CATEGORICAL = ("zone",)


@dataclass(frozen=True, slots=True)
class Stop:
    """One of a rider's orders out for delivery, as the ETA needs it."""

    order_id: int
    lat: float
    lng: float
    promised_at: datetime
    zone: str
    weight_g: int
    cold_chain: bool
    pickup: LatLng | None = None
    """Where its goods wait first (another rider left the road there), if anywhere."""
    place: int | None = None
    """Its place in the order a dispatcher set for the rider's stops, if they set one."""


@dataclass(frozen=True, slots=True)
class Leg:
    """A stop in its place in the rider's sequence, with the straight-line estimate."""

    stop: Stop
    place: int
    """From 1."""
    distance_m: float
    """From the rider (via the goods, if they wait somewhere) to the customer."""
    leg_m: float
    """From the stop before (or the rider) to this customer."""
    straight_at: datetime


def in_sequence(
    orders: list[tuple[datetime, int]], placed: Mapping[int, int] | None = None
) -> list[int]:
    """The order ids of (promised_at, id) pairs in the sequence a rider delivers them.

    The stops a dispatcher put in order (`placed`: order id -> place, `backend/routes/`) come
    first, in that order; the rest (given to the rider since) follow, earliest promise first,
    then the older order. By promise rather than nearest-next: the sequence does not flip with
    GPS jitter, and the order most at risk goes first."""
    places = placed or {}
    return [
        order_id
        for _, _, _, order_id in sorted(
            (order_id not in places, places.get(order_id, 0), promised_at, order_id)
            for promised_at, order_id in orders
        )
    ]


def straight_line(from_at: datetime, distance_m: float, kmh: float) -> datetime:
    """Arrival from `from_at`, `distance_m` away at `kmh`, plus the handover."""
    return from_at + timedelta(hours=distance_m / 1000 / kmh) + HANDOVER


def clamp_kmh(kmh: float) -> float:
    return max(MIN_KMH, min(MAX_KMH, kmh))


def next_pace(kept: float | None, measured: float | None) -> float:
    """A rider's kept pace moved by what a batch of fixes measured (clamped)."""
    if kept is None:
        return clamp_kmh(measured if measured is not None else NOMINAL_KMH)
    if measured is None:
        return clamp_kmh(kept)
    return clamp_kmh((1 - PACE_WEIGHT) * kept + PACE_WEIGHT * measured)


def chain(here: LatLng, at: datetime, pace_kmh: float, stops: Sequence[Stop]) -> list[Leg]:
    """The rider's stops in sequence, each with its straight-line arrival after the ones
    before it."""
    by_id = {s.order_id: s for s in stops}
    legs = []
    arrival_at, leg_from = at, here
    placed = {s.order_id: s.place for s in stops if s.place is not None}
    sequence = in_sequence([(s.promised_at, s.order_id) for s in stops], placed)
    for place, order_id in enumerate(sequence, 1):
        stop = by_id[order_id]
        customer = (stop.lat, stop.lng)
        if stop.pickup is not None:
            onward = metres(stop.pickup, customer)
            distance = metres(here, stop.pickup) + onward
            leg = distance if leg_from == here else metres(leg_from, stop.pickup) + onward
        else:
            distance = metres(here, customer)
            leg = distance if leg_from == here else metres(leg_from, customer)
        arrival_at = straight_line(arrival_at, leg, pace_kmh)
        leg_from = customer
        legs.append(Leg(stop, place, distance, leg, arrival_at))
    return legs


def row(
    leg: Leg,
    at: datetime,
    pace_kmh: float,
    rider_kmh: float | None,
    zones: Sequence[str],
    tz: tzinfo,
) -> list[float]:
    """The model's input for one leg seen at `at` (columns as FEATURES)."""
    local = at.astimezone(tz)
    zone = leg.stop.zone
    return [
        (leg.straight_at - at).total_seconds() / 60,
        leg.distance_m,
        leg.leg_m,
        float(leg.place - 1),
        local.hour + local.minute / 60,
        float(local.weekday()),
        float(zones.index(zone)) if zone in zones else float("nan"),
        pace_kmh,
        float("nan") if rider_kmh is None else rider_kmh,
        leg.stop.weight_g / 1000,
        1.0 if leg.stop.cold_chain else 0.0,
        1.0 if leg.stop.pickup is not None else 0.0,
    ]
