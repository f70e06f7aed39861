"""The console's board with many orders: memory, time to the first painted board, and CPU while
events stream in, beside a baseline (the same app with an empty board) in the same run.

    .venv/bin/python bench/console_board.py                  # 20,000 orders, 50 events/s, 20 s
    .venv/bin/python bench/console_board.py --orders 10000 --rate 10 --seconds 30
    .venv/bin/python bench/console_board.py --orders 10000 --json   # one run, in this process


Runs the real app headless (Textual's test driver) at 200x60 on a frozen clock, fed through the
store exactly as the live feed feeds it (events applied as they come, redrawn on the app's tick).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_client import StreamState, StreamStatus
from backend_client.models import Me, OrderState, Role
from bench.common import process_age_s
from console.app import FreshlineApp
from console.store import FrozenClock, Store
from tests.console.samples import NOW, moved, order, rider

STATES = [OrderState.PAID, OrderState.PICKING, OrderState.DELIVERING, OrderState.EXCEPTION]
# What each event does to an order: the next state on its way.
NEXT = {
    OrderState.PAID: OrderState.PICKING,
    OrderState.PICKING: OrderState.DELIVERING,
    OrderState.DELIVERING: OrderState.EXCEPTION,
    OrderState.EXCEPTION: OrderState.DELIVERING,
}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def filled_store(count: int) -> Store:
    store = Store(FrozenClock(NOW))
    orders = []
    for n in range(count):
        o = order(n % 16, STATES[n % len(STATES)], (n % 120) - 30, (n % 6) + 1)
        o = o.model_copy(update={"id": n + 1, "status": STATES[n % len(STATES)]})
        orders.append(o)
    store.load(orders, [rider(i) for i in range(1, 7)], last_seq=0)
    store.set_connection(StreamStatus(StreamState.LIVE))
    return store


async def run(count: int, rate: float, seconds: float) -> dict[str, float]:
    gc.collect()
    rss_before = rss_mb()
    started = time.perf_counter()
    store = filled_store(count)
    me = Me(id=1, username="dispatcher", role=Role.DISPATCHER)
    app = FreshlineApp(store=store, live=False, me=me)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        first_paint = time.perf_counter() - started
        since_launch = process_age_s()
        rss_loaded = rss_mb()
        ids = list(store.orders)
        cpu_start, wall_start = cpu_s(), time.perf_counter()
        seq, sent = 0, 0
        while (elapsed := time.perf_counter() - wall_start) < seconds:
            due = int(elapsed * rate)
            while sent < due and ids:
                seq += 1
                order_id = ids[sent % len(ids)]
                store.apply(moved(store, seq, order_id, NEXT[store.orders[order_id].status]))
                sent += 1
            await asyncio.sleep(0.01)
        cpu = cpu_s() - cpu_start
        wall = time.perf_counter() - wall_start
    return {
        "first_paint_s": first_paint,
        "cold_start_s": since_launch,
        "rss_mb": rss_loaded,
        "rss_growth_mb": rss_loaded - rss_before,
        "cpu_share": cpu / wall,
        "events": sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--json",
        action="store_true",
        help="one run with --orders (0: the empty board), printed as JSON: a fresh process "
        "for each size, so the RSS is that size's alone",
    )
    args = parser.parse_args()
    if args.json:
        result = asyncio.run(run(args.orders, args.rate, args.seconds))
        print(json.dumps(result))
        return
    base = asyncio.run(run(0, 0.0, args.seconds))
    full = asyncio.run(run(args.orders, args.rate, args.seconds))
    print(f"{'':28}{'empty board':>14}{f'{args.orders} orders':>16}{'ratio':>8}")
    for key, label in (
        ("first_paint_s", "first painted board (s)"),
        ("rss_mb", "RSS after load (MB)"),
        ("cpu_share", "CPU (share of a core)"),
    ):
        ratio = full[key] / base[key] if base[key] else float("nan")
        print(f"{label:28}{base[key]:>14.3f}{full[key]:>16.3f}{ratio:>8.2f}")
    print(f"events applied: {full['events']:.0f} at {args.rate:g}/s over {args.seconds:g} s")


if __name__ == "__main__":
    main()
