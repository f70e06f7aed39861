"""The backend's write and read rates (benchmark 4), each beside raw inserts or selects of the
same rows through the same database driver, on SQLite and on PostgreSQL.

    .venv/bin/python bench/backend_load.py [--orders 400] [--queries 500] [--fixes 20000]
                                           [--only sqlite|postgresql]

On a real `freshline serve --demo` (auto-dispatch off), a fresh database each:

- transitions: `--orders` orders created first (not timed), then 8 clients take them through
  pay, start picking, assign, dispatch and sign over REST, as fast as answers come: transitions
  per second, the latency of each, and the server's CPU per transition (all of the process's
  CPU over the transitions: the requests and everything they set off). Baselines: the peer
  app (`peer_app.py`: a minimal FastAPI + SQLAlchemy app doing a transition's core work) taken
  through the same steps by the same client, right after, on a database of its own; and 8
  connections inserting one row per transaction into a copy of the event log's columns (what
  every transition appends at least).
- single order query: `GET /orders/{id}` of random orders, one after another: p50 / p99.
  Baseline: `SELECT * FROM orders WHERE id = ?` through the driver.
- position ingest: `--fixes` fixes relayed (`POST /positions`) in batches of 100, by 8 clients
  (each its own riders, times moving forward): fixes per second. Baseline: the same rows
  inserted 100 per transaction into a copy of the track table's columns by 8 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    cpu_seconds,
    post,
    serving_peer,
    serving_process,
    spread_ms,
    temporary_postgres,
)
from bench.stream_load import HOME, one_step, prepare
from bench.stream_watchers import Subscriber

CLIENTS = 8
BATCH = 100
GOALS = {"transitions_per_s": 500.0, "query_p99_ms": 20.0, "fixes_per_s": 2000.0}
EVENT_COLUMNS = (
    "seq BIGINT PRIMARY KEY, kind VARCHAR(40), order_id INTEGER, rider_id INTEGER, "
    "warehouse_id VARCHAR(40), from_state VARCHAR(20), to_state VARCHAR(20), actor VARCHAR(40), "
    "role VARCHAR(20), client_addr VARCHAR(64), at TIMESTAMP, reason VARCHAR(500), payload TEXT"
)
POSITION_COLUMNS = (
    "id BIGINT PRIMARY KEY, rider_id INTEGER, at TIMESTAMP, lat FLOAT, lng FLOAT, "
    "speed_kmh FLOAT, accuracy_m FLOAT, received_at TIMESTAMP"
)


@dataclass
class Timed:
    count: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0
    """The server process's CPU (user + system) while this was measured."""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def in_parallel(work: list[list[Any]], do, timed: Timed) -> None:  # type: ignore[no-untyped-def]
    """Each client does its list of items one after another; all clients at once."""

    async def client(number: int, items: list[Any]) -> None:
        for item in items:
            started = time.perf_counter()
            try:
                done = await do(number, item)  # (not `+= await`: count is read before it)
                timed.count += done
            except Exception as failure:  # reported, not raised: the rest still counts
                timed.failures.append(repr(failure)[:300])
            timed.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(n, items) for n, items in enumerate(work)))
    timed.seconds += time.perf_counter() - started


def dealt(items: list[Any]) -> list[list[Any]]:
    return [items[n::CLIENTS] for n in range(CLIENTS)]


# --- Through the API ----------------------------------------------------------------------------


async def through_steps(
    http: httpx.AsyncClient | list[httpx.AsyncClient],
    city: Any,
    made: list[dict],
    pid: int | list[int],
    transitions: Timed,
) -> None:
    """8 clients take `made` through pay, start picking, assign, dispatch and sign; with several
    instances (`http` and `pid` lists), client n talks to instance n, round-robin."""
    riders = city.riders
    https = http if isinstance(http, list) else [http]
    pids = pid if isinstance(pid, list) else [pid]

    async def take_through(client: int, order: dict) -> int:
        # One order's transitions, one after another; each timed on its own.
        done = 0
        for step in range(1, 6):
            started = time.perf_counter()
            order = await one_step(
                https[client % len(https)], city, step, order, 0, riders[client % len(riders)]
            )
            transitions.latencies.append(time.perf_counter() - started)
            done += 1
        return done

    per_order = Timed()
    cpu = sum(cpu_seconds(p) for p in pids)
    await in_parallel(dealt(made), take_through, per_order)
    transitions.server_cpu_s = sum(cpu_seconds(p) for p in pids) - cpu
    transitions.count, transitions.seconds = per_order.count, per_order.seconds
    transitions.failures = per_order.failures


