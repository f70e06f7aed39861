"""The console's screens: dimmed keys for what the account may not do, the reason on a press,
and the app's store and time zone at hand."""

from __future__ import annotations

from datetime import tzinfo

from textual import events
from textual.screen import Screen

from console.roles import denial
from console.store import Store


class GuardedScreen(Screen):
    """A screen whose guarded actions follow `console.roles`."""

    @property
    def store(self) -> Store:
        return self.app.store  # type: ignore[attr-defined]

    @property
    def zone(self) -> tzinfo | None:
        """Where times are shown (the app's), or None for the terminal's own."""
        return getattr(self.app, "zone", None)

    def denial(self, action: str) -> str | None:
        return denial(getattr(self.app, "role", None), action)

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
