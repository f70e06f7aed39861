"""Simulated time for the demo: the scaled clock's arithmetic, the settings that allow it only
in the demo, and the app that reports it on /health and keeps its promises by it."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from backend.app import clock_for, create_app
from backend.clock import ScaledClock, SystemClock
from backend.settings import Settings
from tests.support import STARTUP_S, Api, settings_for

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EPOCH = 1_800_000_000.0
IN_MEMORY = "sqlite+aiosqlite:///:memory:"


class Wall:
    """A wall clock (Unix seconds) that moves only when told to."""

    def __init__(self, now: float = EPOCH) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_at_speed_60_one_real_second_is_one_simulated_minute() -> None:
    wall = Wall()
    clock = ScaledClock(START, speed=60, epoch=EPOCH, wall=wall)
    assert clock.now() == START
    wall.now += 1
    assert clock.now() == START + timedelta(minutes=1)
    wall.now += 59.5
    assert clock.now() == START + timedelta(minutes=60.5)
    assert clock.real_seconds(timedelta(minutes=45)) == 45
    assert clock.speed == 60


def test_the_clock_reads_utc_and_starts_at_the_epoch_or_now() -> None:
    wall = Wall(EPOCH + 10)
    beijing = START.astimezone(timezone(timedelta(hours=8)))
    clock = ScaledClock(beijing, speed=2, epoch=EPOCH, wall=wall)
    assert clock.now() == START + timedelta(seconds=20)  # 10 s since the epoch, twice as fast
    assert clock.now().utcoffset() == timedelta(0)

    # Without an epoch the clock reads `start` when it is made.
    fresh = ScaledClock(START, speed=10, wall=wall)
    assert fresh.epoch == EPOCH + 10 and fresh.now() == START
    wall.now += 3
    assert fresh.now() == START + timedelta(seconds=30)


def test_two_clocks_given_the_same_start_and_epoch_agree() -> None:
    """Like the demo's backend and simulator, made at different moments."""
    wall = Wall(EPOCH + 100)
    backend = ScaledClock(START, speed=60, epoch=EPOCH, wall=wall)
    wall.now += 7.25
    simulator = ScaledClock(START, speed=60, epoch=EPOCH, wall=wall)
    assert backend.now() == simulator.now() == START + timedelta(seconds=107.25 * 60)
    wall.now += 1
    assert backend.now() == simulator.now()


@pytest.mark.parametrize("speed", [0, -1, -0.5])
def test_a_clock_that_stands_still_or_runs_backwards_is_refused(speed: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(START, speed=speed, epoch=EPOCH, wall=Wall())


def test_simulated_time_is_for_the_demo_only() -> None:
    with pytest.raises(ValidationError, match="demo only"):
        Settings(database_url=IN_MEMORY, clock_speed=60)
    with pytest.raises(ValidationError, match="demo only"):
        Settings(database_url=IN_MEMORY, clock_start=START)
    for speed in (0, -1, 1001):
        with pytest.raises(ValidationError):
            Settings(database_url=IN_MEMORY, demo=True, clock_speed=speed)
    with pytest.raises(ValidationError):
        Settings(database_url=IN_MEMORY, demo=True, clock_start=datetime(2026, 11, 22, 10))

    demo = Settings(
        database_url=IN_MEMORY, demo=True, clock_speed=60, clock_start=START, clock_epoch=EPOCH
    )
    assert (demo.clock_speed, demo.clock_start, demo.clock_epoch) == (60, START, EPOCH)
    clock = clock_for(demo)
    assert isinstance(clock, ScaledClock)
    assert (clock.start, clock.speed, clock.epoch) == (START, 60, EPOCH)

    assert isinstance(clock_for(Settings(database_url=IN_MEMORY)), SystemClock)
    assert isinstance(clock_for(Settings(database_url=IN_MEMORY, demo=True)), SystemClock)


def test_the_environment_cannot_slip_simulated_time_past_the_demo_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FRESHLINE_CONFIG", raising=False)
    monkeypatch.setenv("FRESHLINE_CLOCK_SPEED", "60")
    with pytest.raises(ValidationError, match="demo only"):
        Settings(database_url=IN_MEMORY)
    monkeypatch.setenv("FRESHLINE_DEMO", "true")
    assert Settings(database_url=IN_MEMORY).clock_speed == 60


async def test_health_reports_wall_time_at_speed_1_outside_the_demo() -> None:
    app = create_app(Settings(database_url=IN_MEMORY))
    transport = httpx.ASGITransport(app=app)  # /health needs no database: no lifespan here
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = datetime.now(UTC)
        health = (await client.get("/api/v1/health")).json()
        after = datetime.now(UTC)
    assert health["status"] == "ok" and health["clock_speed"] == 1
    assert before <= datetime.fromisoformat(health["time"]) <= after


async def test_the_demo_app_runs_on_simulated_time(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "freshline.db"
    shutil.copy(sqlite_template, path)
    epoch = time.time() - 10  # the simulation started 10 real seconds ago: 10 minutes at 60x
    settings = settings_for(
        f"sqlite+aiosqlite:///{path}", clock_speed=60, clock_start=START, clock_epoch=epoch
    )
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        health = (await client.get("/api/v1/health")).json()
        now = datetime.fromisoformat(health["time"])
        assert health["clock_speed"] == 60
        expected = START + timedelta(minutes=10)
        # Within a few real seconds of the expected reading (one real second is a minute).
        assert expected <= now <= expected + timedelta(minutes=10)

        # Orders are promised by simulated time: 45 simulated minutes from intake.
        api = Api(client, app, app.state.runtime.clock)
        order = await api.create_order()
        promised = datetime.fromisoformat(order["promised_at"])
        assert now + timedelta(minutes=45) <= promised <= now + timedelta(minutes=55)
