"""Order intake throughput through the channel gateway, beside plain `POST /orders` of the same
orders, on a real `freshline serve --demo`.

    .venv/bin/python bench/channel_intake.py [--orders N] [--clients C] [--database-url URL]

The orders are the simulator's (seed 1, all six channels by its mix, its customers and
baskets). Three ways in, measured in the same run on the same server, interleaved over
`--rounds` so a growing database weighs on each alike:

- baseline: `POST /orders` as each channel's account (bearer token), the order as our model;
- gateway: the same orders as each platform sends them (`backend/sim/platforms.py`), signed, to
  `POST /channels/{channel}/orders`: signature, the platform's parsing, the receipt that makes
  retries idempotent, delivery planning (merge, split);
- baseline, paid: `POST /orders`, then `pay` (reserving the stock) as the channel's account;
- gateway, paid: the same orders arriving paid, so the one request also reserves the stock.

C clients send as fast as they get answers. Prints orders per second and latency for each, and
each gateway way's throughput as a ratio of its baseline (the row above it). The channels'
rate limit is lifted for the run (it is a guard, not the thing measured); their concurrency
limit is left as configured.
Not part of pytest; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.sim.accounts import channel_account
from backend.sim.demand import Demand, OrderPlan
from backend.sim.platforms import order_payload
from backend_client.demo import demo_channel_secret
from backend_client.models import CustomerIn, OrderCreate, OrderItemIn
from backend_client.signing import signed_headers
from bench.common import percentile, serving, spread_ms

SEED = 1
CLIENTS = 16


@dataclasses.dataclass
class Phase:
    name: str
    seconds: float = 0.0
    orders: int = 0
    latencies: list[float] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "orders": self.orders,
            "per_s": self.rate,
            "latency_ms": spread_ms(self.latencies),
            "failures": self.failures[:3],
            "failure_count": len(self.failures),
        }


def plans(count: int, now) -> list[OrderPlan]:
    demand = Demand(SEED, now, orders_per_hour=3600, flat=True)
    return [next(demand) for _ in range(count)]


def renamed(plan: OrderPlan, prefix: str) -> OrderPlan:
    return dataclasses.replace(plan, external_id=f"{prefix}{plan.external_id}")


async def run_phase(
    phase: Phase, requests: list, clients: int, http: httpx.AsyncClient, ok: int
) -> None:
    queue: asyncio.Queue = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        while not queue.empty():
            make = queue.get_nowait()
            started = time.perf_counter()
            response = await make(http)
            phase.latencies.append(time.perf_counter() - started)
            if response.status_code == ok:
                phase.orders += 1
            else:
                phase.failures.append(f"{response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds += time.perf_counter() - started


def baseline_request(plan: OrderPlan, promised_at, tokens: dict[str, str]):
    c = plan.customer
    body = OrderCreate(
        external_id=plan.external_id,
        customer=CustomerIn(name=c.name, phone=c.phone, address=c.address, lat=c.lat, lng=c.lng),
        items=[OrderItemIn(sku=sku, quantity=q) for sku, q in plan.items],
        promised_at=promised_at,
    ).model_dump(mode="json", exclude_none=True)
    headers = {"Authorization": f"Bearer {tokens[channel_account(plan.channel)]}"}
    return lambda http: http.post("/api/v1/orders", json=body, headers=headers)


def baseline_paid_request(plan: OrderPlan, promised_at, tokens: dict[str, str]):
    """`POST /orders`, then paying it: what a channel account does for a paid order."""
    create = baseline_request(plan, promised_at, tokens)
    headers = {"Authorization": f"Bearer {tokens[channel_account(plan.channel)]}"}

    async def send(http: httpx.AsyncClient):
        created = await create(http)
        if created.status_code != 201:
            return created
        order = created.json()
        body = {"action": "pay", "version": order["version"]}
        paid = await http.post(
            f"/api/v1/orders/{order['id']}/transitions", json=body, headers=headers
        )
        # Counted as one order taken, like the gateway's one request.
        paid.status_code = 201 if paid.status_code == 200 else paid.status_code
        return paid

    return send


def gateway_request(plan: OrderPlan, promised_at, *, paid: bool):
    payload = order_payload(SEED, plan, promised_at)
    if paid:
        payload = arriving_paid(str(plan.channel), payload)
    body = json.dumps(payload, ensure_ascii=False).encode()
    secret = demo_channel_secret(str(plan.channel))

    def send(http: httpx.AsyncClient):
        # Signed when sent, as a platform does: the signature's cost is in the figure.
        return http.post(
            f"/api/v1/channels/{plan.channel}/orders",
            content=body,
            headers=signed_headers(secret, body),
        )

    return send


def arriving_paid(channel: str, payload: dict) -> dict:
    """The platform's way of saying the order is paid already."""
    match channel:
        case "app":
            return payload | {"payStatus": "PAID"}
        case "mini_program":
            return payload | {"trade_state": "SUCCESS"}
        case "meituan":
            return payload | {"status": 2}
        case "eleme":
            return payload | {"type": 10}
        case "store":
            return payload | {"paid": True}
        case "group_buy":
            return payload | {"order_status": 1}
    raise ValueError(channel)


