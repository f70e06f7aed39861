"""`freshline wall` under Pilot against a real backend: it signs in as the viewer by itself,
rotates through its screens (the KPIs, the board summary, the riders map), says loudly when
the backend goes away, and comes back by itself when the backend restarts; it refuses to run
as an account that can change things. (One server for all of it: starting one costs seconds.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_client import StreamState
from console.app import FreshlineApp
from console.wall import WallSettings, rotation
from screens.board_summary import BoardSummaryScreen
from screens.kpi import KpiScreen
from screens.riders import RidersScreen
from tests.console.conftest import until
from tests.stream_support import live_server
from widgets.stale_banner import StaleBanner

pytestmark = [
    pytest.mark.slow,
    pytest.mark.long(30),
]  # the wall against a real backend, killed and restarted

BUILDING = "(the screen is still being built)"


def banner(app: FreshlineApp) -> str | None:
    """The stale banner's words on the screen that is up, None while it is hidden, BUILDING
    while a rotation has just switched to a screen whose widgets are not mounted yet."""
    found = app.screen.query(StaleBanner)
    if not found:
        return BUILDING
    widget = found.first()
    return str(widget.render()) if widget.has_class("-shown") else None


def warning(app: FreshlineApp) -> str | None:
    """The stale banner's words when one is shown, else None."""
    words = banner(app)
    return None if words == BUILDING else words


async def test_wall_rotates_recovers_from_a_backend_restart_and_watches_only(
    tmp_path: Path, demo_template: Path
) -> None:
    async with live_server(tmp_path, demo_template, kpi_push_seconds=0.5) as server:
        settings = WallSettings(rotate_seconds=1.0, username="viewer", password="demo-viewer")
        app = FreshlineApp(server=server.base_url, wall=settings)
        async with app.run_test(size=(120, 36)) as pilot:
            # Bounds for a loaded machine (the wall failed under 8 workers), not waits.
            await until(pilot, lambda: app.me is not None, "the wall to sign in", 30)
            assert app.me.role == "viewer"
            assert app.has_class("-wall")
            await until(pilot, lambda: app.store.kpi.summary is not None, "a KPI summary", 30)
            seen: set[type] = set()
            await until(
                pilot,
                lambda: seen.add(type(app.screen)) or len(seen) >= 3,
                "the wall to show its three screens",
                30,
            )
            assert seen == {KpiScreen, BoardSummaryScreen, RidersScreen}
            assert rotation(app.MODES) == ["kpi", "summary", "riders"]
            # The riders map has the city to draw: zones and warehouses, and the riders.
            assert app.store.zones and app.store.warehouses and app.store.riders
            await until(pilot, lambda: banner(app) is None, "fresh numbers", 30)

            server.kill()  # the backend dies: both screens say so, whichever is up
            shown: list[str] = []
            await until(
                pilot,
                lambda: (
                    app.store.connection.state != StreamState.LIVE
                    and (words := warning(app)) is not None
                    and not shown.append(words)
                ),
                "the stale banner",
                30,
            )
            assert "⚠" in shown[-1]
            before = app.store.kpi.summary_at

            await server.start()  # same port, same database: nobody touches the wall
            await until(
                pilot,
                lambda: (
                    app.store.connection.state == StreamState.LIVE
                    and (app.store.kpi.summary_at or 0) > (before or 0)
                    and banner(app) is None
                ),
                "the wall to be live again",
                60,
            )
            up = type(app.screen)
            await until(pilot, lambda: type(app.screen) is not up, "rotation to go on", 30)

        # A wall watches: an account that can change things is refused, and the wall ends.
        settings = WallSettings(
            rotate_seconds=60, username="dispatcher", password="demo-dispatcher"
        )
        refused = FreshlineApp(server=server.base_url, wall=settings)
        async with refused.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: refused.return_code is not None, "the wall to refuse", 30)
        assert refused.return_code == 2
