"""Console tests: a real backend (`freshline serve --demo` on a loopback port) for the live
ones, and a store filled by hand with a frozen clock for the snapshots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.stream_support import Actors, LiveServer, live_server, make_demo_database


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, demo-seeded SQLite file; each backend runs on its own copy."""
    path = tmp_path_factory.mktemp("console-template") / "f.db"
    asyncio.run(make_demo_database(path))
    return path


@pytest.fixture
async def alerting(tmp_path: Path, demo_template: Path) -> AsyncIterator[LiveServer]:
    """A backend whose alert engine runs, every half second when nothing happens."""
    async with live_server(tmp_path, demo_template, alerts="true", alert_tick_seconds=0.5) as s:
        yield s


@pytest.fixture
async def crew(alerting: LiveServer) -> AsyncIterator[Actors]:
    async with Actors(alerting.base_url) as team:
        yield team


@pytest.fixture
async def backend(tmp_path: Path, demo_template: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path, demo_template) as server:
        yield server


@pytest.fixture
async def actors(backend: LiveServer) -> AsyncIterator[Actors]:
    async with Actors(backend.base_url) as team:
        yield team


async def until(pilot, predicate: Callable[[], object], what: str, within: float = 30.0) -> float:
    """Let the app run until `predicate()` holds; returns how long it took. The bound only
    turns a hang into a failure: a loaded machine (a benchmark beside the suite) can take many
    seconds to fetch and draw what an idle one draws at once, so it is `eventually`'s 30 s."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await pilot.pause(0.05)  # polling the condition while the app runs
    return time.monotonic() - start


async def drawn(pilot) -> None:
    """Wait until the screen on top is mounted and has drawn the store once (`ready`)."""
    app = pilot.app
    await until(
        pilot,
        lambda: bool(app.screen_stack) and getattr(app.screen, "ready", False),
        f"{type(app.screen).__name__} drawn",
    )


async def redrawn(pilot) -> None:
    """Run the console's redraw tick now, as its `refresh_hz` timer does, and let the screen
    paint what it drew: the test decides when a tick happens, not the wall clock."""
    pilot.app._tick()
    await pilot.pause()
