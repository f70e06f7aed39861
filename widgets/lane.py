"""A swimlane: one line per order through Textual's line API, so a lane of 20,000 orders draws
only the rows on screen, and a change redraws without rebuilding anything."""

from __future__ import annotations

import contextlib
from datetime import datetime, tzinfo
from typing import Any, Self

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.store import Lane, Store, Urgency
from widgets.order_row import GLYPH, columns_for, order_cells

URGENCY_CLASS = {
    Urgency.LATE: "lane--late",
    Urgency.WARNING: "lane--warn",
    Urgency.OK: "lane--ok",
}


class LaneView(ScrollView, can_focus=True):
    """The orders of one lane, most urgent first, with a cursor that follows its order."""

    COMPONENT_CLASSES = {
        "lane--ok",
        "lane--warn",
        "lane--late",
        "lane--cursor",
        "lane--mark",
        "lane--empty",
    }
    DEFAULT_CSS = """
    LaneView {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    LaneView:focus { border: round $accent; }
    LaneView > .lane--ok { color: $lane-ok; }
    LaneView > .lane--warn { color: $lane-warn; text-style: bold; }
    LaneView > .lane--late { color: $lane-late; text-style: bold; }
    LaneView > .lane--cursor { background: $accent 35%; }
    LaneView:focus > .lane--cursor { background: $accent 60%; text-style: reverse; }
    LaneView > .lane--mark { color: $lane-mark; text-style: bold; }
    LaneView > .lane--empty { color: $lane-dim; text-style: italic; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="lane.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="lane.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="lane.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="lane.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="lane.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="lane.last"),
        Binding("enter", "open", "Open", tooltip="Open the order's detail", id="lane.open"),
        Binding("space", "mark", "Mark", tooltip="Mark for a bulk action", id="lane.mark"),
    ]

    SCROLLING = frozenset(
        {"scroll_left", "scroll_right", "page_left", "page_right", "scroll_up", "scroll_down"}
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The lane moves a cursor, not a viewport: its container's scroll keys stay out of
        # the way (left and right switch lanes on the board).
        return action not in self.SCROLLING

    class Opened(Message):
        """Enter on an order."""

        def __init__(self, order_id: int) -> None:
            super().__init__()
            self.order_id = order_id

    class MarkToggled(Message):
        def __init__(self, order_id: int) -> None:
            super().__init__()
            self.order_id = order_id

    def __init__(self, lane: Lane, store: Store, marks: set[int], *, id: str | None = None):
        super().__init__(id=id)
        self.lane, self.store, self.marks = lane, store, marks
        self.ids: list[int] = []
        self.counts = (0, 0)
        """(orders shown, late ones), as the board last counted them for the title."""
        self.cursor = 0
        self.cursor_id: int | None = None
        self.zone: tzinfo | None = None
        self._now: datetime | None = None
        self._drawn: tuple[object, ...] = ()
        """What the rows on screen were drawn from (see `_window`)."""
        self._header: tuple[str, str] = ("", "")

    # --- what it shows ------------------------------------------------------------------------

    def show(self, ids: list[int], now: datetime) -> None:
        """New contents: the cursor stays on its order if the order is still here."""
        self.ids, self._now = ids, now
        if self.cursor_id is not None:
            # If the order left, stay at the same height, on whatever is there now.
            with contextlib.suppress(ValueError):
                self.cursor = ids.index(self.cursor_id)
        self.cursor = max(0, min(self.cursor, len(ids) - 1))
        self.cursor_id = ids[self.cursor] if ids else None
        self._set_rows(len(ids))
        self._keep_cursor_visible()
        # Most changes to a long lane happen below the rows on screen: nothing to redraw then.
        if self._window() != self._drawn:
            self.refresh()

    def set_header(self, title: str, subtitle: str) -> None:
        """The border's title and subtitle (counts), redrawing the border lines alone: the
        `border_title` setter redraws every row, and a lane's count changes with most events."""
        if (title, subtitle) == self._header:
            return
        self._header = (title, subtitle)
        self._border_title = self.render_str(title)
        self._border_subtitle = self.render_str(subtitle) if subtitle else None
        offset, width = self.content_offset, self.outer_size.width
        top = Region(-offset.x, -offset.y, width, 1)
        bottom = Region(-offset.x, self.outer_size.height - offset.y - 1, width, 1)
        self.refresh(top, bottom)

    def _window(self) -> tuple[object, ...]:
        """Everything the rows on screen show: which orders, their cards, cursor and marks."""
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        shown = self.ids[top : top + height]
        cards = tuple(self.store.orders.get(i) for i in shown)
        return (top, self.cursor, cards, frozenset(self.marks.intersection(shown)))

    def refresh(self, *regions: Region, **kwargs: Any) -> Self:
        if not regions:
            self._drawn = self._window()
        return super().refresh(*regions, **kwargs)

    def _set_rows(self, rows: int) -> None:
        """How many rows there are to scroll through. Assigning `virtual_size` lays out the
        whole screen (tens of ms on a big board), and a lane's count changes with most events;
        a layout is needed only when the scrollbar comes or goes, so otherwise the new height
        is set quietly and the scrollbar told."""
        size = Size(self.size.width, rows)
        if size == self.virtual_size:
            return
        height = self.scrollable_content_region.height
        scrolls_before, scrolls_after = self.virtual_size.height > height, rows > height
        if size.width != self.virtual_size.width or scrolls_before != scrolls_after:
            self.virtual_size = size
            return
        self.set_reactive(LaneView.virtual_size, size)
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.window_virtual_size = rows
            self.vertical_scrollbar.refresh()
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def tick(self, now: datetime) -> None:
        """Time moved on (time left, urgency): redraw the rows on screen."""
        self._now = now
        self.refresh()

    @property
    def current(self) -> int | None:
        return self.cursor_id

    # --- drawing ------------------------------------------------------------------------------

    _base_style: Style | None = None
    """`rich_style` walks every ancestor's styles; kept until the styles change."""

    def notify_style_update(self) -> None:
        self._base_style = None
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        if self._base_style is None:
            self._base_style = self.rich_style
        base = self._base_style
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if not self.ids:
            if y == 0:
                style = self.get_component_rich_style("lane--empty")
                return Strip([Segment(" nothing here".ljust(width), style)]).crop(0, width)
            return Strip.blank(width, base)
        if index >= len(self.ids):
            return Strip.blank(width, base)
        order_id = self.ids[index]
        card = self.store.orders.get(order_id)
        if card is None:
            return Strip.blank(width, base)
        now = self._now or self.store.clock.now()
        urgency, cells = order_cells(card, self.store, now, columns_for(width), self.zone)
        colour = self.get_component_rich_style(URGENCY_CLASS[urgency])
        marked = order_id in self.marks
        segments = [
            Segment(GLYPH[urgency], base + colour),
            Segment("*" if marked else " ", base + self.get_component_rich_style("lane--mark")),
            Segment(" ", base),
        ]
        text_style = base + (colour if urgency != Urgency.OK else Style())
        segments += [Segment(cell + " ", text_style) for cell in cells]
        strip = Strip(segments).adjust_cell_length(width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("lane--cursor"))
        return strip

    # --- keys ---------------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self._move_to(where if where >= 0 else len(self.ids) - 1)

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened(self.cursor_id))

    def action_mark(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.MarkToggled(self.cursor_id))
            self._move_to(self.cursor + 1)

    def _move_to(self, index: int) -> None:
        if not self.ids:
            return
        self.cursor = max(0, min(index, len(self.ids) - 1))
        self.cursor_id = self.ids[self.cursor]
        self._keep_cursor_visible()
        self.refresh()

    def _keep_cursor_visible(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.ids))  # the size changed: lay out
        self._keep_cursor_visible()
