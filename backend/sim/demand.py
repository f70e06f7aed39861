"""What the city orders, and what will go wrong with it: a repeatable plan drawn from a seed.

Arrivals follow a time-of-day curve (Beijing time, lunch and evening peaks); each order draws
its channel, customer, basket, promise and fate from its own random stream, so the same seed
gives the same orders and the same incidents however fast the simulation runs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from backend.sim.city import Zone, demo_city, demo_zones
from backend_client.models import Channel

BEIJING = timezone(timedelta(hours=8), "CST")

# Relative demand in each hour of the day (Beijing time), peaking at lunch and dinner.
HOURLY = (
    0.04, 0.02, 0.01, 0.01, 0.01, 0.03, 0.12, 0.30, 0.45, 0.55, 0.70, 1.00,
    0.95, 0.60, 0.45, 0.45, 0.55, 0.85, 1.00, 0.80, 0.55, 0.35, 0.20, 0.08,
)  # fmt: skip

# Share of orders per channel: the own app and mini-program lead, the platforms follow.
CHANNEL_MIX = {
    Channel.APP: 0.30,
    Channel.MINI_PROGRAM: 0.20,
    Channel.MEITUAN: 0.22,
    Channel.ELEME: 0.13,
    Channel.STORE: 0.05,
    Channel.GROUP_BUY: 0.10,
}
# How each channel spells its own order ids.
ID_PREFIX = {
    Channel.APP: "APP",
    Channel.MINI_PROGRAM: "MP",
    Channel.MEITUAN: "MT",
    Channel.ELEME: "ELE",
    Channel.STORE: "POS",
    Channel.GROUP_BUY: "GB",
}
# Seconds from placing to paying: platforms forward orders already paid, the own app waits.
PAY_DELAY = {
    Channel.APP: (15, 120),
    Channel.MINI_PROGRAM: (10, 90),
    Channel.MEITUAN: (2, 10),
    Channel.ELEME: (2, 10),
    Channel.STORE: (1, 5),
    Channel.GROUP_BUY: (5, 60),
}
CATEGORY_MIX = {
    "vegetables": 0.30,
    "fruit": 0.20,
    "meat": 0.15,
    "seafood": 0.10,
    "dairy": 0.15,
    "eggs": 0.10,
}

# Lines per basket and units per line, with their weights (the baskets' shape).
BASKET_LINES = ((1, 2, 3, 4, 5, 6), (15, 25, 25, 18, 10, 7))
LINE_UNITS = ((1, 2, 3), (70, 22, 8))

# Incident rates per order (multiplied by `trouble`).
NEVER_PAYS = 0.02
SHORT_WHILE_PICKING = 0.02
TRAFFIC_ACCIDENT = 0.006
CUSTOMER_REFUSES = 0.015
GOODS_DAMAGED = 0.01
# Repeat customers: each zone has this many regulars.
REGULARS_PER_ZONE = 300


class Doorstep(StrEnum):
    """How the handover at the customer's door goes."""

    SIGNED = "signed"
    REFUSED = "refused"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class Fate:
    """Everything about an order's course that the simulator decides in advance."""

    pays: bool
    pay_after_s: float
    picking_starts_after_s: float
    picking_minutes: float
    short_while_picking: bool
    accident: bool
    doorstep: Doorstep


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    phone: str
    address: str
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """One order the city will place."""

    index: int
    at: datetime
    channel: Channel
    external_id: str
    zone: str
    customer: Customer
    items: tuple[tuple[str, int], ...]
    promise_minutes: int
    fate: Fate


def demand_weight(at: datetime) -> float:
    """Relative demand at `at`, interpolated between the hours' midpoints."""
    local = at.astimezone(BEIJING)
    hour = local.hour + local.minute / 60 + local.second / 3600 - 0.5
    low = math.floor(hour)
    share = hour - low
    return HOURLY[low % 24] * (1 - share) + HOURLY[(low + 1) % 24] * share


