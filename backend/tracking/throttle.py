"""Rate limits of tracking links: per token and per client address, sliding one-minute windows
(the `limits` library, as the connection guard and the channel gate use it; its sliding-window
counter, constant work per request, where a moving window keeps every hit of the minute).

A link is read by one customer's phone, and a page polls it at most every few seconds, so a
link or an address far beyond that is a script: it gets 429 with Retry-After. Counted in this
instance's memory: behind N instances a client gets at most N times the rate, still far from
enough to guess a token (192 bits).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from backend.errors import RateLimited


class TrackingThrottle:
    """Admits a tracking request, or refuses it with `RateLimited`."""

    def __init__(
        self, *, per_token: int, per_address: int, wall: Callable[[], float] = time.time
    ) -> None:
        self.per_token = RateLimitItemPerMinute(per_token)
        self.per_address = RateLimitItemPerMinute(per_address)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._wall = wall

    def admit(self, token: str, address: str | None) -> None:
        """Count one request of `token` from `address`; 429 beyond either budget. The address
        is counted first: a script trying many tokens is stopped by it, whatever the tokens."""
        # The token's digest as the key: the limiter's memory never holds a live token.
        link = hashlib.sha256(token.encode()).hexdigest()[:32]
        checks = [
            (self.per_address, "address", address or "unknown"),
            (self.per_token, "link", link),
        ]
        for item, what, key in checks:
            if not self._limiter.hit(item, "tracking", what, key):
                reset = self._limiter.get_window_stats(item, "tracking", what, key).reset_time
                raise RateLimited(
                    f"too many requests for this {what}: at most {item.amount} a minute",
                    retry_after=max(1, math.ceil(reset - self._wall())),
                )
