"""The restock table alone in a small app against a real backend (`freshline serve --demo` with a
week of the simulator's demand written into its database): the suggestions drawn, `a` accepts
the one under the cursor, `e` adjusts it to the units typed, a negative quantity is refused in
the widget and nothing is ordered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from backend.db import Database
from backend_client import FreshlineClient
from tests.backend.restock_support import write_demand
from tests.console.conftest import until
from tests.stream_support import Actors, LiveServer
from widgets.restock_table import RestockTable

pytestmark = pytest.mark.slow  # the console against a real backend

CY = "WH-CY"


class RestockApp(App[None]):
    def __init__(self, client: FreshlineClient) -> None:
        super().__init__()
        self.client = client

    def compose(self) -> ComposeResult:
        yield RestockTable(self.client, CY)


def cell(app: App[None], row: int, column: int) -> str:
    return str(app.query_one("#restock-rows", DataTable).get_cell_at((row, column)))


async def test_accept_and_adjust_from_the_table(backend: LiveServer, actors: Actors) -> None:
    db = Database(f"sqlite+aiosqlite:///{backend.db_path}")
    now = datetime.now(UTC)
    try:
        await write_demand(
            db, start=now - timedelta(days=7), end=now, orders_per_hour=288, warehouses={CY}
        )
    finally:
        await db.dispose()
    merchant = await actors("merchant-wh-cy")
    app = RestockApp(merchant)
    async with app.run_test(size=(100, 32)) as pilot:
        table = app.query_one(RestockTable)
        await until(pilot, lambda: table.plan is not None, "the plan read")
        assert table.plan is not None
        assert table.plan.history_hours >= 24
        first = table.plan.suggestions[0]
        assert first.suggested > 0
        assert cell(app, 0, 0) == first.sku and cell(app, 0, 4) == "!! to decide"
        app.query_one("#restock-rows", DataTable).focus()

        await pilot.press("a")
        await until(pilot, lambda: cell(app, 0, 4).startswith("accepted"), "row 0 accepted")
        assert cell(app, 0, 4) == f"accepted {first.suggested} (merchant-wh-cy)"

        # A negative quantity is refused in the widget (the field stays open): nothing ordered.
        await pilot.press("down", "e", "-", "3", "enter")
        field = app.query_one("#restock-quantity", Input)
        assert field.has_class("-asking") and field.value == "-3"
        plan = await merchant.warehouses.restock(CY)
        assert plan.suggestions[1].decision is None

        await pilot.press("escape")
        assert not field.has_class("-asking")
        await pilot.press("e", "7", "enter")
        await until(pilot, lambda: cell(app, 1, 4).startswith("adjusted"), "row 1 adjusted")
        assert cell(app, 1, 4) == "adjusted 7 (merchant-wh-cy)"
    plan = await merchant.warehouses.restock(CY)
    decided = {s.sku: s.decision for s in plan.suggestions if s.decision is not None}
    assert {sku: (d.decision, d.quantity) for sku, d in decided.items()} == {
        first.sku: ("accepted", first.suggested),
        plan.suggestions[1].sku: ("adjusted", 7),
    }
