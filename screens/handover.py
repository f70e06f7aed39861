"""The shift handover digest on the console: what the next shift must know, the same Markdown
`freshline handover` prints (console/handover_words.py), read with the keyboard.

Not fed by the stream (a digest is read once at a handover, and again on asking): read from
the API when the screen shows, on `r`, and every minute while it shows. A merchant's account
is told the digest is the desk's.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Markdown

from backend_client import FreshlineError, PermissionDenied
from backend_client.models import HandoverDigest
from console.handover_words import markdown
from console.host import client_of
from screens.guard import GuardedScreen
from widgets.live_text import LiveText
from widgets.top_bar import TopBar

REFRESH_SECONDS = 60.0
"""How often the digest is read again while the screen shows."""
NOT_THE_DESK = "the handover digest is the desk's (permission handover:read)"


def status_line(digest: HandoverDigest) -> str:
    """One line above the digest: what needs someone first, readable without colour."""
    unhandled = sum(a.acknowledged_by is None for a in digest.critical_alerts)
    urgent = f"!! {unhandled} critical nobody has · " if unhandled else ""
    return (
        f"{urgent}{len(digest.critical_alerts)} critical · "
        f"{len(digest.waiting_requests)} waiting · {len(digest.riders_out)} riders out · "
        f"{digest.late_total} late"
    )


class HandoverScreen(GuardedScreen):
    """The digest as Markdown in a scrolling view (arrows, page keys, home and end)."""

    DEFAULT_CSS = """
    HandoverScreen #handover-status { height: 1; padding: 0 1; color: $text-muted; }
    HandoverScreen #handover-view { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("r", "reload", "Read again", tooltip="Read the digest now", id="handover.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.digest: HandoverDigest | None = None
        """The digest shown (None until read)."""
        self.reads = 0
        """How many digests have been shown (tests wait on it)."""

    def compose(self) -> ComposeResult:
        yield TopBar("handover")
        yield LiveText("reading…", id="handover-status")
        with VerticalScroll(id="handover-view"):
            yield Markdown("", id="digest")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(REFRESH_SECONDS, self.action_reload)
        self.action_reload()
        self.query_one("#handover-view").focus()

    def on_screen_resume(self) -> None:
        self.action_reload()
        self.query_one("#handover-view").focus()

    def action_reload(self) -> None:
        if self.is_current:
            self._read()

    @work(group="handover-read", exclusive=True, exit_on_error=False)
    async def _read(self) -> None:
        status = self.query_one("#handover-status", LiveText)
        try:
            digest = await client_of(self.app).handover.digest()
        except PermissionDenied:
            status.show(f"!! {NOT_THE_DESK}")
            return
        except FreshlineError as error:
            status.show(f"!! not read: {error}")
            return
        self.digest = digest
        await self.query_one("#digest", Markdown).update(markdown(digest))
        status.show(status_line(digest))
        self.reads += 1
