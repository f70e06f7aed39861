"""The simulated city's replayed days (`backend/sim/replay.py`) as the learned ETA's history:
what the benchmark and the tests fit on, with no backend in between."""

from __future__ import annotations

from datetime import datetime

from backend.eta.features import Stop
from backend.eta.history import Drop, Fix, RiderHistory
from backend.sim.replay import RiderDay, replay


def histories(days: list[RiderDay]) -> list[RiderHistory]:
    """Replayed rider days as delivery histories."""
    return [
        RiderHistory(
            day.rider_id,
            [Fix(f.at, f.lat, f.lng, f.speed_kmh) for f in day.fixes],
            [
                Drop(
                    Stop(d.order_id, d.lat, d.lng, d.promised_at, d.zone, d.weight_g, d.cold_chain),
                    d.out_at,
                    d.done_at,
                )
                for d in day.drops
            ],
        )
        for day in days
    ]


def replayed(
    seed: int, first_day: datetime, days: int, *, orders_per_hour: float = 72.0
) -> list[list[RiderHistory]]:
    """`days` replayed days from `first_day`, one list of rider histories per day."""
    return [
        histories(day) for day in replay(seed, first_day, days, orders_per_hour=orders_per_hour)
    ]
