"""What a demo's backend and its simulator agree on without talking to each other: simulated
time, and the secret each sales channel signs with in the demo.

Public beside the contract because both sides need the same answer: the backend runs on a
`ScaledClock` when its `clock_speed` is set, and the simulator (a pure API client) builds the
same clock from `/health`'s time and speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def demo_channel_secret(channel: str) -> str:
    """The known secret of a channel in the demo (never outside it), so its simulator signs."""
    return f"demo-secret-{channel}"


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
