"""A long lane under a stream of changes: the rows on screen and the counts in its border stay
right whether a change lands on screen or far below it (where the lane skips redrawing)."""

from __future__ import annotations

import re
from datetime import timedelta

from backend_client import StreamState, StreamStatus
from backend_client.models import OrderState, PositionMessage, Role
from console.app import FreshlineApp
from console.store import FrozenClock, Lane, Store
from tests.console.samples import NOW, me_as, moved, order, rider

PICKING = 300


def long_lane_app() -> FreshlineApp:
    store = Store(FrozenClock(NOW))
    # Promises one minute apart: order 1000 leads the lane, 1000 + n is n rows down; the
    # first two are already late.
    orders = [order(n, OrderState.PICKING, n - 2, 1) for n in range(PICKING)]
    store.load(orders, [rider(1)], last_seq=10)
    store.set_connection(StreamStatus(StreamState.LIVE))
    return FreshlineApp(store=store, live=False, me=me_as(Role.DISPATCHER, "d"))


def order_id(line: str) -> str | None:
    found = re.search(r"\b1\d{3}\b", line)
    return found and found.group()


class Painted:
    """What a lane last painted on each line of the screen: Textual asks a line-API widget
    for a line only when it repaints it, so this is what the terminal shows."""

    def __init__(self, app: FreshlineApp, *lanes: Lane) -> None:
        self.lines: dict[tuple[Lane, int], str] = {}
        for lane in lanes:
            view = app.screen.lane_view(lane)  # type: ignore[attr-defined]
            view.render_line = self._spy(lane, view.render_line)
            view.refresh()

    def _spy(self, lane: Lane, render_line):  # type: ignore[no-untyped-def]
        def painted(y: int):  # type: ignore[no-untyped-def]
            strip = render_line(y)
            self.lines[lane, y] = strip.text
            return strip

        return painted

    def row(self, lane: Lane, y: int) -> str:
        return self.lines.get((lane, y), "")


async def test_changes_below_the_screen_update_the_counts_and_on_screen_the_rows() -> None:
    app = long_lane_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        screen = Painted(app, Lane.PICKING, Lane.DELIVERING)
        await pilot.pause(0.3)
        picking = app.screen.lane_view(Lane.PICKING)  # type: ignore[attr-defined]
        assert str(picking.border_title) == f"Picking  {PICKING}"
        assert str(picking.border_subtitle) == "2 late"
        first_rows = [screen.row(Lane.PICKING, y) for y in range(3)]
        assert "1000" in first_rows[0] and "1002" in first_rows[2]

        # Far below the screen: the count changes, the rows on screen do not.
        app.store.apply(moved(app.store, 11, 1250, OrderState.DELIVERING))
        await pilot.pause(0.3)
        assert str(picking.border_title) == f"Picking  {PICKING - 1}"
        assert [screen.row(Lane.PICKING, y) for y in range(3)] == first_rows
        assert "1250" in screen.row(Lane.DELIVERING, 0)

        # On screen: the late leader leaves, the rows move up and the late count drops.
        app.store.apply(moved(app.store, 12, 1000, OrderState.DELIVERING))
        await pilot.pause(0.3)
        assert str(picking.border_title) == f"Picking  {PICKING - 2}"
        assert str(picking.border_subtitle) == "1 late"
        assert "1001" in screen.row(Lane.PICKING, 0)
        assert "1002" in screen.row(Lane.PICKING, 1)

        # The last late order leaves: the subtitle goes.
        app.store.apply(moved(app.store, 13, 1001, OrderState.DELIVERING))
        await pilot.pause(0.3)
        assert str(picking.border_subtitle) in ("", "None")


async def test_time_passing_redraws_rows_whose_order_did_not_change() -> None:
    app = long_lane_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        screen = Painted(app, Lane.PICKING)
        await pilot.pause(0.3)
        assert "late" not in screen.row(Lane.PICKING, 2)
        # Three minutes on: order 1002 (promised for now) is late, with no event at all.
        app.store.clock.anchor(NOW + timedelta(minutes=3))
        await pilot.pause(1.3)  # the board's once-a-second pass
        assert "late" in screen.row(Lane.PICKING, 2)
        picking = app.screen.lane_view(Lane.PICKING)  # type: ignore[attr-defined]
        assert str(picking.border_subtitle) == "5 late"


async def test_a_rider_moving_repaints_only_the_rows_whose_eta_changed() -> None:
    store = Store(FrozenClock(NOW))
    out = [order(n, OrderState.DELIVERING, 40 + n, n + 1) for n in range(6)]
    store.load(out, [rider(n + 1) for n in range(6)], last_seq=10)
    store.set_connection(StreamStatus(StreamState.LIVE))
    me = me_as(Role.DISPATCHER, "d")
    app = FreshlineApp(store=store, live=False, me=me)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        view = app.screen.lane_view(Lane.DELIVERING)  # type: ignore[attr-defined]
        painted: list[str] = []
        render_line = view.render_line

        def spy(y: int):  # type: ignore[no-untyped-def]
            strip = render_line(y)
            painted.append(strip.text)
            return strip

        view.render_line = spy
        view.refresh()
        await pilot.pause(0.3)
        before = {order_id(line): line for line in painted if order_id(line)}
        assert len(before) == 6, before
        painted.clear()

        # Rider 1 rides 10 km further from order 1000's customer: that row's ETA moves on.
        far = PositionMessage(
            rider_id=1, warehouse_id="WH-CY", lat=40.03, lng=116.45, at=NOW - timedelta(seconds=5)
        )
        store.move_rider(far)
        await pilot.pause(0.5)
        repainted = [line for line in painted if order_id(line)]
        assert [order_id(line) for line in repainted] == ["1000"], repainted
        assert repainted[0] != before["1000"], (before, repainted)


async def test_an_order_leaving_mid_screen_repaints_from_its_row_down_only() -> None:
    """Textual repaints every line of a widget refreshed whole: a lane repaints only the rows
    whose order changed (at peak, most of the board's cost was repainting unchanged rows)."""
    from tests.console.conftest import until

    app = long_lane_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.screen.is_mounted, "the board")
        screen = Painted(app, Lane.PICKING)
        await until(pilot, lambda: "1010" in screen.row(Lane.PICKING, 10), "row 10 painted")
        painted: dict[int, int] = {}
        view = app.screen.lane_view(Lane.PICKING)  # type: ignore[attr-defined]
        spied = view.render_line

        def counted(y: int):  # type: ignore[no-untyped-def]
            painted[y] = painted.get(y, 0) + 1
            return spied(y)

        view.render_line = counted
        app.store.apply(moved(app.store, 11, 1010, OrderState.DELIVERING))
        await until(pilot, lambda: "1011" in screen.row(Lane.PICKING, 10), "the rows moving up")
        assert "1009" in screen.row(Lane.PICKING, 9) and "1012" in screen.row(Lane.PICKING, 11)
        assert min(painted) == 10, f"rows above the change repainted: {sorted(painted)}"
