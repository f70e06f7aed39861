"""The board under the peak's rider positions, in one process, beside the bare Textual app fed
the same messages: CPU per message, the redraw tick's cost, and where the time goes.

    .venv/bin/python bench/console_positions.py                      # 10,000 riders / 15 s, 20 s
    .venv/bin/python bench/console_positions.py --seconds 30 --profile prof.out

No backend: the stream's messages (JSON, as the server sends them) are made up front and fed to
each app at the peak's rate through the same parsing the console's stream consumer does
(`bare` parses them with `json.loads` and counts, as `console_probe.py`'s bare app does). Both
run headless at 200x60 with the console's redraw rate; the board is on screen with the demo
city's riders and their orders. Figures are CPU seconds, so they say what each app costs, not
how busy the machine was.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import random
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult
from textual.widgets import Static

from backend_client import SERVER_MESSAGE
from backend_client.models import Me, Role
from tests.console.rider_samples import NOW, city, rider_orders, riders

SIZE = (200, 60)
REFRESH_HZ = 5.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def position_messages(count: int, rounds: int, seed: int = 3) -> list[bytes]:
    """`rounds` fixes of each of `count` riders, a few metres apart, in time order."""
    rng = random.Random(seed)
    start = riders(count)
    out = []
    for n in range(1, rounds + 1):
        at = (NOW + timedelta(seconds=15 * n)).isoformat()
        for r in start:
            lat = (r.last_lat or 39.9) + rng.uniform(-3e-4, 3e-4) * n
            lng = (r.last_lng or 116.4) + rng.uniform(-3e-4, 3e-4) * n
            message = {
                "type": "position",
                "rider_id": r.id,
                "warehouse_id": r.warehouse_id,
                "lat": lat,
                "lng": lng,
                "at": at,
            }
            out.append(json.dumps(message).encode())
    return out


def order_events(count: int, riders_count: int, seconds: float, per_second: float):  # type: ignore[no-untyped-def]
    """`per_second` order events for `seconds` (orders moved on through the lanes, as the
    console's own store sees them), as stream messages with their time from the start."""
    from backend_client.models import EventMessage, OrderState
    from console.store import FrozenClock, Store
    from tests.console.samples import moved

    step = {
        OrderState.DELIVERING: OrderState.EXCEPTION,
        OrderState.EXCEPTION: OrderState.DELIVERING,
    }
    scratch = Store(FrozenClock(NOW))
    scratch.load(rider_orders(riders_count), riders(riders_count), last_seq=500)
    ids = [i for i, card in scratch.orders.items() if card.status in step]
    out = []
    for n in range(int(seconds * per_second)):
        order_id = ids[(n * 7919) % len(ids)]
        event = moved(scratch, 501 + n, order_id, step[scratch.orders[order_id].status])
        scratch.apply(event)
        message = EventMessage(**event.model_dump(), prev_seq=500 + n)
        out.append((n / per_second, message.model_dump_json().encode()))
    return out


class Timing:
    """When each order event was applied, handed to a redraw, and next painted."""

    def __init__(self) -> None:
        self.applied: dict[int, float] = {}
        self.painted: dict[int, float] = {}
        self.pending: list[int] = []
        self.handed: list[int] = []

    def apply(self, seq: int) -> None:
        self.applied[seq] = time.perf_counter()
        self.pending.append(seq)

    def ticked(self) -> None:
        self.handed += self.pending
        self.pending.clear()

    def paint(self) -> None:
        if self.handed:
            now = time.perf_counter()
            for seq in self.handed:
                self.painted.setdefault(seq, now)
            self.handed.clear()

    def watch(self, app: App[None]) -> None:
        """Textual hands every compositor update to `_display` (headless: the write is skipped)."""
        display = app._display

        def timed(screen, renderable):  # type: ignore[no-untyped-def]
            display(screen, renderable)
            if renderable is not None:
                self.paint()

        app._display = timed  # type: ignore[method-assign]

    def p99_ms(self) -> float:
        waits = sorted(self.painted[s] - self.applied[s] for s in self.painted)
        return 1000 * waits[int(0.99 * (len(waits) - 1))] if waits else 0.0


class Feed:
    """Hands out timed messages as their time comes, from a task of the app's loop."""

    def __init__(self, messages: list[tuple[float, bytes]]) -> None:
        self.messages = messages
        self.sent = 0

    async def run(self, handle, seconds: float) -> None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            while self.sent < len(self.messages) and self.messages[self.sent][0] <= elapsed:
                handle(self.messages[self.sent][1])
                self.sent += 1
            await asyncio.sleep(0.005)


class BareApp(App[None]):
    """One Static, updated once per redraw tick when messages arrived."""

    def __init__(self, timing: Timing) -> None:
        super().__init__()
        self.positions = self.events = 0
        self._shown = (0, 0)
        self.timing = timing

    def compose(self) -> ComposeResult:
        yield Static("waiting", id="count")

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self._tick, name="redraw")

    def handle(self, raw: bytes) -> None:
        message = json.loads(raw)
        if message["type"] == "position":
            self.positions += 1
        elif message["type"] == "event":
            self.events += 1
            self.timing.apply(message["seq"])

    def _tick(self) -> None:
        if (self.positions, self.events) != self._shown:
            self._shown = (self.positions, self.events)
            self.query_one(Static).update(f"{self.events} events, {self.positions} positions")
        self.timing.ticked()


