"""The KPI screen (`4`): big-number tiles with the change against the previous window, the
channels side by side, and the day in charts (orders per hour by channel, on-time rate and
delivery minutes, trouble by reason). Tiles and channels open the board filtered to them;
`f` narrows every number to one warehouse or one zone.

Numbers come from the store's KPI board (pushed on the stream, fetched by `console.kpi_feed`
when pushes stop); when they are old, a banner says how old and why, and the digits dim.
"""

from __future__ import annotations

import dataclasses
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer

from backend_client.models import Channel, KpiFigures, KpiSummary
from console.complaint_words import kpi_complaint_line
from console.sensor_words import kpi_sensor_line, sensor_alerts
from console.store import Changes, KpiScope, Lane, OrderFilter, Store
from screens.dialogs import ChoiceDialog
from screens.guard import LiveScreen
from widgets.kpi_chart import (
    QUALITY_LEGEND,
    KpiChart,
    day_orders,
    day_quality,
    day_quality_figures,
    orders_by_hour,
    orders_legend,
    orders_title,
    quality_title,
)
from widgets.kpi_tile import KpiTile, TileSpec
from widgets.kpi_trouble import TroubleList
from widgets.live_text import LiveText
from widgets.stale_banner import StaleBanner, kpi_staleness
from widgets.top_bar import TopBar

TILES = (
    TileSpec("orders", "Orders", "orders", "n", None),
    TileSpec("fulfilment", "Fulfilment", "fulfilment_rate", "%", "higher"),
    TileSpec("on_time", "On time", "on_time_rate", "%", "higher"),
    TileSpec("minutes", "Delivery min", "delivery_minutes_avg", "min", "lower"),
    TileSpec("p90", "p90 min", "delivery_minutes_p90", "min", "lower"),
    TileSpec("loss", "Loss", "loss_rate", "%", "lower"),
    TileSpec("exceptions", "Exceptions", "exception_rate", "%", "lower"),
    TileSpec("utilisation", "Riders busy", "rider_utilisation", "%", None),
)

OPENS: dict[str, tuple[OrderFilter, Lane | None]] = {
    "orders": (OrderFilter(), Lane.NEW),
    "fulfilment": (OrderFilter(late_only=True), None),
    "on_time": (OrderFilter(late_only=True), Lane.DELIVERING),
    "minutes": (OrderFilter(), Lane.DELIVERING),
    "p90": (OrderFilter(late_only=True), Lane.DELIVERING),
    "loss": (OrderFilter(), Lane.SHORT),
    "exceptions": (OrderFilter(), Lane.EXCEPTION),
    "utilisation": (OrderFilter(), Lane.DELIVERING),
}
"""What `enter` on each tile opens: the board, narrowed to what the figure is about."""

COMPACT_WIDTH = 120
TILE_WIDTH = 14 + 2 + 2
"""A tile's columns for its widest figure, "100.0%" in `Digits` (14), with padding and border."""
ONE_ROW_WIDTH = 8 * TILE_WIDTH + 7 + 2
"""Below this the eight tiles take two rows of four, so no figure loses a digit or its unit."""
SECTIONS = (
    ("#channels", "channels"),
    ("#orders-chart", "orders/hour"),
    ("#quality-chart", "on time"),
    ("#trouble-chart", "trouble"),
)
"""What the hint under a short terminal names when it is out of sight."""
CHANNEL_COLUMNS = ("channel", "orders", "fulfil", "on time", "mean", "p90", "loss", "exc")


NONE = "—"
"""A rate over nothing, or minutes of no delivery: not 0, not 100 %."""


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def _rate_of(value: float | None, whole: int) -> str:
    """A rate whose base is not the orders column beside it, with that base: `100% of 1`
    (fulfilment counts orders promised in the window, on time those signed in it)."""
    return NONE if value is None or not whole else f"{value * 100:.0f}% of {whole}"


