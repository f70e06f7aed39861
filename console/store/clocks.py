"""The backend's clock as the console runs it forward."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class ServerClock:
    """The backend's time (simulated in the demo), anchored on what it reports and run forward
    locally at its speed; urgency is judged on this clock, never the console's own."""

    def __init__(self, now: datetime | None = None, speed: float = 1.0) -> None:
        self.speed = speed
        self._anchor = now or datetime.now(UTC)
        self._at = time.monotonic()
        self.anchored = now is not None
        """False while this is only the machine's clock: the backend's has not been read yet
        (in the demo they are hours apart, and a day cut by the machine's clock is another)."""

    def anchor(self, now: datetime, speed: float | None = None) -> None:
        self._anchor, self._at = now, time.monotonic()
        self.anchored = True
        if speed is not None:
            self.speed = speed

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=(time.monotonic() - self._at) * self.speed)


class FrozenClock(ServerClock):
    """A clock that stands still (snapshot tests, benchmarks)."""

    def now(self) -> datetime:
        return self._anchor
