"""A small learned ETA for tests: two replayed days of the simulated city, fitted with few
rounds (seconds, not minutes), written once per session."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from backend.eta import history
from backend.eta.model import EtaModel, fit, save
from bench.replayed import replayed as replay

FIRST_DAY = datetime(2026, 3, 2, tzinfo=UTC)
TIME_ZONE = "Asia/Shanghai"


def small_model(rounds: int = 60) -> EtaModel:
    days = replay(1, FIRST_DAY, 2)
    riders = [h for day in days for h in day]
    found = history.examples(riders)
    return fit(
        found, history.rider_speeds(riders), time_zone=TIME_ZONE, min_examples=100, rounds=rounds
    )


def model_file(directory: Path) -> Path:
    """Fit the small model and write it as the next version in `directory`."""
    return save(small_model(), directory)
