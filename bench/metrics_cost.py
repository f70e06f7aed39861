"""What the metrics cost the write path: server CPU per transition with `metrics_enabled` on,
beside the same server with it off, in the same run.

    .venv/bin/python bench/metrics_cost.py                    # 6 rounds of 100 orders
    .venv/bin/python bench/metrics_cost.py --orders 60 --rounds 2

Two `freshline serve --demo` processes, each on a temporary SQLite file, the same but for
`FRESHLINE_METRICS_ENABLED` (both write JSON log lines: the request id and the log format are
not what is measured). Each round creates `orders` orders on both (not measured), then takes
them through pay, start picking, assign, dispatch and sign (benchmark 4's transitions) with 8
clients each, both servers at the same time, so a machine busy with something else slows both
alike; the server with metrics is scraped once per round, as Prometheus would. Reported: each
server process's CPU (user + system, from /proc) over every round's transitions, divided by
them, and the ratio (goal <= 1.05).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import cpu_seconds, serving_process
from bench.stream_load import City, one_step, prepare

GOAL = 1.05
CLIENTS = 8
RIDERS = 48
TOKEN = "bench-metrics-token"
_numbers = itertools.count(1)


class Subject:
    """One server under measure: its client, its city, its CPU and transitions so far."""

    def __init__(self, name: str, base_url: str, pid: int, http: httpx.AsyncClient) -> None:
        self.name, self.base_url, self.pid, self.http = name, base_url, pid, http
        self.city: City | None = None
        self.cpu_s = 0.0
        self.transitions = 0
        self.failures: list[str] = []

    async def prepare(self) -> None:
        """Sign in, register riders and stock the shelves (`stream_load.prepare`)."""
        self.city = await prepare(self.base_url, RIDERS)

    async def create(self, count: int) -> list[dict[str, Any]]:
        assert self.city is not None
        return [
            await one_step(self.http, self.city, 0, {}, next(_numbers), 0) for _ in range(count)
        ]

    async def take_through(self, orders: list[dict[str, Any]]) -> None:
        """Pay, start picking, assign, dispatch and sign each order (benchmark 4's five
        transitions), 8 clients at once; the server's CPU counted around it."""
        city = self.city
        assert city is not None

        async def client(number: int, mine: list[dict[str, Any]]) -> None:
            rider = city.riders[number % len(city.riders)]
            for order in mine:
                for step in range(1, 6):
                    try:
                        order = await one_step(self.http, city, step, order, 0, rider)
                    except RuntimeError as failure:
                        self.failures.append(str(failure)[:300])
                        break
                    self.transitions += 1

        before = cpu_seconds(self.pid)
        await asyncio.gather(*(client(n, orders[n::CLIENTS]) for n in range(CLIENTS)))
        self.cpu_s += cpu_seconds(self.pid) - before

    async def scrape(self) -> None:
        answer = await self.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        if answer.status_code != 200:
            self.failures.append(f"scrape: {answer.status_code} {answer.text[:200]}")

    def summary(self) -> dict[str, Any]:
        return {
            "transitions": self.transitions,
            "server_cpu_s": self.cpu_s,
            "server_cpu_ms_each": self.cpu_s * 1000 / self.transitions
            if self.transitions
            else float("nan"),
            "failure_count": len(self.failures),
            "failures": self.failures[:3],
        }


async def measure(urls: dict[str, tuple[str, int]], orders: int, rounds: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
    async with (
        httpx.AsyncClient(base_url=urls["on"][0], timeout=60, limits=limits) as on_http,
        httpx.AsyncClient(base_url=urls["off"][0], timeout=60, limits=limits) as off_http,
    ):
        on = Subject("metrics on", urls["on"][0], urls["on"][1], on_http)
        off = Subject("metrics off", urls["off"][0], urls["off"][1], off_http)
        for subject in (on, off):
            await subject.prepare()
            await subject.take_through(await subject.create(CLIENTS))  # warm up
            subject.cpu_s, subject.transitions = 0.0, 0
        for _ in range(rounds):
            made = {s.name: await s.create(orders) for s in (on, off)}
            # Side by side: whatever else the machine does slows both alike, at the same time.
            await asyncio.gather(*(s.take_through(made[s.name]) for s in (on, off)))
            await on.scrape()
    result = {"on": on.summary(), "off": off.summary(), "orders": orders, "rounds": rounds}
    off_each = result["off"]["server_cpu_ms_each"]
    result["ratio"] = result["on"]["server_cpu_ms_each"] / off_each if off_each else float("nan")
    return result


def run(orders: int, rounds: int) -> dict[str, Any]:
    """Both servers started, measured and stopped."""
    with tempfile.TemporaryDirectory(prefix="freshline-bench-metrics-") as folder:
        root = Path(folder)
        base = {"FRESHLINE_AUTO_DISPATCH": "false", "FRESHLINE_ALERTS": "false"}
        on_env = {**base, "FRESHLINE_METRICS_ENABLED": "true", "FRESHLINE_METRICS_TOKEN": TOKEN}
        off_env = {**base, "FRESHLINE_METRICS_ENABLED": "false"}
        with (
            serving_process(f"sqlite+aiosqlite:///{root / 'on.db'}", root / "on", on_env) as (
                on_url,
                on_process,
            ),
            serving_process(f"sqlite+aiosqlite:///{root / 'off.db'}", root / "off", off_env) as (
                off_url,
                off_process,
            ),
        ):
            urls = {"on": (on_url, on_process.pid), "off": (off_url, off_process.pid)}
            return asyncio.run(measure(urls, orders, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100, help="orders per round and server")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    result = run(args.orders, args.rounds)
    print(json.dumps(result, indent=2))
    on, off = result["on"], result["off"]
    print(
        f"server CPU per transition: metrics on {on['server_cpu_ms_each']:.3f} ms, "
        f"off {off['server_cpu_ms_each']:.3f} ms, ratio {result['ratio']:.3f} (goal <= {GOAL})"
    )


if __name__ == "__main__":
    main()
