"""The line at the top of every main screen: the screens as tabs (the exception queue's with
how many alerts wait), where you are, as whom, the server's time, and the connection badge."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from console.host import host
from console.roles import screen_denial
from widgets.connection_badge import ConnectionBadge
from widgets.live_text import LiveText

TABS = (
    ("1", "board", "Board", "Board"),
    ("2", "exceptions", "Exceptions", "Exc"),
    ("3", "riders", "Riders", "Riders"),
    ("4", "kpi", "KPIs", "KPIs"),
)
"""(key, mode, label, short label) of each main screen, in key order."""
BADGE_ROOM = 24
"""What the connection badge takes in its long form while all is well ("● LIVE · event 12s
ago" and its padding)."""


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

    def _title_text(self, narrow: bool = False) -> Text:
        """The name, the tabs and who; `narrow`: short labels, no name and no account, so that
        every tab fits at 80 columns."""
        text = Text("" if narrow else "Freshline", style="bold")
        modes, current = self.app.MODES, self.app.current_mode
        store = host(self.app).store
        for key, mode, label, short in TABS:
            if mode not in modes or screen_denial(host(self.app).me, mode):
                continue  # (a store account's console has no desk screens to tab to)
            tab = f" {key} {short if narrow else label}"
            if mode == "exceptions":
                waiting, critical = store.alerts.unhandled(), store.alerts.critical()
                tab += f" {waiting}" + (f" !!{critical}" if critical else "")
            text.append(" " if narrow and not text else "  ")
            text.append(tab + " ", style="reverse bold" if mode == current else "")
        if self.title not in {mode for _, mode, _, _ in TABS}:
            text.append(f"  · {self.title}", style="bold")
        who = host(self.app).who
        if who and not narrow:
            text.append(f"  · {who}", style="dim")
        return text

    def tick(self) -> None:
        # Who is signed in can change under a mounted screen (a wall signs in by itself), and
        # so do the tabs' counts: shown again only when they change.
        clock = host(self.app).store.clock
        speed = f" ({clock.speed:g}x)" if clock.speed != 1 else ""
        time_text = f"{clock.now().astimezone(host(self.app).zone):%H:%M:%S}{speed}"
        title = self._title_text()
        # The long form while it fits beside the clock and the badge (padding included), else
        # the short one, with a short badge too: a tab cut off is a screen you cannot find.
        room = self.size.width - (len(time_text) + 2) - BADGE_ROOM
        narrow = self.size.width > 0 and title.cell_len + 2 > room
        if narrow:
            title = self._title_text(narrow=True)
        badge = self.query_one(ConnectionBadge)
        if badge.compact != narrow:
            badge.compact = narrow
            badge.update_badge()
        self.query_one("#title", LiveText).show(title)
        self.query_one("#clock", LiveText).show(time_text)
