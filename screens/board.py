"""The board: one swimlane per stage, the whole city at a glance, late orders first and loud.

Redraws only on the app's bounded tick, and only the lanes that changed (plus a once-a-second
pass for the clock). Wide terminals show every lane in a grid; narrow ones (under 120x30)
collapse to the counts strip plus the lane in focus. A saved view (`v`, `console/views.py`)
chooses the filter, the lanes shown and each lane's columns and sort (`f6`).
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

from backend_client.models import LaneSort
from console.board_look import DEFAULT_LANE_LOOK, BoardLook, LaneLook, arrange, lane_counts
from console.looked import Kind
from console.store import Changes, Lane, OrderFilter
from console.store.rewind import Tape
from console.views import ViewError, keep_layouts
from screens.acting import act_on_orders
from screens.copying import CopyingScreen
from themes import DOMAIN_DEFAULTS
from widgets.filter_bar import FilterBar
from widgets.lane import LaneView
from widgets.live_text import LiveText
from widgets.top_bar import TopBar

COMPACT_WIDTH, COMPACT_HEIGHT = 120, 30
THREE_COLUMNS_WIDTH = 180


class BoardScreen(CopyingScreen):
    """Every open order by stage; enter opens one, space marks, t acts, n goes to what changed
    since the desk looked (`console.looked`), y copies."""

    DEFAULT_CSS = """
    BoardScreen #strip { height: 1; padding: 0 1; background: $surface; }
    BoardScreen #lanes { layout: grid; grid-size: 2 3; grid-gutter: 0 1; height: 1fr; }
    BoardScreen.-wide #lanes { grid-size: 3 2; }
    BoardScreen.-compact #lanes { layout: vertical; }
    BoardScreen.-compact LaneView { display: none; }
    BoardScreen.-compact LaneView.-current { display: block; }
    BoardScreen LaneView.-hidden { display: none; }
    """
    live_board = True
    """False for a rewound picture of the board (`screens/rewind.py`): saved views keep the live
    board, and what the desk has looked at is what it saw live."""

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
        Binding(
            "n",
            "next_new(1)",
            "Next new",
            show=False,  # the lanes' "· 3 new" point at it; the footer is full at 160 columns
            tooltip="The next order that changed since you looked",
            id="board.next_new",
        ),
        Binding(
            "N",
            "next_new(-1)",
            "Previous new",
            show=False,
            tooltip="The previous order that changed since you looked",
            id="board.prev_new",
        ),
        Binding(
            "c",
            "caught_up",
            "Caught up",
            show=False,
            tooltip="Count every order in this lane as looked at",
            id="board.caught_up",
        ),
        Binding("t", "act", "Act", tooltip="Act on the order or the marked ones", id="board.act"),
        Binding(
            "v",
            "views",
            "Views",
            show=False,
            tooltip="Saved views: 1-9 opens one, s saves this board",
            id="board.views",
        ),
        Binding(
            "f6",
            "columns",
            "Columns",
            show=False,
            tooltip="The lane's columns and sort",
            id="board.columns",
        ),
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
        self.shown: tuple[Lane, ...] = tuple(Lane)
        """The lanes shown (a saved view may show fewer), in the board's order."""
        self.layouts: dict[Lane, LaneLook] = {}
        """Lanes laid out otherwise than by default (columns, sort)."""
        self._looked_at = -1
        """The looked book's revision the lanes last drew (marks and counts follow it)."""
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
        if self.live_board:
            self.host.views.attach(self)  # the default view, if it came before the board

    def on_unmount(self) -> None:
        if self.host.views.board is self:
            self.host.views.board = None

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
        looked = self.host.looked
        for view in self.views.values():
            # A new sign-in opens another desk's book; a rewound board marks nothing.
            view.looked = looked if self.live_board else None
        looked_moved = looked.revision != self._looked_at
        self._looked_at = looked.revision
        every = (
            changes.reloaded or self._filter_changed or self.order_filter.late_only or looked_moved
        )
        dirty = set(Lane) if every else set(changes.lanes)
        if changes.rider_names and self.order_filter.text:
            dirty = set(Lane)  # rider names are searchable
        if changes.riders or changes.rider_names:
            # Lanes sorted by rider or ETA move when riders do.
            dirty |= {
                lane
                for lane, look in self.layouts.items()
                if look.sort in (LaneSort.RIDER, LaneSort.ETA)
            }
        self._filter_changed = False
        for lane in dirty:
            view = self.lane_view(lane)
            ids = arrange(store, store.lane_ids(lane, self.order_filter), self.lane_look(lane), now)
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
        shown, late = lane_counts(self.store, view.lane, ids, self.lane_look(view.lane))
        total = len(self.store.lanes[view.lane])
        count = f"{shown} of {total}" if self.order_filter.active else f"{total}"
        new = view.new_count(ids)
        view.new = new
        fresh = f" · {new} new" if new else ""
        view.set_header(f"{view.lane.label}  {count}{fresh}", f"{late} late" if late else "")
        view.counts = (shown, late)

    def _draw_strip(self) -> None:
        text = Text()
        narrow = self.size.width < COMPACT_WIDTH
        alarm = self._alarm_style()
        if self.host.views.current:
            text.append(f" {self.host.views.current} ", style="bold reverse")
            text.append(" ")
        for lane in self.shown:
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
            if view.new:
                text.append(f" •{view.new}", style="bold")
            text.append(" ")
            text.append("│", style="dim")
        if self.marks:
            text.append(f" marked {len(self.marks)} ", style="bold")
        if self.order_filter.zones:
            text.append(f" in {', '.join(sorted(self.order_filter.zones))}", style="italic")
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
        lanes = list(self.shown)
        at = lanes.index(self.current) if self.current in lanes else 0
        self._set_current(lanes[(at + step) % len(lanes)])

    # --- since I looked ------------------------------------------------------------------------

    def action_next_new(self, step: int) -> None:
        """n / N: the next (previous) order that changed since the desk looked, through the
        lanes in order and round; the cursor lands on it, which counts as looking."""
        places = [
            (lane, index) for lane in self.shown for index in range(len(self.views[lane].ids))
        ]
        if not places:
            self.notify("Nothing on the board.")
            return
        view = self.lane_view(self.current)
        here = (self.current, view.cursor)
        start = places.index(here) if here in places else (0 if step > 0 else len(places) - 1)
        for k in range(1, len(places) + 1):
            lane, index = places[(start + step * k) % len(places)]
            lane_view = self.views[lane]
            if lane_view.is_new(lane_view.ids[index]):
                if lane != self.current:
                    self._set_current(lane)
                    self.set_focus(lane_view)  # now: the next key is read against this lane
                lane_view.move_to(index)
                self._looked_at = -1
                self.show_changes(Changes())
                return
        self.notify("Nothing changed since you looked.")

    def action_caught_up(self) -> None:
        """c: every order in the lane in focus (as filtered) counts as looked at."""
        view = self.lane_view(self.current)
        orders = self.store.orders
        rows = [(i, orders[i].version) for i in view.ids if i in orders]
        count = self.host.looked.look_all(Kind.ORDER, rows)
        self.show_changes(Changes())
        self.notify(
            f"{self.current.label}: {count} changed order{'s' if count != 1 else ''} marked looked."
            if count
            else f"{self.current.label}: nothing new."
        )

    def copy_subject(self) -> int | None:
        return self.lane_view(self.current).current

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
            if lane not in self.shown:
                self._show_lanes(tuple(Lane))  # what the KPI counted is on the board
            self._set_current(lane)
        self.show_changes(Changes())

    # --- saved views: the lanes shown, columns and sort ---------------------------------------

    def lane_look(self, lane: Lane) -> LaneLook:
        return self.layouts.get(lane, DEFAULT_LANE_LOOK)

    def board_look(self) -> BoardLook:
        """What the board shows now, as a saved view keeps it."""
        return BoardLook(self.order_filter, self.shown, self.current, dict(self.layouts))

    def show_look(self, look: BoardLook) -> None:
        """Show a saved view: its filter, lanes, focus, and each lane's columns and sort."""
        self.query_one(FilterBar).set_filter(look.order_filter)
        self.order_filter = look.order_filter
        self.layouts = {lane: lo for lane, lo in look.layouts.items() if not lo.is_default}
        for lane, view in self.views.items():
            view.set_columns(self.lane_look(lane).columns)
        self._show_lanes(look.lanes)
        focus = look.focus if look.focus in look.lanes else None
        self._set_current(focus or (self.current if self.current in look.lanes else look.lanes[0]))
        self._filter_changed = True
        self.show_changes(Changes())

    def _show_lanes(self, lanes: tuple[Lane, ...]) -> None:
        self.shown = tuple(lane for lane in Lane if lane in lanes)
        for lane, view in self.views.items():
            view.set_class(lane not in self.shown, "-hidden")
        if self.current not in self.shown:
            self._set_current(self.shown[0])

    def action_views(self) -> None:
        from screens.views import ViewsScreen

        self.app.push_screen(ViewsScreen())

    def action_columns(self) -> None:
        from screens.lane_setup import LaneSetupScreen

        lane = self.current
        self.app.push_screen(
            LaneSetupScreen(lane, self.lane_look(lane), self.shown),
            lambda setup: self._lay_out(lane, setup.look, setup.lanes) if setup else None,
        )

    def _lay_out(self, lane: Lane, look: LaneLook, lanes: tuple[Lane, ...]) -> None:
        self._show_lanes(lanes)
        if look.is_default:
            self.layouts.pop(lane, None)
        else:
            self.layouts[lane] = look
        self.lane_view(lane).set_columns(look.columns)
        self._filter_changed = True  # every lane drawn again, this one in its new order
        self.show_changes(Changes())
        if self.live_board and self.host.views.current is not None:
            self._keep_layouts()

    @work(group="views", exclusive=True, exit_on_error=False)
    async def _keep_layouts(self) -> None:
        try:
            kept = await keep_layouts(self.host)
        except ViewError as exc:
            self.notify(str(exc), title="Columns not kept", severity="warning")
            return
        if kept is not None:
            self.notify(f"Kept in view {kept.name}.", timeout=3)
