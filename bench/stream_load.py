"""Commit to client (and to the console's screen) under the city's load, beside a bare
`websockets` broadcast of the same messages at the same rates (benchmarks 1, 2's CPU, and 5).

The load, on one or more `freshline serve --demo` instances sharing a database:

- riders: `riders` extra riders registered online at WH-CY, each reporting a fix every 15 s,
  relayed by the admin account in one request a second (what a location gateway and the
  simulator do: `POST /positions`);
- order events: `events_per_s` changes through REST, each order created, paid, picked,
  assigned, dispatched and signed, in lanes paced to the rate (a lane that falls behind its
  schedule lowers the rate achieved, which is reported);
- consoles: `consoles` stream connections as the dispatcher on `orders` + `riders`: one real
  console (the Freshline app, headless, in its own process), one bare Textual app (the
  baseline of benchmark 2, also in its own process) and raw WebSocket subscribers for the rest.

For every change it records when the request was sent and when its answer arrived (the commit
happened before that), and every subscriber records when the event with the same order id and
version arrived: commit -> client is arrival minus answer (negative when the event beat the
answer). The console records when it applied the event and when the screen next painted after
its redraw tick handed the change to the board: commit -> screen.

The baseline (`bare_broadcast.py`) is a `websockets` server in its own process sending messages
of the same shape and size at the same rates to the same number of raw subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.common import ROOT, cpu_seconds, free_port, post, sign_in, spread_ms, stop
from bench.stream_watchers import Probe, Subscriber

POSITION_EVERY_S = 15.0
GRACE_S = 10.0
"""How long after the last change every event may take to arrive before it counts as lost."""
WAREHOUSE = "WH-CY"
HOME = (39.9219, 116.4436)  # around the Chaoyang warehouse
SKUS = [
    "VEG-BOKCHOY",
    "VEG-TOMATO",
    "VEG-CUCUMBER",
    "VEG-POTATO",
    "VEG-SPINACH",
    "VEG-MUSHROOM",
    "FRU-APPLE",
    "FRU-BANANA",
    "FRU-ORANGE",
    "EGG-DOZEN",
]
CHANGES_PER_LANE_S = 4.0
"""A lane's pace: changes it makes a second (one order's steps, one after another)."""


@dataclass(frozen=True)
class Load:
    name: str
    riders: int
    events_per_s: float
    consoles: int
    seconds: float

    def scaled(self, scale: float, seconds: float) -> Load:
        return replace(
            self,
            riders=max(1, round(self.riders * scale)),
            events_per_s=max(1.0, self.events_per_s * scale),
            consoles=max(3, round(self.consoles * min(1.0, scale * 2))),
            seconds=seconds,
        )

    def describe(self) -> str:
        return (
            f"{self.riders:,} riders every {POSITION_EVERY_S:g} s, {self.events_per_s:g} order "
            f"events/s, {self.consoles} consoles, {self.seconds:g} s"
        )


NOMINAL = Load("nominal", 2000, 10.0, 10, 30.0)
PEAK = Load("peak", 10_000, 50.0, 20, 30.0)


# --- Driving the load ---------------------------------------------------------------------------


@dataclass
class Change:
    order_id: int
    version: int
    sent: float
    answered: float


@dataclass
class Driven:
    changes: list[Change] = field(default_factory=list)
    fixes: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0


@dataclass
class City:
    tokens: dict[str, dict[str, str]]
    riders: list[int]


async def prepare(base_url: str, riders: int) -> City:
    """Sign in, register the riders (online, at WH-CY), and stock the shelves for the run."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        tokens = {
            name: await sign_in(http, name) for name in ("admin", "dispatcher", "channel-app")
        }
        ids: list[int] = []
        for start in range(0, riders, 1000):
            crew = [
                {
                    "name": f"Bench Rider {n}",
                    "phone": f"139{n:08d}",
                    "warehouse_id": WAREHOUSE,
                    "capacity": 20,
                    "status": "online",
                }
                for n in range(start, min(riders, start + 1000))
            ]
            answer = await post(http, tokens["admin"], "/riders", {"riders": crew})
            ids += [r["id"] for r in answer]
        for sku in SKUS:
            body = {"delta": 100_000, "reason": "benchmark stock"}
            await post(http, tokens["admin"], f"/warehouses/{WAREHOUSE}/stock/{sku}/adjust", body)
    return City(tokens, ids)