async def peer_figures(base_url: str, orders: int, pid: int) -> Timed:
    """The same client's steps through the peer app (which ignores the accounts)."""
    city = SimpleNamespace(tokens=defaultdict(dict), riders=list(range(1, 49)))
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        made: list[dict] = []

        async def create(_client: int, n: int) -> int:
            made.append(await one_step(http, city, 0, {}, n, 0))  # type: ignore[arg-type]
            return 1

        created = Timed()
        await in_parallel(dealt(list(range(orders))), create, created)
        transitions = Timed()
        await through_steps(http, city, made, pid, transitions)
    transitions.failures = created.failures + transitions.failures
    return transitions


async def api_figures(
    base_url: str, orders: int, queries: int, fixes: int, pid: int
) -> dict[str, Any]:
    city = await prepare(base_url, 48)
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        created = Timed()
        made: list[dict] = []

        async def create(_client: int, n: int) -> int:
            made.append(await one_step(http, city, 0, {}, n, 0))
            return 1

        await in_parallel(dealt(list(range(orders))), create, created)
        riders = city.riders

        transitions = Timed()
        await through_steps(http, city, made, pid, transitions)

        query = Timed()
        ids = [o["id"] for o in made] or [1]
        for _ in range(queries):
            started = time.perf_counter()
            answer = await http.get(
                f"/api/v1/orders/{random.choice(ids)}", headers=city.tokens["dispatcher"]
            )
            query.latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                query.failures.append(f"{answer.status_code} {answer.text[:200]}")
            query.count += 1
        query.seconds = sum(query.latencies)

        ingest = Timed()
        batches = fix_batches(riders, fixes)

        async def relay(_client: int, batch: list[dict]) -> int:
            await post(http, city.tokens["admin"], "/positions", {"fixes": batch})
            return len(batch)

        await in_parallel(batches, relay, ingest)
    return {
        "created": created.count,
        "transitions": transitions,
        "query": query,
        "ingest": ingest,
        "order_ids": ids,
    }


def fix_batches(riders: list[int], fixes: int) -> list[list[list[dict]]]:
    """Per client, batches of BATCH fixes of its own riders, each rider's times moving on."""
    start = datetime.now(UTC) - timedelta(hours=2)
    per_client: list[list[list[dict]]] = []
    for client in range(CLIENTS):
        mine = riders[client::CLIENTS] or riders[:1]
        count = fixes // CLIENTS
        points = [
            {
                "rider_id": mine[n % len(mine)],
                "lat": round(HOME[0] + random.uniform(-0.02, 0.02), 6),
                "lng": round(HOME[1] + random.uniform(-0.02, 0.02), 6),
                "at": (start + timedelta(seconds=n // len(mine))).isoformat(),
            }
            for n in range(count)
        ]
        per_client.append([points[i : i + BATCH] for i in range(0, len(points), BATCH)])
    return per_client


# --- Through the driver -------------------------------------------------------------------------


async def raw_figures(
    url: str, transitions: int, order_ids: list[int], queries: int, fixes: int
) -> dict[str, Timed]:
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
    engine = create_async_engine(url, pool_size=CLIENTS, connect_args=connect_args)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE bench_events ({EVENT_COLUMNS})"))
            await conn.execute(text(f"CREATE TABLE bench_positions ({POSITION_COLUMNS})"))
        now = datetime.now(UTC).replace(tzinfo=None)
        payload = json.dumps({"action": "dispatch", "version": 5, "channel": "app"})

        inserts = Timed()

        async def insert_event(_client: int, seq: int) -> int:
            row = {
                "seq": seq,
                "kind": "order.transition",
                "order_id": seq,
                "rider_id": 3,
                "warehouse_id": "WH-CY",
                "from_state": "PICKING",
                "to_state": "DELIVERING",
                "actor": "dispatcher",
                "role": "dispatcher",
                "client_addr": "127.0.0.1",
                "at": now,
                "reason": None,
                "payload": payload,
            }
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO bench_events VALUES (:seq, :kind, :order_id, :rider_id, "
                        ":warehouse_id, :from_state, :to_state, :actor, :role, :client_addr, "
                        ":at, :reason, :payload)"
                    ),
                    row,
                )
            return 1

        await in_parallel(dealt(list(range(1, transitions + 1))), insert_event, inserts)

        selects = Timed()
        async with engine.connect() as conn:
            for _ in range(queries):
                started = time.perf_counter()
                await conn.execute(
                    text("SELECT * FROM orders WHERE id = :id"), {"id": random.choice(order_ids)}
                )
                selects.latencies.append(time.perf_counter() - started)
                selects.count += 1
            selects.seconds = sum(selects.latencies)

        rows = Timed()
        ids = iter(range(1, 10**9))
        batches = [
            [
                [
                    {
                        "id": next(ids),
                        "rider_id": f["rider_id"],
                        "at": datetime.fromisoformat(f["at"]).replace(tzinfo=None),
                        "lat": f["lat"],
                        "lng": f["lng"],
                        "speed_kmh": None,
                        "accuracy_m": None,
                        "received_at": now,
                    }
                    for f in batch
                ]
                for batch in client
            ]
            for client in fix_batches(list(range(1, 49)), fixes)
        ]

        async def insert_fixes(_client: int, batch: list[dict]) -> int:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO bench_positions VALUES (:id, :rider_id, :at, :lat, :lng, "
                        ":speed_kmh, :accuracy_m, :received_at)"
                    ),
                    batch,
                )
            return len(batch)

        await in_parallel(batches, insert_fixes, rows)
    finally:
        await engine.dispose()
    return {"transitions": inserts, "query": selects, "ingest": rows}


