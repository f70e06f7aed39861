"""The merchant's console against a real backend: signed in as a store account it opens that
warehouse (orders by stage live from the stream, stock with the `low_stock` warnings, the loss
rate by SKU), never the desk's screens; the stock adjusted from the keyboard shows as a loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import DataTable, Input

from backend.db import Database
from backend_client.models import Alert
from console.app import FreshlineApp
from console.store import Lane
from screens.board import BoardScreen
from screens.dialogs import Dialog
from screens.merchant import PANES, MerchantScreen
from screens.stock_dialog import AdjustDialog
from tests.backend.restock_support import write_demand
from tests.console.conftest import until
from tests.stream_support import Actors, LiveServer
from widgets.restock_table import RestockTable

pytestmark = pytest.mark.slow  # the console against a real backend

MERCHANT = "merchant-wh-cy"
SIZES = pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=str)


def low_stock(alert_id: int, warehouse_id: str, *skus: str, version: int = 1) -> Alert:
    """The standing `low_stock` alert of a warehouse as the rule raises it (one per warehouse,
    its SKUs in `details.items`), built the way the console's sample alerts are."""
    now = datetime.now(UTC)
    return Alert.model_validate(
        {
            "id": alert_id,
            "rule": "low_stock",
            "subject": f"warehouse:{warehouse_id}",
            "severity": "warning",
            "state": "open",
            "title": f"{warehouse_id}: {len(skus)} SKUs running low",
            "details": {
                "warehouse_id": warehouse_id,
                "items": [
                    {
                        "sku": sku,
                        "name": sku.title(),
                        "available": 3,
                        "threshold": 10,
                        "runs_out_minutes": 20 + n,
                    }
                    for n, sku in enumerate(skus)
                ],
            },
            "order_id": None,
            "rider_id": None,
            "request_id": None,
            "warehouse_id": warehouse_id,
            "zone": None,
            "parent_id": None,
            "opened_at": now - timedelta(minutes=5),
            "updated_at": now,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "note": None,
            "snoozed_until": None,
            "escalated_at": None,
            "resolved_at": None,
            "resolution": None,
            "version": version,
        }
    )


def strip_text(screen: MerchantScreen) -> str:
    return str(screen.query_one("#strip").render())


async def merchant_console(pilot, app: FreshlineApp) -> MerchantScreen:
    await until(pilot, lambda: isinstance(app.screen, MerchantScreen), "the merchant screen")
    screen = app.screen
    assert isinstance(screen, MerchantScreen)
    await until(pilot, lambda: screen.ready and bool(screen.lines), "the stock read")
    return screen


@SIZES
async def test_a_merchant_opens_their_warehouse_live(
    backend: LiveServer, actors: Actors, size: tuple[int, int]
) -> None:
    paid = await actors.paid()
    picking = await actors.picking()
    elsewhere = await actors.paid("WH-HD")
    app = FreshlineApp(server=backend.base_url, token=await actors.token(MERCHANT))
    async with app.run_test(size=size) as pilot:
        screen = await merchant_console(pilot, app)
        await until(pilot, lambda: screen.views[Lane.PICKING].counts == (1, 0), "picking 1")
        assert screen.views[Lane.NEW].counts == (1, 0)
        assert set(app.store.orders) == {paid.id, picking.id}  # not WH-HD's
        assert elsewhere.id not in app.store.orders
        assert screen.warehouse_id == "WH-CY"
        # The stock is the warehouse's, with what the paid orders reserved.
        levels = await (await actors("admin")).warehouses.stock("WH-CY")
        assert {line.sku: (line.available, line.reserved) for line in screen.lines} == {
            level.sku: (level.available, level.reserved) for level in levels
        }
        # The desk's screens are not a key away: 1-4 in a burst leave the store's screen up,
        # the top bar has no tabs for them, and the palette does not offer them.
        # (The burst ends with `right`: once its pane move shows, the keys before it were read.)
        await pilot.press("1", "2", "3", "4", "right")
        await until(pilot, lambda: screen.current == PANES[1], "the keys read")
        assert isinstance(app.screen, MerchantScreen)
        assert "Board" not in str(screen.query_one("TopBar #title").render())
        shown = {key for key, active in app.screen.active_bindings.items() if active.enabled}
        assert not {"1", "2", "3", "4"} & shown

        # Live: an order paid now shows in its lane and its units as reserved.
        before = {line.sku: line.reserved for line in screen.lines}
        more = await actors.paid()
        sku = more.items[0].sku
        await until(pilot, lambda: screen.views[Lane.NEW].counts == (2, 0), "paid 2")
        await until(
            pilot,
            lambda: {line.sku: line.reserved for line in screen.lines}[sku] == before[sku] + 1,
            "the new reservation in the stock",
        )

        # The warehouse's low_stock alert arrives: its SKUs are warned and come first; another
        # warehouse's alert warns nothing here; when it resolves, the warnings go.
        app.store.alerts.load(
            [low_stock(41, "WH-CY", "VEG-TOMATO"), low_stock(42, "WH-HD", "EGG-DOZEN")]
        )
        app._tick()
        await until(pilot, lambda: screen.lines[0].warning is not None, "the warning")
        assert [line.sku for line in screen.lines if line.warning] == ["VEG-TOMATO"]
        assert screen.lines[0].sku == "VEG-TOMATO"
        assert screen.lines[0].warning is not None
        assert screen.lines[0].warning.words == "!! out ~20m"
        assert "!!1 low" in strip_text(screen)
        app.store.alerts.load([])
        app._tick()
        await until(pilot, lambda: all(line.warning is None for line in screen.lines), "no warning")
        assert "low" not in strip_text(screen)


