"""The desk noticing things: what it looked at, kept between runs (`console.looked`), and the
alerts that ring the bell and raise a desktop notification (`console.attention`).

The app calls `tick` on its bounded redraw tick, whatever screen is on top: an alert rings on
the KPI screen too, and the looked book is saved a few seconds after it changed, not on every
cursor move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from console.attention import Attention
from console.looked import Kind, LookedBook, desk_file
from console.store import Store

log = logging.getLogger(__name__)

SAVE_AFTER = 3.0
"""Seconds a change to the looked book waits before it is written (a burst of `j`s: one
write)."""


class Noticing:
    """What the desk looked at and what it is told about, for one console."""

    def __init__(
        self,
        store: Store,
        attention: Attention,
        write: Callable[[str], None],
        *,
        folder: Path | None = None,
        keep: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.attention = attention
        self.write = write
        """Writes escape sequences to the terminal (the app's driver)."""
        self.folder = folder
        """Where desks' looked books are kept (None: the user's state directory)."""
        self.keep = keep
        """False: the looked book lasts this session only (the wall, tests)."""
        self.clock = clock
        """Seconds, for when to save (tests drive their own)."""
        self.looked = LookedBook()
        self._known = False
        """The first snapshot's alerts were taken as known (they do not ring)."""
        self._alerts_seen: tuple[int, int, int] | None = None
        self._changed_at: float | None = None

    def signed_in(self, server: str, username: str) -> None:
        """Open this desk's book for `username` on `server` (the one before saved first)."""
        path = desk_file(server, username, self.folder) if self.keep else None
        if path is not None and path == self.looked.path:
            return
        self.flush()
        self.looked = LookedBook(path)
        self._changed_at = None
        # Another account's first snapshot: what stands in it is known, not rung for.
        self._known = False
        self._alerts_seen = None

    def tick(self) -> None:
        store = self.store
        if not store.loads or store.last_seq is None:
            return  # no snapshot yet (or signed out): nothing to look at
        if not self.looked.started:
            self.looked.start(
                {
                    Kind.ORDER: {i: c.version for i, c in store.orders.items()},
                    Kind.ALERT: {i: a.version for i, a in store.alerts.alerts.items()},
                }
            )
        self._ring()
        if self.looked.dirty:
            now = self.clock()
            if self._changed_at is None:
                self._changed_at = now
            elif now - self._changed_at >= SAVE_AFTER:
                self.flush()

    def _ring(self) -> None:
        store = self.store
        alerts = store.alerts.alerts
        seen = (store.loads, store.applied, len(alerts))
        if seen == self._alerts_seen:
            return
        self._alerts_seen = seen
        if not self._known:
            self._known = True
            self.attention.know(alerts.values())
            return
        out = self.attention.check(alerts.values())
        if out:
            log.info("attention: %r", out)
            self.write(out)

    def flush(self) -> None:
        """Save the looked book now if it changed, forgetting rows no longer on the desk."""
        self._changed_at = None
        if not self.looked.dirty:
            return
        store = self.store
        keep = {Kind.ORDER: store.orders.keys(), Kind.ALERT: store.alerts.alerts.keys()}
        self.looked.save(keep if store.loads else None)

    def toggle(self) -> bool:
        """ctrl+g: attention off or back on; whether it is now on."""
        self.attention.enabled = not self.attention.enabled
        return self.attention.enabled