# --- One database -------------------------------------------------------------------------------


def measure(
    url: str, peer_url: str, run_dir: Path, orders: int, queries: int, fixes: int
) -> dict[str, Any]:
    env = {"FRESHLINE_AUTO_DISPATCH": "false"}
    with serving_process(url, run_dir / "freshline", env) as (base_url, process):
        api = asyncio.run(api_figures(base_url, orders, queries, fixes, process.pid))
        raw = asyncio.run(
            raw_figures(url, api["transitions"].count, api["order_ids"], queries, fixes)
        )
    with serving_peer(peer_url, run_dir / "peer") as (base_url, process):
        peer = asyncio.run(peer_figures(base_url, orders, process.pid))

    def summary(t: Timed) -> dict[str, Any]:
        return {
            "count": t.count,
            "seconds": t.seconds,
            "per_s": t.rate,
            "latency_ms": spread_ms(t.latencies),
            "server_cpu_ms_each": t.server_cpu_s * 1000 / t.count if t.count else math.nan,
            "failures": t.failures[:3],
            "failure_count": len(t.failures),
        }

    return {
        "api": {k: summary(api[k]) for k in ("transitions", "query", "ingest")},
        "raw": {k: summary(raw[k]) for k in ("transitions", "query", "ingest")},
        "peer": {"transitions": summary(peer)},
    }


class Counting(Subscriber):
    """A raw subscriber that also counts each order event it got more than once."""

    def __init__(self, ws_url: str, token: str) -> None:
        super().__init__(ws_url, token, ["orders"])
        self.doubled = 0
        self.seen: set[int] = set()

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if message["type"] != "event":
                    continue
                if message["seq"] in self.seen:
                    self.doubled += 1
                self.seen.add(message["seq"])
                if self.last_seq is not None and message.get("prev_seq") != self.last_seq:
                    self.gaps += 1
                self.last_seq = message["seq"]
                if message.get("order_id") is not None:
                    key = (message["order_id"], message["payload"].get("version"))
                    self.arrivals.setdefault(key, time.monotonic())
        except websockets.ConnectionClosed as closed:
            self.closed = repr(closed)


