"""The merchant screen's picture, without a terminal: which SKUs the `low_stock` alert warns,
in which order the stock reads, and how a loss rate is said."""

from __future__ import annotations

from datetime import UTC, datetime

from backend_client.models import StockLevel, WarehouseLosses
from console.store_front import loss_summary, percent, stock_lines, warnings_of
from tests.console.test_merchant_console import low_stock


def level(sku: str, available: int, reserved: int = 0) -> StockLevel:
    return StockLevel(
        warehouse_id="WH-CY",
        sku=sku,
        name=sku.title(),
        category="veg",
        unit="kg",
        cold_chain=False,
        price_cents=100,
        on_hand=available + reserved,
        reserved=reserved,
        available=available,
    )


def test_only_this_warehouses_standing_alert_warns_and_odd_items_are_skipped() -> None:
    mine = low_stock(1, "WH-CY", "VEG-TOMATO", "EGG-DOZEN")
    mine.details["items"].append({"name": "no sku"})  # a payload this console cannot place
    mine.details["items"].append("VEG-POTATO")
    resolved = low_stock(2, "WH-CY", "FRU-APPLE").model_copy(update={"state": "resolved"})
    other = low_stock(3, "WH-HD", "DAI-MILK")
    warned = warnings_of([mine, resolved, other], "WH-CY")
    assert set(warned) == {"VEG-TOMATO", "EGG-DOZEN"}
    assert warned["EGG-DOZEN"].runs_out_minutes == 21
    assert warned["EGG-DOZEN"].words == "!! out ~21m"
    bare = low_stock(4, "WH-CY", "VEG-SPINACH")
    bare.details["items"][0].pop("runs_out_minutes")
    assert warnings_of([bare], "WH-CY")["VEG-SPINACH"].words == "!! low"
    assert warnings_of([mine], "") == {}


def test_warned_skus_come_first_soonest_to_run_out_then_fewest_available() -> None:
    warned = warnings_of([low_stock(1, "WH-CY", "VEG-TOMATO", "EGG-DOZEN")], "WH-CY")
    levels = [
        level("A-PLENTY", 90),
        level("EGG-DOZEN", 2),
        level("B-FEW", 5, 3),
        level("VEG-TOMATO", 4),
    ]
    assert [line.sku for line in stock_lines(levels, warned)] == [
        "VEG-TOMATO",
        "EGG-DOZEN",
        "B-FEW",
        "A-PLENTY",
    ]


def test_loss_rates_read_as_percent_and_nothing_sold_says_so() -> None:
    assert (percent(None), percent(0.0), percent(0.04167)) == ("-", "0.0%", "4.2%")
    now = datetime.now(UTC)
    some = WarehouseLosses(
        warehouse_id="WH-CY", start=now, end=now, sold=24, lost=1, loss_rate=1 / 24, skus=[]
    )
    assert loss_summary(some, "7 days") == "Loss rate, 7 days: 4.2% (1 of 24 sold)"
    none_sold = some.model_copy(update={"sold": 0, "lost": 3, "loss_rate": None})
    assert loss_summary(none_sold, "24 h") == "Loss rate, 24 h: nothing sold, 3 lost"
    assert loss_summary(None, "30 days") == "Loss rate, 30 days"
