"""The failed-login limiter: 429 after too many failures, and bounded memory."""

from __future__ import annotations

import pytest

from backend.auth.login_limiter import LoginLimiter
from backend.clock import ManualClock
from backend.errors import RateLimited


def test_too_many_failures_are_refused_until_the_window_passes() -> None:
    clock = ManualClock()
    limiter = LoginLimiter(max_failures=3, window_seconds=60)
    for _ in range(3):
        limiter.check("dispatcher", "10.0.0.1", clock.now())
        limiter.failed("dispatcher", "10.0.0.1", clock.now())
    with pytest.raises(RateLimited) as refused:
        limiter.check("dispatcher", "10.0.0.1", clock.now())
    assert 1 <= refused.value.retry_after <= 61
    limiter.check("dispatcher", "10.0.0.2", clock.now())  # another address is not held back
    clock.advance(seconds=61)
    limiter.check("dispatcher", "10.0.0.1", clock.now())


def test_memory_stays_bounded_when_many_names_are_tried() -> None:
    clock = ManualClock()
    limiter = LoginLimiter(max_failures=5, window_seconds=60, max_tracked=100)
    for n in range(1000):
        limiter.failed(f"guess-{n}", "10.0.0.9", clock.now())
        clock.advance(seconds=1)
    # Only pairs that failed within the last window can be remembered.
    assert limiter.tracked <= 100 + 60


def test_one_pair_remembers_only_what_the_decision_needs() -> None:
    clock = ManualClock()
    limiter = LoginLimiter(max_failures=3, window_seconds=3600)
    for _ in range(500):
        limiter.failed("admin", "10.0.0.1", clock.now())
    assert len(limiter._failures[("admin", "10.0.0.1")]) == 3
    with pytest.raises(RateLimited):
        limiter.check("admin", "10.0.0.1", clock.now())
    clock.advance(seconds=3601)
    limiter.check("admin", "10.0.0.1", clock.now())
