"""A `low_stock` alert in a dispatcher's or merchant's words: each low SKU by name, what is
left, when it runs out; no SKU codes or field names (pure, and in the queue through Pilot)."""

from __future__ import annotations

from backend_client.models import AlertRule
from console.alert_words import figure_words, minutes_words, stock_words
from tests.console.sample_apps import queue_app
from tests.console.samples import BEIJING
from tests.console.test_dispatcher_words import detail_of

ITEMS = [
    {"sku": "VEG-CUCUMBER", "name": "Cucumbers", "available": 0, "threshold": 10,
     "runs_out_minutes": 0.0},
    {"sku": "VEG-SPINACH", "name": "Spinach", "available": 40, "threshold": 10,
     "runs_out_minutes": 26.7},
    {"sku": "EGG-DOZEN", "name": "Free-range eggs", "available": 12, "threshold": 15,
     "runs_out_minutes": 130},
    {"sku": "VEG-TOMATO", "name": "Tomatoes", "available": 6, "threshold": 10,
     "runs_out_minutes": None},
]  # fmt: skip
DETAILS = {"warehouse_id": "WH-CY", "items": ITEMS}


def test_low_skus_read_by_name_most_urgent_first() -> None:
    assert stock_words(ITEMS) == (
        "low stock: Cucumbers sold out; Spinach 40 left (low at 10), out in 27 min; "
        "Free-range eggs 12 left (low at 15), out in 2 h 10 min; Tomatoes 6 left (low at 10)"
    )
    words = figure_words(DETAILS, BEIJING)
    assert words == stock_words(ITEMS)  # the warehouse's id is the alert's subject, not a figure
    assert "VEG-" not in words and "runs_out" not in words and "threshold" not in words
    assert minutes_words(0.4) == "0 min" and minutes_words(120) == "2 h"
    # A malformed item is left out, not shown as a mess.
    assert stock_words([{"name": "Milk"}, "junk", {"sku": "X", "available": 3}]) == (
        "low stock: X 3 left"
    )


async def test_the_queue_shows_the_warehouses_low_skus() -> None:
    app = queue_app()
    held = list(app.store.alerts.alerts.values())
    low = held[0].model_copy(
        update={
            "id": 41,
            "rule": AlertRule.LOW_STOCK,
            "subject": "warehouse:WH-CY",
            "severity": "warning",
            "order_id": None,
            "rider_id": None,
            "parent_id": None,
            "escalated_at": None,
            "title": "Sanlitun front warehouse: 4 SKUs low (Cucumbers, ...)",
            "details": DETAILS,
        }
    )
    app.store.alerts.load([*held, low])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("2")
        shown = await detail_of(pilot, app, "low stock")
    assert "warehouse WH-CY" in shown
    assert "Cucumbers sold out; Spinach 40 left (low at 10), out in 27 min" in shown, shown
    assert "runs_out" not in shown and "VEG-SPINACH" not in shown
