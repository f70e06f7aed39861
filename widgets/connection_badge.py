"""The connection badge: is the picture live, and how old is it. Always on screen."""

from __future__ import annotations

import time

from backend_client import StreamState, StreamStatus
from console.host import host
from widgets.live_text import LiveText

MARK = {
    StreamState.CONNECTING: "◌",
    StreamState.LIVE: "●",
    StreamState.RECONNECTING: "◌",
    StreamState.RESYNCING: "⟳",
    StreamState.POLLING: "◐",
    StreamState.OFFLINE: "✕",
}


def age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.1f}h"


def badge_text(
    status: StreamStatus,
    last_event_at: float | None,
    fresh_at: float | None,
    now: float,
    *,
    compact: bool = False,
) -> str:
    """E.g. "● LIVE · event 3s ago", "◌ RECONNECTING (attempt 2) · picture 42s old"; compact
    (a narrow terminal) while all is well: "● LIVE 3s". Trouble keeps its words."""
    label = status.state.value.upper()
    if status.state == StreamState.RECONNECTING and status.attempt:
        label += f" (attempt {status.attempt})"
    text = f"{MARK[status.state]} {label}"
    if status.state in (StreamState.LIVE, StreamState.POLLING):
        if last_event_at is not None:
            since = age(now - last_event_at)
            text += f" {since}" if compact else f" · event {since} ago"
        return text
    if fresh_at is not None:
        text += f" · picture {age(now - fresh_at)} old"
    return text


class ConnectionBadge(LiveText):
    """Reads the app's store twice a second; colour by state, words for everything."""

    DEFAULT_CSS = """
    ConnectionBadge { width: auto; padding: 0 1; text-style: bold; }
    ConnectionBadge.-live { background: $badge-live 30%; color: $text; }
    ConnectionBadge.-trouble { background: $badge-trouble; color: $background; }
    ConnectionBadge.-offline { background: $badge-offline; color: $background; }
    """

    compact = False
    """Set by the top bar on a narrow terminal: the short form while all is well."""

    def on_mount(self) -> None:
        self.update_badge()
        self.set_interval(0.5, self.update_badge)

    def update_badge(self) -> None:
        store = host(self.app).store
        status: StreamStatus = store.connection
        now = time.monotonic()
        self.show(
            badge_text(status, store.last_event_at, store.fresh_at, now, compact=self.compact)
        )
        state = status.state
        self.set_class(state == StreamState.LIVE, "-live")
        self.set_class(state == StreamState.OFFLINE, "-offline")
        self.set_class(state not in (StreamState.LIVE, StreamState.OFFLINE), "-trouble")
