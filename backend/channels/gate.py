"""The gateway's door: which channels are taken, their signatures, and their rate limits.

A request is taken when its channel has a secret, its signature matches (HMAC-SHA256 over the
timestamp and the raw body, `backend_client/signing.py`) and its timestamp is within the window
of our wall clock (a replay outside it is refused; one inside it is harmless, since orders and
callbacks are idempotent by their own ids). Each channel then has its own budget: a moving
one-second window of `channel_rate_per_second` requests (429 with Retry-After beyond it), and
at most `channel_concurrency` of its requests worked on at once, the rest waiting without a
database connection, so one platform's burst can starve neither the others nor the readers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from backend.channels.adapter import ChannelAdapter
from backend.channels.registry import all_adapters
from backend.errors import NotAuthenticated, NotFound, RateLimited
from backend.settings import Settings
from backend_client.demo import demo_channel_secret
from backend_client.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, matches

log = logging.getLogger(__name__)


class ChannelGate:
    """Admits signed requests of the channels that have a secret, within their budgets."""

    def __init__(
        self,
        secrets: Mapping[str, str],
        *,
        window_seconds: int,
        rate_per_second: int,
        concurrency: int,
        wall: Callable[[], float] = time.time,
    ) -> None:
        adapters = all_adapters()
        unknown = sorted(set(secrets) - set(adapters))
        if unknown:
            log.warning("channel_secrets names channels without an adapter: %s", unknown)
        self.adapters = {name: a for name, a in adapters.items() if secrets.get(name)}
        self._secrets = dict(secrets)
        self.window = window_seconds
        self.rate = RateLimitItemPerSecond(rate_per_second)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._turns = {name: asyncio.Semaphore(concurrency) for name in self.adapters}
        self._wall = wall

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelGate:
        secrets = {name: s.get_secret_value() for name, s in settings.channel_secrets.items()}
        if settings.demo:
            for name in all_adapters():
                secrets.setdefault(name, demo_channel_secret(name))
        return cls(
            secrets,
            window_seconds=settings.channel_signature_window_seconds,
            rate_per_second=settings.channel_rate_per_second,
            concurrency=settings.channel_concurrency,
        )

    def adapter(self, channel: str) -> ChannelAdapter:
        adapter = self.adapters.get(channel)
        if adapter is None:
            raise NotFound(f"channel {channel} is not taken here (it has no secret configured)")
        return adapter

    def verify(self, channel: str, headers: Mapping[str, str], body: bytes) -> ChannelAdapter:
        """The channel's adapter if the request is signed by it, now; else 404 or 401."""
        adapter = self.adapter(channel)
        stamp, claimed = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
        if not stamp or not claimed:
            raise NotAuthenticated(f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
        try:
            timestamp = int(stamp)
        except ValueError:
            raise NotAuthenticated(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
        if not matches(self._secrets[channel], timestamp, body, claimed):
            raise NotAuthenticated(f"the {channel} signature does not match the body")
        skew = self._wall() - timestamp
        if abs(skew) > self.window:
            when = "old" if skew > 0 else "in the future"
            raise NotAuthenticated(
                f"{TIMESTAMP_HEADER} is {abs(skew):.0f} s {when}; the window is {self.window} s "
                "(a replay, or a clock to fix)"
            )
        return adapter

    @contextlib.asynccontextmanager
    async def admitted(self, channel: str) -> AsyncIterator[None]:
        """One request of the channel's budget: refused beyond its rate, queued beyond its
        concurrency."""
        if not self._limiter.hit(self.rate, channel):
            reset = self._limiter.get_window_stats(self.rate, channel).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise RateLimited(
                f"{channel} sends more than {self.rate.amount} requests a second; slow down",
                retry_after=wait,
            )
        async with self._turns[channel]:
            yield