async def drive(
    urls: list[str], city: City, load: Load, position_sent: dict[tuple[int, datetime], float]
) -> Driven:
    """The load for `load.seconds`: order lanes and the riders' relay, round-robin over `urls`."""
    driven = Driven()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    clients = [httpx.AsyncClient(base_url=u, timeout=30, limits=limits) for u in urls]
    lanes = max(1, math.ceil(load.events_per_s / CHANGES_PER_LANE_S))
    interval = lanes / load.events_per_s
    riders = itertools.cycle(city.riders)
    started = time.monotonic()
    end = started + load.seconds

    async def lane(number: int) -> None:
        http = clients[number % len(clients)]
        due = started + number * interval / lanes
        step, order, n = 0, {}, 0
        # The load stops at the end, whatever is still due: a slow server lowers the rate
        # achieved instead of stretching the run until every planned change is made.
        while due < end and time.monotonic() < end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due += interval
            sent = time.monotonic()
            try:
                order = await one_step(http, city, step, order, n, next(riders))
            except RuntimeError as failure:
                driven.failures.append(str(failure))
                step, order = 0, {}
                continue
            driven.changes.append(Change(order["id"], order["version"], sent, time.monotonic()))
            step = (step + 1) % 6
            n += 1

    async def relay() -> None:
        places = {
            r: (HOME[0] + random.uniform(-0.02, 0.02), HOME[1] + random.uniform(-0.02, 0.02))
            for r in city.riders
        }
        tick = 0
        while time.monotonic() < end:
            due = started + tick
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            # Every rider once every 15 s, spread evenly over the seconds.
            batch = city.riders[tick % int(POSITION_EVERY_S) :: int(POSITION_EVERY_S)]
            tick += 1
            if not batch:
                continue
            at = datetime.now(UTC)
            fixes = []
            for rider in batch:
                lat, lng = places[rider]
                lat, lng = lat + random.uniform(-4e-4, 4e-4), lng + random.uniform(-4e-4, 4e-4)
                places[rider] = (lat, lng)
                fixes.append(
                    {
                        "rider_id": rider,
                        "lat": round(lat, 6),
                        "lng": round(lng, 6),
                        "at": at.isoformat(),
                    }
                )
            http = clients[tick % len(clients)]
            sent = time.monotonic()
            for rider in batch:
                position_sent[(rider, at.replace(tzinfo=None))] = sent
            for chunk in range(0, len(fixes), 5000):
                body = {"fixes": fixes[chunk : chunk + 5000]}
                try:
                    await post(http, city.tokens["admin"], "/positions", body)
                    driven.fixes += len(body["fixes"])
                except SystemExit as failure:
                    driven.failures.append(str(failure))

    try:
        await asyncio.gather(relay(), *(lane(n) for n in range(lanes)))
    finally:
        driven.seconds = time.monotonic() - started
        for http in clients:
            await http.aclose()
    return driven


def new_order(n: int) -> dict[str, Any]:
    """The body of `POST /orders` for the benchmarks' `n`th order: one unit of a SKU in turn,
    to a customer near the Chaoyang warehouse."""
    return {
        "external_id": f"BENCH-{uuid.uuid4().hex[:12]}",
        "customer": {
            "name": "Wang Fang",
            "phone": "13800138000",
            "address": "Sanlitun Rd 19, Chaoyang",
            "lat": 39.9361,
            "lng": 116.4551,
        },
        "items": [{"sku": SKUS[n % len(SKUS)], "quantity": 1}],
        "warehouse_id": WAREHOUSE,
    }


async def one_step(
    http: httpx.AsyncClient, city: City, step: int, order: dict, n: int, rider: int
) -> dict:
    tokens = city.tokens
    try:
        if step == 0:
            return await post(http, tokens["channel-app"], "/orders", new_order(n))
        if step == 3:
            body = {"rider_id": rider, "version": order["version"]}
            return await post(http, tokens["dispatcher"], f"/orders/{order['id']}/assign", body)
        action = ("", "pay", "start_picking", "", "dispatch", "sign")[step]
        who = "channel-app" if action == "pay" else "dispatcher"
        body = {"action": action, "version": order["version"]}
        return await post(http, tokens[who], f"/orders/{order['id']}/transitions", body)
    except (SystemExit, httpx.HTTPError) as failure:
        # The type too: a timeout's message is empty.
        raise RuntimeError(f"step {step}: {type(failure).__name__}: {failure}") from None


# --- One run ------------------------------------------------------------------------------------


