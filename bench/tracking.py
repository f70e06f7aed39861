"""Tracking page views a second with 1,000 live tracking subscriptions open, beside the plain
health endpoint in the same run, and the server's CPU per view.

    .venv/bin/python bench/tracking.py [--subscriptions 1000] [--seconds 5] [--clients 8]

One `freshline serve --demo` on a temporary SQLite file, with the limits per address lifted
(one address asks everything here). One order per subscription is made through `POST /orders`,
and each gets a live socket (`/api/v1/track/{token}/live`: its first view read, then held
open). Then `--clients` connections ask as fast as they are answered, in alternating phases of
`--seconds` each: `GET /api/v1/track/{token}` over the tokens in turn, and `GET /api/v1/health`
(the baseline: the app's cheapest route, same server, same sockets open). Between the two
phases of a round a tenth of the orders are paid, so the open sockets are sent new views.
Reported: requests a second and server CPU (user + system, from /proc) per request, the median
of the rounds for each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import cpu_seconds, post, serving_process, sign_in

LIFTED = {
    # Every socket and request comes from this one address: the edge's and the links' limits
    # per address would refuse most of them.
    "FRESHLINE_MAX_CONNECTIONS_PER_ADDRESS": "100000",
    "FRESHLINE_STREAM_HANDSHAKES_PER_MINUTE": "1000000",
    "FRESHLINE_TRACKING_VIEWS_PER_MINUTE_PER_TOKEN": "1000000000",
    "FRESHLINE_TRACKING_VIEWS_PER_MINUTE_PER_ADDRESS": "1000000000",
    "FRESHLINE_AUTO_DISPATCH": "false",
}


async def make_orders(http: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    auth = await sign_in(http, "channel-app")
    made: list[dict[str, Any]] = []
    numbers = itertools.count(1)

    async def maker() -> None:
        while len(made) < count:
            n = next(numbers)
            if n > count:
                return
            body = {
                "external_id": f"TRACK-BENCH-{n}",
                "customer": {
                    "name": f"Customer {n}",
                    "phone": f"139{n:08d}",
                    "address": f"Sanlitun Rd {n % 97}, Chaoyang",
                    "lat": 39.9361,
                    "lng": 116.4551,
                },
                "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
            }
            made.append(await post(http, auth, "/orders", body))

    await asyncio.gather(*(maker() for _ in range(8)))
    return made


class Subscription:
    """One live tracking socket: its first view read, then kept reading (and beating)."""

    def __init__(self, ws_base: str, token: str) -> None:
        self.url = f"{ws_base}/api/v1/track/{token}/live"
        self.views = 0

    async def open(self) -> None:
        self.socket = await websockets.connect(self.url, compression=None, open_timeout=30)
        first = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
        if first.get("type") != "view":
            raise SystemExit(f"a tracking socket's first message was not its view: {first}")
        self.views = 1
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        beat = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                message = await asyncio.wait_for(self.socket.recv(), 10)
                if '"type":"view"' in str(message):
                    self.views += 1
            if time.monotonic() - beat > 10:
                await self.socket.send('{"type":"heartbeat"}')
                beat = time.monotonic()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await self.task
        await self.socket.close()


async def phase(
    http: httpx.AsyncClient, paths: list[str], seconds: float, clients: int, pid: int
) -> dict[str, float]:
    """Requests a second and server CPU per request, `clients` at once for `seconds`."""
    turn = itertools.cycle(paths)
    done = failed = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            answer = await http.get(next(turn))
            if answer.status_code == 200:
                done += 1
            else:
                failed += 1

    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    return {
        "per_s": done / wall,
        "cpu_ms_each": cpu * 1000 / max(1, done),
        "failed": failed,
    }


async def measure(
    base_url: str, pid: int, subscriptions: int, seconds: float, clients: int, rounds: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        orders = await make_orders(http, subscriptions)
        tokens = [o["tracking_url"].removeprefix("/t/") for o in orders]
        ws_base = base_url.replace("http://", "ws://")
        subs = [Subscription(ws_base, token) for token in tokens]
        for start in range(0, len(subs), 100):  # a hundred handshakes at a time
            await asyncio.gather(*(s.open() for s in subs[start : start + 100]))
        channel = await sign_in(http, "channel-app")
        views = [f"/api/v1/track/{t}" for t in tokens]
        results: dict[str, list[dict[str, float]]] = {"views": [], "health": []}
        paid = iter(orders)
        for _ in range(rounds):
            results["views"].append(await phase(http, views, seconds, clients, pid))
            for order in itertools.islice(paid, max(1, len(orders) // 10)):
                body = {"action": "pay", "version": order["version"]}
                await post(http, channel, f"/orders/{order['id']}/transitions", body)
            results["health"].append(await phase(http, ["/api/v1/health"], seconds, clients, pid))
        pushed = sum(s.views for s in subs) - len(subs)
        live = sum(1 for s in subs if not s.socket.close_code)
        for s in subs:
            await s.close()
    report: dict[str, Any] = {"subscriptions": len(subs), "live_at_end": live, "pushed": pushed}
    for name, runs in results.items():
        report[name] = {
            "per_s": statistics.median(r["per_s"] for r in runs),
            "cpu_ms_each": statistics.median(r["cpu_ms_each"] for r in runs),
            "failed": sum(r["failed"] for r in runs),
        }
    return report


def run(subscriptions: int, seconds: float, clients: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="freshline-bench-tracking-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/tracking.db"
        with serving_process(url, Path(folder), LIFTED) as (base_url, process):
            return asyncio.run(
                measure(base_url, process.pid, subscriptions, seconds, clients, rounds)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0, help="each phase's length")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = run(args.subscriptions, args.seconds, args.clients, args.rounds)
    views, health = report["views"], report["health"]
    print(
        f"{report['subscriptions']} live tracking subscriptions ({report['live_at_end']} still "
        f"open at the end, {report['pushed']} views pushed to them)"
    )
    print(
        f"GET /track/{{token}}: {views['per_s']:,.0f}/s, {views['cpu_ms_each']:.2f} ms server "
        f"CPU each; GET /health: {health['per_s']:,.0f}/s, {health['cpu_ms_each']:.2f} ms each; "
        f"ratio {views['per_s'] / health['per_s']:.2f}"
    )


if __name__ == "__main__":
    main()
