"""Role-aware screens: dimmed keys for what the account may not do, and the reason on a press."""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from console.roles import denial


class GuardedScreen(Screen):
    """A screen whose guarded actions follow `console.roles`."""

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
