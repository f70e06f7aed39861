"""`f6` on the board (htop's setup key): the lane in focus's columns and sort, and which lanes
the board shows.

Three lists side by side, `tab` between them. Columns: `space` shows or hides the one under the
cursor, `[` and `]` move it left or right (the lane drops columns from the right when narrow).
Sort: `space` chooses, `r` reverses. Lanes: `space` shows or hides one. `enter` applies, `0`
puts this lane back as the board lays it out, `esc` leaves everything as it was. With a saved
view open, the board keeps the result in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from backend_client.models import LaneSort
from console.board_look import (
    DEFAULT_LANE_LOOK,
    LaneLook,
    columns_allowed,
    default_names,
    sorts_allowed,
)
from console.store import Lane
from screens.dialogs import Dialog

SORT_WORDS = {
    LaneSort.URGENCY: "urgency (late first)",
    LaneSort.ID: "order id",
    LaneSort.CUSTOMER: "customer",
    LaneSort.RIDER: "rider",
    LaneSort.ZONE: "zone",
    LaneSort.CHANNEL: "channel",
    LaneSort.ETA: "ETA",
}


@dataclass(frozen=True)
class LaneSetup:
    """What the dialog answers: the lane's look, and the lanes the board shows."""

    look: LaneLook
    lanes: tuple[Lane, ...]


class ChoiceList(OptionList):
    """An option list whose `enter` applies the dialog instead of selecting in the list."""

    def action_select(self) -> None:
        screen = self.screen
        if isinstance(screen, LaneSetupScreen):
            screen.action_apply()


class LaneSetupScreen(Dialog):
    """One lane's columns (shown, in order) and sort, and the lanes shown; dismissed with a
    `LaneSetup` (None: cancelled)."""

    DEFAULT_CSS = """
    LaneSetupScreen > Vertical { width: 90; }
    LaneSetupScreen Horizontal { height: auto; }
    LaneSetupScreen Horizontal > Vertical { width: 1fr; height: auto; }
    LaneSetupScreen ChoiceList { height: auto; max-height: 10; }
    """
    BINDINGS = [
        Binding("space", "flip", "Show/choose", id="lane_setup.toggle"),
        Binding("left_square_bracket", "move(-1)", "Move left", id="lane_setup.left"),
        Binding("right_square_bracket", "move(1)", "Move right", id="lane_setup.right"),
        Binding("r", "reverse", "Reverse", id="lane_setup.reverse"),
        Binding("0", "reset", "Default", id="lane_setup.reset"),
        Binding("enter", "apply", "Apply", id="lane_setup.apply"),
    ]

    def __init__(self, lane: Lane, look: LaneLook, lanes: tuple[Lane, ...]) -> None:
        super().__init__()
        self.lane = lane
        self.lanes: set[Lane] = set(lanes)
        """The lanes the board shows."""
        shown = list(look.columns or default_names(lane))
        self.order: list[str] = shown + [
            c.value for c in columns_allowed(lane) if c.value not in shown
        ]
        """Every column the lane can show: the shown ones first, in their order."""
        self.shown: set[str] = set(shown)
        self.sort = look.sort
        self.descending = look.descending

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.lane.label}: columns and sort", classes="title")
            with Horizontal():
                with Vertical():
                    yield Label("Columns  (space, [ ])")
                    yield ChoiceList(id="columns")
                with Vertical():
                    yield Label("Sort by  (space, r)", id="sort-title")
                    yield ChoiceList(id="sort")
                with Vertical():
                    yield Label("Lanes shown  (space)")
                    yield ChoiceList(id="lanes")
            yield Label(
                "tab switches · enter applies · 0 the board's own · esc cancels",
                classes="hint",
            )

    def on_mount(self) -> None:
        self._draw()
        self.set_focus(self.query_one("#columns", ChoiceList))

    def _draw(self) -> None:
        columns = self.query_one("#columns", ChoiceList)
        at = columns.highlighted or 0
        columns.clear_options()
        for name in self.order:
            mark = "[x]" if name in self.shown else "[ ]"
            columns.add_option(Option(f"{mark} {name}", id=name))
        columns.highlighted = at
        sort = self.query_one("#sort", ChoiceList)
        at = sort.highlighted or 0
        sort.clear_options()
        for choice in sorts_allowed(self.lane):
            line = Text(f"({'•' if choice == self.sort else ' '}) {SORT_WORDS[choice]}")
            if choice == self.sort and self.descending:
                line.append("  reversed", style="italic")
            sort.add_option(Option(line, id=choice.value))
        sort.highlighted = at
        lanes = self.query_one("#lanes", ChoiceList)
        at = lanes.highlighted or 0
        lanes.clear_options()
        for lane in Lane:
            mark = "[x]" if lane in self.lanes else "[ ]"
            lanes.add_option(Option(f"{mark} {lane.label}", id=lane.value))
        lanes.highlighted = at

    def _focused_list(self) -> ChoiceList | None:
        focused = self.focused
        return focused if isinstance(focused, ChoiceList) else None

    def action_flip(self) -> None:
        chooser = self._focused_list()
        if chooser is None or chooser.highlighted is None:
            return
        option = chooser.get_option_at_index(chooser.highlighted)
        if chooser.id == "sort":
            self.sort = LaneSort(option.id or LaneSort.URGENCY)
        elif chooser.id == "lanes":
            lane = Lane(option.id or self.lane)
            if lane in self.lanes and len(self.lanes) == 1:
                self.notify("The board shows one lane at least.", severity="warning")
                return
            self.lanes.symmetric_difference_update({lane})
        else:
            name = option.id or ""
            if name in self.shown and len(self.shown) == 1:
                self.notify("A lane shows one column at least.", severity="warning")
                return
            self.shown.symmetric_difference_update({name})
        self._draw()

    def action_move(self, step: int) -> None:
        chooser = self._focused_list()
        if chooser is None or chooser.id != "columns" or chooser.highlighted is None:
            return
        at = chooser.highlighted
        to = at + step
        if not 0 <= to < len(self.order):
            return
        self.order[at], self.order[to] = self.order[to], self.order[at]
        chooser.highlighted = to
        self._draw()
        chooser.highlighted = to

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self._draw()

    def action_reset(self) -> None:
        self.dismiss(LaneSetup(DEFAULT_LANE_LOOK, self._lanes()))

    def action_apply(self) -> None:
        columns = tuple(name for name in self.order if name in self.shown)
        own = columns == default_names(self.lane)
        look = LaneLook(None if own else columns, self.sort, self.descending)
        self.dismiss(LaneSetup(look, self._lanes()))

    def _lanes(self) -> tuple[Lane, ...]:
        return tuple(lane for lane in Lane if lane in self.lanes)
