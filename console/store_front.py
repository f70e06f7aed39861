"""The merchant console's picture of its own warehouse: stock with the `low_stock` warnings,
the loss rate by SKU, orders counted by stage. Pure Python (no Textual), beside the store.

Warnings come from the alerts the console already follows: a SKU is warned while it is listed in
the standing `low_stock` alert of this warehouse (`details.items`: sku, name, available,
threshold, runs_out_minutes). The rule and its thresholds are the backend's; nothing here
decides what is low.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from backend_client.models import Alert, AlertState, OrderState, StockLevel, WarehouseLosses

LOW_STOCK = "low_stock"
"""The alert rule whose standing alert per warehouse lists its SKUs running low."""

MERCHANT_STAGES: tuple[tuple[OrderState, str], ...] = (
    (OrderState.PAID, "Paid"),
    (OrderState.PICKING, "Picking"),
    (OrderState.OUT_OF_STOCK, "Out of stock"),
    (OrderState.RETURNING, "Returning"),
)
"""The stages a store works on (its stage scope, docs/permissions.md), in the order shown."""

LOSS_WINDOWS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(days=1), "24 h"),
    (timedelta(days=7), "7 days"),
    (timedelta(days=30), "30 days"),
)
"""The loss rate's windows, cycled with `w` (the second is where it opens)."""


@dataclass(frozen=True, slots=True)
class Warning:
    """One SKU of the warehouse's standing `low_stock` alert."""

    sku: str
    available: int | None
    threshold: int | None
    runs_out_minutes: float | None

    @property
    def words(self) -> str:
        """What the stock table says: `!! low`, with when it runs out if the rule said."""
        if self.runs_out_minutes is None:
            return "!! low"
        return f"!! out ~{round(self.runs_out_minutes)}m"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def warnings_of(alerts: Iterable[Alert], warehouse_id: str) -> dict[str, Warning]:
    """The SKUs warned in `warehouse_id`'s standing `low_stock` alert(s), by SKU."""
    warned: dict[str, Warning] = {}
    for alert in alerts:
        if str(alert.rule) != LOW_STOCK or alert.state == AlertState.RESOLVED:
            continue
        if (alert.warehouse_id or alert.details.get("warehouse_id")) != warehouse_id:
            continue
        items = alert.details.get("items")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
                continue  # a payload this console does not understand: no warning from it
            available, threshold = _number(item.get("available")), _number(item.get("threshold"))
            warned[item["sku"]] = Warning(
                item["sku"],
                None if available is None else int(available),
                None if threshold is None else int(threshold),
                _number(item.get("runs_out_minutes")),
            )
    return warned


@dataclass(frozen=True, slots=True)
class StockLine:
    """One row of the stock table, as shown."""

    sku: str
    name: str
    available: int
    reserved: int
    warning: Warning | None


def stock_lines(levels: Iterable[StockLevel], warned: dict[str, Warning]) -> list[StockLine]:
    """The stock table's rows: warned SKUs first (soonest to run out, then fewest left), then
    the rest by fewest available."""
    lines = [
        StockLine(level.sku, level.name, level.available, level.reserved, warned.get(level.sku))
        for level in levels
    ]

    def order(line: StockLine) -> tuple[int, float, int, str]:
        if line.warning is None:
            return (1, 0.0, line.available, line.sku)
        runs_out = line.warning.runs_out_minutes
        return (0, runs_out if runs_out is not None else float("inf"), line.available, line.sku)

    return sorted(lines, key=order)


def percent(rate: float | None) -> str:
    """A loss rate as the tables show it: `4.2%`, or `-` when nothing was sold."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def loss_summary(losses: WarehouseLosses | None, label: str) -> str:
    """The loss pane's title: the window and the warehouse's rate over it."""
    if losses is None:
        return f"Loss rate, {label}"
    if not losses.sold:
        return f"Loss rate, {label}: nothing sold, {losses.lost} lost"
    return f"Loss rate, {label}: {percent(losses.loss_rate)} ({losses.lost} of {losses.sold} sold)"
