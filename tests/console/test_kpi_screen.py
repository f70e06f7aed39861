"""The KPI screen: snapshots in every theme (frozen clock, fixed size, a KPI board filled by
hand), at 80x24, and with stale numbers; Pilot tests of `enter` on a tile and on a channel
opening the board filtered to it; the tile and staleness wording without colour."""

from __future__ import annotations

import re
import time
from zoneinfo import ZoneInfo

import pytest
from textual.renderables.digits import Digits as DigitsText
from textual_plotext.plot import Plot

from backend_client import StreamState, StreamStatus
from backend_client.models import Channel, KpiBucket, KpiSeries, Role
from console.app import FreshlineApp
from console.store import FrozenClock, Lane, Store
from screens.board import BoardScreen
from screens.kpi import ONE_ROW_WIDTH, OPENS, SECTIONS, TILES, KpiScreen, channel_row
from tests.console import kpi_samples as sample
from tests.console.conftest import until
from tests.console.samples import me_as
from themes import THEMES
from widgets.filter_bar import FilterBar
from widgets.kpi_chart import (
    Painter,
    day_orders,
    day_quality,
    day_quality_figures,
    orders_by_hour,
    orders_legend,
    quality_title,
)
from widgets.kpi_tile import change_text, value_text
from widgets.kpi_trouble import reason_words, trouble_title
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


@pytest.mark.parametrize("width", [80, 120, 153, 160])
async def test_every_tile_has_room_for_its_widest_figure(width: int) -> None:
    app = kpi_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        screen = app.screen
        assert isinstance(screen, KpiScreen)
        two_rows = width < ONE_ROW_WIDTH
        await until(
            pilot,
            lambda: (
                screen.has_class("-two-rows") == two_rows
                and all(tile.content_region.width > 0 for tile in screen.tiles.values())
            ),
            "the tiles laid out for the width",
        )
        widest = DigitsText.get_width("100.0%")
        for tile in screen.tiles.values():
            assert tile.content_region.width >= widest, (width, tile.id)


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


def plotted(painter: Painter, width: int = 100, height: int = 20) -> list[str]:
    """What a painter draws, as plain lines (plotext's colour codes taken out)."""
    plot = Plot()
    plot.plotsize(width, height)
    painter(plot, lambda _variable: (200, 200, 200), True)
    return re.sub(r"\x1b\[[0-9;]*m", "", plot.build()).splitlines()


def test_without_colour_the_orders_chart_draws_a_lettered_line_per_channel() -> None:
    day = day_orders(sample.series(), BEIJING)
    assert orders_legend(day) == "A app M mini_program T meituan E eleme S store G group_buy"
    drawn = "\n".join(plotted(orders_by_hour(sample.series(), BEIJING)))
    assert drawn.count("A") > 10  # the app's line
    assert "A app" not in drawn  # the legend is under the chart, in words, not in the plot


def test_the_hourly_chart_runs_from_the_first_order_of_the_day_to_now() -> None:
    """The night before the first order is not drawn (an axis from 00 to 13, almost all empty);
    hours are the business zone's."""
    series = sample.series()
    day = day_orders(series, BEIJING)
    first = next(b for b in series.buckets if b.orders_by_channel)
    assert day.hours[0] == f"{first.start.astimezone(BEIJING):%H}" == "06"
    assert day.hours[-1] == "12"  # now is 12:30 in Beijing
    assert day.total == sum(sum(b.orders_by_channel.values()) for b in series.buckets)
    assert day_orders(series, ZoneInfo("America/New_York")).hours[0] == "17"  # the day before


def left_axis(lines: list[str]) -> list[float]:
    """The labels of a plot's left axis, top to bottom."""
    return [float(m.group(1)) for line in lines if (m := re.match(r"\s*([\d.]+)┤", line))]


def test_the_on_time_axis_stops_at_100_percent() -> None:
    """Every order on time: plotext's own scale ran the axis to 150 %."""
    buckets = [
        KpiBucket(
            start=b.start,
            figures=sample.figures(4, on_time=1.0, fulfil=1.0, minutes=30 + n % 3),
            orders_by_channel={"app": 4},
        )
        for n, b in enumerate(sample.series().buckets[-3:])
    ]
    series = KpiSeries(window=sample.series().window, bucket_minutes=15, buckets=buckets)
    lines = plotted(day_quality(series, BEIJING), 80, 20)
    axis = left_axis(lines)
    assert max(axis) == 100 and min(axis) == 0
    assert not any("L " in line or "⅃" in line for line in lines)  # no plotext legend
    assert quality_title(day_quality_figures(series)) == (
        "On time today: 100.0% of 12 signed; delivery minutes"
    )


def test_trouble_reads_whole_with_counts_and_goods_by_name() -> None:
    exceptions = sample.exceptions()
    words = [reason_words(row) for row in exceptions.by_reason]
    assert "out of stock: Spinach: the last units failed the freshness check" in words
    assert trouble_title(exceptions) == "Trouble by reason, today: 36"


async def test_trouble_by_reason_on_screen_matches_the_figures() -> None:
    app = kpi_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        shown = screen_text(app)
        for row in sample.exceptions().by_reason:
            # The count, the bar and the reason in full on one line (200 columns).
            assert re.search(rf"{row.count} █+ +{re.escape(reason_words(row))}", shown), row
        assert "VEG-SPINACH" not in shown
        assert "9              other reasons" in shown  # returns without a reason row


def screen_text(app: FreshlineApp) -> str:
    """What the KPI screen shows in sight, as plain text (the body's parts, and the line under
    it), line by line; parts scrolled out of sight are left out."""
    screen = app.screen
    body = screen.query_one("#body").region
    parts = [screen.query_one(selector) for selector, _name in SECTIONS]
    parts.append(screen.query_one("#below"))
    lines = []
    for part in parts:
        in_sight = part.id == "below" or body.overlaps(part.region)
        if part.display and part.region.height and in_sight:
            lines += [strip.text for strip in part.render_lines(part.size.region.reset_offset)]
    return "\n".join(lines)


def test_channel_rates_over_nothing_read_as_a_dash_and_say_their_base() -> None:
    none = sample.figures(0, on_time=0.0, fulfil=0.0, minutes=0.0, due=0, signed=0)
    assert channel_row(Channel.STORE, none)[2:] == ("—", "—", "—", "—", "—", "—")
    one = none.model_copy(
        update={
            **{"due": 1, "fulfilled": 1, "fulfilment_rate": 1.0},
            **{"signed": 1, "on_time": 1, "on_time_rate": 1.0},
            **{"delivery_minutes_avg": 14.5, "delivery_minutes_p90": 14.5},
        }
    )
    # The row of the issue: no orders created, one promised and signed: not "0  100.0%".
    assert channel_row(Channel.STORE, one) == (
        "store", "0", "100% of 1", "100% of 1", "14.5", "14.5", "—", "—"
    )  # fmt: skip


async def test_at_80x24_a_line_names_what_is_below_until_it_is_in_sight() -> None:
    app = kpi_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        await until(
            pilot,
            lambda: "↓ below: channels, orders/hour, on time, trouble (pgdn)" in screen_text(app),
            "the line saying what is below",
        )
        for _ in range(6):
            await pilot.press("pagedown")
        await until(pilot, lambda: "↓ below" not in screen_text(app), "the line gone at the end")
        assert "Trouble by reason, today: 36" in screen_text(app)
    app = kpi_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        await pilot.press("4")
        await until(pilot, lambda: "Trouble by reason, today: 36" in screen_text(app), "all")
        assert "↓ below" not in screen_text(app)
