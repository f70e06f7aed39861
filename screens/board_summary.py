"""The board at a glance, for a wall: one card per lane with its count in big digits, how many
are late, and its most urgent orders. Read-only; `enter` on a card opens the board on its lane.
Says loudly when the picture is stale (the feed reconnects by itself meanwhile)."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Digits, Footer

from console.store import Changes, Lane, OrderFilter, Urgency
from screens.guard import LiveScreen
from widgets.live_text import LiveText
from widgets.order_row import GLYPH, fit, time_cell
from widgets.stale_banner import StaleBanner, picture_staleness
from widgets.top_bar import TopBar

HEAD_ROWS = 4
"""Rows of a card above its orders: the count in big digits (3) and how many are late (1)."""


def room(card_height: int) -> int:
    """How many order lines fit on a card whose inside is `card_height` rows (one at least)."""
    return max(1, card_height - HEAD_ROWS)


def listed(orders: int, fits: int) -> int:
    """Orders to list when `fits` lines fit: all, or all but the line that counts the rest (on
    a one-line card the most urgent order, its count in the digits above)."""
    return orders if orders <= fits or fits == 1 else fits - 1


class LaneCard(Vertical, can_focus=True):
    DEFAULT_CSS = """
    LaneCard {
        border: round $panel-lighten-2; border-title-color: $text-muted; padding: 0 1;
        height: 1fr;
    }
    LaneCard:focus { border: round $accent; }
    LaneCard > #late { color: $lane-late; text-style: bold; }
    LaneCard > #late.-none { color: $lane-ok; text-style: none; }
    LaneCard > #orders { color: $text; text-wrap: nowrap; text-overflow: ellipsis; }
    LaneCard.-stale > Digits { color: $text-disabled; }
    """

    def __init__(self, lane: Lane) -> None:
        super().__init__(id=f"card-{lane.value}")
        self.lane = lane
        self.border_title = lane.label

    def compose(self) -> ComposeResult:
        yield Digits("0")
        yield LiveText("", id="late")
        yield LiveText("", id="orders")

    def show(self, count: int, late: int, lines: Text) -> None:
        digits = self.query_one(Digits)
        if digits.value != str(count):
            digits.update(str(count))
        text = f"!! {late} late" if late else "none late"
        self.query_one("#late", LiveText).show(text)
        self.query_one("#late", LiveText).set_class(not late, "-none")
        self.query_one("#orders", LiveText).show(lines)


class BoardSummaryScreen(LiveScreen):
    """Every lane's count, lateness and most urgent orders."""

    DEFAULT_CSS = """
    BoardSummaryScreen #cards { grid-size: 3 2; grid-gutter: 0 1; padding: 0 1; height: 1fr; }
    BoardSummaryScreen.-narrow #cards { grid-size: 2 3; }
    """
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="The board on this lane", id="summary.open"),
        Binding("right", "app.focus_next", "Next", show=False, id="summary.next"),
        Binding("left", "app.focus_previous", "Previous", show=False, id="summary.previous"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[Lane, LaneCard] = {}
        self._drawn = 0.0

    def compose(self) -> ComposeResult:
        yield TopBar("board summary")
        yield StaleBanner()
        self.cards = {lane: LaneCard(lane) for lane in Lane}
        with Grid(id="cards"):
            yield from self.cards.values()
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 120, "-narrow")  # no Resize comes on a mode switch
        self.show_changes(Changes(reloaded=True))
        self.ready = True

    def on_screen_resume(self) -> None:
        self.show_changes(Changes(reloaded=True))

    def on_resize(self) -> None:
        self.set_class(self.size.width < 120, "-narrow")
        self.call_after_refresh(self.show_changes, Changes(reloaded=True))  # cards' room changed

    def show_changes(self, changes: Changes) -> None:
        """Redraw on any change of lanes or connection, and once a second (time moves)."""
        now = time.monotonic()
        if not (changes.lanes or changes.reloaded or changes.connection or now - self._drawn >= 1):
            return
        self._drawn = now
        store = self.store
        clock_now = store.clock.now()
        zone = self.zone
        why = picture_staleness(store, now)
        self.query_one(StaleBanner).say(why)
        for lane, card in self.cards.items():
            ids = store.lane_ids(lane)
            count, late = store.lane_counts(lane)
            lines = Text()
            fits = room(card.content_size.height)
            # The most urgent orders, as many as the card holds; the last line counts the rest.
            shown = listed(len(ids), fits)
            for order_id in ids[:shown]:
                order = store.orders[order_id]
                urgency = store.urgency(order, clock_now)
                style = "bold" if urgency == Urgency.LATE else ""
                line = f"{GLYPH[urgency]}{order.id:>6} {fit(order.customer, 12)} "
                line += time_cell(order, clock_now, zone)
                lines.append(line + "\n", style=style)
            if len(ids) > shown and fits > 1:
                lines.append(f"   … {len(ids) - shown} more", style="dim")
            card.show(count, late, lines)
            card.set_class(why is not None, "-stale")

    async def action_open(self) -> None:
        from screens.board import BoardScreen

        focused = self.focused
        lane = focused.lane if isinstance(focused, LaneCard) else None
        await self.app.switch_mode("board")
        if isinstance(self.app.screen, BoardScreen):
            self.app.screen.show_filtered(OrderFilter(), lane)
