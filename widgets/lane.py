"""A swimlane: one line per order through Textual's line API, so a lane of 20,000 orders draws
only the rows on screen, and a change redraws without rebuilding anything."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from console.looked import Kind, LookedBook
from console.store import Lane, Store, Urgency
from widgets.cursor_list import CursorList
from widgets.order_row import GLYPH, Column, columns_for, order_cells

URGENCY_CLASS = {
    Urgency.LATE: "lane--late",
    Urgency.WARNING: "lane--warn",
    Urgency.OK: "lane--ok",
}


class LaneView(CursorList):
    """The orders of one lane, most urgent first, with a cursor that follows its order."""

    COMPONENT_CLASSES = CursorList.COMPONENT_CLASSES | {"lane--ok", "lane--warn", "lane--late"}
    DEFAULT_CSS = """
    LaneView > .lane--ok { color: $lane-ok; }
    LaneView > .lane--warn { color: $lane-warn; text-style: bold; }
    LaneView > .lane--late { color: $lane-late; text-style: bold; }
    /* Without colour, the theme's colours turn to greys and red comes out darker than the
       text: urgency reads through weight and reverse instead, brighter than a normal row. */
    LaneView:nocolor > .lane--warn { color: $foreground; text-style: bold; }
    LaneView:nocolor > .lane--late { color: $foreground; text-style: bold reverse; }
    """

    def __init__(self, lane: Lane, store: Store, marks: set[int], *, id: str | None = None):
        super().__init__(marks, id=id)
        self.lane, self.store = lane, store
        self.counts = (0, 0)
        """(orders shown, late ones), as the board last counted them for the title."""
        self.new = 0
        """Orders shown that changed since the desk looked, as the board last counted."""
        self.zone: tzinfo | None = None
        self.column_names: tuple[str, ...] | None = None
        """The columns a saved view chose, in its order (None: the board's, fitted)."""
        self.looked: LookedBook | None = None
        """What this desk has looked at (the board sets it): changed rows get a dot."""
        self._now: datetime | None = None
        self._painted: dict[int, tuple[int, object]] = {}
        """What each row of the lane last showed, by index: its order and that order's
        urgency and cells (see `tick`)."""

    def show(self, ids: list[int], now: datetime) -> None:  # type: ignore[override]
        self._now = now
        super().show(ids)

    def tick(self, now: datetime) -> None:
        """Time moved on, or riders did (time left, ETAs, urgency): repaint the rows on screen
        whose text or colour changed. Time left shows in minutes and most riders' ETAs hold
        from one tick to the next, so most rows stay as painted; repainting every row on
        screen at every tick was most of the console's work at peak load."""
        self._now = now
        top = self.scroll_offset.y
        columns = self.columns(self.scrollable_content_region.width)
        for index in range(top, min(top + self.scrollable_content_region.height, len(self.ids))):
            item_id = self.ids[index]
            card = self.store.orders.get(item_id)
            looks = card and order_cells(card, self.store, now, columns, self.zone)
            if self._painted.get(index) != (item_id, looks):
                self.refresh_line(index)

    def columns(self, width: int) -> tuple[Column, ...]:
        return columns_for(width, eta=self.lane == Lane.DELIVERING, names=self.column_names)

    def set_columns(self, names: tuple[str, ...] | None) -> None:
        """Show these columns (None: the board's own); every row on screen is drawn again."""
        if names != self.column_names:
            self.column_names = names
            self._painted.clear()
            self.refresh()

    def row_source(self, item_id: int) -> object:
        return (self.store.orders.get(item_id), self.is_new(item_id))

    def is_new(self, item_id: int) -> bool:
        card = self.store.orders.get(item_id)
        looked = self.looked
        return (
            looked is not None
            and card is not None
            and looked.is_new(Kind.ORDER, item_id, card.version)
        )

    def new_count(self, ids: list[int]) -> int:
        """How many of `ids` changed since the desk looked."""
        looked, orders = self.looked, self.store.orders
        if looked is None or not looked.started:
            return 0
        seen = looked.seen[Kind.ORDER]
        count = 0
        for item_id in ids:
            card = orders.get(item_id)
            if card is not None and card.version > seen.get(item_id, -1):
                count += 1
        return count

    def cursor_rests(self, *, moved: bool) -> None:
        # A key brought the cursor here, or the row changed under the cursor of the lane in
        # focus: the desk is looking at it (a lane out of focus is not being read).
        item_id = self.cursor_id
        if self.looked is None or item_id is None or not (moved or self.has_focus):
            return
        card = self.store.orders.get(item_id)
        if card is not None:
            self.looked.look(Kind.ORDER, item_id, card.version)

    def render_row(self, item_id: int, index: int, width: int, base: Style) -> Strip:
        card = self.store.orders.get(item_id)
        if card is None:
            return Strip.blank(width, base)
        now = self._now or self.store.clock.now()
        looks = order_cells(card, self.store, now, self.columns(width), self.zone)
        self._painted[index] = (item_id, looks)
        urgency, cells = looks
        colour = self.get_component_rich_style(URGENCY_CLASS[urgency])
        segments = [
            Segment(GLYPH[urgency], base + colour),
            self.mark_segment(item_id, base),
            self.new_segment(item_id, base),
        ]
        text_style = base + (colour if urgency != Urgency.OK else Style())
        segments += [Segment(cell + " ", text_style) for cell in cells]
        return Strip(segments).adjust_cell_length(width, base)
