"""The line at the top of every main screen: where you are, as whom, the server's time, and
the connection badge."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from widgets.connection_badge import ConnectionBadge
from widgets.live_text import LiveText


class TopBar(Horizontal):
    DEFAULT_CSS = """
    TopBar { height: 1; background: $panel; }
    TopBar > #title { width: 1fr; padding: 0 1; text-style: bold; }
    TopBar > #clock { width: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self._shown_title = ""

    def compose(self) -> ComposeResult:
        self._shown_title = self._title_text()
        yield Static(self._shown_title, id="title")
        yield LiveText(id="clock")
        yield ConnectionBadge()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def _title_text(self) -> str:
        who = getattr(self.app, "who", "")
        return f"Freshline · {self.title}" + (f" · {who}" if who else "")

    def tick(self) -> None:
        # Who is signed in can change under a mounted screen (a wall signs in by itself);
        # updated only then: an update lays the screen out again.
        title = self._title_text()
        if title != self._shown_title:
            self._shown_title = title
            self.query_one("#title", Static).update(title)
        store = getattr(self.app, "store", None)
        zone = getattr(self.app, "zone", None)
        if store is not None:
            clock = store.clock
            speed = f" ({clock.speed:g}x)" if clock.speed != 1 else ""
            self.query_one("#clock", LiveText).show(
                f"{clock.now().astimezone(zone):%H:%M:%S}{speed}"
            )
