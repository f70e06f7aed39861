"""A loud line that says the numbers on screen are old, and why; hidden while they are fresh.
On a wall screen (the `-wall` class) it is three lines tall, to be read across a room."""

from __future__ import annotations

from datetime import tzinfo

from backend_client import StreamState, StreamStatus
from console.store import KpiBoard, Store
from widgets.connection_badge import MARK, age
from widgets.live_text import LiveText


class StaleBanner(LiveText):
    DEFAULT_CSS = """
    StaleBanner {
        display: none; width: 1fr; height: 1; padding: 0 1;
        background: $error; color: $background; text-style: bold;
    }
    StaleBanner.-shown { display: block; }
    .-wall StaleBanner { height: 3; padding: 1 2; content-align: center middle; }
    """

    def say(self, text: str | None) -> None:
        """Show `text`, or hide the banner when None."""
        if text is not None:
            self.show(text)
        self.set_class(text is not None, "-shown")


STALE_AFTER = 20.0
"""Seconds without a KPI summary (pushed or fetched) before the KPIs count as stale: four
missed pushes at the server's default period, and two missed REST fetches after them."""


def kpi_staleness(
    board: KpiBoard, status: StreamStatus, now: float, zone: tzinfo | None
) -> str | None:
    """Why the KPIs on screen cannot be trusted now, or None when they are fresh."""
    link = _link(status)
    if board.summary is None:
        return f"⚠ NO KPIs YET · {link}"
    seconds = board.age(now) or 0.0
    taken = board.summary.computed_at.astimezone(zone)
    if seconds > STALE_AFTER:
        return f"⚠ STALE · KPIs of {taken:%H:%M:%S}, {age(seconds)} old · {link}"
    if status.state not in (StreamState.LIVE, StreamState.POLLING):
        # Still young, but nothing will refresh them while the link is down: say so now.
        return f"⚠ NOT UPDATING · KPIs of {taken:%H:%M:%S}, {age(seconds)} old · {link}"
    return None


def picture_staleness(store: Store, now: float) -> str | None:
    """Why the orders on screen cannot be trusted now, or None while the feed is live."""
    status = store.connection
    if status.state in (StreamState.LIVE, StreamState.POLLING):
        return None
    if store.fresh_at is None:
        return f"⚠ NO PICTURE YET · {_link(status)}"
    return f"⚠ STALE · picture {age(now - store.fresh_at)} old · {_link(status)}"


def _link(status: StreamStatus) -> str:
    label = status.state.value.upper()
    if status.state == StreamState.RECONNECTING and status.attempt:
        label += f" (attempt {status.attempt})"
    if status.state == StreamState.OFFLINE and status.detail:
        label += f": {status.detail}"
    return f"{MARK[status.state]} {label}"