@SIZES
async def test_writing_off_stock_from_the_keyboard_shows_as_a_loss(
    backend: LiveServer, actors: Actors, size: tuple[int, int]
) -> None:
    app = FreshlineApp(server=backend.base_url, token=await actors.token(MERCHANT))
    async with app.run_test(size=size) as pilot:
        screen = await merchant_console(pilot, app)
        await until(pilot, lambda: screen.losses is not None, "the losses read")
        assert screen.losses is not None and screen.losses.skus == []
        # To the stock pane (past the four lanes) and `a`, in one burst.
        await pilot.press("right", "right", "right", "right", "a")
        await until(pilot, lambda: isinstance(app.screen, AdjustDialog), "the adjust dialog")
        under = screen.stock_under_cursor()
        assert under is not None
        await pilot.press(*"-3 wilted", "enter")
        await until(pilot, lambda: not isinstance(app.screen, Dialog), "the dialog closed")
        await until(
            pilot,
            lambda: screen.losses is not None and bool(screen.losses.skus),
            "the write-off among the losses",
        )
        assert screen.losses is not None
        (loss,) = screen.losses.skus
        assert (loss.sku, loss.written_off, loss.lost, loss.sold) == (under.sku, 3, 3, 0)
        level = next(
            level
            for level in await (await actors("admin")).warehouses.stock("WH-CY")
            if level.sku == under.sku
        )
        assert level.available == under.available - 3
        await until(
            pilot,
            lambda: any(
                line.sku == under.sku and line.available == level.available for line in screen.lines
            ),
            "the stock pane after the write-off",
        )
        # Nonsense is refused in the dialog and changes nothing.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AdjustDialog), "the dialog again")
        # A key after the refused Enter still lands in the dialog's field: it stayed open.
        await pilot.press(*"three please", "enter", "!")
        field = app.screen.query_one("#adjust", Input)
        await until(pilot, lambda: field.value == "three please!", "the keys read")
        assert isinstance(app.screen, AdjustDialog)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on the store's screen")
        # Another window for the loss rate.
        await pilot.press("w")
        await until(
            pilot,
            lambda: (
                "30 days" in str(screen.query_one("#losses-pane").border_title)
                and screen.losses is not None
            ),
            "the 30-day window",
        )


async def test_the_desk_does_not_open_the_store_screen(backend: LiveServer, actors: Actors) -> None:
    app = FreshlineApp(server=backend.base_url, token=await actors.token("dispatcher"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot, lambda: app.me is not None and isinstance(app.screen, BoardScreen), "board"
        )
        await app.run_action("switch_mode('merchant')")  # awaited whole: refused or switched
        assert isinstance(app.screen, BoardScreen)


async def test_the_store_decides_restock_suggestions_on_its_screen(
    backend: LiveServer, actors: Actors
) -> None:
    """The restock pane holds the warehouse's suggestions once the store has signed in; `a` in
    it accepts the suggestion under the cursor (not the stock pane's adjust)."""
    db = Database(f"sqlite+aiosqlite:///{backend.db_path}")
    now = datetime.now(UTC)
    try:
        await write_demand(
            db, start=now - timedelta(days=7), end=now, orders_per_hour=288, warehouses={"WH-CY"}
        )
    finally:
        await db.dispose()
    app = FreshlineApp(server=backend.base_url, token=await actors.token(MERCHANT))
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await merchant_console(pilot, app)
        await until(pilot, lambda: bool(screen.query(RestockTable)), "the restock table")
        table = screen.query_one(RestockTable)
        assert table.warehouse_id == "WH-CY"
        await until(pilot, lambda: table.plan is not None, "the suggestions read")
        assert table.plan is not None
        first = table.plan.suggestions[0]
        # Past the four lanes, the stock and the losses to the suggestions, and accept: one burst.
        await pilot.press(*["right"] * 6, "a")
        await until(pilot, lambda: screen.current == "restock-pane", "the restock pane")
        rows = table.query_one("#restock-rows", DataTable)
        await until(
            pilot, lambda: str(rows.get_cell_at((0, 4))).startswith("accepted"), "row 0 accepted"
        )
        assert not isinstance(app.screen, AdjustDialog)
    plan = await (await actors(MERCHANT)).warehouses.restock("WH-CY")
    decided = {s.sku: s.decision for s in plan.suggestions if s.decision is not None}
    assert {sku: (d.decision, d.quantity) for sku, d in decided.items()} == {
        first.sku: ("accepted", first.suggested)
    }
