"""The riders beside the map, one line each through the line API: state glyph, name, status,
load, cold chain, last fix age, speed, current orders. Silent riders are greyed and flagged."""

from __future__ import annotations

from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip

from console.store import RiderCard, RiderState, Store
from widgets.cursor_list import CursorList

STATE_GLYPH = {
    RiderState.LATE: "!",
    RiderState.SILENT: "?",
    RiderState.DELIVERING: ">",
    RiderState.IDLE: "o",
    RiderState.OFFLINE: "-",
}
"""The same glyphs as on the map (`widgets.rider_map.RANK_GLYPH`), and `-` for off shift."""
STATE_WORD = {
    RiderState.LATE: "LATE",
    RiderState.SILENT: "SILENT",
    RiderState.DELIVERING: "delivering",
    RiderState.IDLE: "idle",
    RiderState.OFFLINE: "off",
}
STATE_RANK = {
    RiderState.LATE: 0,
    RiderState.SILENT: 1,
    RiderState.DELIVERING: 2,
    RiderState.IDLE: 3,
    RiderState.OFFLINE: 4,
}
MEDIUM = 40
"""From this width on, a row spells the state out beside its glyph."""
WIDE = 56
"""From this width on, a row shows speed and the current orders too."""


def fix_age(rider: RiderCard, now: datetime) -> str:
    """How old the last fix is: 40s, 3m, 2h, or -- for none."""
    if rider.fix_at is None:
        return "--"
    seconds = max(0, int((now - rider.fix_at).total_seconds()))
    if seconds < 100:
        return f"{seconds}s"
    if seconds < 100 * 60:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


class RiderList(CursorList):
    """Riders, the worst state first; enter opens the rider's orders."""

    COMPONENT_CLASSES = CursorList.COMPONENT_CLASSES | {
        "rider--late",
        "rider--silent",
        "rider--delivering",
        "rider--idle",
        "rider--offline",
    }
    DEFAULT_CSS = """
    RiderList > .rider--late { color: $rider-late; text-style: bold; }
    RiderList > .rider--silent { color: $rider-silent; text-style: italic; }
    RiderList > .rider--delivering { color: $rider-delivering; }
    RiderList > .rider--idle { color: $rider-idle; }
    RiderList > .rider--offline { color: $lane-dim; }
    """
    BINDINGS = [
        Binding("enter", "open", "Orders", tooltip="The rider's orders", id="riders.orders"),
    ]
    EMPTY = " no riders"
    FOLLOW_TO_TOP = True
    """Riders re-sort by state all the time: a rider chosen with the keys, carried out of
    sight, comes back as the first row, where the eye starts, not as the last."""

    def __init__(self, store: Store, *, id: str | None = None) -> None:
        super().__init__(set(), id=id)
        self.store = store
        self.now: datetime | None = None
        self.states: dict[int, RiderState] = {}
        """Each rider's state as the screen last judged it (it judges all of them per tick)."""
        self.chosen = False
        """The cursor was moved by a key: it follows its rider. Until then it stays on the top
        row, the worst rider of the moment, whoever that is after a re-sort."""

    def show(self, ids: list[int]) -> None:
        if not self.chosen:
            self.cursor, self.cursor_id = 0, None  # the top row, whoever is there now
        super().show(ids)

    class CursorMoved(Message):
        """The cursor went to another rider (keys, not the list's own reshuffles)."""

        def __init__(self, item_id: int | None) -> None:
            super().__init__()
            self.item_id = item_id

    def move_to(self, index: int) -> None:
        before = self.cursor_id
        self.chosen = True
        super().move_to(index)
        if self.cursor_id != before:
            self.post_message(self.CursorMoved(self.cursor_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark":
            return False  # nothing to do to many riders at once (yet)
        return super().check_action(action, parameters)

    def row_source(self, item_id: int) -> object:
        rider = self.store.riders.get(item_id)
        if rider is None:
            return None
        return (
            self.states.get(item_id),
            rider.status,
            rider.fix_at,
            rider.speed_kmh,
            tuple(self.store.rider_orders.get(item_id, ())),
            fix_age(rider, self.now) if self.now else None,
        )

    def render_row(self, item_id: int, index: int, width: int, base: Style) -> Strip:
        rider = self.store.riders.get(item_id)
        if rider is None:
            return Strip.blank(width, base)
        now = self.now or self.store.clock.now()
        state = self.states.get(item_id, RiderState.OFFLINE)
        colour = self.get_component_rich_style(f"rider--{state.value}")
        orders = self.store.orders_of(item_id)
        load = f"{len(orders)}/{rider.capacity}" if rider.capacity else f"{len(orders)}"
        cold = "❄" if rider.cold_chain else " "
        with_state = width >= MEDIUM
        fixed = 2 + 5 + 2 + 5 + (11 if with_state else 0)
        name_width = 14 if width >= WIDE else max(6, width - fixed)
        cells = [f"{rider.name[:name_width]:<{name_width}}"]
        if with_state:
            cells.append(f"{STATE_WORD[state]:<10}")
        cells += [f"{load:>4}", cold, f"{fix_age(rider, now):>4}"]
        if width >= WIDE:
            speed = "" if rider.speed_kmh is None else f"{rider.speed_kmh:.0f}km/h"
            cells.append(f"{speed:>7}")
            cells.append(" ".join(f"#{i}" for i in orders))
        text_style = base + colour if state != RiderState.IDLE else base
        segments = [Segment(STATE_GLYPH[state], base + colour), Segment(" ", base)]
        segments += [Segment(cell + " ", text_style) for cell in cells]
        return Strip(segments).adjust_cell_length(width, base)
