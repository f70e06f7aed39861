"""The riders map's redraw cost with many riders, beside baselines in the same run: the same map
with no riders, and a plain Static of the same size.

    .venv/bin/python bench/rider_map.py                       # 2,000 and 10,000 riders, 200x60
    .venv/bin/python bench/rider_map.py --riders 500 20000 --frames 50 --size 160x48

Runs the real app headless (Textual's test driver) on the riders screen, on a frozen clock, with
the demo city's zones. Every frame first moves every rider a little (so nothing is cached), then
times, in milliseconds:

- map: what the bounded redraw does per frame: rasterise the riders into cells, splice them
  into the cached static layer, and render every line of the map through `render_line` (what
  Textual asks of the widget when it repaints it);
- pan: the same after a pan, when the static layer (zones, labels, warehouses) is drawn again;
- tick: the riders screen's whole pass on a tick where riders moved: judge every rider's
  state, sort the list and redraw its rows on screen, hand the map its markers, and the map
  redraw above.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.widgets import Static

from backend_client.models import Me, PositionMessage, Role
from console.app import FreshlineApp
from console.store import Changes, FrozenClock, Store
from screens.riders import RidersScreen
from tests.console.rider_samples import city, rider_orders, riders
from tests.console.samples import NOW
from widgets.rider_map import RiderMap


def store_with(count: int) -> Store:
    store = Store(FrozenClock(NOW))
    store.load(rider_orders(count), riders(count), last_seq=0)
    zones, places = city()
    store.set_geography(zones, places)
    return store


def move_everyone(store: Store, step: int) -> None:
    for rider in store.riders.values():
        if rider.lat is None or rider.lng is None:
            continue
        store.move_rider(
            PositionMessage(
                rider_id=rider.id,
                warehouse_id=rider.warehouse_id,
                lat=rider.lat + (0.0004 if step % 2 else -0.0004),
                lng=rider.lng,
                at=NOW + timedelta(seconds=step),
            )
        )


def paint(widget: RiderMap | Static) -> None:
    """Every line of the widget, as Textual asks for them when it repaints it."""
    height = widget.size.height
    if isinstance(widget, RiderMap):
        for y in range(height):
            widget.render_line(y)
    else:
        widget._styles_cache.clear()
        widget.render_lines(widget.content_region.reset_offset)


def timed(action: Callable[[], None], frames: int) -> list[float]:
    out = []
    for _ in range(frames):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def measure(count: int, frames: int, size: tuple[int, int]) -> dict[str, list[float]]:
    store = store_with(count)
    me = Me(id=1, username="dispatcher", role=Role.DISPATCHER)
    app = FreshlineApp(store=store, live=False, me=me, refresh_hz=0.2)  # ticks stay out of it
    results: dict[str, list[float]] = {}
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        await app.switch_mode("riders")
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, RidersScreen)
        rider_map = screen.rider_map
        step = 0

        def map_frame() -> None:
            rider_map._dirty = True
            rider_map.redraw()
            paint(rider_map)

        def pan_frame() -> None:
            assert rider_map.view is not None
            rider_map.view = rider_map.view.panned(1 if step % 2 else -1, 0)
            map_frame()

        def tick() -> None:
            screen.show_changes(Changes(riders=True))
            rider_map.redraw()  # at once, whether or not the bound would make it wait
            paint(rider_map)

        for name, frame in (("map", map_frame), ("pan", pan_frame), ("tick", tick)):
            samples = []
            for _ in range(frames):
                step += 1
                move_everyone(store, step)
                if name != "tick":
                    screen.show_changes(Changes(riders=True))  # hands the map the new markers
                samples += timed(frame, 1)
            results[name] = samples
            await pilot.pause(0.05)

        # A plain Static the size of the map's content, full of text, rendered the same way.
        width, height = rider_map.size.width, rider_map.size.height
        text = "\n".join(("⠁⠂⠄⡀ o > ! ? W " * 40)[:width] for _ in range(height))
        static = Static(text)
        static.styles.width, static.styles.height = width, height
        await screen.mount(static)
        await pilot.pause(0.1)
        results["static"] = timed(lambda: paint(static), frames)
    return results


def row(label: str, samples: list[float], base: float) -> str:
    median = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else median
    return f"{label:42}{median:>9.2f}{p90:>9.2f}{median / base:>9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--riders", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", default="200x60", help="terminal size, COLSxROWS")
    args = parser.parse_args()
    cols, rows = (int(n) for n in args.size.split("x"))
    empty = asyncio.run(measure(0, args.frames, (cols, rows)))
    base = statistics.median(empty["map"])
    static = statistics.median(empty["static"])
    print(f"terminal {cols}x{rows}, {args.frames} frames each; ms per frame")
    print(f"{'':42}{'median':>9}{'p90':>9}{'x empty':>9}")
    print(row("plain Static, the map's size", empty["static"], base))
    print(row("empty map (zones, no riders)", empty["map"], base))
    print(row("empty map after a pan", empty["pan"], base))
    print(row("empty map: the whole tick (list + map)", empty["tick"], base))
    for count in args.riders:
        full = asyncio.run(measure(count, args.frames, (cols, rows)))
        print(row(f"{count:,} riders: map redraw", full["map"], base))
        print(row(f"{count:,} riders: map redraw after a pan", full["pan"], base))
        print(row(f"{count:,} riders: the whole tick (list + map)", full["tick"], base))
    print(f"(empty map / plain Static: {base / static:.1f})")


if __name__ == "__main__":
    main()
