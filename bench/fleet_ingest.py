"""Fleet position ingest (`POST /positions`, as a location gateway relays fixes): riders out for
delivery, whose fixes move ETAs, arrivals and fences, beside idle riders, on a real
`freshline serve --demo`.

    .venv/bin/python bench/fleet_ingest.py [--riders N] [--rounds R] [--database-url URL]

Registers `--riders` riders at WH-CY; half of them get an order each, out for delivery to a
customer 1.5 to 3 km away. Then, for `--rounds` rounds, every rider moves a few metres toward
their customer (idle ones wander by the warehouse), reporting 18 km/h, and the fixes go out in
two requests measured apart: the idle half (the baseline: stored, cached, standing-still check,
warehouse fence) and the delivering half (the same, plus each order's ETA in sequence, arrival
and the rate-limited `order.eta` events). Rounds alternate which half goes first.

Prints fixes per second for each half, the delivering half as a ratio of the baseline, and the
events each half recorded. Auto-dispatch and the alert engine are off (they are not what is
measured). Not part of pytest; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.sim.city import demo_city
from bench.stream_latency import percentile, post, serving, sign_in

WAREHOUSE = (39.9334, 116.455)
SEED = 7


def offset(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    return (
        origin[0] + north_m / 111_195.0,
        origin[1] + east_m / (111_195.0 * math.cos(math.radians(origin[0]))),
    )


def moved(
    here: tuple[float, float], target: tuple[float, float] | None, rng: random.Random
) -> tuple[float, float]:
    """Five metres toward the customer; without one, a few metres' wander."""
    if target is None:
        return offset(here, rng.uniform(-3, 3), rng.uniform(-3, 3))
    gap = max(math.dist(here, target), 1e-9)
    step = min(1.0, 5 / 111_195.0 / gap)
    return (here[0] + (target[0] - here[0]) * step, here[1] + (target[1] - here[1]) * step)


async def prepare(http: httpx.AsyncClient, riders: int) -> tuple[list[int], dict[int, tuple]]:
    """The riders, and for the delivering half where their customer is."""
    admin, dispatcher = await sign_in(http, "admin"), await sign_in(http, "dispatcher")
    channel = await sign_in(http, "channel-app")
    crew = [
        {
            "name": f"Bench rider {i}",
            "phone": f"1370{i:07d}",
            "warehouse_id": "WH-CY",
            "capacity": 4,
            "status": "online",
        }
        for i in range(riders)
    ]
    ids = [r["id"] for r in await post(http, admin, "/riders", {"riders": crew})]
    rng = random.Random(SEED)
    customers: dict[int, tuple[float, float]] = {}
    skus = [s["sku"] for s in demo_city()["skus"] if not s["cold_chain"]]
    promised = (datetime.now(UTC) + timedelta(minutes=45)).isoformat()
    for n, rider_id in enumerate(ids[: riders // 2]):
        angle, distance = rng.uniform(0, 2 * math.pi), rng.uniform(1500, 3000)
        lat, lng = offset(WAREHOUSE, distance * math.cos(angle), distance * math.sin(angle))
        body = {
            "external_id": f"FLEET-{n}",
            "customer": {
                "name": "Bench Customer",
                "phone": f"1391{n:07d}",
                "address": "Sanlitun Rd 19, Chaoyang",
                "lat": round(lat, 6),
                "lng": round(lng, 6),
            },
            "items": [{"sku": skus[n % len(skus)], "quantity": 1}],  # shelves stay stocked
            "warehouse_id": "WH-CY",
            "promised_at": promised,
        }
        order = await post(http, channel, "/orders", body)
        steps = [
            (channel, "transitions", {"action": "pay"}),
            (dispatcher, "transitions", {"action": "start_picking"}),
            (dispatcher, "assign", {"rider_id": rider_id}),
            (admin, "transitions", {"action": "dispatch"}),
        ]
        for auth, verb, extra in steps:
            order = await post(
                http, auth, f"/orders/{order['id']}/{verb}", {**extra, "version": order["version"]}
            )
        customers[rider_id] = (lat, lng)
    return ids, customers


async def event_count(http: httpx.AsyncClient, admin: dict[str, str]) -> int:
    response = await http.get("/api/v1/events", params={"topics": "audit"}, headers=admin)
    response.raise_for_status()
    return response.json()["last_seq"]


async def measure(base_url: str, riders: int, rounds: int) -> dict[str, dict]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        ids, customers = await prepare(http, riders)
        admin = await sign_in(http, "admin")
        rng = random.Random(SEED)
        where = {i: offset(WAREHOUSE, rng.uniform(-30, 30), rng.uniform(-30, 30)) for i in ids}
        halves = {
            "idle": [i for i in ids if i not in customers],
            "delivering": [i for i in ids if i in customers],
        }
        results = {name: {"seconds": [], "fixes": 0, "events": 0} for name in halves}
        for round_ in range(rounds):
            at = datetime.now(UTC).isoformat()
            for rider_id in ids:
                where[rider_id] = moved(where[rider_id], customers.get(rider_id), rng)
            order = list(halves) if round_ % 2 == 0 else list(reversed(halves))
            for name in order:
                fixes = [
                    {
                        "rider_id": i,
                        "lat": round(where[i][0], 7),
                        "lng": round(where[i][1], 7),
                        "at": at,
                        "speed_kmh": 18,
                    }
                    for i in halves[name]
                ]
                before = await event_count(http, admin)
                started = time.perf_counter()
                await post(http, admin, "/positions", {"fixes": fixes})
                results[name]["seconds"].append(time.perf_counter() - started)
                results[name]["fixes"] += len(fixes)
                results[name]["events"] += await event_count(http, admin) - before
            await asyncio.sleep(0.01)  # fixes of the next round carry a later time
        return results


def report(label: str, riders: int, rounds: int, results: dict[str, dict]) -> int:
    print(f"fleet ingest on {label}: {riders} riders (half delivering), {rounds} rounds")
    rates = {}
    for name, r in results.items():
        total = sum(r["seconds"])
        rates[name] = r["fixes"] / total if total else 0.0
        print(
            f"  {name:<10} {rates[name]:>8.0f} fixes/s   request p50 "
            f"{percentile(r['seconds'], 50) * 1000:7.1f} ms  p90 "
            f"{percentile(r['seconds'], 90) * 1000:7.1f} ms   events {r['events']}"
        )
    if rates["idle"]:
        print(f"  delivering / idle: {rates['delivering'] / rates['idle']:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--riders", type=int, default=1000, help="riders (default 1000)")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of fixes (default 30)")
    parser.add_argument(
        "--database-url",
        help="database for the server (default: a temporary SQLite file); the demo is seeded",
    )
    args = parser.parse_args()
    if args.riders < 2 or args.riders > 10_000 or args.rounds < 1:
        parser.error("--riders 2 to 10000 (a request carries at most 5000 fixes), --rounds >= 1")
    with tempfile.TemporaryDirectory(prefix="freshline-bench-") as tmp:
        run_dir = Path(tmp)
        database_url = args.database_url or f"sqlite+aiosqlite:///{run_dir / 'bench.db'}"
        label = database_url.split("://")[0] + (
            " (temporary file)" if not args.database_url else ""
        )
        env = {"FRESHLINE_AUTO_DISPATCH": "false", "FRESHLINE_ALERTS": "false"}
        with serving(database_url, run_dir, env) as base_url:
            results = asyncio.run(measure(base_url, args.riders, args.rounds))
        return report(label, args.riders, args.rounds, results)


if __name__ == "__main__":
    sys.exit(main())
