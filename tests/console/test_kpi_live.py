"""The KPI screen and the board summary against a real backend, at the sizes issue 26 names: each
figure read from the API and from the screen, and found equal (the day's orders and trouble,
the window's orders, the channels; a card's orders and the rest it counts)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widget import Widget
from textual.widgets import DataTable, Digits

from backend_client import FreshlineClient, StreamState
from backend_client.models import (
    KpiExceptions,
    KpiSeries,
    KpiSummary,
    OrderState,
    SensorReading,
)
from console.app import FreshlineApp
from console.sensor_words import order_sensor_rows
from console.store import Lane
from screens.board_summary import BoardSummaryScreen, LaneCard
from screens.kpi import KpiScreen
from screens.order_detail import OrderDetailScreen
from tests.console.conftest import until
from tests.stream_support import Actors, LiveServer
from widgets.kpi_chart import KpiChart, day_orders
from widgets.kpi_trouble import TroubleList

pytestmark = pytest.mark.slow  # the console against a real backend

BEIJING = ZoneInfo("Asia/Shanghai")  # the demo backend's business time zone


def lines_of(widget: Widget) -> list[str]:
    """The rows of a widget in sight (inside its parent), as plain text."""
    assert widget.parent is not None and isinstance(widget.parent, Widget)
    seen = widget.region.intersection(widget.parent.content_region)
    drawn = [strip.text for strip in widget.render_lines(widget.outer_size.region)]
    return drawn[: seen.height]


async def api_day(client: FreshlineClient) -> tuple[KpiSeries, KpiExceptions, KpiSummary]:
    """The business day so far and the last hour, as the API answers them."""
    now = (await client.health()).time
    local = now.astimezone(BEIJING)
    midnight = datetime(local.year, local.month, local.day, tzinfo=BEIJING)
    if now - midnight < timedelta(minutes=15):  # the feed's rule just after midnight
        midnight = now - timedelta(days=1)
    series = await client.kpi.series(start=midnight, end=now, bucket_minutes=15)
    exceptions = await client.kpi.exceptions(start=midnight, end=now)
    summary = await client.kpi.summary(start=now - timedelta(minutes=60), end=now)
    return series, exceptions, summary


async def kpi_console(
    backend: LiveServer, actors: Actors, size: tuple[int, int]
) -> tuple[FreshlineApp, Any]:
    """The console as a supervisor on the backend's business zone, and its Pilot run."""
    app = FreshlineApp(
        server=backend.base_url, token=await actors.token("supervisor"), zone=BEIJING
    )
    return app, app.run_test(size=size)


async def test_the_kpi_screen_shows_the_apis_day_and_hour(
    backend: LiveServer, actors: Actors
) -> None:
    app, running = await kpi_console(backend, actors, (200, 50))
    async with running as pilot:
        await until(pilot, lambda: app.store.connection.state == StreamState.LIVE, "live")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        await until(pilot, lambda: app.store.kpi.day_at is not None, "the first day")
        # Orders come after the console fetched its day (the demo at 11:41: "no orders yet
        # today" under an Orders tile of 9).
        for channel_user in ("channel-app", "channel-app", "channel-meituan"):
            await actors.create(channel_user=channel_user)
        short = await actors.picking()
        dispatcher = await actors("dispatcher")
        await dispatcher.orders.transition(
            short.id, "report_out_of_stock", short.version, reason="VEG-BOKCHOY: wilted"
        )
        supervisor = await actors("supervisor")
        series, exceptions, summary = await api_day(supervisor)
        total = sum(b.figures.orders for b in series.buckets)
        assert total >= 4 and summary.current.orders >= 4
        screen = app.screen
        chart = screen.query_one("#orders-chart", KpiChart)
        tile = screen.query_one("#tile-orders").query_one(Digits)
        await until(
            pilot,
            lambda: chart.border_title == f"Orders per hour by channel, today: {total}",
            "the day's orders on the chart",
            within=30,  # the stream pushes a summary every few seconds; the day follows it
        )
        await until(pilot, lambda: tile.value == str(summary.current.orders), "the tile")
        # The hours run from the first hour with orders to now, on the business clock.
        day = day_orders(series, BEIJING)
        assert app.store.kpi.series is not None
        assert day_orders(app.store.kpi.series, BEIJING).hours == day.hours
        first = next(b for b in series.buckets if b.figures.orders)
        assert day.hours[0] == f"{first.start.astimezone(BEIJING):%H}"
        assert day.hours[-1] == f"{series.buckets[-1].start.astimezone(BEIJING):%H}"
        # Trouble: the count the API gives, the goods by name, the reason whole.
        trouble = screen.query_one("#trouble-chart", TroubleList)
        wilted = next(r for r in exceptions.by_reason if r.reason == "VEG-BOKCHOY: wilted")
        assert wilted.sku_name == "Bok choy"

        row = re.compile(rf"│ +{wilted.count} █+ +out of stock: Bok choy: wilted +│")
        # (`│`: the border; the reason is whole, with the goods by name and the API's count)

        def trouble_row() -> bool:
            return any(row.fullmatch(line) for line in lines_of(trouble))

        await until(pilot, trouble_row, "the shortage on the trouble list", within=30)
        entries = sum(exceptions.by_state.values())
        assert trouble.border_title == f"Trouble by reason, today: {entries}"


