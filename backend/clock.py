"""The backend's notion of "now", injectable so tests and the simulator can steer time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from backend_client.demo import ScaledClock

__all__ = ["Clock", "ManualClock", "ScaledClock", "SystemClock"]


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
