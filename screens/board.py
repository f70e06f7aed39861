"""The board: one swimlane per stage, the whole city at a glance, late orders first and loud.

Redraws only on the app's bounded tick, and only the lanes that changed (plus a once-a-second
pass for the clock). Wide terminals show every lane in a grid; narrow ones (under 120x30)
collapse to the counts strip plus the lane in focus.
"""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Footer, Input

from console.store import Changes, Lane, OrderFilter
from console.store.rewind import Tape
from screens.acting import act_on_orders
from screens.guard import LiveScreen
from themes import DOMAIN_DEFAULTS
from widgets.filter_bar import FilterBar
from widgets.lane import LaneView
from widgets.live_text import LiveText
from widgets.top_bar import TopBar

COMPACT_WIDTH, COMPACT_HEIGHT = 120, 30
THREE_COLUMNS_WIDTH = 180


class BoardScreen(LiveScreen):
    """Every open order by stage; enter opens one, space marks, t acts."""

    DEFAULT_CSS = """
    BoardScreen #strip { height: 1; padding: 0 1; background: $surface; }
    BoardScreen #lanes { layout: grid; grid-size: 2 3; grid-gutter: 0 1; height: 1fr; }
    BoardScreen.-wide #lanes { grid-size: 3 2; }
    BoardScreen.-compact #lanes { layout: vertical; }
    BoardScreen.-compact LaneView { display: none; }
    BoardScreen.-compact LaneView.-current { display: block; }
    """
    BINDINGS = [
        Binding("slash", "search", "Search", tooltip="Filter as you type", id="board.search"),
        Binding("f", "filters", "Filter", tooltip="Channel, warehouse, zone", id="board.filters"),
        Binding("l", "late_only", "Late only", tooltip="Show late orders only", id="board.late"),
        Binding(
            "right", "lane(1)", "Lane", key_display="→", tooltip="Next lane", id="board.next_lane"
        ),
        Binding(
            "left",
            "lane(-1)",
            "Lane",
            key_display="←",
            tooltip="Previous lane",
            id="board.prev_lane",
        ),
        Binding("t", "act", "Act", tooltip="Act on the order or the marked ones", id="board.act"),
        Binding("u", "unmark", "Unmark all", show=False, id="board.unmark"),
        Binding("escape", "back", "Back", show=False, id="board.back"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="board.reload"),
        Binding(
            "R",
            "rewind",
            "Rewind",
            show=False,  # in `?`; the footer at 160 columns has no room left (q would go)
            tooltip="The board at a past minute",
            id="board.rewind",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.order_filter = OrderFilter()
        self.marks: set[int] = set()
        self.current = Lane.NEW
        self.views: dict[Lane, LaneView] = {}
        """The lanes, built once and kept: every redraw reaches them without a DOM query."""
        self._filter_changed = True
        self._ticked = 0.0
        self.tape: Tape | None = None
        """The event log read for rewinding (`R`), kept for the next rewind."""

    def compose(self) -> ComposeResult:
        yield TopBar("board")
        yield FilterBar()
        yield LiveText(id="strip")
        self.views = {
            lane: LaneView(lane, self.store, self.marks, id=f"lane-{lane.value}") for lane in Lane
        }
        with Container(id="lanes"):
            yield from self.views.values()
        yield Footer()

    def lane_view(self, lane: Lane) -> LaneView:
        return self.views[lane]

    def on_mount(self) -> None:
        zone = self.zone
        for view in self.views.values():
            view.zone = zone
        self._set_current(self.current)
        self.show_changes(Changes(reloaded=True))
        self.ready = True

    def on_screen_resume(self) -> None:
        self.show_changes(Changes(reloaded=True))  # whatever happened while we were covered

    def on_resize(self) -> None:
        compact = self.size.width < COMPACT_WIDTH or self.size.height < COMPACT_HEIGHT
        self.set_class(compact, "-compact")
        self.set_class(not compact and self.size.width >= THREE_COLUMNS_WIDTH, "-wide")
        self._draw_strip()

    # --- drawing from the store ---------------------------------------------------------------

    def show_changes(self, changes: Changes) -> None:
        """Redraw what changed (the app calls this on its tick, only for the screen on top)."""
        store = self.store
        now = store.clock.now()
        every = changes.reloaded or self._filter_changed or self.order_filter.late_only
        dirty = set(Lane) if every else set(changes.lanes)
        if changes.rider_names and self.order_filter.text:
            dirty = set(Lane)  # rider names are searchable
        self._filter_changed = False
        for lane in dirty:
            view = self.lane_view(lane)
            ids = store.lane_ids(lane, self.order_filter)
            view.show(ids, now)
            self._title(view, ids)
        clock_due = time.monotonic() - self._ticked >= 1.0
        if clock_due or changes.rider_names:
            # Time left and lateness move on for every row on screen, changed or not.
            self._ticked = time.monotonic()
            for lane in Lane:
                view = self.lane_view(lane)
                view.tick(now)
                if lane not in dirty:
                    self._title(view, view.ids)
        elif changes.riders and Lane.DELIVERING not in dirty:
            # Riders moving only change what the delivering lane shows (ETAs, and the warnings
            # they raise): the other lanes wait for the clock's pass.
            self.lane_view(Lane.DELIVERING).tick(now)
        if dirty or clock_due:
            # In a frame of its own: Textual repaints the box around everything changed in a
            # frame, and the strip at the top with a lane at the bottom is the whole screen
            # (every lane, the footer, the bars), most of the board's cost at peak load.
            self.call_after_refresh(self._draw_strip)
        if changes.reloaded:
            self.query_one(FilterBar).offer(
                store.values_of("channel"),
                store.values_of("warehouse_id"),
                store.values_of("zone"),
            )

    def _title(self, view: LaneView, ids: list[int]) -> None:
        shown, late = self.store.lane_counts(view.lane, ids)
        total = len(self.store.lanes[view.lane])
        count = f"{shown} of {total}" if self.order_filter.active else f"{total}"
        view.set_header(f"{view.lane.label}  {count}", f"{late} late" if late else "")
        view.counts = (shown, late)

    def _draw_strip(self) -> None:
        text = Text()
        narrow = self.size.width < COMPACT_WIDTH
        alarm = self._alarm_style()
        for lane in Lane:
            view = self.lane_view(lane)
            shown, late = view.counts
            name = lane.short if narrow else lane.label
            # The lane in focus is underlined and pointed at; reverse is for alarms alone, so
            # without colour a late count still stands out and the focus does not look like one.
            current = lane == self.current
            text.append("▸" if current else " ")
            text.append(f"{name} {shown}", style="bold underline" if current else "")
            if late:
                text.append(" ")
                text.append(f"!!{late}", style=alarm)
            text.append(" ")
            text.append("│", style="dim")
        if self.marks:
            text.append(f" marked {len(self.marks)} ", style="bold")
        if self.order_filter.active:
            text.append(" filtered ", style="italic")
        self.query_one("#strip", LiveText).show(text)

    def _alarm_style(self) -> Style:
        """Late counts: reverse bold in the theme's late colour, or in the text's own colour
        without colour (greyed, red comes out darker than the text around it)."""
        if self.app.no_color:
            return Style(bold=True, reverse=True)
        late = self.app.current_theme.variables.get("lane-late", DOMAIN_DEFAULTS["lane-late"])
        return Style(color=late, bold=True, reverse=True)

    # --- lanes and focus ----------------------------------------------------------------------

    def _set_current(self, lane: Lane) -> None:
        self.current = lane
        for view in self.views.values():
            view.set_class(view.lane == lane, "-current")
        self.lane_view(lane).focus()
        self._draw_strip()

    def focus_lane(self) -> None:
        self.lane_view(self.current).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, LaneView) and event.widget.lane != self.current:
            self.current = event.widget.lane
            for view in self.views.values():
                view.set_class(view.lane == self.current, "-current")
            self._draw_strip()

    def action_lane(self, step: int) -> None:
        lanes = list(Lane)
        self._set_current(lanes[(lanes.index(self.current) + step) % len(lanes)])

    # --- filtering ----------------------------------------------------------------------------

    def action_search(self) -> None:
        # Focused here and now, not on the next turn (`focus()`): the keys typed after `/` are
        # read against this focus (console/keys.py).
        bar = self.query_one(FilterBar)
        bar.add_class("-shown")
        self.set_focus(bar.query_one("#search", Input))

    def action_filters(self) -> None:
        bar = self.query_one(FilterBar)
        bar.add_class("-shown")
        self.set_focus(bar.query_one("#channel"))

    def action_late_only(self) -> None:
        self.query_one(FilterBar).toggle_late()

    @on(FilterBar.Changed)
    def _filter(self, event: FilterBar.Changed) -> None:
        self.order_filter = event.order_filter
        self._filter_changed = True
        self.show_changes(Changes())

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.focus_lane()

    def action_back(self) -> None:
        """esc: out of the filter bar first, then clear marks, then clear the filter."""
        bar = self.query_one(FilterBar)
        if bar.has_focus_within:
            if not self.order_filter.active:
                bar.remove_class("-shown")
            self.focus_lane()
        elif self.marks:
            self.action_unmark()
        elif self.order_filter.active:
            bar.clear()
            bar.remove_class("-shown")

    # --- marks and actions --------------------------------------------------------------------

    @on(LaneView.MarkToggled)
    def _mark(self, event: LaneView.MarkToggled) -> None:
        self.marks.symmetric_difference_update({event.item_id})
        # The lane drew its rows when it moved its cursor, which may have been before this:
        # draw them again so the mark shows now, not on the next change to the lane.
        self.lane_view(self.current).refresh()
        self._draw_strip()

    def action_unmark(self) -> None:
        self.marks.clear()
        for view in self.views.values():
            view.refresh()
        self._draw_strip()

    @on(LaneView.Opened)
    def _open(self, event: LaneView.Opened) -> None:
        from screens.order_detail import OrderDetailScreen

        self.app.push_screen(OrderDetailScreen(event.item_id))

    def action_act(self) -> None:
        marked = sorted(i for i in self.marks if i in self.store.orders)
        under = self.lane_view(self.current).current if self.current else None
        chosen = marked or ([under] if under is not None else [])
        if not chosen:
            self.notify("No order under the cursor and none marked.", severity="warning")
            return
        self._act(chosen)

    @work(group="act", exclusive=True, exit_on_error=False)
    async def _act(self, order_ids: list[int]) -> None:
        await act_on_orders(self, order_ids)

    def action_reload(self) -> None:
        self.host.reload_feed()

    def action_rewind(self) -> None:
        """R: the board at a past minute, read-only, over this one (screens/rewind.py)."""
        from console.live import topics_for
        from console.store.rewind import blank_base
        from screens.rewind import RewindScreen

        me = self.host.me
        if me is None or self.host.client is None:
            self.notify("Sign in first: the rewind reads the event log.", severity="warning")
            return
        if self.tape is None:
            self.tape = Tape(blank_base(self.store))
        self.app.push_screen(RewindScreen(self.tape, topics_for(me), self.store))

    def show_filtered(self, order_filter: OrderFilter, lane: Lane | None = None) -> None:
        """Narrow the board to `order_filter` and put `lane` in focus (the KPI screen's enter)."""
        self.query_one(FilterBar).set_filter(order_filter)
        self.order_filter = order_filter
        self._filter_changed = True
        if lane is not None:
            self._set_current(lane)
        self.show_changes(Changes())
