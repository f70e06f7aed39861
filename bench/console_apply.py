"""How many events a second the console absorbs (benchmark 2), beside a bare Textual app.

    .venv/bin/python bench/console_apply.py [--orders 2000] [--seconds 5]

Both apps run headless at 200x60 with a redraw tick at the console's rate (5 Hz). Each is fed
the same stream messages (JSON text: transitions of the held orders, each the next version), a
batch per turn of the event loop, as fast as it takes them:

- Freshline: each message parsed into the wire model as the stream consumer does, applied to
  the store; the board redraws the lanes that changed on each tick;
- baseline: each message parsed with `json.loads`, counted, and one Static updated per tick.

Prints events per second for each, the ratio, and how many redraw ticks each managed a second
(an app that stopped redrawing would be absorbing events by falling behind on the screen).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import TypeAdapter
from textual.app import App, ComposeResult
from textual.widgets import Static

from backend_client.models import Me, OrderState, Role, ServerMessage
from bench.console_board import NEXT, filled_store
from console.app import FreshlineApp

SIZE = (200, 60)
REFRESH_HZ = 5.0
BATCH = 50
"""Messages handed over per turn of the event loop (a WebSocket read yields about as often)."""
GOAL_EVENTS_PER_S = 5000.0


TEMPLATE = (
    '{"type":"event","prev_seq":%d,"seq":%d,"kind":"order.transition","order_id":%d,'
    '"rider_id":1,"warehouse_id":"WH-CY","from_state":"%s","to_state":"%s","actor":"rider-1",'
    '"role":"rider","client_addr":null,"at":"2026-11-22T04:30:00Z","reason":null,'
    '"payload":{"version":%d,"channel":"app","zone":"Chaoyang"}}'
)


class Messages:
    """Transitions of the board's orders, round-robin, each the order's next version, as the
    stream sends them (JSON text, made from a template: a microsecond, the same for both)."""

    def __init__(self, orders: int) -> None:
        store = filled_store(orders)
        self.states = {i: (card.status, card.version) for i, card in store.orders.items()}
        self.ids = list(self.states)
        self.seq = 0

    def batch(self, count: int) -> list[str]:
        out = []
        for _ in range(count):
            order_id = self.ids[self.seq % len(self.ids)]
            status, version = self.states[order_id]
            to = NEXT[status]
            self.states[order_id] = (to, version + 1)
            out.append(TEMPLATE % (self.seq, self.seq + 1, order_id, status, to, version + 1))
            self.seq += 1
        return out


class BareApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.events = 0
        self.shown = 0
        self.ticks = 0

    def compose(self) -> ComposeResult:
        yield Static("0", id="count")

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self._tick, name="redraw")

    def _tick(self) -> None:
        self.ticks += 1
        if self.events != self.shown:
            self.shown = self.events
            self.query_one(Static).update(f"{self.events} events")


async def feed(apply, orders: int, seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Hand over batches for `seconds`; the time it took."""
    source = Messages(orders)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for raw in source.batch(BATCH):
            apply(raw)
        await asyncio.sleep(0)
    return time.perf_counter() - started


async def run_freshline(orders: int, seconds: float) -> dict[str, Any]:
    store = filled_store(orders)
    app = FreshlineApp(
        store=store,
        live=False,
        me=Me(id=1, username="dispatcher", role=Role.DISPATCHER),
        refresh_hz=REFRESH_HZ,
    )
    adapter: TypeAdapter = TypeAdapter(ServerMessage)
    ticks = 0
    tick = app._tick

    def counted_tick() -> None:
        nonlocal ticks
        ticks += 1
        tick()

    app._tick = counted_tick  # type: ignore[method-assign]

    def apply(raw: str) -> None:
        store.apply(adapter.validate_json(raw))

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        applied_before, ticks = store.applied, 0
        seconds = await feed(apply, orders, seconds)
        applied = store.applied - applied_before
        await pilot.pause(0.3)
        wrong = [i for i, card in store.orders.items() if card.status not in OrderState]
    return {
        "events_per_s": applied / seconds,
        "events": applied,
        "seconds": seconds,
        "ticks_per_s": ticks / seconds,
        "errors": len(wrong),
    }


async def run_bare(orders: int, seconds: float) -> dict[str, Any]:
    app = BareApp()

    def apply(raw: str) -> None:
        if json.loads(raw)["type"] == "event":
            app.events += 1

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        app.ticks = 0
        seconds = await feed(apply, orders, seconds)
        await pilot.pause(0.3)
    return {
        "events_per_s": app.events / seconds,
        "events": app.events,
        "seconds": seconds,
        "ticks_per_s": app.ticks / seconds,
        "errors": 0,
    }


def measure(orders: int, seconds: float) -> dict[str, Any]:
    return {
        "orders": orders,
        "freshline": asyncio.run(run_freshline(orders, seconds)),
        "bare": asyncio.run(run_bare(orders, seconds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders on the board")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to feed each app")
    args = parser.parse_args()
    result = measure(args.orders, args.seconds)
    fresh, bare = result["freshline"], result["bare"]
    print(f"{'':12}{'events/s':>10}{'ticks/s':>9}")
    for name, r in (("freshline", fresh), ("bare app", bare)):
        print(f"{name:12}{r['events_per_s']:>10,.0f}{r['ticks_per_s']:>9.1f}")
    ratio = fresh["events_per_s"] / bare["events_per_s"]
    met = "met" if fresh["events_per_s"] >= GOAL_EVENTS_PER_S else "MISSED"
    print(f"ratio {ratio:.2f}; goal >= {GOAL_EVENTS_PER_S:,.0f} events/s: {met}")


if __name__ == "__main__":
    main()
