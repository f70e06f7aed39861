"""Days of the simulated city in seconds, without a backend: the same order plan (`demand`),
riders, streets (`movement`) and conditions (`conditions`) as the live simulator, played out
directly into delivery histories (`backend.eta.history.RiderHistory`) with a fix every 15 s.

The live simulator plays a day in real minutes through the API; a month of history for the
learned ETA's benchmark and tests would take hours that way. The replay keeps what an ETA
depends on (who rides, how fast, where, which stops together, how long at the door) and leaves
out what it does not (payments, stock, incidents, the desk): every planned order is paid,
picked and delivered. A rider takes what is packed at their warehouse when they are back (up to
their capacity), delivers nearest first like `rides._deliver`, and rides back.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.eta.features import Stop
from backend.eta.history import Drop, Fix, RiderHistory
from backend.sim import conditions
from backend.sim.city import LatLng, demo_city, demo_zones
from backend.sim.demand import BEIJING, Demand, OrderPlan
from backend.sim.movement import Leg, route
from backend_client.geo import flat_metres

FIX_EVERY = timedelta(seconds=15)
COUNTER = timedelta(minutes=1)
"""Taking the bags at the counter."""


@dataclass
class _Rider:
    id: int
    warehouse_id: str
    capacity: int
    skill_kmh: float
    free_at: datetime
    rng: random.Random


@dataclass(frozen=True, slots=True)
class _Packed:
    at: datetime
    plan: OrderPlan
    stop: Stop


def replay(
    seed: int, first_day: datetime, days: int, *, orders_per_hour: float = 72.0
) -> list[list[RiderHistory]]:
    """`days` business days from `first_day`'s, one list of rider histories per day."""
    return [
        replay_day(seed, first_day + timedelta(days=n), orders_per_hour=orders_per_hour)
        for n in range(days)
    ]


def replay_day(seed: int, day: datetime, *, orders_per_hour: float = 72.0) -> list[RiderHistory]:
    """One business day (Beijing) of the city's deliveries."""
    city = demo_city()
    midnight = day.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    end = midnight + timedelta(days=1)
    skus = {s["sku"]: s for s in city["skus"]}
    warehouse_of = {z.name: z.warehouse_id for z in demo_zones()}
    warehouses = {w["id"]: (w["lat"], w["lng"]) for w in city["warehouses"]}
    packed: dict[str, list[_Packed]] = {w: [] for w in warehouses}
    demand = Demand(seed, midnight, orders_per_hour=orders_per_hour)
    for plan in demand:
        if plan.at >= end:
            break
        fate = plan.fate
        pick_s = fate.picking_minutes * 60 * conditions.pick_factor(warehouse_of[plan.zone])
        ready = plan.at + timedelta(seconds=fate.pay_after_s + fate.picking_starts_after_s + pick_s)
        weight = sum(skus[sku]["weight_g"] * n for sku, n in plan.items)
        cold = any(skus[sku]["cold_chain"] for sku, _ in plan.items)
        stop = Stop(
            order_id=plan.index,
            lat=plan.customer.lat,
            lng=plan.customer.lng,
            promised_at=plan.at + timedelta(minutes=plan.promise_minutes),
            zone=plan.zone,
            weight_g=weight,
            cold_chain=cold,
        )
        packed[warehouse_of[plan.zone]].append(_Packed(ready, plan, stop))
    riders = [
        _Rider(
            id=n,
            warehouse_id=r["warehouse_id"],
            capacity=r["capacity"],
            skill_kmh=conditions.rider_skill_kmh(seed, n),
            free_at=midnight,
            rng=random.Random(f"{seed}:replay:{n}:{midnight.date()}"),
        )
        for n, r in enumerate(city["riders"], 1)
    ]
    histories = {r.id: RiderHistory(r.id) for r in riders}
    for warehouse_id, waiting in packed.items():
        waiting.sort(key=lambda p: p.at)
        crew = [(r.free_at, r.id, r) for r in riders if r.warehouse_id == warehouse_id]
        heapq.heapify(crew)
        while waiting and crew:
            free_at, _, rider = heapq.heappop(crew)
            start = max(free_at, waiting[0].at)
            taken = [p for p in waiting if p.at <= start][: rider.capacity]
            waiting = [p for p in waiting if p not in taken]
            rider.free_at = _trip(
                seed, rider, warehouses[warehouse_id], start, taken, histories[rider.id]
            )
            heapq.heappush(crew, (rider.free_at, rider.id, rider))
    return [h for h in histories.values() if h.drops]


def _trip(
    seed: int,
    rider: _Rider,
    home: LatLng,
    start: datetime,
    taken: list[_Packed],
    history: RiderHistory,
) -> datetime:
    """Out from the counter at `start`, nearest first, and back; the fixes on the way."""
    out_at = start + COUNTER
    legs: list[Leg] = [Leg.stay(home, start, out_at)]
    here, at = home, out_at
    left = list(taken)
    done: list[tuple[_Packed, datetime]] = []
    while left:
        nearest = min(left, key=lambda p: flat_metres(here, (p.stop.lat, p.stop.lng)))
        left.remove(nearest)
        to = (nearest.stop.lat, nearest.stop.lng)
        kmh = conditions.riding_kmh(seed, rider.skill_kmh, nearest.stop.zone, at)
        leg = Leg.ride(route(here, to, rider.rng), at, kmh)
        door = conditions.doorstep_seconds(seed, nearest.plan.external_id, nearest.stop.zone)
        until = leg.arrive + timedelta(seconds=door)
        legs += [leg, Leg.stay(to, leg.arrive, until)]
        done.append((nearest, until))
        here, at = to, until
    back = Leg.ride(
        route(here, home, rider.rng), at, conditions.riding_kmh(seed, rider.skill_kmh, None, at)
    )
    legs.append(back)
    fix_at = start + timedelta(seconds=rider.rng.uniform(0, FIX_EVERY.total_seconds()))
    index = 0
    while fix_at <= back.arrive:
        while legs[index].arrive < fix_at and index < len(legs) - 1:
            index += 1
        leg = legs[index]
        lat, lng = leg.position(fix_at)
        history.fixes.append(Fix(fix_at, round(lat, 6), round(lng, 6), round(leg.speed_kmh(), 1)))
        fix_at += FIX_EVERY
    history.drops += [Drop(p.stop, out_at, until) for p, until in done]
    return back.arrive
