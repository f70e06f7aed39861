"""A checkbox that says on or off in its shape, not only in its colour."""

from __future__ import annotations

from textual.widgets import Checkbox


class ToggleBox(Checkbox):
    """`▐X▌ faults only` when on, `▐ ▌ faults only` when off: Textual's checkbox shows an X in
    both states and tells them apart by colour alone, which NO_COLOR and some 16-colour
    palettes erase."""

    ON, OFF = "X", " "

    def __init__(self, label: str, *, id: str | None = None, compact: bool = False) -> None:
        super().__init__(label, id=id, compact=compact)
        self.BUTTON_INNER = self.OFF

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.ON if self.value else self.OFF
        self.refresh()
        super().watch_value()