def freshline_app(count: int, timing: Timing) -> App[None]:
    from backend_client import StreamState, StreamStatus
    from console.app import FreshlineApp
    from console.store import FrozenClock, Store

    store = Store(FrozenClock(NOW))
    store.load(rider_orders(count), riders(count), last_seq=500)
    zones, places = city()
    store.set_geography(zones, places)
    store.set_connection(StreamStatus(StreamState.LIVE))
    me = Me(id=1, username="dispatcher", role=Role.DISPATCHER)
    app = FreshlineApp(store=store, live=False, me=me, refresh_hz=REFRESH_HZ)
    move, apply = store.move_rider, store.apply
    EventMessage = _event_type()

    def handle(raw: bytes) -> None:
        message = SERVER_MESSAGE.validate_json(raw)  # as the stream parses it
        if isinstance(message, EventMessage):
            apply(message)
            timing.apply(message.seq)
        else:
            move(message)

    tick = app._tick

    def ticked() -> None:
        tick()
        timing.ticked()

    app._tick = ticked  # type: ignore[method-assign]
    app.handle = handle  # type: ignore[attr-defined]
    return app


def _event_type():  # type: ignore[no-untyped-def]
    from backend_client.models import EventMessage

    return EventMessage


async def measure(  # type: ignore[no-untyped-def]
    app: App[None],
    timing: Timing,
    messages: list[tuple[float, bytes]],
    seconds: float,
    profiler: cProfile.Profile | None = None,
):
    ticks: list[float] = []
    tick = app._tick  # type: ignore[attr-defined]

    def timed_tick() -> None:
        started = time.perf_counter()
        tick()
        ticks.append(time.perf_counter() - started)

    app._tick = timed_tick  # type: ignore[attr-defined]  # before mount sets the timer
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        ticks.clear()
        timing.watch(app)
        feed = Feed(messages)
        if profiler is not None:
            profiler.enable()  # the steady state only, not the start-up
        cpu, wall = cpu_s(), time.perf_counter()
        await feed.run(app.handle, seconds)  # type: ignore[attr-defined]
        cpu, wall = cpu_s() - cpu, time.perf_counter() - wall
        if profiler is not None:
            profiler.disable()
    ticks.sort()
    return {
        "messages": feed.sent,
        "cpu_share": cpu / wall,
        "cpu_ms_per_1000": 1000 * cpu / max(1, feed.sent) * 1000,
        "tick_p50_ms": 1000 * statistics.median(ticks) if ticks else 0.0,
        "tick_p99_ms": 1000 * ticks[int(0.99 * (len(ticks) - 1))] if ticks else 0.0,
        "ticks": len(ticks),
        "events": len(timing.painted),
        "applied_to_painted_p99_ms": timing.p99_ms(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--riders", type=int, default=10_000)
    parser.add_argument("--every", type=float, default=15.0, help="seconds between a rider's fixes")
    parser.add_argument("--events", type=float, default=50.0, help="order events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profile", type=Path, help="cProfile the console's run into this file")
    args = parser.parse_args()
    per_second = args.riders / args.every
    rounds = int(args.seconds * per_second / args.riders) + 2
    positions = position_messages(args.riders, rounds)
    messages = sorted(
        [(n / per_second, raw) for n, raw in enumerate(positions)]
        + order_events(args.riders, args.riders, args.seconds, args.events),
        key=lambda timed: timed[0],
    )
    timing = Timing()
    bare = asyncio.run(measure(BareApp(timing), timing, messages, args.seconds))
    timing = Timing()
    app = freshline_app(args.riders, timing)
    profiler = cProfile.Profile() if args.profile else None
    console = asyncio.run(measure(app, timing, messages, args.seconds, profiler))
    if profiler:
        profiler.dump_stats(args.profile)
    print(
        f"{args.riders} riders every {args.every:g} s ({per_second:.0f} positions/s), "
        f"{args.events:g} order events/s, {args.seconds:g} s each, {SIZE[0]}x{SIZE[1]}, "
        f"redraw {REFRESH_HZ:g} Hz"
    )
    print(f"{'':30}{'bare app':>12}{'console':>12}{'ratio':>8}")
    for key, label in (
        ("cpu_share", "CPU (share of a core)"),
        ("cpu_ms_per_1000", "CPU ms per 1,000 messages"),
        ("applied_to_painted_p99_ms", "applied -> painted p99 (ms)"),
        ("tick_p50_ms", "redraw tick p50 (ms)"),
        ("tick_p99_ms", "redraw tick p99 (ms)"),
    ):
        ratio = console[key] / bare[key] if bare[key] else float("nan")
        print(f"{label:30}{bare[key]:>12.3f}{console[key]:>12.3f}{ratio:>8.2f}")
    print(json.dumps({"bare": bare, "console": console}))


if __name__ == "__main__":
    main()
