"""A console on a live stream, headless in its own process, timing what it applies and paints.

    python bench/console_probe.py --mode freshline|bare --server URL --out FILE
        --ready-file F --go-file G --stop-file S        (the token in FRESHLINE_TOKEN)

- `freshline`: the real console (`FreshlineApp`, its live feed, store and board) at 200x60.
- `bare`: the baseline, a Textual app with one Static that reads the same stream with a raw
  WebSocket (JSON only, no models) and updates the Static once per redraw tick when something
  arrived, at the console's redraw rate (4 Hz, or `--refresh-hz`).

For every order event (by order id and version) it records when it was applied and when the
screen was next painted after the redraw tick that handed it over (Textual's headless driver:
the compositor renders the update, the terminal write is skipped). Touches the ready file once
live, measures its CPU share between the go and stop files, then writes its results as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import websockets
from textual.app import App, ComposeResult
from textual.widgets import Static

from bench.common import cpu_seconds, rss_mb

SIZE = (200, 60)
REFRESH_HZ = 4.0
"""The console's default redraw rate (`refresh_hz`); `--refresh-hz` to try another."""


class Timing:
    """Applied and painted times by (order id, version), and what waits for the next paint."""

    def __init__(self) -> None:
        self.applied: dict[tuple[int, int], float] = {}
        self.painted: dict[tuple[int, int], float] = {}
        self.pending: list[tuple[int, int]] = []
        self.handed: list[tuple[int, int]] = []
        self.messages = 0

    def apply(self, key: tuple[int, int]) -> None:
        if key not in self.applied:
            self.applied[key] = time.monotonic()
            self.pending.append(key)

    def ticked(self) -> None:
        self.handed += self.pending
        self.pending.clear()

    def paint(self) -> None:
        if self.handed:
            now = time.monotonic()
            for key in self.handed:
                self.painted.setdefault(key, now)
            self.handed.clear()

    def watch(self, app: App) -> None:
        """Time the paints: Textual hands every compositor update to `_display`."""
        display = app._display

        def timed(screen, renderable):  # type: ignore[no-untyped-def]
            display(screen, renderable)
            if renderable is not None:
                self.paint()

        app._display = timed  # type: ignore[method-assign]


class BareApp(App):
    """One Static, updated once per tick when events arrived."""

    def __init__(self, server: str, token: str, timing: Timing, refresh_hz: float) -> None:
        super().__init__()
        self.refresh_hz = refresh_hz
        self.url = server.replace("http", "ws", 1) + "/api/v1/stream"
        self.token, self.timing = token, timing
        self.live = False
        self.events = self.positions = 0

    def compose(self) -> ComposeResult:
        yield Static("waiting", id="count")

    def on_mount(self) -> None:
        self.set_interval(1 / self.refresh_hz, self._tick, name="redraw")
        self.run_worker(self._follow(), group="bare-feed", exclusive=True)

    def _tick(self) -> None:
        if self.timing.pending:
            self.query_one(Static).update(f"{self.events} events, {self.positions} positions")
            self.timing.ticked()

    async def _follow(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with websockets.connect(
            self.url, additional_headers=headers, compression=None, max_size=8 * 2**20
        ) as socket:
            hello = {"type": "hello", "topics": ["orders", "riders"], "since": None}
            await socket.send(json.dumps(hello))
            beat = asyncio.create_task(self._beat(socket))
            try:
                async for raw in socket:
                    message = json.loads(raw)
                    self.timing.messages += 1
                    if message["type"] == "welcome":
                        self.live = True
                    elif message["type"] == "event" and message.get("order_id") is not None:
                        self.events += 1
                        self.timing.apply((message["order_id"], message["payload"].get("version")))
                    elif message["type"] == "position":
                        self.positions += 1
            finally:
                beat.cancel()

    async def _beat(self, socket) -> None:  # type: ignore[no-untyped-def]
        while True:
            await asyncio.sleep(10)
            await socket.send('{"type":"heartbeat"}')


def freshline_app(server: str, token: str, timing: Timing, refresh_hz: float) -> App:
    from backend_client import StreamState
    from console.app import FreshlineApp

    app = FreshlineApp(server=server, token=token, refresh_hz=refresh_hz)
    store = app.store
    apply, move_rider, tick = store.apply, store.move_rider, app._tick

    def timed_apply(event):  # type: ignore[no-untyped-def]
        timing.messages += 1
        if event.order_id is not None and event.kind.startswith("order."):
            timing.apply((event.order_id, event.payload.get("version")))
        return apply(event)

    def counted_move(position):  # type: ignore[no-untyped-def]
        timing.messages += 1
        return move_rider(position)

    def timed_tick() -> None:
        tick()
        timing.ticked()

    store.apply = timed_apply  # type: ignore[method-assign]
    store.move_rider = counted_move  # type: ignore[method-assign]
    app._tick = timed_tick  # type: ignore[method-assign]
    app.is_live = lambda: store.connection.state == StreamState.LIVE and store.last_seq is not None  # type: ignore[attr-defined]
    return app


def signal(path: str) -> None:
    Path(path).touch()


def signalled(path: str) -> bool:
    return Path(path).exists()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    token = os.environ["FRESHLINE_TOKEN"]
    timing = Timing()
    if args.mode == "freshline":
        app = freshline_app(args.server, token, timing, args.refresh_hz)
        is_live = app.is_live  # type: ignore[attr-defined]
    else:
        app = BareApp(args.server, token, timing, args.refresh_hz)
        is_live = lambda: app.live  # noqa: E731
    timing.watch(app)
    errors: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 60
        while not is_live():
            if time.monotonic() > deadline:
                raise SystemExit("the console did not go live within 60 s")
            await pilot.pause(0.05)
        await pilot.pause(0.5)  # the first board painted
        signal(args.ready_file)
        # The bench process answers through files: nothing here to await but time.
        while not signalled(args.go_file):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        while not signalled(args.stop_file):
            await asyncio.sleep(0.1)
            if not is_live():
                errors.append(f"not live at {time.monotonic() - wall0:.1f} s")
        cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
        rss = rss_mb()
        with contextlib.suppress(Exception):
            app.exit()
    return {
        "mode": args.mode,
        "applied": [[o, v, t] for (o, v), t in timing.applied.items()],
        "painted": [[o, v, t] for (o, v), t in timing.painted.items()],
        "cpu_share": cpu / wall,
        "rss_mb": rss,
        "messages": timing.messages,
        "errors": errors[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("freshline", "bare"), required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--go-file", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--refresh-hz", type=float, default=REFRESH_HZ)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