async def measure(base_url: str, orders: int, clients: int, rounds: int) -> list[Phase]:
    phases = [
        Phase("baseline: POST /orders"),
        Phase("gateway"),
        Phase("baseline, paid: + pay"),
        Phase("gateway, paid"),
    ]
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        now = datetime.fromisoformat((await http.get("/api/v1/health")).json()["time"])
        promised_at = now + timedelta(hours=2)
        tokens = {}
        for channel in ("app", "mini_program", "meituan", "eleme", "store", "group_buy"):
            account = channel_account(channel)
            answer = await http.post(
                "/api/v1/auth/token",
                data={"username": account, "password": f"demo-{account}"},
            )
            answer.raise_for_status()
            tokens[account] = answer.json()["access_token"]
        per_round = max(1, orders // rounds)
        drawn = plans(per_round * rounds, now)
        for r in range(rounds):
            batch = drawn[r * per_round : (r + 1) * per_round]
            await run_phase(
                phases[0],
                [baseline_request(renamed(p, "B-"), promised_at, tokens) for p in batch],
                clients,
                http,
                201,
            )
            await run_phase(
                phases[1],
                [gateway_request(renamed(p, "G-"), promised_at, paid=False) for p in batch],
                clients,
                http,
                201,
            )
            await run_phase(
                phases[2],
                [baseline_paid_request(renamed(p, "Q-"), promised_at, tokens) for p in batch],
                clients,
                http,
                201,
            )
            await run_phase(
                phases[3],
                [gateway_request(renamed(p, "P-"), promised_at, paid=True) for p in batch],
                clients,
                http,
                201,
            )
    return phases


def report(phases: list[Phase], database: str, clients: int) -> None:
    print(f"channel intake on {database}, {clients} clients")
    print(f"{'way in':<24}{'orders':>8}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
    for index, phase in enumerate(phases):
        # Each gateway row against the baseline above it: the same orders, the same work.
        base = phases[index - index % 2].rate
        ms = sorted(x * 1000 for x in phase.latencies)
        ratio = phase.rate / base if base else 0.0
        print(
            f"{phase.name:<24}{phase.orders:>8}{phase.rate:>10.1f}"
            f"{percentile(ms, 50):>9.1f}{percentile(ms, 99):>9.1f}{ratio:>8.2f}"
        )
        for failure in phase.failures[:3]:
            print(f"  refused: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=600, help="orders per way in")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="an empty database; default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="freshline-bench-") as folder:
        run_dir = Path(folder)
        url = args.database_url or f"sqlite+aiosqlite:///{run_dir / 'bench.db'}"
        extra = {"FRESHLINE_CHANNEL_RATE_PER_SECOND": "1000000", "FRESHLINE_AUTO_DISPATCH": "false"}
        with serving(url, run_dir, extra_env=extra) as base_url:
            phases = asyncio.run(measure(base_url, args.orders, args.clients, args.rounds))
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        report(phases, database, args.clients)
        if any(p.failures for p in phases):
            sys.exit(1)


if __name__ == "__main__":
    main()
