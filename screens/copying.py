"""`y`, then a key: copy the order's id, its customer's phone or its tracking link to the
clipboard of the terminal on the desk (OSC 52: over SSH too), as lazygit's `y` does.

A prefix rather than a dialog: `yp` typed in one burst copies the phone (a dialog would drop the
`p`, as every dialog drops keys typed before it came up: `console.keys`). The key after `y` is
read here and goes nowhere else: `yl` copies the link and does not toggle "late only", `y esc`
copies nothing and clears no marks.
"""

from __future__ import annotations

import logging

from textual import events
from textual.binding import Binding

from backend_client import FreshlineError
from backend_client.models import Order
from console.copying import ASK, COPY_KEYS, CopyWhat, copied_text, needs_order, refusal, shown
from console.host import client_of
from screens.guard import LiveScreen

log = logging.getLogger(__name__)


class CopyingScreen(LiveScreen):
    """A live screen with an order under its cursor (`copy_subject`) that `y` copies from."""

    BINDINGS = [
        Binding(
            "y",
            "copy",
            "Copy",
            show=False,
            tooltip="Copy, then y or i: the order id · p: the phone · l: the tracking link",
            id="copy.start",
        )
    ]

    copying: int | None = None
    """The order `y` was pressed on: the next key says what to copy from it."""

    def copy_subject(self) -> int | None:
        """The order `y` copies from: the one under the cursor (None: nothing to copy)."""
        raise NotImplementedError

    def action_copy(self) -> None:
        order_id = self.copy_subject()
        if order_id is None:
            self.notify("No order under the cursor to copy from.", severity="warning")
            return
        self.copying = order_id
        self.notify(ASK, title=f"Copy from order {order_id}")

    def on_key(self, event: events.Key) -> None:
        """The key after `y`: what to copy. Nothing else sees it (no binding, no dimmed-key
        notice from `GuardedScreen`)."""
        if self.copying is None:
            return
        order_id, self.copying = self.copying, None
        event.stop()
        event.prevent_default()
        what = COPY_KEYS.get(event.key)
        if what is None:
            self.notify("Nothing copied.")
            return
        self._copy_from(order_id, what)

    def action_copy_what(self, key: str) -> None:
        """`:copy-id`, `:copy-phone`, `:copy-link`: what `y` then `key` copies, in one go."""
        order_id = self.copy_subject()
        if order_id is None:
            self.notify("No order under the cursor to copy from.", severity="warning")
            return
        self._copy_from(order_id, COPY_KEYS[key])

    def _copy_from(self, order_id: int, what: CopyWhat) -> None:
        why = refusal(self.host.me, what)
        if why:
            self.notify(why, title=f"Copy the {what}: not allowed", severity="warning")
            return
        if needs_order(what):
            self.run_worker(
                self._copy_from_server(order_id, what),
                name="copy",
                group="copy",
                exclusive=True,
                exit_on_error=False,
            )
        else:
            self._copy(what, copied_text(what, order_id, None, ""))

    async def _copy_from_server(self, order_id: int, what: CopyWhat) -> None:
        """The phone and the link are not on the board: the order's detail carries them, as
        the server shows them to this account."""
        order: Order | None = None
        try:
            order = await client_of(self.app).orders.get(order_id)
        except FreshlineError as exc:
            log.info("copy: order %s: %r", order_id, exc)
            self.notify(f"Nothing copied: {exc}", severity="warning")
            return
        try:
            text = copied_text(what, order_id, order, client_of(self.app).server)
        except ValueError as exc:
            self.notify(f"Nothing copied: {exc}.", severity="warning")
            return
        self._copy(what, text)

    def _copy(self, what: CopyWhat, text: str) -> None:
        self.app.copy_to_clipboard(text)
        self.notify(f"{shown(what, text)}", title=f"Copied the {what}")
