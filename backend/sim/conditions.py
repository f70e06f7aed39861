"""What makes one delivery slower than another in the simulated city: structure a learned ETA
can find in the history, and a straight line at the rider's pace cannot (docs/eta.md).

- **Zone congestion by hour**: each zone's streets slow down in its rush hours, some zones
  much more than others (`congestion`).
- **Rider skill**: every rider rides at a speed of their own (`rider_skill_kmh`, drawn from the
  seed and the rider's id), in any traffic.
- **Warehouse pick time**: some front warehouses pick a basket faster than others
  (`pick_factor`).
- **Weather days**: on about one day in five it rains all day and everyone rides slower
  (`weather`).
- **The doorstep**: towers with lifts and guards take longer than houses with a gate
  (`doorstep_seconds`, by zone).

Every draw comes from a random stream of its own (seed and what it is about), never from the
order plan's or a rider's stream: the same seed still places the same orders.
"""

from __future__ import annotations

import random
from datetime import datetime

from backend.sim.demand import BEIJING

RUSH: dict[str, tuple[float, float]] = {
    "Chaoyang": (0.55, 0.75),
    "Wangjing": (0.70, 0.85),
    "Haidian": (0.60, 0.80),
    "Dongcheng": (0.65, 0.70),
    "Xicheng": (0.75, 0.80),
    "Fengtai": (0.90, 0.95),
}
"""Per zone, the share of free-flow speed left in the evening rush (17-19 h) and in the
morning and lunch rushes (7-9 h, 11-13 h). Chaoyang's CBD jams; Fengtai hardly does."""
EVENING = frozenset({17, 18, 19})
DAYTIME = frozenset({7, 8, 9, 11, 12, 13})
NIGHT = frozenset({22, 23, 0, 1, 2, 3, 4, 5})
NIGHT_FACTOR = 1.15
"""Empty streets at night."""
PICK_FACTOR: dict[str, float] = {
    "WH-CY": 1.45,
    "WH-WJ": 1.0,
    "WH-HD": 0.75,
    "WH-DC": 1.2,
    "WH-XC": 0.9,
    "WH-FT": 1.1,
}
"""How long each warehouse takes to pick a basket against the city's norm."""
DOORSTEP_S: dict[str, tuple[float, float]] = {
    "Chaoyang": (180, 360),
    "Wangjing": (150, 300),
    "Haidian": (90, 200),
    "Dongcheng": (40, 120),
    "Xicheng": (40, 120),
    "Fengtai": (30, 90),
}
"""Seconds from reaching the address to the customer's door, by zone (low, high)."""
RAINY_DAYS = 0.2
RAIN_FACTOR = 0.72
SKILL_KMH = (13.0, 27.0)
"""The range riders' own free-flow speeds are drawn from."""


def congestion(zone: str | None, at: datetime) -> float:
    """The share of free-flow speed left on `zone`'s streets at `at` (business time)."""
    hour = at.astimezone(BEIJING).hour
    if hour in NIGHT:
        return NIGHT_FACTOR
    evening, daytime = RUSH.get(zone or "", (1.0, 1.0))
    if hour in EVENING:
        return evening
    if hour in DAYTIME:
        return daytime
    return 1.0


def weather(seed: int, at: datetime) -> float:
    """The day's speed factor: RAIN_FACTOR on rainy days (one business day in five or so)."""
    day = at.astimezone(BEIJING).date().isoformat()
    return RAIN_FACTOR if random.Random(f"{seed}:weather:{day}").random() < RAINY_DAYS else 1.0


def rider_skill_kmh(seed: int, rider_id: int) -> float:
    """The rider's own free-flow speed."""
    return random.Random(f"{seed}:skill:{rider_id}").uniform(*SKILL_KMH)


def riding_kmh(seed: int, skill_kmh: float, zone: str | None, at: datetime) -> float:
    """How fast a rider of `skill_kmh` rides towards `zone` leaving at `at`."""
    return skill_kmh * congestion(zone, at) * weather(seed, at)


def pick_factor(warehouse_id: str) -> float:
    """The warehouse's picking time against the norm."""
    return PICK_FACTOR.get(warehouse_id, 1.0)


def doorstep_seconds(seed: int, order_key: str, zone: str | None) -> float:
    """From the address to the door, for one delivery (its own stream: `order_key`)."""
    low, high = DOORSTEP_S.get(zone or "", (60.0, 180.0))
    return random.Random(f"{seed}:door:{order_key}").uniform(low, high)
