"""What taking one more order costs a rider: the cheapest place in their route for its pick-up
and its drop (cheapest insertion). Pure, and cheap enough for every candidate of every order
auto-dispatch places (a route of n visits tries (n+1)(n+2)/2 pairs of places).

A rider already collecting at the order's warehouse pays almost nothing for the pick-up: the
new parcel is fetched on the same visit. That is how orders from one warehouse get batched.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from backend_client.geo import LatLng, flat_metres

# The ranking's nominal door-to-door pace, and its minutes at the counter and at the door.
SPEED_M_PER_S = 20.0 * 1000 / 3600
HANDOVER_S = 120
# A second late weighs like this many metres of riding: a detour of up to 1.1 km is worth it
# to bring one stop a minute closer to its promise (a rider rides about 333 m a minute). The
# route optimiser weighs lateness the same way.
LATE_METRES_PER_S = 18


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A visit already on the rider's route: a drop (with its promise) or a pick-up."""

    at: LatLng
    promise_s: float | None = None
    """Seconds from now to the drop's promise; None for a pick-up."""


@dataclass(frozen=True, slots=True)
class Insertion:
    """The cheapest way to fit the order in."""

    metres: float
    """Riding the route grows by this much."""
    late_s: float
    """Lateness it adds, summed over the route's drops and the new one's."""
    eta_s: float
    """When the new order's drop is reached (seconds from now)."""
    pickup_at: int
    drop_at: int
    """Places in the route (0: before its first visit) where the pick-up and the drop go."""

    @property
    def cost(self) -> float:
        """Metres, with lateness weighed as the optimiser weighs it."""
        return self.metres + LATE_METRES_PER_S * self.late_s


def cheapest_insertion(
    start: LatLng, route: list[Waypoint], pickup: LatLng, drop: LatLng, promise_s: float
) -> Insertion:
    """Where in `route` (ridden from `start` in its order) the pick-up and then the drop of a
    new order cost least."""
    n = len(route)
    # Points: 0 the start, 1..n the route, n+1 the pick-up, n+2 the drop; metres between each.
    points = [start, *(w.at for w in route), pickup, drop]
    metres = [[flat_metres(a, b) for b in points] for a in points]
    promises = [None, *(w.promise_s for w in route), None, promise_s]
    base_metres, base_late, _ = _ride(list(range(n + 1)), metres, promises)
    best: Insertion | None = None
    for i in range(n + 1):
        for j in range(i, n + 1):
            # The pick-up after the route's i-th visit, the drop after its j-th (and after the
            # pick-up when both come after the same visit).
            order = [*range(i + 1), n + 1, *range(i + 1, j + 1), n + 2, *range(j + 1, n + 1)]
            ridden, late, eta = _ride(order, metres, promises)
            found = Insertion(ridden - base_metres, late - base_late, eta, i, j)
            if best is None or found.cost < best.cost:
                best = found
    assert best is not None
    return best


def _ride(
    order: list[int], metres: list[list[float]], promises: list[float | None]
) -> tuple[float, float, float]:
    """Metres, seconds late summed, and the arrival at the last point (the new drop, when it is
    in `order`), riding the points in `order` from the first."""
    ridden = clock = late = 0.0
    drop = len(metres) - 1
    eta = 0.0
    for a, b in pairwise(order):
        ridden += metres[a][b]
        clock += metres[a][b] / SPEED_M_PER_S
        promise = promises[b]
        if promise is not None:
            late += max(0.0, clock - promise)
        if b == drop:
            eta = clock
        clock += HANDOVER_S
    return ridden, late, eta
