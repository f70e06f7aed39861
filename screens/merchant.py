"""The merchant's screen: their own warehouse, what a store works on and nothing of the desk's.

Its orders by stage (the lanes a store sees: paid, picking, out of stock, returning; live from
the stream), its stock per SKU with the backend's `low_stock` warnings, its loss rate by SKU
over a window, and the restock suggestions (`widgets/restock_table.py`, mounted in
`#restock-pane` once it is known whose warehouse this is). Wide terminals
(120x30 and up) show every pane at once; narrower ones show the strip of counts and the pane in
focus, moved with the arrows.

Stock and losses are read over REST (`warehouses.stock`, `warehouses.losses`), in named
workers: stock again after the orders move (a payment reserves, a dispatch takes off the shelf)
at most every `STOCK_EVERY_S`, and every `STOCK_STALE_S` anyway (a hand adjustment elsewhere);
the losses when the window changes and every `LOSSES_EVERY_S`.
"""

from __future__ import annotations

import logging
import time

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widget import Widget
from textual.widgets import Footer, Static

from backend_client import FreshlineError
from backend_client.models import StockLevel, WarehouseLosses
from console.host import client_of
from console.store import Changes, Lane
from console.store_front import (
    LOSS_WINDOWS,
    StockLine,
    loss_summary,
    percent,
    stock_lines,
    warnings_of,
)
from screens.acting import act_on_orders
from screens.guard import LiveScreen
from screens.stock_dialog import AdjustDialog
from widgets.lane import LaneView
from widgets.live_text import LiveText
from widgets.restock_table import RestockTable
from widgets.stock_table import LossTable, StockTable
from widgets.top_bar import TopBar

log = logging.getLogger(__name__)

COMPACT_WIDTH, COMPACT_HEIGHT = 120, 30
STOCK_EVERY_S = 1.0
STOCK_STALE_S = 30.0
LOSSES_EVERY_S = 300.0

LANES: dict[Lane, tuple[str, str]] = {
    Lane.NEW: ("Paid", "Paid"),
    Lane.PICKING: ("Picking", "Pick"),
    Lane.SHORT: ("Out of stock", "Short"),
    Lane.EXCEPTION: ("Returning", "Ret"),
}
"""The board's lanes a store's orders fall in (its stage scope: paid, picking, out of stock,
returning), with the store's names for them, long and short."""
PANES = (*(f"lane-{lane.value}" for lane in LANES), "stock-pane", "losses-pane", "restock-pane")
"""Every pane, in the order the arrows move through them."""


