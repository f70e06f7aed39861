"""Commit-to-client latency of the live stream, measured on a real `freshline serve --demo`.

    .venv/bin/python bench/stream_latency.py [--events N] [--database-url URL]

Starts the server on a free loopback port (a temporary SQLite database unless `--database-url`
names another, e.g. an empty PostgreSQL database), subscribes a raw WebSocket client as the
dispatcher to `orders`, then makes N changes one after another through the REST API: each order
is created, paid, picked, assigned, dispatched and signed. For each change it records

- t_sent: just before the write request went out;
- t_commit: when the write's HTTP response arrived (the commit happened before the response);
- t_receive: when the matching event (same order id and `payload.version`) arrived on the stream.

commit->receive can be negative: the event may arrive before the response. send->receive is the
upper bound a user sees (request, commit, feed, stream). The baseline, measured in the same run
on the same server, is the round-trip of `GET /api/v1/health`. The design goal:
commit-to-client p99 <= 50 ms nominal. Not part of pytest; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, post, serving, sign_in
from bench.stream_load import new_order
from bench.stream_watchers import RawStream

GOAL_P99_MS = 50.0
RIDER = 2  # WH-CY, no cold-chain box needed for the SKUs above
STEPS = ("create", "pay", "start_picking", "assign", "dispatch", "sign")


# --- Measuring ----------------------------------------------------------------------------------


@dataclass
class Change:
    step: str
    order_id: int
    version: int
    sent: float
    committed: float
    received: float | None = None


class Stream(RawStream):
    """A raw stream subscriber that timestamps every event by (order id, version)."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url.replace("http", "ws", 1) + "/api/v1/stream", token, ["orders"])
        self.arrivals: dict[tuple[int, int], float] = {}
        self.changed = asyncio.Event()

    async def _read(self) -> None:
        async for raw in self.socket:
            now = time.perf_counter()
            message = json.loads(raw)
            if message["type"] == "event" and message.get("order_id") is not None:
                key = (message["order_id"], message["payload"].get("version"))
                self.arrivals.setdefault(key, now)
                self.changed.set()

    async def wait_all(self, keys: list[tuple[int, int]], seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while any(k not in self.arrivals for k in keys) and time.perf_counter() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), deadline - time.perf_counter())


