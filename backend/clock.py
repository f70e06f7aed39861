"""The backend's notion of "now", injectable so tests and the simulator can steer time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (tests)."""

    speed = 1.0

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a `timedelta(**delta)` and return the new time."""
        self._now += timedelta(**delta)
        return self._now


class ScaledClock:
    """Simulated time: it read `start` at Unix time `epoch` and runs `speed` times faster.

    Two processes given the same three numbers read the same time, which is how the demo's
    backend and its simulator agree on promised times and lateness without talking.
    """

    def __init__(
        self,
        start: datetime,
        *,
        speed: float,
        epoch: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("a clock's speed must be positive")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._wall = wall
        self.epoch = wall() if epoch is None else epoch

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._wall() - self.epoch) * self.speed)

    def real_seconds(self, simulated: timedelta) -> float:
        """How long `simulated` time takes on the wall clock."""
        return simulated.total_seconds() / self.speed
