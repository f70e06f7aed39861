"""When and how long to wait before trying again: exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`base * 2**attempt` capped at `cap`, each wait drawn uniformly below it (full jitter)."""

    base: float = 0.25
    cap: float = 10.0

    def delay(
        self, attempt: int, *, at_least: float = 0.0, rng: random.Random | None = None
    ) -> float:
        # The exponent is bounded first: 2**1024 does not fit a float, and a long outage counts
        # attempts for as long as it lasts.
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 62))
        return max(at_least, (rng or random).uniform(0, ceiling))