class MerchantScreen(LiveScreen):
    """One warehouse, as its store works it: orders by stage, stock and warnings, losses."""

    DEFAULT_CSS = """
    MerchantScreen #strip { height: 1; padding: 0 1; background: $surface; }
    MerchantScreen #panes { height: 1fr; layout: grid; grid-size: 3 4; grid-gutter: 0 1; }
    MerchantScreen #stock-pane { row-span: 4; }
    MerchantScreen #losses-pane, MerchantScreen #restock-pane { row-span: 2; }
    MerchantScreen .pane { border: round $panel-lighten-2; height: 1fr; }
    MerchantScreen .pane:focus-within { border: round $accent; }
    MerchantScreen .pane > DataTable { height: 1fr; }
    MerchantScreen #restock-placeholder { color: $text-muted; padding: 0 1; }
    MerchantScreen.-compact #panes { layout: vertical; }
    MerchantScreen.-compact #panes > * { display: none; }
    MerchantScreen.-compact #panes > .-current { display: block; }
    """
    BINDINGS = [
        Binding(
            "right", "pane(1)", "Pane", key_display="→", tooltip="Next pane", id="merchant.next"
        ),
        Binding(
            "left",
            "pane(-1)",
            "Pane",
            key_display="←",
            tooltip="Previous pane",
            id="merchant.previous",
        ),
        Binding(
            "t", "act", "Act", tooltip="Act on the order or the marked ones", id="merchant.act"
        ),
        Binding(
            "a",
            "adjust_stock",
            "Adjust",
            tooltip="Add or write off units of the SKU under the cursor",
            id="merchant.adjust",
        ),
        Binding(
            "w",
            "window",
            "Window",
            tooltip="The loss rate over 24 h, 7 or 30 days",
            id="merchant.window",
        ),
        Binding("ctrl+r", "reload", "Reload", show=False, id="merchant.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: set[int] = set()
        self.views: dict[Lane, LaneView] = {}
        self.current = PANES[0]
        self.window = 1
        """Index in `LOSS_WINDOWS` of the loss rate's window."""
        self.levels: list[StockLevel] = []
        self.lines: list[StockLine] = []
        """The stock table's rows as drawn."""
        self.losses: WarehouseLosses | None = None
        self._stock_dirty = True
        self._stock_at = 0.0
        self._losses_at = 0.0
        self._ticked = 0.0

    @property
    def warehouse_id(self) -> str:
        me = self.host.me
        return (me.warehouse_id or "") if me is not None else ""

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar("store")
        yield LiveText(id="strip")
        self.views = {
            lane: LaneView(lane, self.store, self.marks, id=f"lane-{lane.value}") for lane in LANES
        }
        stock, losses = StockTable(id="stock"), LossTable(id="losses")
        # In grid order: the lanes down the first column, stock the second, losses over the
        # restock suggestions in the third (see the row spans in the CSS).
        with Container(id="panes"):
            yield self.views[Lane.NEW]
            with Vertical(id="stock-pane", classes="pane"):
                yield stock
            with Vertical(id="losses-pane", classes="pane"):
                yield losses
            yield self.views[Lane.PICKING]
            yield self.views[Lane.SHORT]
            with Vertical(id="restock-pane", classes="pane"):
                yield Static("reading suggestions once signed in...", id="restock-placeholder")
            yield self.views[Lane.EXCEPTION]
        yield Footer()

    def on_mount(self) -> None:
        for view in self.views.values():
            view.zone = self.zone
        self.query_one("#stock-pane").border_title = "Stock"
        self.query_one("#restock-pane").border_title = "Restock suggestions"
        self._title_losses()
        self._set_current(self.current)
        self.show_changes(Changes(reloaded=True))
        self.set_interval(STOCK_EVERY_S, self._poll, name="merchant-poll")
        self.ready = True

    def on_screen_resume(self) -> None:
        self.show_changes(Changes(reloaded=True))

    def on_resize(self) -> None:
        compact = self.size.width < COMPACT_WIDTH or self.size.height < COMPACT_HEIGHT
        self.set_class(compact, "-compact")
        self._draw_strip()

    # --- the orders, from the store -------------------------------------------------------------

    def show_changes(self, changes: Changes) -> None:
        """Redraw what changed (the app's bounded tick): the lanes, and warnings with alerts."""
        now = self.store.clock.now()
        if changes.reloaded and self.warehouse_id:
            self.query_one(TopBar).title = f"{self.warehouse_id} store"
        dirty = set(LANES) if changes.reloaded else set(changes.lanes) & set(LANES)
        for lane in dirty:
            view = self.views[lane]
            view.show(self.store.lane_ids(lane), now)
        if time.monotonic() - self._ticked >= 1.0:
            self._ticked = time.monotonic()
            for view in self.views.values():
                view.tick(now)
        for lane, view in self.views.items():
            total, late = self.store.lane_counts(lane)
            view.set_header(f"{LANES[lane][0]}  {total}", f"{late} late" if late else "")
            view.counts = (total, late)
        if changes.reloaded or changes.lanes or changes.orders:
            self._stock_dirty = True  # payments reserve, dispatches take off the shelf
        if changes.reloaded or changes.alerts:
            self._draw_stock()
        self._draw_strip()

    def _draw_strip(self) -> None:
        if not self.views:
            return
        narrow = self.size.width < COMPACT_WIDTH
        text = Text()
        if not narrow:
            text.append(f"{self.warehouse_id} ", style="bold")
        for lane, view in self.views.items():
            total, late = view.counts
            current = self.current == view.id
            text.append("▸" if current else " ")
            name = LANES[lane][1 if narrow else 0]
            text.append(f"{name} {total}", style="bold underline" if current else "")
            if late:
                text.append(f" !!{late}", style="bold reverse")
            text.append(" │", style="dim")
        warned = sum(1 for line in self.lines if line.warning is not None)
        current = self.current == "stock-pane"
        text.append("▸" if current else " ")
        text.append("Stock", style="bold underline" if current else "")
        if warned:
            text.append(f" !!{warned} low", style="bold reverse")
        text.append(" │", style="dim")
        current = self.current == "losses-pane"
        text.append("▸" if current else " ")
        label = LOSS_WINDOWS[self.window][1]
        rate = percent(self.losses.loss_rate) if self.losses is not None else "…"
        text.append(f"Loss {rate}" if narrow else f"Loss {label} {rate}")
        if current:
            text.stylize("bold underline", len(text) - len(f"Loss {rate}"))
        if self.current == "restock-pane":
            text.append(" │ ▸Restock", style="bold")
        if self.marks:
            text.append(f" marked {len(self.marks)}", style="bold")
        self.query_one("#strip", LiveText).show(text)

    # --- stock and warnings ---------------------------------------------------------------------

    def _poll(self) -> None:
        now = time.monotonic()
        if not self.warehouse_id or self.host.client is None:
            return  # not signed in yet
        self._mount_restock()
        if (self._stock_dirty and now - self._stock_at >= STOCK_EVERY_S) or (
            now - self._stock_at >= STOCK_STALE_S
        ):
            self._stock_dirty = False
            self._stock_at = now
            self.fetch_stock()
        if now - self._losses_at >= LOSSES_EVERY_S:
            self._losses_at = now
            self.fetch_losses()

    @work(group="merchant-stock", exclusive=True, exit_on_error=False)
    async def fetch_stock(self) -> None:
        try:
            self.levels = await client_of(self.app).warehouses.stock(self.warehouse_id)
        except FreshlineError as exc:
            log.warning("stock of %s: %r", self.warehouse_id, exc)
            self.query_one("#stock-pane").border_subtitle = "not read: try ctrl+r"
            return
        self.query_one("#stock-pane").border_subtitle = ""
        self._draw_stock()

    def _draw_stock(self) -> None:
        warned = warnings_of(self.store.alerts.alerts.values(), self.warehouse_id)
        lines = stock_lines(self.levels, warned)
        self.query_one(StockTable).show(lines)
        self.lines = lines
        low = sum(1 for line in lines if line.warning is not None)
        title = f"Stock  {len(lines)} SKUs"
        self.query_one("#stock-pane").border_title = title + (f" · !!{low} low" if low else "")
        self._draw_strip()

    def stock_under_cursor(self) -> StockLine | None:
        return self.query_one(StockTable).under_cursor()

    def action_adjust_stock(self) -> None:
        line = self.stock_under_cursor() if self.current == "stock-pane" else None
        if line is None:
            self.notify("Choose a SKU in the stock pane first (→ to it).", severity="warning")
            return
        self._adjust(line)

    @work(group="merchant-adjust", exclusive=True, exit_on_error=False)
    async def _adjust(self, line: StockLine) -> None:
        answer = await self.app.push_screen_wait(AdjustDialog(line))
        if answer is None:
            return
        delta, reason = answer
        try:
            level = await client_of(self.app).warehouses.adjust_stock(
                self.warehouse_id, line.sku, delta, reason
            )
        except FreshlineError as exc:
            self.notify(str(exc), title=f"{line.sku}: not adjusted", severity="error")
            return
        self.notify(f"{line.sku}: {level.on_hand} on hand, {level.available} available.")
        self.levels = [level if held.sku == level.sku else held for held in self.levels]
        self._draw_stock()
        # Read again: a read already on its way may have left before the adjustment, and
        # starting this one (exclusive) cancels it.
        self._stock_at = time.monotonic()
        self.fetch_stock()
        self.fetch_losses()  # a write-off is a loss

    # --- losses ---------------------------------------------------------------------------------

    @work(group="merchant-losses", exclusive=True, exit_on_error=False)
    async def fetch_losses(self) -> None:
        length, _ = LOSS_WINDOWS[self.window]
        # Up to the server's own now (the default end): the console's clock, anchored to the
        # server's now and then, may be a little behind it, and the last write-off with it.
        start = self.store.clock.now() - length
        try:
            losses = await client_of(self.app).warehouses.losses(self.warehouse_id, start=start)
        except FreshlineError as exc:
            log.warning("losses of %s: %r", self.warehouse_id, exc)
            self.query_one("#losses-pane").border_subtitle = "not read: try ctrl+r"
            return
        self.losses = losses
        self.query_one("#losses-pane").border_subtitle = ""
        self.query_one(LossTable).show(losses)
        self._title_losses()
        self._draw_strip()

    def _title_losses(self) -> None:
        self.query_one("#losses-pane").border_title = loss_summary(
            self.losses, LOSS_WINDOWS[self.window][1]
        )

    def action_window(self) -> None:
        self.window = (self.window + 1) % len(LOSS_WINDOWS)
        self.losses = None
        self._title_losses()
        self.query_one(LossTable).show(None)
        self._losses_at = time.monotonic()
        self.fetch_losses()

    # --- panes, orders ----------------------------------------------------------------------------

    def _set_current(self, pane: str) -> None:
        self.current = pane
        for child in self.query_one("#panes").children:
            child.set_class(child.id == pane, "-current")
        target = self.query_one(f"#{pane}")
        focusable: Widget | None = target if target.focusable else None
        if focusable is None:
            focusable = next((w for w in target.query("*") if w.focusable), None)
        if focusable is not None:
            self.set_focus(focusable)
        self._draw_strip()

    def action_pane(self, step: int) -> None:
        self._set_current(PANES[(PANES.index(self.current) + step) % len(PANES)])

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        pane = next((n.id for n in event.widget.ancestors_with_self if n.id in PANES), None)
        if pane is not None and pane != self.current:
            self.current = pane
            for child in self.query_one("#panes").children:
                child.set_class(child.id == pane, "-current")
            self._draw_strip()

    @on(LaneView.MarkToggled)
    def _mark(self, event: LaneView.MarkToggled) -> None:
        self.marks.symmetric_difference_update({event.item_id})
        for view in self.views.values():
            view.refresh()
        self._draw_strip()

    @on(LaneView.Opened)
    def _open(self, event: LaneView.Opened) -> None:
        self.host.open_order(event.item_id)

    def action_act(self) -> None:
        marked = sorted(i for i in self.marks if i in self.store.orders)
        lane = next((lane for lane, v in self.views.items() if v.id == self.current), None)
        under = self.views[lane].current if lane is not None else None
        chosen = marked or ([under] if under is not None else [])
        if not chosen:
            self.notify("No order under the cursor and none marked.", severity="warning")
            return
        self._act(chosen)

    @work(group="act", exclusive=True, exit_on_error=False)
    async def _act(self, order_ids: list[int]) -> None:
        await act_on_orders(self, order_ids)

    def _mount_restock(self) -> None:
        """The warehouse's restock suggestions, once the signed-in account names it (the
        table reads them itself; `r` on it reads them again)."""
        pane = self.query_one("#restock-pane")
        if pane.query(RestockTable) or self.host.client is None:
            return
        pane.query("#restock-placeholder").remove()
        pane.mount(RestockTable(self.host.client, self.warehouse_id, id="restock"))

    def action_reload(self) -> None:
        self.host.reload_feed()
        for table in self.query(RestockTable):
            table.load()
        self._stock_at = time.monotonic()
        self.fetch_stock()
        self._losses_at = time.monotonic()
        self.fetch_losses()
