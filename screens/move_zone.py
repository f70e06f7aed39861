"""Moving a rider to another zone (`z` on the riders screen): the zones, each with how it is
staffed now, and the rider's own zone marked; enter moves, esc backs out."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from screens.dialogs import Dialog


class ZonePicker(Dialog):
    """Which zone to move `rider` to; answers the zone's name, or None."""

    DEFAULT_CSS = "ZonePicker > Vertical { width: 60; }"
    BINDINGS = [
        Binding("enter", "choose", "Move", priority=True, id="move_zone.choose"),
        Binding("down", "step(1)", "Next", show=False, id="move_zone.next"),
        Binding("up", "step(-1)", "Previous", show=False, id="move_zone.previous"),
    ]

    def __init__(self, rider: str, zones: list[tuple[str, str]], current: str | None) -> None:
        """`zones`: (name, what to show about it), in the order to list them."""
        super().__init__()
        self.rider, self.zones, self.current = rider, zones, current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Move {self.rider} to", classes="title")
            yield OptionList(
                *(
                    Option(f"{'*' if name == self.current else ' '} {line}", id=name)
                    for name, line in self.zones
                ),
                id="zones",
            )
            yield Label("* where they are · enter moves · esc cancels", classes="hint")

    def on_mount(self) -> None:
        zones = self.query_one(OptionList)
        zones.highlighted = 0
        zones.focus()

    def action_step(self, by: int) -> None:
        """Up and down reach the list even before it has focus (a fast `z down enter`)."""
        zones = self.query_one(OptionList)
        if by > 0:
            zones.action_cursor_down()
        else:
            zones.action_cursor_up()

    def action_choose(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        if option is not None and option.id is not None:
            self.dismiss(option.id)
