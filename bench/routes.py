"""One simulated day dispatched two ways, side by side: today's ranking (nearest rider, a
kilometre more per order carried; stops by earliest promise) and the optimised one (cheapest
insertion into each rider's route; stops sequenced by the OR-Tools route optimiser). Then the
cost of one optimisation at the peak.

    .venv/bin/python bench/routes.py [--seed 7] [--orders-per-hour 300] [--riders 8]
                                     [--hours 8-22] [--solve-ms 20] [--limit-ms 100]

The day: the simulator's demand (`backend.sim.demand.Demand`, the same seed gives the same
orders, customers, baskets, promises and picking times) in the demo city's six warehouses,
with `--riders` riders at each (the demo's riders repeated: capacities, cold boxes). Both runs
ride the same rules: a rider moves at the nominal 20 km/h as the crow flies, spends 2 minutes
at each counter and door, waits at the warehouse for goods still being picked, returns to their
warehouse when they have nothing to do, takes an order only within reach (5 km), within their
parcel count, load (20 kg) and cold box (8 kg), and a cold order only with a cold box; an order
no one can take waits for the next tick (15 s). Both use the backend's own code: `rank_riders`'
two scores (`dispatch.insertion.cheapest_insertion` and distance + load), `features.in_sequence`'s
earliest-promise order, and `routes.optimiser.optimise`. The day's optimiser gets `--solve-ms`
per route (shorter than production, to keep the run short); the peak figure measures the
production limit `--limit-ms` on the biggest routes the day saw, CPU per optimisation beside
the promise order's, and the event loop's longest stall while `plan_route` runs them in the
solver processes beside its longest stall idle. Not part of pytest; `bench/run.py` runs it as
benchmark 20.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.dispatch.insertion import HANDOVER_S, SPEED_M_PER_S, Waypoint, cheapest_insertion
from backend.dispatch.parcels import Limits
from backend.dispatch.ranking import AUTO_DISPATCH_REACH_M, LOAD_PENALTY_M
from backend.eta.features import in_sequence
from backend.routes.optimiser import Kind, Problem, Stop, optimise, promise_order
from backend.routes.solvers import plan_route
from backend.sim.city import demo_city, demo_zones
from backend.sim.demand import BEIJING, Demand
from backend_client.geo import LatLng, flat_metres

DAY = datetime(2026, 11, 23, tzinfo=BEIJING)
TICK_S = 15.0
LIMITS = Limits(max_load_g=20_000, cold_box_g=8_000)
PEAK_SAMPLES = 12
"""Routes re-optimised at the production limit for the peak figure (the day's biggest)."""


@dataclass
class Order:
    id: int
    warehouse: LatLng
    drop: LatLng
    placed_s: float
    start_s: float
    """Picking starts: auto-dispatch offers it from here."""
    ready_s: float
    promise_s: float
    weight_g: int
    cold_g: int
    delivered_s: float | None = None


@dataclass
class Rider:
    id: int
    home: LatLng
    capacity: int
    cold: bool
    at: LatLng
    free_at: float = 0.0
    route: list[tuple[Kind, Order]] = field(default_factory=list)
    carried: set[int] = field(default_factory=set)
    metres: float = 0.0

    @property
    def orders(self) -> list[Order]:
        return [o for kind, o in self.route if kind is Kind.DROP]


def plan_day(args: argparse.Namespace) -> tuple[list[Order], list[Rider]]:
    """The day's orders (paid ones, from the first hour to the last) and the fleet."""
    city = demo_city()
    weights = {s["sku"]: (s["weight_g"], s["cold_chain"]) for s in city["skus"]}
    warehouses = {w["id"]: (w["lat"], w["lng"]) for w in city["warehouses"]}
    zone_home = {z.name: z.warehouse_id for z in demo_zones()}
    first, last = args.hours
    start, end = DAY + timedelta(hours=first), DAY + timedelta(hours=last)
    orders = []
    for plan in Demand(args.seed, start, orders_per_hour=args.orders_per_hour):
        if plan.at >= end:
            break
        if not plan.fate.pays:
            continue
        placed = (plan.at - start).total_seconds()
        began = placed + plan.fate.pay_after_s + plan.fate.picking_starts_after_s
        weight = sum(weights[sku][0] * n for sku, n in plan.items)
        cold = sum(weights[sku][0] * n for sku, n in plan.items if weights[sku][1])
        orders.append(
            Order(
                id=len(orders) + 1,
                warehouse=warehouses[zone_home[plan.zone]],
                drop=(plan.customer.lat, plan.customer.lng),
                placed_s=placed,
                start_s=began,
                ready_s=began + plan.fate.picking_minutes * 60,
                promise_s=placed + plan.promise_minutes * 60,
                # A basket heavier than a rider carries goes in several parcels in the backend;
                # here it counts as one full load.
                weight_g=min(weight, LIMITS.max_load_g),
                cold_g=min(cold, LIMITS.cold_box_g),
            )
        )
    riders = []
    by_home: dict[str, list[dict[str, Any]]] = {}
    for r in city["riders"]:
        by_home.setdefault(r["warehouse_id"], []).append(r)
    for home, crew in sorted(by_home.items()):
        for n in range(args.riders):
            model = crew[n % len(crew)]
            at = warehouses[home]
            riders.append(Rider(len(riders) + 1, at, model["capacity"], model["cold_chain"], at))
    return orders, riders


class Day:
    """One policy's run of the day."""

    def __init__(self, optimised: bool, args: argparse.Namespace) -> None:
        self.optimised, self.args = optimised, args
        self.orders, self.riders = plan_day(args)
        self.problems: list[Problem] = []
        self.solve_cpu_s = 0.0
        self.solves = 0

    def run(self) -> dict[str, Any]:
        pending = sorted(self.orders, key=lambda o: o.start_s)
        waiting: list[Order] = []
        first, last = self.args.hours
        closing = (last - first) * 3600.0
        now, i = 0.0, 0
        # The day, then until the last order is delivered (at most three hours more).
        while now < closing + 3 * 3600 and (i < len(pending) or waiting or self._busy()):
            while i < len(pending) and pending[i].start_s <= now:
                waiting.append(pending[i])
                i += 1
            waiting.sort(key=lambda o: (o.promise_s, o.id))
            waiting = [o for o in waiting if not self._dispatch(o, now)]
            for rider in self.riders:
                self._ride(rider, now, now + TICK_S)
            now += TICK_S
        return self._figures(closing)

    def _busy(self) -> bool:
        return any(r.route for r in self.riders)

    def _can_take(self, rider: Rider, order: Order) -> bool:
        held = rider.orders
        if len(held) >= rider.capacity or (order.cold_g and not rider.cold):
            return False
        if sum(o.weight_g for o in held) + order.weight_g > LIMITS.max_load_g:
            return False
        if sum(o.cold_g for o in held) + order.cold_g > LIMITS.cold_box_g:
            return False
        return flat_metres(rider.at, order.warehouse) <= AUTO_DISPATCH_REACH_M

    def _dispatch(self, order: Order, now: float) -> bool:
        best: tuple[float, int] | None = None
        for rider in self.riders:
            if not self._can_take(rider, order):
                continue
            if self.optimised:
                score = self._insertion(rider, order, now)
            else:
                distance = flat_metres(rider.at, order.warehouse)
                score = distance + LOAD_PENALTY_M * len(rider.orders)
            if best is None or (score, rider.id) < best:
                best = (score, rider.id)
        if best is None:
            return False
        rider = self.riders[best[1] - 1]
        rider.route.append((Kind.PICKUP, order))
        rider.route.append((Kind.DROP, order))
        self._sequence(rider, now)
        return True

    def _insertion(self, rider: Rider, order: Order, now: float) -> float:
        route = [
            Waypoint(o.warehouse) if kind is Kind.PICKUP else Waypoint(o.drop, o.promise_s - now)
            for kind, o in rider.route
        ]
        fit = cheapest_insertion(
            rider.at, route, order.warehouse, order.drop, order.promise_s - now
        )
        return fit.cost

    def _sequence(self, rider: Rider, now: float) -> None:
        held = {o.id: o for o in rider.orders}
        if not self.optimised:
            # Today: what is on board by earliest promise, then the warehouse for the rest
            # (waiting there for what is still being picked), then those by earliest promise.
            def by_promise(ids: list[int]) -> list[Order]:
                ordered = in_sequence([(_at(held[i].promise_s), i) for i in ids])
                return [held[i] for i in ordered]

            aboard = by_promise([i for i in held if i in rider.carried])
            fetch = by_promise([i for i in held if i not in rider.carried])
            rider.route = (
                [(Kind.DROP, o) for o in aboard]
                + [(Kind.PICKUP, o) for o in fetch]
                + [(Kind.DROP, o) for o in fetch]
            )
            return
        problem = Problem(
            start=rider.at,
            stops=tuple(
                Stop(
                    o.id,
                    o.drop,
                    o.promise_s - now,
                    o.weight_g,
                    o.cold_g,
                    None if o.id in rider.carried else o.warehouse,
                    max(0.0, o.ready_s - max(now, rider.free_at)),
                )
                for o in held.values()
            ),
            limits=LIMITS,
            capacity=rider.capacity,
            cold_box=rider.cold,
        )
        started = time.process_time()
        plan = optimise(problem, time_limit_ms=self.args.solve_ms)
        self.solve_cpu_s += time.process_time() - started
        self.solves += 1
        self.problems.append(problem)
        rider.route = [(v.kind, held[v.order_id]) for v in plan.visits]

    def _ride(self, rider: Rider, start: float, end: float) -> None:
        clock = max(start, rider.free_at)
        while clock < end:
            if rider.route:
                kind, order = rider.route[0]
                target = order.warehouse if kind is Kind.PICKUP else order.drop
            elif rider.at != rider.home:
                kind, order, target = None, None, rider.home
            else:
                return
            distance = flat_metres(rider.at, target)
            need = distance / SPEED_M_PER_S
            if clock + need > end:
                share = (end - clock) / need
                rider.at = (
                    rider.at[0] + (target[0] - rider.at[0]) * share,
                    rider.at[1] + (target[1] - rider.at[1]) * share,
                )
                rider.metres += distance * share
                return
            clock += need
            rider.metres += distance
            rider.at = target
            if order is None:
                continue
            if kind is Kind.PICKUP:
                clock = max(clock, order.ready_s)
                rider.carried.add(order.id)
            else:
                order.delivered_s = clock
                rider.carried.discard(order.id)
            clock += HANDOVER_S
            rider.route.pop(0)
            rider.free_at = clock

    def _figures(self, closing: float) -> dict[str, Any]:
        done = [o for o in self.orders if o.delivered_s is not None]
        minutes = sorted((o.delivered_s - o.placed_s) / 60 for o in done if o.delivered_s)
        on_time = sum(1 for o in done if o.delivered_s is not None and o.delivered_s <= o.promise_s)
        km = sum(r.metres for r in self.riders) / 1000
        hours = closing / 3600
        return {
            "orders": len(self.orders),
            "delivered": len(done),
            "on_time_pct": round(100 * on_time / max(1, len(done)), 2),
            "p90_delivery_minutes": round(_quantile(minutes, 0.9), 2),
            "km_per_order": round(km / max(1, len(done)), 3),
            "orders_per_rider_hour": round(len(done) / (len(self.riders) * hours), 3),
            "solves": self.solves,
            "solve_cpu_ms_mean": round(1000 * self.solve_cpu_s / max(1, self.solves), 2),
        }


def _at(seconds: float) -> datetime:
    return DAY + timedelta(seconds=seconds)


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


async def peak_cost(problems: list[Problem], limit_ms: int) -> dict[str, Any]:
    """One optimisation at the production limit on the day's biggest routes: CPU in this
    process (solved here) beside the promise order's, and the event loop's longest stall with
    the same routes planned in the solver processes beside its longest stall idle."""
    biggest = sorted(problems, key=lambda p: -len(p.stops))[:PEAK_SAMPLES]
    if not biggest:
        return {}
    cpu, wall, base = [], [], []
    for problem in biggest:
        started, clock = time.process_time(), time.perf_counter()
        optimise(problem, time_limit_ms=limit_ms)
        cpu.append((time.process_time() - started) * 1000)
        wall.append((time.perf_counter() - clock) * 1000)
        started = time.process_time()
        for _ in range(20):
            promise_order(problem)
        base.append((time.process_time() - started) * 1000 / 20)

    async def stall(work: Any) -> float:
        gaps: list[float] = []
        done = asyncio.Event()

        async def tick() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        await work()
        done.set()
        await ticker
        return max(gaps, default=0.0) * 1000

    await plan_route(biggest[0], time_limit_ms=limit_ms)  # the solver processes start

    async def planned() -> None:
        for problem in biggest:
            await plan_route(problem, time_limit_ms=limit_ms)

    async def idle() -> None:
        await asyncio.sleep(len(biggest) * limit_ms / 1000)

    return {
        "stops": [len(p.stops) for p in biggest],
        "cpu_ms_mean": round(statistics.fmean(cpu), 2),
        "cpu_ms_max": round(max(cpu), 2),
        "wall_ms_max": round(max(wall), 2),
        "promise_order_cpu_ms": round(statistics.fmean(base), 3),
        "loop_stall_ms_planning": round(await stall(planned), 2),
        "loop_stall_ms_idle": round(await stall(idle), 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    today = Day(False, args).run()
    optimised_day = Day(True, args)
    optimised = optimised_day.run()
    peak = asyncio.run(peak_cost(optimised_day.problems, args.limit_ms))
    return {"today": today, "optimised": optimised, "peak": peak}


def hours(text: str) -> tuple[int, int]:
    first, last = (int(h) for h in text.split("-"))
    if not 0 <= first < last <= 24:
        raise argparse.ArgumentTypeError("hours as FIRST-LAST, 0 <= FIRST < LAST <= 24")
    return first, last


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--orders-per-hour", type=float, default=300.0)
    p.add_argument("--riders", type=int, default=8, help="riders per warehouse")
    p.add_argument("--hours", type=hours, default=(8, 22), help="local hours, FIRST-LAST")
    p.add_argument("--solve-ms", type=int, default=20, help="the day's optimiser limit")
    p.add_argument("--limit-ms", type=int, default=100, help="the production limit, at peak")
    return p


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
