"""The KPI screen: snapshots in every theme (frozen clock, fixed size, a KPI board filled by
hand), at 80x24, and with stale numbers; Pilot tests of `enter` on a tile and on a channel
opening the board filtered to it; the tile and staleness wording without colour."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest

from backend_client import StreamState, StreamStatus
from backend_client.models import Role
from console.app import FreshlineApp
from console.store import FrozenClock, Lane, Store
from screens.board import BoardScreen
from screens.kpi import OPENS, TILES, KpiScreen
from tests.console import kpi_samples as sample
from tests.console.conftest import until
from tests.console.samples import me_as
from themes import THEMES
from widgets.filter_bar import FilterBar
from widgets.kpi_tile import change_text, value_text
from widgets.stale_banner import kpi_staleness

BEIJING = ZoneInfo("Asia/Shanghai")


def kpi_app(theme: str = "freshline-dark", *, stale: bool = False) -> FreshlineApp:
    store = Store(FrozenClock(sample.NOW))
    store.load([], [], last_seq=500)
    store.set_connection(StreamStatus(StreamState.LIVE))
    store.set_kpi(sample.summary())
    store.set_kpi_day(sample.series(), sample.exceptions())
    store.fresh_at = None
    if stale:
        store.set_connection(StreamStatus(StreamState.RECONNECTING, attempt=3))
        store.kpi.summary_at = time.monotonic() - 130  # "2min old" however long the test takes
    me = me_as(Role.SUPERVISOR, "supervisor")
    return FreshlineApp(store=store, zone=BEIJING, live=False, me=me, theme=theme)


@pytest.mark.parametrize("theme", [t.name for t in THEMES])
def test_kpi_screen_in_each_theme(snap_compare, theme: str) -> None:
    assert snap_compare(kpi_app(theme), terminal_size=(160, 48), press=["4"])


def test_kpi_screen_at_80x24_with_stale_numbers(snap_compare) -> None:
    assert snap_compare(kpi_app(stale=True), terminal_size=(80, 24), press=["4"])


async def test_enter_on_a_tile_or_a_channel_opens_the_board_filtered_to_it() -> None:
    app = kpi_app()
    async with app.run_test(size=(160, 48)) as pilot:
        # The app mounts its first mode by itself: press nothing before the board is there.
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KpiScreen)
        screen.tiles["exceptions"].focus()
        await pilot.press("enter")
        await pilot.pause()
        board = app.screen
        assert isinstance(board, BoardScreen)
        assert board.current == Lane.EXCEPTION
        assert not board.order_filter.active
        board.show_filtered(OPENS["on_time"][0], OPENS["on_time"][1])  # as its tile would
        assert board.order_filter.late_only and board.current == Lane.DELIVERING

        await pilot.press("4")
        await pilot.pause()
        table = app.screen.query_one("#channels")
        table.focus()
        await pilot.press("down", "down", "enter")  # app, mini_program, meituan
        await pilot.pause()
        board = app.screen
        assert isinstance(board, BoardScreen)
        assert board.order_filter.channel == "meituan"
        assert not board.order_filter.late_only  # the late-only of before is gone
        bar = board.query_one(FilterBar)
        assert bar.has_class("-shown") and bar.order_filter.channel == "meituan"


def test_tiles_read_without_colour() -> None:
    summary = sample.summary()
    by_key = {spec.key: spec for spec in TILES}
    assert value_text(summary.current, by_key["on_time"]) == "91.3%"
    assert value_text(summary.current, by_key["minutes"]) == "33.4"
    assert value_text(None, by_key["orders"]) == "--"
    assert change_text(summary.current, summary.previous, by_key["on_time"]) == (
        "▼2.1pt worse",
        "worse",
    )
    assert change_text(summary.current, summary.previous, by_key["minutes"]) == (
        "▼1.6m better",
        "better",
    )
    assert change_text(summary.current, summary.previous, by_key["orders"]) == ("▲7", "same")
    assert change_text(summary.current, None, by_key["loss"]) == ("no earlier", "none")


def test_staleness_is_said_in_words() -> None:
    store = Store(FrozenClock(sample.NOW))
    live = StreamStatus(StreamState.LIVE)
    assert kpi_staleness(store.kpi, live, time.monotonic(), BEIJING) == "⚠ NO KPIs YET · ● LIVE"
    store.set_kpi(sample.summary())
    assert kpi_staleness(store.kpi, live, time.monotonic(), BEIJING) is None
    later = time.monotonic() + 60
    down = StreamStatus(StreamState.RECONNECTING, attempt=2)
    assert kpi_staleness(store.kpi, down, later, BEIJING) == (
        "⚠ STALE · KPIs of 12:30:00, 60s old · ◌ RECONNECTING (attempt 2)"
    )


def test_without_colour_the_orders_chart_draws_a_lettered_line_per_channel() -> None:
    from textual_plotext.plot import Plot

    from widgets.kpi_chart import orders_by_hour

    plot = Plot()
    plot.plotsize(100, 20)
    orders_by_hour(sample.series(), BEIJING)(plot, lambda _variable: (200, 200, 200), True)
    drawn = plot.build()
    for legend in ("A app", "T meituan", "G group_buy"):
        assert legend in drawn
    assert drawn.count("A") > 10  # the app's line, not just its legend