def _min(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def channel_row(channel: Channel, f: KpiFigures) -> tuple[str, ...]:
    return (
        str(channel),
        str(f.orders),
        _rate_of(f.fulfilment_rate, f.due),
        _rate_of(f.on_time_rate, f.signed),
        _min(f.delivery_minutes_avg),
        _min(f.delivery_minutes_p90),
        _pct(f.loss_rate),
        _pct(f.exception_rate),
    )


class KpiScreen(LiveScreen):
    """Tiles, channels and charts; enter opens the board on what was chosen."""

    DEFAULT_CSS = """
    KpiScreen #window { height: 1; padding: 0 1; color: $text-muted; }
    KpiScreen #sensors { height: auto; padding: 0 1; }
    KpiScreen #complaints { height: auto; padding: 0 1; display: none; }
    KpiScreen #complaints.-shown { display: block; }
    KpiScreen #body { height: 1fr; }
    KpiScreen #tiles { grid-size: 8; grid-gutter: 0 1; height: 6; padding: 0 1; }
    KpiScreen.-two-rows #tiles { grid-size: 4; height: 12; }
    KpiScreen .charts { height: 1fr; min-height: 14; padding: 0 1; }
    KpiScreen.-compact .charts { layout: vertical; height: auto; }
    KpiScreen.-compact KpiChart, KpiScreen.-compact TroubleList { height: 14; }
    KpiScreen #below { height: 1; padding: 0 1; display: none; }
    KpiScreen #trouble-chart { width: 1fr; }
    KpiScreen #below.-shown { display: block; background: $boost; text-style: bold; }
    KpiScreen #channels {
        width: 1fr; height: auto; max-height: 12; border: round $panel-lighten-2;
    }
    KpiScreen #channels:focus { border: round $accent; }
    KpiScreen #orders-chart { width: 1fr; }
    KpiScreen.-compact #channels { width: 1fr; }
    """
    BINDINGS = [
        Binding("right", "app.focus_next", "Next", show=False, id="kpi.next"),
        Binding("left", "app.focus_previous", "Previous", show=False, id="kpi.previous"),
        Binding("enter", "open", "Open", tooltip="The board, narrowed to it", id="kpi.open"),
        Binding("f", "narrow", "Narrow", tooltip="One warehouse or one zone", id="kpi.narrow"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="kpi.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, KpiTile] = {}
        self._day_shown: object = None
        self._checked = 0.0

    def compose(self) -> ComposeResult:
        yield TopBar("KPIs")
        yield StaleBanner()
        yield LiveText(id="window")
        yield LiveText(id="sensors")
        yield LiveText(id="complaints")
        with VerticalScroll(id="body"):
            self.tiles = {spec.key: KpiTile(spec) for spec in TILES}
            with Grid(id="tiles"):
                yield from self.tiles.values()
            with Horizontal(classes="charts"):
                table: DataTable[str] = DataTable(
                    id="channels", cursor_type="row", zebra_stripes=True
                )
                table.border_title = "Channels"
                yield table
                yield KpiChart("Orders per hour by channel, today", id="orders-chart")
            with Horizontal(classes="charts"):
                yield KpiChart("On time % and delivery minutes, today", id="quality-chart")
                yield TroubleList(id="trouble-chart")
        yield LiveText(id="below")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#channels", DataTable)
        for column in CHANNEL_COLUMNS:
            table.add_column(column, key=column)
        self.show_changes(Changes(reloaded=True))
        self.tiles[TILES[0].key].focus()
        body = self.query_one("#body", VerticalScroll)
        self.watch(body, "scroll_y", lambda _y: self._say_what_is_below(), init=False)
        self.ready = True

    def on_screen_resume(self) -> None:
        self.show_changes(Changes(reloaded=True))

    def on_resize(self) -> None:
        self.set_class(self.size.width < COMPACT_WIDTH, "-compact")
        self.set_class(self.size.width < ONE_ROW_WIDTH, "-two-rows")
        self.call_after_refresh(self._say_what_is_below)

    # --- drawing from the store ---------------------------------------------------------------

    def show_changes(self, changes: Changes) -> None:
        """Redraw from the KPI board when it changed; check its age once a second."""
        board = self.store.kpi
        if changes.kpi or changes.reloaded or changes.alerts:
            self._draw_sensors(board.summary)
        if changes.kpi or changes.reloaded:
            self._draw_summary(board.summary)
            self._draw_complaints(board.summary)
            self.call_after_refresh(self._say_what_is_below)  # rows came or went
            if board.series is not None and board.exceptions is not None:
                day = (id(board.series), id(board.exceptions))
                if day != self._day_shown or changes.reloaded:
                    self._day_shown = day
                    self._draw_day()
        now = time.monotonic()
        if changes.reloaded or changes.kpi or changes.connection or now - self._checked >= 1:
            self._checked = now
            self._check_age(now)

    def _say_what_is_below(self) -> None:
        """Name the parts the terminal cuts off (at 80x24 every chart is below the fold), or
        nothing when all is in sight."""
        body = self.query_one("#body", VerticalScroll)
        bottom = body.region.bottom
        hidden = [
            name
            for selector, name in SECTIONS
            if (part := self.query_one(selector)).region.bottom > bottom and part.region.height
        ]
        below = self.query_one("#below", LiveText)
        if hidden:
            below.show(f"↓ below: {', '.join(hidden)} (pgdn)")
        if below.has_class("-shown") != bool(hidden):
            below.set_class(bool(hidden), "-shown")
            self.call_after_refresh(self._say_what_is_below)  # the body's height changed

    def _draw_summary(self, summary: KpiSummary | None) -> None:
        current = summary.current if summary else None
        previous = summary.previous if summary else None
        for tile in self.tiles.values():
            tile.show(current, previous)
        self._draw_window(summary)
        table = self.query_one("#channels", DataTable)
        cursor = table.cursor_row
        table.clear()
        for entry in summary.by_channel if summary else []:
            table.add_row(*channel_row(entry.channel, entry.figures), key=str(entry.channel))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def _draw_sensors(self, summary: KpiSummary | None) -> None:
        """Temperature and humidity read in the window, and the sensor alerts standing now."""
        line = self.query_one("#sensors", LiveText)
        if summary is None:
            line.show("")
            return
        alerts = sensor_alerts(self.store.alerts.alerts.values())
        line.show(kpi_sensor_line(summary.sensors, alerts))

    def _draw_complaints(self, summary: KpiSummary | None) -> None:
        """Complaints per 100 delivered (a server without the complaint KPI: no line)."""
        line = self.query_one("#complaints", LiveText)
        complaints = summary.complaints if summary else None
        if complaints is not None:
            line.show(kpi_complaint_line(complaints))
        if line.has_class("-shown") != (complaints is not None):
            line.set_class(complaints is not None, "-shown")

    def _draw_window(self, summary: KpiSummary | None) -> None:
        zone = self.zone
        scope = self.store.kpi.scope
        only = Text.assemble((f"{scope.label} only", "bold reverse"), " ") if scope.active else ""
        if summary is None:
            self.query_one("#window", LiveText).show(
                Text.assemble(only, f"waiting for the KPIs of {scope.label}")
            )
            return
        w = summary.window
        minutes = round((w.end - w.start).total_seconds() / 60)
        start, end = w.start.astimezone(zone), w.end.astimezone(zone)
        text = Text.assemble(
            only,
            (f"Last {minutes} min ", "bold"),
            f"({start:%H:%M} to {end:%H:%M}) against the {minutes} min before",
            " · enter opens the board on a tile or a channel · f narrows",
        )
        self.query_one("#window", LiveText).show(text)

    def _draw_day(self) -> None:
        board = self.store.kpi
        zone = self.zone
        assert board.series is not None and board.exceptions is not None
        day = day_orders(board.series, zone)
        self.query_one("#orders-chart", KpiChart).paint(
            orders_by_hour(board.series, zone),
            title=orders_title(day),
            legend=orders_legend(day) if self.app.no_color else "",  # else: plotext's swatches
        )
        quality = day_quality_figures(board.series)
        self.query_one("#quality-chart", KpiChart).paint(
            day_quality(board.series, zone), title=quality_title(quality), legend=QUALITY_LEGEND
        )
        self.query_one("#trouble-chart", TroubleList).show(board.exceptions)

    def _check_age(self, now: float) -> None:
        zone = self.zone
        why = kpi_staleness(self.store.kpi, self.store.connection, now, zone)
        self.query_one(StaleBanner).say(why)
        for tile in self.tiles.values():
            tile.set_class(why is not None, "-stale")

    # --- opening the board --------------------------------------------------------------------

    @on(KpiTile.Opened)
    async def _tile_opened(self, event: KpiTile.Opened) -> None:
        order_filter, lane = OPENS[event.tile.spec.key]
        await self.open_board(order_filter, lane)

    @on(DataTable.RowSelected, "#channels")
    async def _channel_opened(self, event: DataTable.RowSelected) -> None:
        await self.open_board(OrderFilter(channel=str(event.row_key.value)), None)

    async def action_open(self) -> None:
        focused = self.focused
        if isinstance(focused, KpiTile):
            await self._tile_opened(KpiTile.Opened(focused))

    async def open_board(self, order_filter: OrderFilter, lane: Lane | None) -> None:
        from screens.board import BoardScreen

        scope = self.store.kpi.scope
        if scope.active:  # the board opens on what the numbers were about
            order_filter = dataclasses.replace(
                order_filter, warehouse_id=scope.warehouse_id, zone=scope.zone
            )

        await self.app.switch_mode("board")
        board = self.app.screen
        if isinstance(board, BoardScreen):
            board.show_filtered(order_filter, lane)

    def action_reload(self) -> None:
        self.host.reload_kpis()

    # --- narrowing ----------------------------------------------------------------------------

    @work(group="kpi-narrow", exclusive=True, exit_on_error=False)
    async def action_narrow(self) -> None:
        """Every number of one warehouse or one zone, or of everything again."""
        chosen = await self.app.push_screen_wait(
            ChoiceDialog("KPIs of", narrowing_choices(self.store))
        )
        if chosen is None:
            return
        kind, _, name = chosen.partition(":")
        scope = KpiScope(
            warehouse_id=name if kind == "warehouse" else None,
            zone=name if kind == "zone" else None,
        )
        self.store.narrow_kpis(scope)
        self.show_changes(Changes(reloaded=True))
        self.host.reload_kpis()


def narrowing_choices(store: Store) -> list[tuple[str, str]]:
    """Everything, then each warehouse and each zone the console knows of (the map's, else
    those of the orders held)."""
    warehouses = [place[0] for place in store.warehouses] or store.values_of("warehouse_id")
    zones = [zone[0] for zone in store.zones] or store.values_of("zone")
    return [
        ("all:", "Everything"),
        *((f"warehouse:{w}", f"Warehouse {w}") for w in sorted(warehouses)),
        *((f"zone:{z}", f"Zone {z}") for z in sorted(zones)),
    ]
