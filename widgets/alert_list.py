"""The exception queue's list: one alert per line through the line API, coloured and marked by
severity, with a cursor that follows its alert as the queue re-sorts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from backend_client.models import AlertSeverity, AlertState
from console.looked import Kind, LookedBook
from console.store import Store
from widgets.alert_row import GLYPH, alert_cells
from widgets.cursor_list import CursorList

SEVERITY_CLASS = {
    AlertSeverity.CRITICAL: "alert--critical",
    AlertSeverity.WARNING: "alert--warning",
    AlertSeverity.INFO: "alert--info",
}


class AlertList(CursorList):
    """Standing alerts, most severe first; grouped ones ride with their parent (+n)."""

    COMPONENT_CLASSES = CursorList.COMPONENT_CLASSES | {
        "alert--critical",
        "alert--warning",
        "alert--info",
        "alert--handled",
    }
    DEFAULT_CSS = """
    AlertList > .alert--critical { color: $severity-critical; text-style: bold; }
    AlertList > .alert--warning { color: $severity-warning; }
    AlertList > .alert--info { color: $severity-info; }
    AlertList > .alert--handled { color: $lane-dim; }
    /* Without colour (greys, red darker than the text): criticals reverse, warnings bold. */
    AlertList:nocolor > .alert--critical { color: $foreground; text-style: bold reverse; }
    AlertList:nocolor > .alert--warning { color: $foreground; text-style: bold; }
    """
    EMPTY = " no alerts: all quiet"

    def __init__(self, store: Store, marks: set[int], *, id: str | None = None) -> None:
        super().__init__(marks, id=id)
        self.store = store
        self.zone: tzinfo | None = None
        self.grouped: Counter[int] = Counter()
        """How many alerts stand under each parent."""
        self._now: datetime | None = None
        self.looked: LookedBook | None = None
        """What this desk has looked at (the queue sets it): changed alerts get a dot."""

    def show(self, ids: list[int], now: datetime) -> None:  # type: ignore[override]
        self._now = now
        book = self.store.alerts
        self.grouped = Counter(
            a.parent_id for a in book.alerts.values() if a.parent_id and book.is_grouped(a)
        )
        super().show(ids)

    def tick(self, now: datetime) -> None:
        """Time moved on (how long each has stood): redraw the rows on screen."""
        self._now = now
        self.refresh()

    def row_source(self, item_id: int) -> object:
        return (self.store.alerts.alerts.get(item_id), self.grouped[item_id], self.is_new(item_id))

    def is_new(self, item_id: int) -> bool:
        alert = self.store.alerts.alerts.get(item_id)
        looked = self.looked
        return (
            looked is not None
            and alert is not None
            and looked.is_new(Kind.ALERT, item_id, alert.version)
        )

    def new_ids(self) -> list[int]:
        """The alerts in the queue that changed since the desk looked, in queue order."""
        return [i for i in self.ids if self.is_new(i)]

    def cursor_rests(self, *, moved: bool) -> None:
        item_id = self.cursor_id
        if self.looked is None or item_id is None or not (moved or self.has_focus):
            return
        alert = self.store.alerts.alerts.get(item_id)
        if alert is not None:
            self.looked.look(Kind.ALERT, item_id, alert.version)

    def render_row(self, item_id: int, index: int, width: int, base: Style) -> Strip:
        alert = self.store.alerts.alerts.get(item_id)
        if alert is None:
            return Strip.blank(width, base)
        now = self._now or self.store.clock.now()
        colour = self.get_component_rich_style(SEVERITY_CLASS[alert.severity])
        handled = alert.state != AlertState.OPEN
        text_style = base + (self.get_component_rich_style("alert--handled") if handled else colour)
        cells = alert_cells(alert, self.store, now, width, self.grouped[item_id], self.zone)
        segments = [
            Segment(GLYPH[alert.severity], base + colour),
            self.mark_segment(item_id, base),
            self.new_segment(item_id, base),
            *(Segment(cell + " ", text_style) for cell in cells),
        ]
        return Strip(segments).adjust_cell_length(width, base)