async def health_round_trips(http: httpx.AsyncClient, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await http.get("/api/v1/health")
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return times


async def make_changes(
    http: httpx.AsyncClient, stream: Stream, auth: dict[str, dict[str, str]], events: int
) -> list[Change]:
    changes: list[Change] = []
    order: dict[str, Any] = {}
    number = 0
    while len(changes) < events:
        step = STEPS[len(changes) % len(STEPS)]
        sent = time.perf_counter()
        if step == "create":
            number += 1
            body = new_order(number)
            order = await post(http, auth["channel"], "/orders", body)
        elif step == "assign":
            body = {"rider_id": RIDER, "version": order["version"]}
            order = await post(http, auth["dispatcher"], f"/orders/{order['id']}/assign", body)
        else:
            who = "channel" if step == "pay" else "dispatcher"
            body = {"action": step, "version": order["version"]}
            order = await post(http, auth[who], f"/orders/{order['id']}/transitions", body)
            if step == "pay" and order["status"] != "PAID":
                raise SystemExit(f"payment left order {order['id']} in {order['status']}")
        committed = time.perf_counter()
        changes.append(Change(step, order["id"], order["version"], sent, committed))
    await stream.wait_all([(c.order_id, c.version) for c in changes], 10)
    for change in changes:
        change.received = stream.arrivals.get((change.order_id, change.version))
    return changes


async def measure(base_url: str, events: int, health_samples: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        auth = {
            "channel": await sign_in(http, "channel-app"),
            "dispatcher": await sign_in(http, "dispatcher"),
            "rider": await sign_in(http, f"rider-{RIDER}"),
        }
        rider = await http.get(f"/api/v1/riders/{RIDER}", headers=auth["dispatcher"])
        if rider.json()["status"] != "online":
            await post(http, auth["rider"], f"/riders/{RIDER}/status", {"status": "online"})
        await health_round_trips(http, 20)  # warm up the connection and the server
        health = await health_round_trips(http, health_samples)
        token = auth["dispatcher"]["Authorization"].split()[1]
        async with Stream(base_url, token) as stream:
            started = time.perf_counter()
            changes = await make_changes(http, stream, auth, events)
            elapsed = time.perf_counter() - started
        health_after = await health_round_trips(http, health_samples)
    return {
        "health": health + health_after,
        "changes": changes,
        "elapsed": elapsed,
    }


# --- Reporting ----------------------------------------------------------------------------------


def row(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    cells = [percentile(ms, p) for p in (50, 90, 99)] + [max(ms)]
    return f"  {label:<22}" + "".join(f"{c:>9.2f}" for c in cells) + f"{len(ms):>7}"


def report(database: str, result: dict[str, Any]) -> int:
    changes: list[Change] = result["changes"]
    missing = [c for c in changes if c.received is None]
    arrived = [c for c in changes if c.received is not None]
    health = result["health"]
    write = [c.committed - c.sent for c in changes]
    send_to_receive = [c.received - c.sent for c in arrived]
    commit_to_receive = [c.received - c.committed for c in arrived]
    print(f"Freshline stream latency: {database}")
    print(
        f"  {len(changes)} changes in {result['elapsed']:.2f} s "
        f"({len(changes) / result['elapsed']:.0f}/s), one after another; "
        f"subscriber: dispatcher on `orders`"
    )
    print(f"  {'(ms)':<22}" + "".join(f"{h:>9}" for h in ("p50", "p90", "p99", "max")) + "      n")
    print(row("health round-trip", health))
    print(row("write round-trip", write))
    if arrived:
        print(row("send -> receive", send_to_receive))
        print(row("commit -> receive", commit_to_receive))
        early = sum(1 for v in commit_to_receive if v < 0)
        print(f"  (commit -> receive < 0 for {early} of {len(arrived)}: event before response)")
        h50, h99 = percentile(health, 50), percentile(health, 99)
        c50, c99 = percentile(commit_to_receive, 50), percentile(commit_to_receive, 99)
        s99 = percentile(send_to_receive, 99)
        verdict = "meets" if c99 * 1000 <= GOAL_P99_MS else "MISSES"
        print(
            f"  commit->receive p50 = {c50 * 1000:.2f} ms = {c50 / h50:.1f}x a health round-trip"
            f" (p50 {h50 * 1000:.2f} ms)"
        )
        print(
            f"  commit->receive p99 = {c99 * 1000:.2f} ms = {c99 / h99:.1f}x a health round-trip"
            f" (p99 {h99 * 1000:.2f} ms); send->receive p99 = {s99 * 1000:.2f} ms"
        )
        print(f"  goal: commit-to-client p99 <= {GOAL_P99_MS:.0f} ms nominal: {verdict}")
    if missing:
        print(f"  {len(missing)} event(s) never arrived within 10 s, e.g. {missing[:3]}")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="changes to make (default 300)")
    parser.add_argument(
        "--database-url",
        help="database for the server (default: a temporary SQLite file); the demo is seeded",
    )
    parser.add_argument(
        "--health-samples",
        type=int,
        default=200,
        help="health round-trips before and after the changes (default 200 each)",
    )
    args = parser.parse_args()
    if args.events < 1 or args.health_samples < 1:
        parser.error("--events and --health-samples must be at least 1")
    with tempfile.TemporaryDirectory(prefix="freshline-bench-") as tmp:
        run_dir = Path(tmp)
        database_url = args.database_url or f"sqlite+aiosqlite:///{run_dir / 'bench.db'}"
        label = database_url.split("://")[0] + (
            " (temporary file)" if not args.database_url else ""
        )
        # Auto-dispatch off: the script assigns each order itself.
        with serving(database_url, run_dir, {"FRESHLINE_AUTO_DISPATCH": "false"}) as base_url:
            result = asyncio.run(measure(base_url, args.events, args.health_samples))
        return report(label, result)


if __name__ == "__main__":
    sys.exit(main())
