"""Failed-login throttling per username and client address (answers 429 with Retry-After)."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from backend.errors import RateLimited


class LoginLimiter:
    """At most `max_failures` failed logins per (username, address) in a sliding window.

    Memory stays bounded however many names are tried: past `max_tracked` pairs, every pair
    whose window has passed is dropped.
    """

    def __init__(
        self, *, max_failures: int, window_seconds: int, max_tracked: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_seconds)
        self.max_tracked = max_tracked
        self._failures: dict[tuple[str, str], deque[datetime]] = {}

    def check(self, username: str, address: str, now: datetime) -> None:
        """Raise RateLimited while the pair is over its limit."""
        failures = self._prune((username, address), now)
        if len(failures) >= self.max_failures:
            retry_after = int((failures[0] + self.window - now).total_seconds()) + 1
            raise RateLimited("too many failed logins; wait and try again", retry_after=retry_after)

    def failed(self, username: str, address: str, now: datetime) -> None:
        if len(self._failures) >= self.max_tracked:
            for key in list(self._failures):
                self._prune(key, now)
        failures = self._failures.setdefault((username, address), deque())
        failures.append(now)
        # Only the newest `max_failures` matter for the decision; older ones need no memory.
        while len(failures) > self.max_failures:
            failures.popleft()

    @property
    def tracked(self) -> int:
        """How many (username, address) pairs are remembered."""
        return len(self._failures)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((username, address), None)

    def _prune(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures
