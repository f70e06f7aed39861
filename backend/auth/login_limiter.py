"""Failed-login throttling, shared by every instance (docs/permissions.md, "Signing in").

Four counters, each a fixed window of `window_seconds` in a shared storage (`auth/attempts.py`):

- **pair** (account, address): `max_failures`. Counted when an attempt starts, so parallel
  guesses cannot all pass before the first one fails; a success clears it. It holds for
  everyone, so during its lockout the right password is refused too.
- **address**: `address_max_failures` failures from one address, whatever the accounts: one
  address spraying a password over many accounts.
- **account**: `account_max_failures` failures at one account, whatever the addresses: many
  addresses guessing at one account.
- **spray**: `spray_max_failures` failures in all, whoever and wherever: a password sprayed
  from many addresses over many accounts.

The last three count failures as they happen (a success must not count against an office
behind one address): guesses in flight at once can pass them by as many as are in flight,
which the pair bounds per account and address. They refuse only addresses the account never
signed in from (within `known_days`): an attacker can lock an account, or everyone, out of new
places for a window at a time, but never out of the places its owner signs in from, where only
the pair counts.
Every refusal is a 429 with Retry-After, and says the same whether the account exists or not.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from backend.errors import RateLimited

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]

REFUSED = "too many failed sign-ins; try again later"
"""One answer for every refusal: it must not tell which counter (or which account) it was."""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failures each counter allows in one window."""

    max_failures: int = 5
    address_max_failures: int = 20
    account_max_failures: int = 20
    spray_max_failures: int = 100
    window_seconds: int = 300
    known_days: int = 30


@dataclass(frozen=True, slots=True)
class Tally:
    """One place counters live: a `limits` storage and the clock it counts by (Unix seconds)."""

    storage: Storage
    now: Callable[[], float]


class LoginLimiter:
    """Admits or refuses sign-in attempts; told how each one ended.

    Counts in the first of `tallies` that answers: Redis, with the database behind it, goes on
    counting (shared between instances still) while Redis is down; a failure of the last one
    reaches the caller (503: nobody signs in uncounted).
    """

    def __init__(self, tallies: Sequence[Tally], limits: LoginLimits) -> None:
        assert tallies, "somewhere to count"
        self.tallies = [(FixedWindowRateLimiter(t.storage), t.now) for t in tallies]
        window = self.window_seconds = limits.window_seconds
        self._spray_logged_at = -float(window)
        self.pair = RateLimitItemPerSecond(limits.max_failures, window, namespace="login-pair")
        self.address = RateLimitItemPerSecond(
            limits.address_max_failures, window, namespace="login-address"
        )
        self.account = RateLimitItemPerSecond(
            limits.account_max_failures, window, namespace="login-account"
        )
        self.spray = RateLimitItemPerSecond(
            limits.spray_max_failures, window, namespace="login-spray"
        )
        self.known = RateLimitItemPerDay(1, limits.known_days, namespace="login-known")

    async def admit(self, username: str, address: str) -> bool:
        """Refuse (RateLimited) while a counter that applies is spent; otherwise count this
        attempt against its pair until `succeeded` says otherwise. True: the account signed in
        from this address before."""
        return await self._counting(
            lambda limiter, now: self._admit(limiter, now, username, address)
        )

    async def failed(self, username: str, address: str) -> None:
        """A wrong password (or no such account, or a disabled one: the same to the caller)."""

        async def count(limiter: FixedWindowRateLimiter, _now: Clock) -> None:
            await limiter.hit(self.address, address)
            await limiter.hit(self.account, _part(username))
            await limiter.hit(self.spray, "all")

        await self._counting(count)

    async def succeeded(self, username: str, address: str, *, known: bool) -> None:
        """The right password: the pair's slate is wiped and the address becomes known (for
        `known_days` from the first sign-in there: hitting a known one again would not move
        its window on, so it is not written)."""

        async def count(limiter: FixedWindowRateLimiter, _now: Clock) -> None:
            name = _part(username)
            await limiter.clear(self.pair, name, address)
            if not known:
                await limiter.hit(self.known, name, address)

        await self._counting(count)

    async def _admit(
        self, limiter: FixedWindowRateLimiter, now: Clock, username: str, address: str
    ) -> bool:
        name = _part(username)
        shared = ((self.address, (address,)), (self.account, (name,)), (self.spray, ("all",)))
        # Read side by side: one round trip's wait instead of four.
        unknown, *open_ = await asyncio.gather(
            limiter.test(self.known, name, address),
            *(limiter.test(item, *keys) for item, keys in shared),
        )
        if unknown:
            # Never signed in from here: every counter applies (known places: the pair only).
            for (item, keys), is_open in zip(shared, open_, strict=True):
                if not is_open:
                    if item is self.spray:
                        self._spray_seen()
                    await _refuse(limiter, now, item, keys)
        if not await limiter.hit(self.pair, name, address):
            await _refuse(limiter, now, self.pair, (name, address))
        return not unknown

    def _spray_seen(self) -> None:
        """Say so in the log, once a window: each refused attempt would flood it."""
        at = time.monotonic()
        if at - self._spray_logged_at >= self.window_seconds:
            self._spray_logged_at = at
            log.warning("sign-in spray: unfamiliar addresses refused until the window ends")

    async def _counting(self, act: Callable[[FixedWindowRateLimiter, Clock], Awaitable[T]]) -> T:
        for limiter, now in self.tallies[:-1]:
            try:
                return await act(limiter, now)
            except StorageError as exc:
                log.warning("login counters unavailable (%s); counting in the next place", exc)
        limiter, now = self.tallies[-1]
        return await act(limiter, now)


async def _refuse(
    limiter: FixedWindowRateLimiter, now: Clock, item: RateLimitItem, keys: tuple[str, ...]
) -> NoReturn:
    stats = await limiter.get_window_stats(item, *keys)
    retry_after = max(1, math.ceil(stats.reset_time - now()))
    raise RateLimited(REFUSED, retry_after=retry_after)


def _part(username: str) -> str:
    """A username as one part of a counter's key (`limits` joins parts with '/')."""
    return username.replace("%", "%25").replace("/", "%2F")
