"""The retry rule webhooks and notifiers share."""

import random

from backend.outbound.backoff import Backoff


def test_steps_double_up_to_the_cap() -> None:
    rule = Backoff(base_seconds=1, cap_seconds=10)
    assert [rule.step(n) for n in (1, 2, 3, 4, 5, 100)] == [1, 2, 4, 8, 10, 10]


def test_delays_are_jittered_within_the_step_and_never_zero() -> None:
    rule = Backoff(base_seconds=2, cap_seconds=60)
    rng = random.Random(7)
    delays = [rule.delay(4, rng) for _ in range(200)]
    assert all(0.2 <= d <= 16 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100  # spread, not one value