async def measure_freshline(
    urls: list[str],
    load: Load,
    run_dir: Path,
    *,
    probes: bool = True,
    server_pids: list[int] | None = None,
    refresh_hz: float = 5.0,
) -> dict[str, Any]:
    """The load through `urls` (a fresh demo database behind them); latencies and losses."""
    city = await prepare(urls[0], load.riders)
    token = city.tokens["dispatcher"]["Authorization"].split()[1]
    consoles: list[Probe] = []
    if probes:
        consoles = [
            Probe("freshline", urls[0], token, run_dir, refresh_hz),
            Probe("bare", urls[-1], token, run_dir, refresh_hz),
        ]
        for probe in consoles:
            await probe.wait_ready()
    raw = max(1, load.consoles - len(consoles))
    position_sent: dict[tuple[int, datetime], float] = {}
    subscribers = [
        Subscriber(
            urls[n % len(urls)].replace("http", "ws", 1) + "/api/v1/stream",
            token,
            ["orders", "riders"],
        )
        for n in range(raw)
    ]
    subscribers[0].position_sent = position_sent
    async with contextlib.AsyncExitStack() as stack:
        for sub in subscribers:
            await stack.enter_async_context(sub)
        for probe in consoles:
            probe.start()
        cpu_before = [cpu_seconds(pid) for pid in server_pids or []]
        driven = await drive(urls, city, load, position_sent)
        cpu_after = [cpu_seconds(pid) for pid in server_pids or []]
        keys = [(c.order_id, c.version) for c in driven.changes]
        deadline = time.monotonic() + GRACE_S
        # Many subscribers, many keys: a look every 0.1 s is cheaper than an event per arrival.
        while time.monotonic() < deadline and any(  # noqa: ASYNC110
            k not in s.arrivals for s in subscribers for k in keys
        ):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    console_results = {p.mode: await p.finish() for p in consoles}
    answered = {(c.order_id, c.version): c.answered for c in driven.changes}
    to_client = [s.arrivals[k] - answered[k] for s in subscribers for k in keys if k in s.arrivals]
    sent = {(c.order_id, c.version): c.sent for c in driven.changes}
    from_send = [s.arrivals[k] - sent[k] for s in subscribers for k in keys if k in s.arrivals]
    lost = sum(1 for s in subscribers for k in keys if k not in s.arrivals)
    result: dict[str, Any] = {
        "load": load.describe(),
        "changes": len(keys),
        "subscribers": len(subscribers),
        "events_per_s": len(keys) / driven.seconds if driven.seconds else 0.0,
        "fixes_per_s": driven.fixes / driven.seconds if driven.seconds else 0.0,
        "failures": driven.failures[:5],
        "failure_count": len(driven.failures),
        "write_ms": spread_ms([c.answered - c.sent for c in driven.changes]),
        "commit_to_client_ms": spread_ms(to_client),
        "send_to_client_ms": spread_ms(from_send),
        "lost": lost,
        "gaps": sum(s.gaps for s in subscribers),
        "closed": [s.closed for s in subscribers if s.closed],
        "positions_received": sum(s.positions for s in subscribers),
        "position_to_client_ms": spread_ms(subscribers[0].position_latency),
        "server_cpu_share": [
            (a - b) / driven.seconds for a, b in zip(cpu_after, cpu_before, strict=True)
        ],
    }
    for mode, probe in console_results.items():
        result[f"console_{mode}"] = console_figures(probe, answered, keys)
    return result


def console_figures(
    probe: dict[str, Any], answered: dict[tuple[int, int], float], keys: list[tuple[int, int]]
) -> dict[str, Any]:
    applied = {(o, v): t for o, v, t in probe["applied"]}
    painted = {(o, v): t for o, v, t in probe["painted"]}
    return {
        "commit_to_apply_ms": spread_ms([applied[k] - answered[k] for k in keys if k in applied]),
        "commit_to_screen_ms": spread_ms([painted[k] - answered[k] for k in keys if k in painted]),
        "not_applied": sum(1 for k in keys if k not in applied),
        "not_painted": sum(1 for k in keys if k not in painted),
        "cpu_share": probe["cpu_share"],
        "rss_mb": probe["rss_mb"],
        "messages": probe["messages"],
        "errors": probe["errors"],
    }


def start_bare(port: int, load: Load, run_dir: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        str(ROOT / "bench" / "bare_broadcast.py"),
        *("--port", str(port), "--events-per-s", str(load.events_per_s)),
        *("--positions-per-s", str(load.riders / POSITION_EVERY_S)),
    ]
    with (run_dir / "bare.txt").open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


async def measure_bare(load: Load, run_dir: Path) -> dict[str, Any]:
    """The baseline: a bare `websockets` broadcast at the same rates to as many subscribers."""
    port = free_port()
    server = start_bare(port, load, run_dir)
    try:
        url = f"ws://127.0.0.1:{port}/"
        for _ in range(200):
            with contextlib.suppress(OSError):
                async with websockets.connect(url, compression=None):
                    break
            await asyncio.sleep(0.05)
        subscribers = [Subscriber(url, "", ["orders"]) for _ in range(load.consoles)]
        async with contextlib.AsyncExitStack() as stack:
            for sub in subscribers:
                await stack.enter_async_context(sub)
            async with websockets.connect(url, compression=None) as control:
                await control.send(json.dumps({"type": "start", "seconds": load.seconds}))
                await asyncio.wait_for(control.recv(), load.seconds + 30)  # "done"
            await asyncio.sleep(0.5)
        sent = json.loads((run_dir / "bare.txt").read_text().splitlines()[-1])["events"]
    finally:
        stop(server)
    latency = [t for s in subscribers for t in s.arrivals.values()]
    return {
        "send_to_client_ms": spread_ms(latency),
        "events": sent,
        "lost": sent * len(subscribers) - len(latency),
        "positions_received": sum(s.positions for s in subscribers),
    }
