"""The console's screens: dimmed keys for what the account may not do, the reason on a press,
the app's store and time zone at hand (`console.host`), and the live screens' redraw contract."""

from __future__ import annotations

from datetime import tzinfo

from textual import events
from textual.screen import Screen

from console.host import ConsoleHost, host
from console.roles import denial
from console.store import Changes, Store


class GuardedScreen(Screen[None]):
    """A screen whose guarded actions follow the account's permissions (`console.roles`)."""

    @property
    def host(self) -> ConsoleHost:
        """The console app this screen runs in."""
        return host(self.app)

    @property
    def store(self) -> Store:
        return self.host.store

    @property
    def zone(self) -> tzinfo | None:
        """Where times are shown (the app's), or None for the terminal's own."""
        return self.host.zone

    def denial(self, action: str) -> str | None:
        return denial(self.host.me, action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None: shown dimmed in the footer and not run.
        return None if self.denial(action) else True

    def on_key(self, event: events.Key) -> None:
        """A dimmed key says why instead of doing nothing."""
        active = self.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        reason = self.denial(active.binding.action.split("(")[0].removeprefix("screen."))
        if reason:
            self.notify(
                reason, title=f"{active.binding.description}: not allowed", severity="warning"
            )
            event.stop()


class LiveScreen(GuardedScreen):
    """A screen the app's bounded redraw hands the store's changes to, once it is `ready`."""

    ready: bool = False
    """Laid out and drawn once: from now on it takes changes (set by the screen on mount)."""

    @property
    def taking_changes(self) -> bool:
        """Ready, and not on its way out. Textual's public `display` turns False while a node
        closes or is pruned: a screen being torn down has no widgets left to draw on."""
        return self.ready and self.display

    def show_changes(self, changes: Changes) -> None:
        """Draw what changed since the last tick (a `reloaded` change: everything)."""
        raise NotImplementedError