async def test_at_80x24_the_channels_read_as_the_api_and_the_charts_are_announced(
    backend: LiveServer, actors: Actors
) -> None:
    for channel_user in ("channel-app", "channel-meituan"):
        await actors.create(channel_user=channel_user)
    app, running = await kpi_console(backend, actors, (80, 24))
    async with running as pilot:
        await until(pilot, lambda: app.store.connection.state == StreamState.LIVE, "live")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        _series, _exceptions, summary = await api_day(await actors("supervisor"))
        table = app.screen.query_one("#channels", DataTable)
        await until(pilot, lambda: table.row_count == len(summary.by_channel), "the channels")

        def rate(value: float | None, base: int) -> str:
            return "—" if value is None else f"{value * 100:.0f}% of {base}"

        for entry in summary.by_channel:
            f = entry.figures
            row = table.get_row(str(entry.channel))
            assert row[:4] == [
                str(entry.channel),
                str(f.orders),
                rate(f.fulfilment_rate, f.due),
                rate(f.on_time_rate, f.signed),
            ]
            if f.fulfilment_rate is None:  # nothing promised in the window yet: no 100 %
                assert row[2] == "—"
        below = app.screen.query_one("#below")
        await until(pilot, lambda: below.has_class("-shown"), "the line naming what is below")
        assert "orders/hour, on time, trouble" in lines_of(below)[0]


@pytest.mark.parametrize("size", [(200, 50), (80, 24)])
async def test_the_board_summary_lists_as_many_orders_as_its_cards_hold(
    backend: LiveServer, actors: Actors, size: tuple[int, int]
) -> None:
    for _ in range(30):
        await actors.create()
    supervisor = await actors("supervisor")
    new = [o async for o in supervisor.orders.every(status=[OrderState.CREATED, OrderState.PAID])]
    app, running = await kpi_console(backend, actors, size)
    async with running as pilot:
        await until(pilot, lambda: app.store.connection.state == StreamState.LIVE, "live")
        await app.switch_mode("summary")
        await until(pilot, lambda: isinstance(app.screen, BoardSummaryScreen), "the summary")
        card = app.screen.query_one(f"#card-{Lane.NEW.value}", LaneCard)
        digits = card.query_one(Digits)
        await until(pilot, lambda: digits.value == str(len(new)), "the API's count on the card")
        rows = card.content_size.height - 4  # under the digits (3) and the late line (1)
        orders = card.query_one("#orders")

        def listed() -> list[str]:
            return [line for line in lines_of(orders) if line.strip()]

        await until(pilot, lambda: len(listed()) == rows, "every row of the card used")
        lines = listed()
        if rows == 1:  # one row: the most urgent order, the digits count the rest
            assert int(re.search(r"\d+", lines[0]).group()) in {o.id for o in new}  # type: ignore[union-attr]
            return
        more = lines[-1].split()
        assert more[0] == "…" and more[2] == "more", lines
        assert len(lines) - 1 + int(more[1]) == len(new)
        ids = {o.id for o in new}
        assert all(int(re.search(r"\d+", line).group()) in ids for line in lines[:-1])  # type: ignore[union-attr]


async def test_the_order_and_the_kpi_screen_show_what_the_sensors_read(
    backend: LiveServer, actors: Actors
) -> None:
    order = await actors.picking()
    merchant = await actors("merchant-wh-cy")
    now = (await merchant.health()).time
    reading = SensorReading(order_id=order.id, celsius=5.5, humidity=40.0, at=now)
    assert (await merchant.sensors.send([reading])).accepted == 1
    supervisor = await actors("supervisor")
    read = await supervisor.sensors.of_order(order.id)
    assert read.humidity is not None and read.humidity.value == 40.0
    app, running = await kpi_console(backend, actors, (200, 50))
    async with running as pilot:
        await until(pilot, lambda: app.store.connection.state == StreamState.LIVE, "live")
        app.open_order(order.id)
        await until(
            pilot,
            lambda: isinstance(app.screen, OrderDetailScreen) and app.screen.sensors is not None,
            "the order's sensors",
        )
        people = app.screen.query_one("#people-text")
        # The API's figure, where it was read and the band, beside its label.
        expected = [
            rf"{label} +{re.escape(words.plain[:30])}"
            for label, words in order_sensor_rows(read, BEIJING)
        ]

        def shown_rows() -> str:
            return "\n".join(lines_of(people))

        # The grid is laid out again once the readings have grown it: wait for that redraw.
        await until(
            pilot,
            lambda: all(re.search(row, shown_rows()) for row in expected),
            "the sensor rows in sight",
        )
        shown = shown_rows()
        assert "!! 40 %" in shown  # too dry for every class of goods: flagged in words
        await pilot.press("escape")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen), "the KPI screen")
        line = app.screen.query_one("#sensors")
        summary = await supervisor.kpi.summary(
            start=now - timedelta(minutes=60), end=(await supervisor.health()).time
        )
        assert summary.sensors is not None and summary.sensors.humidity_min == 40.0
        want = f"humidity {summary.sensors.humidity_min:g}-{summary.sensors.humidity_max:g} %"
        await until(pilot, lambda: want in "".join(lines_of(line)), "the sensors on the KPIs")
