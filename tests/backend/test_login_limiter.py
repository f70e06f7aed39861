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
        limiter.attempt("dispatcher", "10.0.0.1", clock.now())
    with pytest.raises(RateLimited) as refused:
        limiter.attempt("dispatcher", "10.0.0.1", clock.now())
    assert 1 <= refused.value.retry_after <= 61
    limiter.attempt("dispatcher", "10.0.0.2", clock.now())  # another address is not held back
    clock.advance(seconds=61)
    limiter.attempt("dispatcher", "10.0.0.1", clock.now())


def test_attempts_in_flight_count_before_they_fail() -> None:
    # Parallel guesses: none has failed yet when the next one arrives, all are counted.
    clock = ManualClock()
    limiter = LoginLimiter(max_failures=5, window_seconds=60)
    admitted = 0
    for _ in range(30):
        try:
            limiter.attempt("dispatcher", "10.0.0.1", clock.now())
            admitted += 1
        except RateLimited:
            pass
    assert admitted == 5


def test_a_success_wipes_the_slate() -> None:
    clock = ManualClock()
    limiter = LoginLimiter(max_failures=2, window_seconds=60)
    limiter.attempt("dispatcher", "10.0.0.1", clock.now())
    limiter.succeeded("dispatcher", "10.0.0.1")
    limiter.attempt("dispatcher", "10.0.0.1", clock.now())
    limiter.attempt("dispatcher", "10.0.0.1", clock.now())
    with pytest.raises(RateLimited):
        limiter.attempt("dispatcher", "10.0.0.1", clock.now())


def test_memory_is_a_hard_cap_whatever_the_window() -> None:
    clock = ManualClock()
    limiter = LoginLimiter(max_failures=5, window_seconds=3600, max_tracked=100)
    for n in range(20_000):
        limiter.attempt(f"guess-{n}", "10.0.0.9", clock.now())
    assert limiter.tracked == 100
    # The newest pairs are the ones remembered.
    for _ in range(4):
        limiter.attempt("guess-19999", "10.0.0.9", clock.now())
    with pytest.raises(RateLimited):
        limiter.attempt("guess-19999", "10.0.0.9", clock.now())
