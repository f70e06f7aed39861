"""`?`: every key of the screen underneath, what it does, and why a dimmed one is dimmed."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.roles import denial

LANE_KEYS = [
    ("up / down, k / j", "move the cursor in the lane"),
    ("page up / page down, home / end", "move by a page, to the first or last order"),
    ("tab / shift+tab", "next or previous field or lane"),
    ("ctrl+p", "command palette: every screen and action"),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._keys(), id="keys")

    def _keys(self) -> Table:
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        role = getattr(self.app, "role", None)
        table = Table(title="Keys", expand=True, show_edge=False, header_style="bold")
        table.add_column("key", style="bold", no_wrap=True, ratio=1)
        table.add_column("does", ratio=3)
        seen: set[str] = set()
        for active in below.active_bindings.values():
            binding = active.binding
            if binding.system or not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            what = binding.tooltip or binding.description
            if not active.enabled:
                action = binding.action.split("(")[0].removeprefix("screen.")
                why = denial(role, action) or "not available here"
                what = f"[dim]{what} (off: {why})[/dim]"
            table.add_row(self.app.get_key_display(binding), what)
        for key, what in getattr(below, "HELP_KEYS", LANE_KEYS):
            table.add_row(key, what)
        return table
