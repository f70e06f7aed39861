"""The line at the top of every main screen: the screens as tabs (the exception queue's with
how many alerts wait), where you are, as whom, the server's time, and the connection badge."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from console.host import host
from widgets.connection_badge import ConnectionBadge
from widgets.live_text import LiveText

TABS = (
    ("1", "board", "Board", "Board"),
    ("2", "exceptions", "Exceptions", "Exc"),
    ("3", "riders", "Riders", "Riders"),
    ("4", "kpi", "KPIs", "KPIs"),
)
"""(key, mode, label, short label) of each main screen, in key order."""
NARROW = 100
"""Under this width the tabs use their short labels (every tab fits at 80 columns)."""


class TopBar(Horizontal):
    DEFAULT_CSS = """
    TopBar { height: 1; background: $panel; }
    TopBar > #title { width: 1fr; padding: 0 1; }
    TopBar > #clock { width: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self._shown_title = ""

    def compose(self) -> ComposeResult:
        yield LiveText(self._title_text(), id="title")
        yield LiveText(id="clock")
        yield ConnectionBadge()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def on_resize(self) -> None:
        self.tick()  # narrow or wide tabs

    def _title_text(self) -> Text:
        text = Text("Freshline", style="bold")
        modes, current = self.app.MODES, self.app.current_mode
        store = host(self.app).store
        narrow = 0 < self.size.width < NARROW
        for key, mode, label, short in TABS:
            if mode not in modes:
                continue
            tab = f" {key} {short if narrow else label}"
            if mode == "exceptions":
                waiting, critical = store.alerts.unhandled(), store.alerts.critical()
                tab += f" {waiting}" + (f" !!{critical}" if critical else "")
            text.append("  ")
            text.append(tab + " ", style="reverse bold" if mode == current else "")
        if self.title not in {mode for _, mode, _, _ in TABS}:
            text.append(f"  · {self.title}", style="bold")
        who = host(self.app).who
        if who:
            text.append(f"  · {who}", style="dim")
        return text

    def tick(self) -> None:
        # Who is signed in can change under a mounted screen (a wall signs in by itself), and
        # so do the tabs' counts: shown again only when they change.
        self.query_one("#title", LiveText).show(self._title_text())
        clock = host(self.app).store.clock
        speed = f" ({clock.speed:g}x)" if clock.speed != 1 else ""
        self.query_one("#clock", LiveText).show(
            f"{clock.now().astimezone(host(self.app).zone):%H:%M:%S}{speed}"
        )
