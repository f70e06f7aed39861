"""The true need the demand model implies: expected units per SKU and warehouse over a time
span, from the same curve, mix and baskets `Demand` draws its orders from (what a restock
suggestion is measured against, tests/backend/test_restock.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.sim.city import demo_city, demo_zones
from backend.sim.demand import (
    BASKET_LINES,
    CATEGORY_MIX,
    LINE_UNITS,
    NEVER_PAYS,
    demand_weight,
)

STEP = timedelta(minutes=1)


def _mean(values: tuple[int, ...], weights: tuple[int, ...]) -> float:
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


def units_per_order() -> dict[str, float]:
    """Expected units of each SKU in one order: lines x the SKU's chance per line x units."""
    skus = demo_city()["skus"]
    per_category = {c: sum(1 for s in skus if s["category"] == c) for c in CATEGORY_MIX}
    mix = sum(CATEGORY_MIX.values())
    lines, units = _mean(*BASKET_LINES), _mean(*LINE_UNITS)
    return {
        s["sku"]: lines * CATEGORY_MIX[s["category"]] / mix / per_category[s["category"]] * units
        for s in skus
    }


def expected_paid_units(
    start: datetime,
    end: datetime,
    *,
    orders_per_hour: float,
    trouble: float = 1.0,
    flat: bool = False,
) -> dict[tuple[str, str], float]:
    """(warehouse id, SKU) -> units the city is expected to order and pay for in [start, end):
    the arrival rate (`orders_per_hour` at the peak, shaped by the day's curve unless `flat`)
    integrated minute by minute, spread evenly over the zones, each warehouse serving its own."""
    orders = 0.0
    at = start
    while at < end:
        step = min(STEP, end - at)
        weight = 1.0 if flat else demand_weight(at + step / 2)
        orders += orders_per_hour * weight * step / timedelta(hours=1)
        at += step
    zones = demo_zones()
    paid = orders * (1 - NEVER_PAYS * trouble) / len(zones)
    per_order = units_per_order()
    need: dict[tuple[str, str], float] = {}
    for zone in zones:
        for sku, units in per_order.items():
            key = (zone.warehouse_id, sku)
            need[key] = need.get(key, 0.0) + paid * units
    return need
