"""The `low_stock` rule: per warehouse, the SKUs running low, as one alert.

A SKU is low in a warehouse when its available units (on hand less reserved) are at or below
its threshold (`[low_stock]` in the rules file: per SKU, else the default), or when at the last
hour's reservation rate it would run out within `run_out_minutes`. The rate is read from the
event log: the units of every order that reserved stock in the last hour (paid, or picked
again after a restock), so it needs no counter of its own and survives restarts.

One finding per warehouse with any low SKU (subject `warehouse:<id>`): its title names the low
SKUs, so the alert is updated when one goes low or recovers and not at every unit sold; its
details carry the figures (`items`, most urgent first) as of that change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.findings import Finding, Subjects
from backend.alerts.rules import LowStock, Rules
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.orders.lifecycle import RULES, Effect
from backend.orders.models import OrderItemRow
from backend.realtime.models import EventRow
from backend_client.models import AlertRule, OrderState

RATE_WINDOW = timedelta(hours=1)
"""The reservation rate is the units reserved over this last stretch."""
AVAILABLE_EFFECTS = frozenset(
    {Effect.RESERVE_STOCK, Effect.REQUIRE_STOCK, Effect.RELEASE_STOCK, Effect.RESTOCK_RETURNED}
)
"""What changes on hand less reserved (consuming at dispatch takes both down alike)."""
STOCK_ACTIONS = frozenset(str(r.action) for r in RULES if AVAILABLE_EFFECTS & set(r.effects))
"""The order actions that change a warehouse's available units, from the lifecycle's table."""


def moves_stock(kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether an event changed its warehouse's available units or reservation rate (an
    adjustment, or an order action reserving, releasing or restocking): after one, the rule
    looks at that warehouse again at once; every other change waits for the tick."""
    if kind == "stock.adjusted":
        return True
    return kind == "order.transition" and payload.get("action") in STOCK_ACTIONS


TITLE_LENGTH = 300


def warehouse_subject(warehouse_id: str) -> str:
    return f"warehouse:{warehouse_id}"


@dataclass(frozen=True, slots=True)
class LowItem:
    """One SKU running low in one warehouse."""

    sku: str
    name: str
    available: int
    threshold: int
    runs_out_minutes: float | None
    """At the last hour's rate; 0 when none is left; None when none was reserved."""

    def urgency(self) -> tuple[float, float, str]:
        """Soonest to run out first; then the furthest below its threshold (as a share)."""
        soon = math.inf if self.runs_out_minutes is None else self.runs_out_minutes
        return (soon, self.available / max(self.threshold, 1), self.sku)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "available": self.available,
            "threshold": self.threshold,
            "runs_out_minutes": self.runs_out_minutes,
        }


def runs_out_in(available: int, reserved_last_hour: int) -> float | None:
    """Minutes until `available` units are gone at the last hour's rate, to a tenth."""
    if available <= 0:
        return 0.0
    if reserved_last_hour <= 0:
        return None
    per_minute = reserved_last_hour / (RATE_WINDOW.total_seconds() / 60)
    return round(available / per_minute, 1)


def low_item(
    rule: LowStock, sku: str, name: str, available: int, reserved_last_hour: int
) -> LowItem | None:
    """The SKU as a low item if it is low under `rule`, else None."""
    threshold = rule.threshold(sku)
    runs_out = runs_out_in(available, reserved_last_hour)
    soon = runs_out is not None and rule.run_out_minutes > 0 and runs_out <= rule.run_out_minutes
    if available > threshold and not soon:
        return None
    return LowItem(sku, name, available, threshold, runs_out)


def _among(column: Any, ids: frozenset[str] | None) -> ColumnElement[bool]:
    return true() if ids is None else column.in_(sorted(ids))


async def reserved_last_hour(
    session: AsyncSession, now: datetime, warehouses: frozenset[str] | None
) -> dict[tuple[str, str], int]:
    """Units reserved per (warehouse, SKU) over the last `RATE_WINDOW`: the lines of orders
    that moved into PAID (payment reserves) or out of OUT_OF_STOCK into PICKING (a restock
    reserves again)."""
    reserving = or_(
        EventRow.to_state == OrderState.PAID,
        and_(
            EventRow.from_state == OrderState.OUT_OF_STOCK, EventRow.to_state == OrderState.PICKING
        ),
    )
    rows = await session.execute(
        select(EventRow.warehouse_id, OrderItemRow.sku, func.sum(OrderItemRow.quantity))
        .join(OrderItemRow, OrderItemRow.order_id == EventRow.order_id)
        .where(
            EventRow.kind == "order.transition",
            EventRow.at > now - RATE_WINDOW,
            EventRow.at <= now,
            reserving,
            _among(EventRow.warehouse_id, warehouses),
        )
        .group_by(EventRow.warehouse_id, OrderItemRow.sku)
    )
    return {(str(warehouse_id), sku): int(units) for warehouse_id, sku, units in rows}


async def find(
    session: AsyncSession, rules: Rules, now: datetime, subjects: Subjects
) -> dict[tuple[str, str], Finding]:
    """One finding per warehouse with low SKUs, among the warehouses `subjects` covers."""
    rule = rules.low_stock
    if not rule.enabled or not (subjects.everything or subjects.warehouses):
        return {}
    warehouses = None if subjects.everything else subjects.warehouses
    rates = await reserved_last_hour(session, now, warehouses)
    rows = await session.execute(
        select(
            StockRow.warehouse_id,
            StockRow.sku,
            StockRow.on_hand - StockRow.reserved,
            SkuRow.name,
            WarehouseRow.name,
            WarehouseRow.zone,
        )
        .join(SkuRow, SkuRow.sku == StockRow.sku)
        .join(WarehouseRow, WarehouseRow.id == StockRow.warehouse_id)
        .where(_among(StockRow.warehouse_id, warehouses))
    )
    low: dict[str, list[LowItem]] = {}
    places: dict[str, tuple[str, str]] = {}
    for warehouse_id, sku, available, sku_name, warehouse_name, zone in rows:
        item = low_item(rule, sku, sku_name, available, rates.get((warehouse_id, sku), 0))
        if item is not None:
            low.setdefault(warehouse_id, []).append(item)
            places[warehouse_id] = (warehouse_name, zone)
    found = {}
    for warehouse_id, items in low.items():
        items.sort(key=LowItem.urgency)
        name, zone = places[warehouse_id]
        finding = Finding(
            rule=AlertRule.LOW_STOCK,
            subject=warehouse_subject(warehouse_id),
            severity=rule.severity,
            title=_title(name, items),
            warehouse_id=warehouse_id,
            zone=zone,
            details={"warehouse_id": warehouse_id, "items": [i.as_dict() for i in items]},
        )
        found[finding.key] = finding
    return found


def _title(warehouse_name: str, items: list[LowItem]) -> str:
    """`Chaoyang store: 2 SKUs low (Eggs, Milk)`: the same while the same SKUs are low."""
    count = f"{len(items)} SKU" if len(items) == 1 else f"{len(items)} SKUs"
    names = ", ".join(sorted(item.name for item in items))
    title = f"{warehouse_name}: {count} low ({names})"
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 2] + "…)"
    return title
