"""Days of the simulated city in seconds, without a backend: the same order plan (`demand`),
riders, streets (`movement`) and conditions (`conditions`) as the live simulator, played out
directly into each rider's day: their fixes, every 15 s, and the orders they delivered
(`bench/replayed.py` makes them the learned ETA's history).

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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backend.sim import conditions
from backend.sim.city import LatLng, demo_city, demo_zones
from backend.sim.demand import BEIJING, Demand, OrderPlan
from backend.sim.movement import Leg, route
from backend_client.geo import flat_metres

FIX_EVERY = timedelta(seconds=15)
COUNTER = timedelta(minutes=1)
"""Taking the bags at the counter."""


@dataclass(frozen=True, slots=True)
class Fix:
    at: datetime
    lat: float
    lng: float
    speed_kmh: float


@dataclass(frozen=True, slots=True)
class Delivered:
    """An order delivered: out from `out_at`, handed over at `done_at`."""

    order_id: int
    lat: float
    lng: float
    promised_at: datetime
    zone: str
    weight_g: int
    cold_chain: bool
    out_at: datetime
    done_at: datetime


@dataclass
class RiderDay:
    """A rider's fixes and deliveries in one replayed day, oldest first."""

    rider_id: int
    fixes: list[Fix] = field(default_factory=list)
    drops: list[Delivered] = field(default_factory=list)


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
    weight_g: int
    cold_chain: bool

    @property
    def drop_off(self) -> LatLng:
        return (self.plan.customer.lat, self.plan.customer.lng)


def replay(
    seed: int, first_day: datetime, days: int, *, orders_per_hour: float = 72.0
) -> list[list[RiderDay]]:
    """`days` business days from `first_day`'s, one list of rider histories per day."""
    return [
        replay_day(seed, first_day + timedelta(days=n), orders_per_hour=orders_per_hour)
        for n in range(days)
    ]


def replay_day(seed: int, day: datetime, *, orders_per_hour: float = 72.0) -> list[RiderDay]:
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
        packed[warehouse_of[plan.zone]].append(_Packed(ready, plan, weight, cold))
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
    histories = {r.id: RiderDay(r.id) for r in riders}
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
    history: RiderDay,
) -> datetime:
    """Out from the counter at `start`, nearest first, and back; the fixes on the way."""
    out_at = start + COUNTER
    legs: list[Leg] = [Leg.stay(home, start, out_at)]
    here, at = home, out_at
    left = list(taken)
    done: list[tuple[_Packed, datetime]] = []
    while left:
        nearest = min(left, key=lambda p: flat_metres(here, p.drop_off))
        left.remove(nearest)
        to, zone = nearest.drop_off, nearest.plan.zone
        kmh = conditions.riding_kmh(seed, rider.skill_kmh, zone, at)
        leg = Leg.ride(route(here, to, rider.rng), at, kmh)
        door = conditions.doorstep_seconds(seed, nearest.plan.external_id, zone)
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
    history.drops += [
        Delivered(
            order_id=p.plan.index,
            lat=p.plan.customer.lat,
            lng=p.plan.customer.lng,
            promised_at=p.plan.at + timedelta(minutes=p.plan.promise_minutes),
            zone=p.plan.zone,
            weight_g=p.weight_g,
            cold_chain=p.cold_chain,
            out_at=out_at,
            done_at=until,
        )
        for p, until in done
    ]
    return back.arrive