class Demand:
    """The orders of one simulated day from `start` on, in time order: `next(demand)` is the
    next order to place.

    The plan is anchored at midnight (Beijing time) of `start`'s day, so two runs with the same
    seed on the same day place the same orders at the same times, whenever each one started:
    order `n` of the day is always the same order. A `flat` plan (load tests, possibly at
    thousands of orders a minute) is anchored at the start of the hour instead, so skipping to
    `start` stays cheap.
    """

    def __init__(
        self,
        seed: int,
        start: datetime,
        *,
        orders_per_hour: float,
        flat: bool = False,
        trouble: float = 1.0,
        run: str = "",
    ) -> None:
        if orders_per_hour <= 0:
            raise ValueError("orders_per_hour must be positive")
        self.seed, self.flat, self.trouble = seed, flat, trouble
        self.orders_per_hour = orders_per_hour
        local = start.astimezone(BEIJING)
        anchor = local.replace(minute=0, second=0, microsecond=0)
        if not flat:
            anchor = anchor.replace(hour=0)
        self.run = run or anchor.strftime("%y%m%d%H" if flat else "%y%m%d")
        self._arrivals = random.Random(f"{seed}:arrivals")
        self._at = anchor
        self._index = 0
        self._skip_until = start
        city = demo_city()
        self._skus = {
            category: [s["sku"] for s in city["skus"] if s["category"] == category]
            for category in CATEGORY_MIX
        }
        self._surnames = city["people"]["surnames"]
        self._given = city["people"]["given"]
        self._zones = demo_zones()

    def __iter__(self) -> Iterator[OrderPlan]:
        return self

    def __next__(self) -> OrderPlan:
        while True:
            self._arrive()
            if self._at >= self._skip_until:  # earlier orders of the day were before our time
                return self._plan(self._index, self._at)

    def _arrive(self) -> None:
        # Thinning: candidates at the peak rate, each kept with the curve's weight at its time.
        peak_per_second = self.orders_per_hour / 3600
        while True:
            self._at += timedelta(seconds=self._arrivals.expovariate(peak_per_second))
            kept = self._arrivals.random()
            if self.flat or kept < demand_weight(self._at):
                break
        self._index += 1

    def _plan(self, index: int, at: datetime) -> OrderPlan:
        rng = random.Random(f"{self.seed}:order:{index}")
        channel = _weighted(rng, CHANNEL_MIX)
        zone = rng.choice(self._zones)
        customer = self._regular(zone, rng.randrange(REGULARS_PER_ZONE))
        lines = rng.choices(BASKET_LINES[0], weights=BASKET_LINES[1])[0]
        basket: dict[str, int] = {}
        for _ in range(lines):
            sku = rng.choice(self._skus[_weighted(rng, CATEGORY_MIX)])
            basket[sku] = basket.get(sku, 0) + rng.choices(LINE_UNITS[0], weights=LINE_UNITS[1])[0]
        t = self.trouble
        door = rng.random()
        doorstep = (
            Doorstep.REFUSED
            if door < CUSTOMER_REFUSES * t
            else Doorstep.DAMAGED
            if door < (CUSTOMER_REFUSES + GOODS_DAMAGED) * t
            else Doorstep.SIGNED
        )
        low, high = PAY_DELAY[channel]
        fate = Fate(
            pays=rng.random() >= NEVER_PAYS * t,
            pay_after_s=rng.uniform(low, high),
            picking_starts_after_s=rng.uniform(30, 180),
            picking_minutes=rng.uniform(3, 6) + len(basket) * 0.5,
            short_while_picking=rng.random() < SHORT_WHILE_PICKING * t,
            accident=rng.random() < TRAFFIC_ACCIDENT * t,
            doorstep=doorstep,
        )
        return OrderPlan(
            index=index,
            at=at,
            channel=channel,
            external_id=f"{ID_PREFIX[channel]}{self.seed}-{self.run}-{index:06d}",
            zone=zone.name,
            customer=customer,
            items=tuple(sorted(basket.items())),
            promise_minutes=rng.choice((30, 35, 40, 45, 50, 55, 60)),
            fate=fate,
        )

    def _regular(self, zone: Zone, number: int) -> Customer:
        """The zone's `number`th regular customer: the same person every time."""
        rng = random.Random(f"{self.seed}:customer:{zone.name}:{number}")
        lat, lng = zone.random_point(rng)
        return Customer(
            name=f"{rng.choice(self._surnames)} {rng.choice(self._given)}",
            phone=f"13{rng.randrange(10**9):09d}",
            address=f"{rng.choice(zone.streets)} {rng.randint(1, 200)}, {zone.name}",
            lat=lat,
            lng=lng,
        )


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
