"""Capture the console's screens for README and the docs: `python docs/capture.py`.

Runs what `freshline demo --tour` runs (a demo backend on a free loopback port, the simulator
playing the city at the tour's pace, the console signed in as the dispatcher), lets the city
fill for a while, then drives the real console with Textual's Pilot at 120x40 and saves SVG
screenshots into docs/images/: the board, the exception queue, an order's detail, the riders
map and the KPIs. Re-run it after changing a screen; the figures differ from run to run (the
backend's clock is real time, sped up), the screens do not.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

from backend_client import FreshlineClient, StreamState
from console.app import FreshlineApp
from console.embedded import EmbeddedBackend
from console.launch import Simulator, business_zone
from console.store import Lane
from console.tour import TOUR
from screens.board import BoardScreen
from screens.exceptions import ExceptionsScreen
from screens.kpi import KpiScreen
from screens.order_detail import OrderDetailScreen
from screens.riders import RidersScreen

IMAGES = Path(__file__).parent / "images"
SIZE = (120, 40)
BEIJING = "Asia/Shanghai"
# Rich's SVGs fetch Fira Code from a CDN; the docs site loads nothing from another host, so the
# images keep only the local font (else the reader's monospace).
WEB_FONT = re.compile(r',\s*url\("https?://[^"]*"\) format\("[^"]*"\)')


async def until(pilot: object, holds: Callable[[], object], what: str, within: float) -> None:
    """Wait for the console to show something; a script may poll, it is not a test."""
    deadline = time.monotonic() + within
    while not holds():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the console never showed {what} within {within:.0f} s")
        await pilot.pause(0.2)  # type: ignore[attr-defined]
    await pilot.pause(0.5)  # type: ignore[attr-defined]  # one more redraw tick: drawn, not just known


async def capture(fill_seconds: float, seed: int) -> list[Path]:
    from zoneinfo import ZoneInfo

    hour, minute = (int(part) for part in TOUR.start.split(":"))
    zone = ZoneInfo(BEIJING)
    start = datetime.combine(datetime.now(zone).date(), clock_time(hour, minute), zone)
    saved: list[Path] = []
    async with EmbeddedBackend(speed=TOUR.speed, start=start) as backend:
        async with FreshlineClient(backend.url) as client:
            await client.login("dispatcher", "demo-dispatcher")
            token = client.token
        city = [
            f"--seed={seed}",
            f"--speed={TOUR.speed!r}",
            f"--orders-per-hour={TOUR.orders_per_hour!r}",
            f"--trouble={TOUR.trouble!r}",
        ]
        async with Simulator(backend.url, backend.folder, city):
            await asyncio.sleep(fill_seconds)  # the city fills: orders out, some late, alerts
            app = FreshlineApp(
                server=backend.url, token=token, zone=await business_zone(backend.url)
            )

            def save(name: str) -> None:
                image = IMAGES / f"{name}.svg"
                image.write_text(offline(app.export_screenshot()))
                saved.append(image)

            async with app.run_test(size=SIZE) as pilot:
                store = app.store
                await until(
                    pilot,
                    lambda: (
                        store.connection.state == StreamState.LIVE
                        and store.lane_ids(Lane.DELIVERING)
                    ),
                    "orders out for delivery",
                    within=60,
                )
                save("board")
                await pilot.press("2")
                await until(
                    pilot,
                    lambda: isinstance(app.screen, ExceptionsScreen) and store.alerts.queue(),
                    "alerts",
                    within=30,
                )
                save("exceptions")
                await pilot.press("4")
                await until(
                    pilot,
                    lambda: (
                        isinstance(app.screen, KpiScreen)
                        and store.kpi.summary is not None
                        and store.kpi.series is not None
                    ),
                    "the KPIs",
                    within=30,
                )
                save("kpis")
                await pilot.press("3")
                await until(pilot, lambda: isinstance(app.screen, RidersScreen), "riders", 30)
                save("riders")
                await pilot.press("1")
                await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board", 30)
                await pilot.press("right", "right", "right")  # new -> picking -> short -> out
                await pilot.press("enter")
                await until(
                    pilot,
                    lambda: isinstance(app.screen, OrderDetailScreen) and bool(app.screen.events),
                    "an order's detail",
                    within=30,
                )
                save("order-detail")
    return saved


def offline(svg: str) -> str:
    """The screenshot without its web fonts and links: it renders from the file alone."""
    return WEB_FONT.sub("", svg).replace("Generated with Rich https://www.textualize.io", "Rich")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=float, default=60.0, help="real seconds the city runs first")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    IMAGES.mkdir(exist_ok=True)
    for path in asyncio.run(capture(arguments.fill, arguments.seed)):
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


if __name__ == "__main__":
    main()
