"""A long list with a cursor, through Textual's line API: the base of the board's lanes and the
exception queue. Only the rows on screen are drawn, a change below them redraws nothing, and
the cursor stays on its item when rows move."""

from __future__ import annotations

import contextlib
import math
from typing import Any, Self

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Window = tuple[int, int, tuple[object, ...], frozenset[int]]
"""What the rows on screen show: the top row, the cursor, each row's source, the marked ids."""


class CursorList(ScrollView, can_focus=True):
    """Items by id, one per row; subclasses say what a row shows (`row_source`) and draw it
    (`render_row`)."""

    COMPONENT_CLASSES = {"row--cursor", "row--mark", "row--empty", "row--new"}
    DEFAULT_CSS = """
    CursorList {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    CursorList:focus { border: round $accent; }
    CursorList > .row--cursor { background: $accent 35%; }
    CursorList:focus > .row--cursor { background: $accent 60%; text-style: reverse; }
    /* Reverse is how a late row reads without colour: the cursor underlines instead. */
    CursorList:nocolor > .row--cursor { text-style: underline; }
    CursorList:nocolor:focus > .row--cursor { text-style: bold underline; }
    CursorList > .row--mark { color: $lane-mark; text-style: bold; }
    CursorList > .row--empty { color: $lane-dim; text-style: italic; }
    CursorList > .row--new { color: $accent; text-style: bold; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="list.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="list.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="list.last"),
        Binding("enter", "open", "Open", tooltip="Open the order's detail", id="list.open"),
        Binding("space", "mark", "Mark", tooltip="Mark for a bulk action", id="list.mark"),
    ]
    EMPTY = " nothing here"
    FOLLOW_TO_TOP = False
    """When the rows move under the cursor and carry its item out of sight, scroll so the item
    is the first row shown (True) rather than the nearest edge (a key's move stays minimal)."""

    SCROLLING = frozenset(
        {"scroll_left", "scroll_right", "page_left", "page_right", "scroll_up", "scroll_down"}
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The list moves a cursor, not a viewport: its container's scroll keys stay out of
        # the way (left and right switch lanes on the board).
        return action not in self.SCROLLING

    class Opened(Message):
        """Enter on an item."""

        def __init__(self, item_id: int) -> None:
            super().__init__()
            self.item_id = item_id

    class MarkToggled(Message):
        def __init__(self, item_id: int) -> None:
            super().__init__()
            self.item_id = item_id

    def __init__(self, marks: set[int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marks = marks
        self.ids: list[int] = []
        self.cursor = 0
        self.cursor_id: int | None = None
        self._drawn: Window | None = None
        """What the rows on screen were drawn from (see `_window`)."""
        self._header: tuple[str, str] = ("", "")

    # --- for subclasses -----------------------------------------------------------------------

    def row_source(self, item_id: int) -> object:
        """What the item's row is drawn from: a new value means the row must be drawn again."""
        raise NotImplementedError

    def render_row(self, item_id: int, index: int, width: int, base: Style) -> Strip:
        raise NotImplementedError

    def cursor_rests(self, *, moved: bool) -> None:
        """The cursor is on `cursor_id`, moved there by a key (`moved`) or resting there while
        the rows changed: subclasses count the row as looked at (`console.looked`)."""

    def is_new(self, item_id: int) -> bool:
        """Whether the item changed since the desk last looked at it (drawn with a dot)."""
        return False

    # --- what it shows ------------------------------------------------------------------------

    def show(self, ids: list[int]) -> None:
        """New contents: the cursor stays on its item if the item is still here."""
        self.ids = ids
        if self.cursor_id is not None:
            # If the item left, stay at the same height, on whatever is there now.
            with contextlib.suppress(ValueError):
                self.cursor = ids.index(self.cursor_id)
        self.cursor = max(0, min(self.cursor, len(ids) - 1))
        self.cursor_id = ids[self.cursor] if ids else None
        if self.cursor_id is not None:
            self.cursor_rests(moved=False)
        self._set_rows(len(ids))
        self._keep_cursor_visible(to_top=self.FOLLOW_TO_TOP)
        # Most changes to a long list happen below the rows on screen: nothing to redraw then.
        window = self._window()
        if window != self._drawn:
            self._repaint(self._drawn, window)

    def set_header(self, title: str, subtitle: str) -> None:
        """The border's title and subtitle (counts), redrawing the border lines alone: the
        `border_title` setter redraws every row, and a count changes with most events."""
        if (title, subtitle) == self._header:
            return
        before, self._header = self._header, (title, subtitle)
        self._border_title = self.render_str(title)
        self._border_subtitle = self.render_str(subtitle) if subtitle else None
        offset, width = self.content_offset, self.outer_size.width
        # Each line on its own, and only if it changed: Textual repaints the box around a
        # frame's changes, and top and bottom together are the whole list.
        if title != before[0]:
            self.refresh(Region(-offset.x, -offset.y, width, 1))
        if subtitle != before[1]:
            self.refresh(Region(-offset.x, self.outer_size.height - offset.y - 1, width, 1))

    @property
    def header(self) -> tuple[str, str]:
        """The border's title and subtitle as last set."""
        return self._header

    def _window(self) -> Window:
        """Everything the rows on screen show: which items, their sources, cursor and marks."""
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        shown = self.ids[top : top + height]
        sources = tuple(self.row_source(i) for i in shown)
        return (top, self.cursor, sources, frozenset(self.marks.intersection(shown)))

    def _repaint(self, before: Window | None, after: Window) -> None:
        """Redraw the rows whose item, source or cursor changed between two windows, not the
        whole list: Textual repaints every line of a refreshed widget, and an order moving
        near the bottom of the rows on screen changes only the rows from there down."""
        top, cursor, sources, marks = after
        old_top, old_cursor, old_sources, old_marks = before or (-1, -1, (), frozenset())
        if top != old_top or marks != old_marks:
            self.refresh()
            return
        self._drawn = after
        changed = [
            y
            for y in range(max(len(sources), len(old_sources)))
            if y >= len(sources) or y >= len(old_sources) or sources[y] != old_sources[y]
        ]
        if cursor != old_cursor:
            changed += [cursor - top, old_cursor - top]
        if changed:
            self.refresh_lines(top + min(changed), max(changed) - min(changed) + 1)

    def refresh(self, *regions: Region, **kwargs: Any) -> Self:
        if not regions:
            self._drawn = self._window()
        return super().refresh(*regions, **kwargs)

    def _set_rows(self, rows: int) -> None:
        """How many rows there are to scroll through. Assigning `virtual_size` lays out the
        whole screen (tens of ms on a big board), and a count changes with most events; a
        layout is needed only when the scrollbar comes or goes, so otherwise the new height is
        set quietly and the scrollbar told."""
        size = Size(self.size.width, rows)
        if size == self.virtual_size:
            return
        height = self.scrollable_content_region.height
        scrolls_before, scrolls_after = self.virtual_size.height > height, rows > height
        if size.width != self.virtual_size.width or scrolls_before != scrolls_after:
            self.virtual_size = size
            return
        self.set_reactive(CursorList.virtual_size, size)
        if self.show_vertical_scrollbar:
            bar = self.vertical_scrollbar
            before = _thumb(height, bar.window_virtual_size, bar.position)
            bar.set_reactive(type(bar).window_virtual_size, rows)
            # Drawing a scrollbar costs more than the rows beside it, and a count moving by
            # a few in a long list leaves its thumb where it was, to the eighth of a cell.
            if _thumb(height, rows, bar.position) != before:
                bar.refresh()
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

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
                style = self.get_component_rich_style("row--empty")
                return Strip([Segment(self.EMPTY.ljust(width), style)]).crop(0, width)
            return Strip.blank(width, base)
        if index >= len(self.ids):
            return Strip.blank(width, base)
        strip = self.render_row(self.ids[index], index, width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("row--cursor"))
        return strip

    def mark_segment(self, item_id: int, base: Style) -> Segment:
        marked = item_id in self.marks
        return Segment("*" if marked else " ", base + self.get_component_rich_style("row--mark"))

    def new_segment(self, item_id: int, base: Style) -> Segment:
        """`•` on a row that changed since the desk last looked (a glyph: it reads without
        colour), else the blank between the marks and the cells."""
        if self.is_new(item_id):
            return Segment("•", base + self.get_component_rich_style("row--new"))
        return Segment(" ", base)

    # --- keys ---------------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self.move_to(where if where >= 0 else len(self.ids) - 1)

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened(self.cursor_id))

    def action_mark(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.MarkToggled(self.cursor_id))
            self.move_to(self.cursor + 1)

    def move_to(self, index: int) -> None:
        if not self.ids:
            return
        self.cursor = max(0, min(index, len(self.ids) - 1))
        self.cursor_id = self.ids[self.cursor]
        self.cursor_rests(moved=True)
        self._keep_cursor_visible()
        self.refresh()

    def _keep_cursor_visible(self, *, to_top: bool = False) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = self.scroll_offset.y
        if self.cursor < top or (to_top and self.cursor >= top + height):
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.ids))  # the size changed: lay out
        self._keep_cursor_visible()


def _thumb(height: int, rows: float, position: float) -> tuple[int, int]:
    """Where a vertical scrollbar of `height` cells draws its thumb for `rows` rows scrolled to
    `position`, in eighths of a cell (as Textual's scrollbar renders it)."""
    if rows <= height or height <= 0:
        return (0, 0)
    thumb = max(1.0, height / (rows / height))
    start = (height - thumb) * position / (rows - height)
    return int(start * 8), int(start * 8) + math.ceil(thumb * 8)
