"""When to try an outbound delivery again.

Exponential backoff with full jitter (a random delay between zero and the exponential step),
so endpoints that failed together do not all come back at once. Webhooks and notifiers both
retry through this one rule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before attempt `n + 1`, given `n` failed attempts."""

    base_seconds: float = 1.0
    cap_seconds: float = 300.0

    def step(self, failures: int) -> float:
        """The upper bound of the wait after `failures` failures (at least one)."""
        exponent = max(0, failures - 1)
        return float(min(self.cap_seconds, self.base_seconds * 2.0 ** min(exponent, 62)))

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """A jittered wait in [0, step], never below a tenth of the base (no busy retry)."""
        draw = (rng or random).random()
        return max(self.base_seconds / 10, draw * self.step(failures))
