"""Failed-login throttling per username and client address (answers 429 with Retry-After)."""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime, timedelta

from backend.errors import RateLimited


class LoginLimiter:
    """At most `max_failures` failed logins per (username, address) in a sliding window.

    An attempt counts as a failure from the moment it starts (`attempt`), so parallel guesses
    cannot all pass the check before the first one fails; a success wipes the slate. Memory is
    a hard cap: past `max_tracked` pairs, the pair that failed longest ago is forgotten, in
    constant time.
    """

    def __init__(
        self, *, max_failures: int, window_seconds: int, max_tracked: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_seconds)
        self.max_tracked = max_tracked
        self._failures: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()

    def attempt(self, username: str, address: str, now: datetime) -> None:
        """Refuse while the pair is over its limit; otherwise count this attempt as failed
        until `succeeded` says otherwise."""
        key = (username, address)
        failures = self._prune(key, now)
        if len(failures) >= self.max_failures:
            retry_after = int((failures[0] + self.window - now).total_seconds()) + 1
            raise RateLimited("too many failed logins; wait and try again", retry_after=retry_after)
        failures = self._failures.setdefault(key, deque())
        self._failures.move_to_end(key)
        failures.append(now)
        while len(failures) > self.max_failures:
            failures.popleft()
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((username, address), None)

    @property
    def tracked(self) -> int:
        """How many (username, address) pairs are remembered."""
        return len(self._failures)

    def _prune(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures
