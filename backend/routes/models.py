"""Tables for a dispatcher's say over a rider's route: the order they set, and which stops
they locked in place. Defined in `backend/riders/models.py`: the riders' ETA chain and next
stops read them, and riders sit below routes."""

from __future__ import annotations

from backend.riders.models import RiderRouteRow, RouteStopRow

__all__ = ["RiderRouteRow", "RouteStopRow"]