async def writes_through(urls: list[str], pids: list[int], orders: int) -> dict[str, Any]:
    """The transitions of `orders` orders by 8 clients spread over `urls` (instances of one
    database), a subscriber on each instance: rate, server CPU summed over the instances, and
    every change's event seen exactly once on each instance's stream."""
    city = await prepare(urls[0], 48)
    token = city.tokens["dispatcher"]["Authorization"].split()[1]
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
    clients = [httpx.AsyncClient(base_url=u, timeout=60, limits=limits) for u in urls]
    subscribers = [Counting(u.replace("http", "ws", 1) + "/api/v1/stream", token) for u in urls]
    try:
        async with contextlib.AsyncExitStack() as stack:
            for subscriber in subscribers:
                await stack.enter_async_context(subscriber)
            made: list[dict] = []

            async def create(client: int, n: int) -> int:
                made.append(await one_step(clients[client % len(clients)], city, 0, {}, n, 0))
                return 1

            created = Timed()
            await in_parallel(dealt(list(range(orders))), create, created)
            transitions = Timed()
            await through_steps(clients, city, made, pids, transitions)
            expected = {(o["id"], v) for o in made for v in range(1, o["version"] + 6)}
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(  # noqa: ASYNC110
                not expected <= s.arrivals.keys() for s in subscribers
            ):
                await asyncio.sleep(0.1)
    finally:
        for http in clients:
            await http.aclose()
    return {
        "transitions": transitions,
        "lost": sum(len(expected - s.arrivals.keys()) for s in subscribers),
        "doubled": sum(s.doubled for s in subscribers),
        "gaps": sum(s.gaps for s in subscribers),
        "failures": created.failures + transitions.failures,
    }


def measure_scaleout(orders: int, bus_env: dict[str, str]) -> dict[str, Any]:
    """Writes through one instance on PostgreSQL, then through two on the Redis bus, each on a
    fresh database: transitions/s and server CPU per transition, beside each other."""
    results: dict[str, Any] = {}
    for name, count in (("one", 1), ("two", 2)):
        with (
            tempfile.TemporaryDirectory(prefix="freshline-bench-scaleout-") as folder,
            temporary_postgres() as url,
            contextlib.ExitStack() as stack,
        ):
            env = {"FRESHLINE_AUTO_DISPATCH": "false", **bus_env}
            servers = [
                stack.enter_context(serving_process(url, Path(folder) / f"server-{n}", env))
                for n in range(count)
            ]
            outcome = asyncio.run(
                writes_through([u for u, _ in servers], [p.pid for _, p in servers], orders)
            )
        t: Timed = outcome["transitions"]
        results[name] = {
            "per_s": t.rate,
            "server_cpu_ms_each": t.server_cpu_s * 1000 / t.count if t.count else math.nan,
            "latency_ms": spread_ms(t.latencies),
            "lost": outcome["lost"],
            "doubled": outcome["doubled"],
            "gaps": outcome["gaps"],
            "failure_count": len(outcome["failures"]),
            "failures": outcome["failures"][:3],
        }
    return results


def measure_sqlite(orders: int, queries: int, fixes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="freshline-bench-backend-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        peer_url = f"sqlite+aiosqlite:///{folder}/peer.db"
        return measure(url, peer_url, Path(folder), orders, queries, fixes)


def measure_postgres(orders: int, queries: int, fixes: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="freshline-bench-backend-") as folder,
        temporary_postgres() as url,
        temporary_postgres(prefix="freshline_bench_peer") as peer_url,
    ):
        return measure(url, peer_url, Path(folder), orders, queries, fixes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--fixes", type=int, default=20_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    for name, run in (("sqlite", measure_sqlite), ("postgresql", measure_postgres)):
        if args.only not in (None, name):
            continue
        result = run(args.orders, args.queries, args.fixes)
        print(f"{name}:")
        for key in ("transitions", "query", "ingest"):
            api, raw = result["api"][key], result["raw"][key]
            print(
                f"  {key:12} API {api['per_s']:9,.0f}/s p99 {api['latency_ms']['p99']:7.1f} ms"
                f"   raw {raw['per_s']:9,.0f}/s p99 {raw['latency_ms']['p99']:7.1f} ms"
                f"   failures {api['failure_count']}"
            )
        ours, peer = result["api"]["transitions"], result["peer"]["transitions"]
        print(
            f"  transitions: Freshline {ours['per_s']:,.0f}/s, "
            f"{ours['server_cpu_ms_each']:.2f} ms server CPU each; peer app "
            f"{peer['per_s']:,.0f}/s, {peer['server_cpu_ms_each']:.2f} ms each; "
            f"ratio {ours['per_s'] / peer['per_s']:.2f}; peer failures {peer['failure_count']}"
        )


if __name__ == "__main__":
    main()
