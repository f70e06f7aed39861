"""Adjusting a SKU's stock from the merchant screen: units and why, in one line."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from console.store_front import StockLine
from screens.dialogs import Dialog

ADJUSTMENT = re.compile(r"^\s*([+-]?\d{1,6})\s+(\S.*)$")
"""`-3 wilted`, `+24 delivery`: a signed number of units, then the reason."""


class AdjustDialog(Dialog):
    """`+24 delivery` or `-3 wilted`: units on hand to add or take off, and why; dismissed with
    (delta, reason), or None."""

    def __init__(self, line: StockLine) -> None:
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        line = self.line
        with Vertical():
            yield Label(
                f"Adjust {line.name} ({line.sku}): {line.available} available, "
                f"{line.reserved} reserved",
                classes="title",
            )
            yield Input(placeholder="-3 wilted  or  +24 delivery", max_length=500, id="adjust")
            yield Label("units, then why · enter confirms · esc cancels", classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        found = ADJUSTMENT.match(event.value)
        if found is None or int(found.group(1)) == 0:
            self.notify("Units, then why: e.g. -3 wilted.", severity="warning")
            return
        self.dismiss((int(found.group(1)), found.group(2).strip()))
