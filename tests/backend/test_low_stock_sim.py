"""The packaged `low_stock` thresholds against the simulator's city: a simulated day of the
demo's demand (its baskets, per zone's warehouse, the stores' scheduled top-ups and express
deliveries) replayed minute by minute through the rule's own test of a SKU. The demo and the
tour never raise a warning; only a load far past the stores' delivery rhythm does, and then one
alert per warehouse stands, not one per SKU."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.alerts.low_stock import RATE_WINDOW, low_item
from backend.alerts.rules import DEFAULT_FILE, parse_rules
from backend.sim.city import demo_city, demo_zones
from backend.sim.demand import BEIJING, Demand
from backend.sim.runner import REPLENISH_EVERY_S
from backend.sim.stores import TOP_UP_BELOW

DAY = datetime(2026, 11, 23, tzinfo=BEIJING)


@dataclass
class DayOfWarnings:
    opened: int = 0
    """Warehouse alerts opened over the day."""
    most_low_skus: int = 0
    """The longest list one warehouse's alert carried."""


def replay_day(orders_per_hour: float, seed: int = 0) -> DayOfWarnings:
    rule = parse_rules(DEFAULT_FILE.read_text(encoding="utf-8")).low_stock
    city = demo_city()
    usual = city["stock_per_sku"]
    target = {s["sku"]: usual["cold_chain" if s["cold_chain"] else "default"] for s in city["skus"]}
    warehouse_of = {zone.name: zone.warehouse_id for zone in demo_zones()}
    available = {
        (w, sku): units for w in set(warehouse_of.values()) for sku, units in target.items()
    }
    reserved: Counter[tuple[str, str]] = Counter()  # over the last hour
    recent: deque[tuple[datetime, str, str, int]] = deque()
    demand = Demand(seed, DAY, orders_per_hour=orders_per_hour)
    plan = next(demand)
    standing: dict[str, bool] = {}
    day = DayOfWarnings()
    for minute in range(24 * 60):
        now = DAY + timedelta(minutes=minute)
        # The stores' scheduled deliveries: a fresh run's first day tops up (the restock plans
        # take over once a day of demand stands behind them).
        if minute % (REPLENISH_EVERY_S // 60) == 0:
            for key, units in available.items():
                if units < target[key[1]] * TOP_UP_BELOW:
                    available[key] = target[key[1]]
        while plan.at <= now:
            warehouse = warehouse_of[plan.zone]
            for sku, quantity in plan.items:
                short = quantity - available[warehouse, sku]
                if short > 0:  # the supplier's express van, then picked again
                    available[warehouse, sku] += max(20, short)
                available[warehouse, sku] -= quantity
                reserved[warehouse, sku] += quantity
                recent.append((plan.at, warehouse, sku, quantity))
            plan = next(demand)
        while recent and recent[0][0] <= now - RATE_WINDOW:
            _, warehouse, sku, quantity = recent.popleft()
            reserved[warehouse, sku] -= quantity
        for warehouse in set(warehouse_of.values()):
            low = [
                sku
                for sku in target
                if low_item(rule, sku, sku, available[warehouse, sku], reserved[warehouse, sku])
            ]
            if low and not standing.get(warehouse):
                day.opened += 1
            day.most_low_skus = max(day.most_low_skus, len(low))
            standing[warehouse] = bool(low)
    return day


def test_the_demo_and_the_tour_raise_no_stock_warning() -> None:
    assert replay_day(72) == DayOfWarnings(0, 0)  # `freshline demo`
    assert replay_day(240) == DayOfWarnings(0, 0)  # `freshline demo --tour`


def test_a_load_past_the_stores_rhythm_warns_per_warehouse_not_per_sku() -> None:
    day = replay_day(1000)  # some 170 orders an hour per store at the peaks
    assert day.opened > 0
    assert day.most_low_skus > 1  # several SKUs low at once, each in its store's one alert
