"""The `:` command line (k9s style): a line at the bottom, Tab completes, Enter runs, Esc backs
out. A command that cannot be taken says why under the line and nothing is done; one that
changes something goes through the API as the signed-in user and answers in a notification.

The commands are `console.command_line.REGISTRY`'s, the same the palette lists and `freshline
act` runs; `ConsoleDesk` is how the ones that only show things reach the screens.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label

from console.command_line import (
    REGISTRY,
    CommandRefused,
    Parsed,
    Session,
    StoreWords,
    complete,
    parse,
)
from console.host import host
from console.roles import screen_denial
from console.store import OrderFilter, RiderState
from screens.dialogs import ConfirmDialog

if TYPE_CHECKING:
    from textual.app import App

    from backend_client.models import Me
    from console.alert_book import AlertFilter

log = logging.getLogger(__name__)

SCREEN_WORDS = {
    "BoardScreen": "the board",
    "OrderDetailScreen": "an order's detail",
    "ExceptionsScreen": "the exception queue",
    "RidersScreen": "the riders screen",
    "KpiScreen": "the KPIs",
    "HandoverScreen": "the handover",
    "WebhooksScreen": "the webhooks screen",
    "MerchantScreen": "the store screen",
}
"""Where a bare command works, in words."""

SHOWN_CANDIDATES = 8
"""Completions listed under the line at most (the rest: "and n more")."""


class ConsoleDesk:
    """The console's screens as the `:` commands see them (`console.command_line.Desk`)."""

    def __init__(self, app: App[Any], screen: Screen[Any]) -> None:
        self.app, self.screen = app, screen

    @property
    def me(self) -> Me | None:
        return host(self.app).me

    @property
    def screen_name(self) -> str:
        return type(self.screen).__name__

    async def switch_to(self, mode: str) -> None:
        why = screen_denial(self.me, mode)
        if why:
            raise CommandRefused(why)
        await self.app.run_action(f"switch_mode('{mode}')")
        self.screen = self.app.screen

    async def _root(self, mode: str, kind: type[Screen[Any]]) -> Any:
        await self.switch_to(mode)
        screen = self.app.screen
        if not isinstance(screen, kind):
            raise CommandRefused(f"the {mode} screen did not open")
        return screen

    async def show_orders(self, order_filter: OrderFilter) -> None:
        from screens.board import BoardScreen

        board = await self._root("board", BoardScreen)
        board.show_filtered(order_filter)

    async def show_riders(self, state: str | None, text: str) -> None:
        from screens.riders import RidersScreen

        riders = await self._root("riders", RidersScreen)
        riders.show_filtered(RiderState(state) if state else None, text)

    async def show_alerts(self, alert_filter: AlertFilter) -> None:
        from screens.exceptions import ExceptionsScreen

        queue = await self._root("exceptions", ExceptionsScreen)
        queue.show_filtered(alert_filter)

    def open_order(self, order_id: int) -> None:
        host(self.app).open_order(order_id)

    def open_track(self, order_id: int) -> None:
        host(self.app).open_track(order_id)

    async def run_action(self, action: str) -> None:
        await self.app.run_action(action, self.screen)

    async def keep_view(self, verb: str, name: str) -> str:
        from console import views
        from screens.board import BoardScreen

        console = host(self.app)
        try:
            if verb == "delete":
                await views.delete_view(console, name)
                return f"View {name} deleted."
            if verb == "default":
                await views.set_default(console, name)
                return f"View {name} opens at sign-in from now on."
            if verb == "save":
                await views.save_view(console, name)
                said = f"View {name} saved: the board as it is now."
            else:
                await views.open_view(console, name)
                said = f"View {name} open."
        except views.ViewError as exc:
            raise CommandRefused(str(exc)) from None
        # Done while the line is still up (a refusal stays under it); then the board, which
        # is what a view shows.
        await self._root("board", BoardScreen)
        return said


def session_of(app: App[Any]) -> Session:
    """The signed-in user, with the versions the console shows (a change since is a 409)."""
    console = host(app)
    if console.client is None:
        raise CommandRefused("not signed in yet")
    store = console.store

    def seen_order(order_id: int) -> tuple[int, str] | None:
        card = store.orders.get(order_id)
        return (card.version, str(card.status)) if card else None

    def seen_alert(alert_id: int) -> int | None:
        alert = store.alerts.alerts.get(alert_id)
        return alert.version if alert else None

    return Session(console.client, console.me, seen_order, seen_alert)


def read(app: App[Any], line: str) -> Parsed:
    """`line` checked against the registry and what the console holds (`CommandRefused`)."""
    console = host(app)
    return parse(line, REGISTRY, StoreWords(console.store), console.me)


def applies(parsed: Parsed, screen: Screen[Any]) -> None:
    """A bare command acts on the screen's cursor: only on the screens it belongs to."""
    command = parsed.command
    if not (parsed.bare and command.action is not None and command.screens):
        return
    if type(screen).__name__ in command.screens or not command.action.startswith("screen."):
        return
    if command.send is not None or command.show is not None:
        raise CommandRefused(f"`{command.name}` needs its arguments here: {command.usage}")
    where = " or ".join(SCREEN_WORDS.get(name, name) for name in command.screens)
    raise CommandRefused(f"`{command.name}` works on {where}: {command.summary}")


async def run(app: App[Any], screen: Screen[Any], parsed: Parsed) -> None:
    """Do what `parsed` says, and say how it went (run it in a worker: it may ask first)."""
    command = parsed.command
    try:
        applies(parsed, screen)
        if parsed.bare and command.action is not None:
            await app.run_action(command.action, screen)
            return
        if command.show is not None:
            said = await command.show(ConsoleDesk(app, screen), parsed)
            if said:
                app.notify(said, markup=False)
            return
        assert command.send is not None
        question = command.confirm(parsed) if command.confirm else None
        if question and not parsed.flag("yes"):
            yes = await app.push_screen_wait(
                ConfirmDialog(question, consequence="This cannot be undone.", yes=command.name)
            )
            if not yes:
                return
        answer = await command.send(session_of(app), parsed)
    except CommandRefused as refused:
        app.notify(
            refused.reason, title=f"{command.name}: not done", severity="warning", markup=False
        )
        return
    log.info("command %s: %s", command.name, answer.text)
    app.notify(answer.text, title=command.name, markup=False)


class CommandLine(ModalScreen[None]):
    """`:` then a command; Tab completes, Enter runs, Esc backs out."""

    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: $background 0%; }
    CommandLine > Vertical { height: auto; background: $surface; border-top: solid $accent; }
    CommandLine #said { padding: 0 1; color: $text-muted; height: auto; }
    CommandLine #said.-refused { color: $text; text-style: bold; }
    CommandLine Input, CommandLine Input:focus { border: none; height: 1; padding: 0 1; }
    """
    AUTO_FOCUS = "Input"
    BINDINGS = [
        Binding("escape", "close", "Back", id="command_line.close"),
        Binding("tab", "complete", "Complete", priority=True, id="command_line.complete"),
    ]

    def __init__(self, below: Screen[Any], text: str = "") -> None:
        super().__init__()
        self.below = below
        """The screen the command was typed on: bare commands act on its cursor."""
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            # Not markup: what it says quotes what was typed (`[--late]`, a stray `[`).
            yield Label("Tab completes · Enter runs · Esc backs out", id="said", markup=False)
            yield Input(self.text, placeholder="command (help lists them)", id="line")

    @property
    def line(self) -> Input:
        return self.query_one("#line", Input)

    def say(self, text: str, *, refused: bool = False) -> None:
        said = self.query_one("#said", Label)
        said.update(text)
        said.set_class(refused, "-refused")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_complete(self) -> None:
        line = self.line
        completion = complete(line.value, REGISTRY, StoreWords(host(self.app).store))
        line.value = completion.line
        line.cursor_position = len(line.value)
        found = completion.candidates
        if not found:
            self.say("nothing to complete here")
        elif len(found) > 1:
            more = f" … and {len(found) - SHOWN_CANDIDATES} more" if len(found) > 8 else ""
            self.say("  ".join(found[:SHOWN_CANDIDATES]) + more)
        else:
            self.say(self._usage(line.value))

    def _usage(self, text: str) -> str:
        try:
            parsed = read(self.app, text)
        except CommandRefused:
            return "Tab completes · Enter runs · Esc backs out"
        return parsed.command.usage

    @on(Input.Submitted, "#line")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parsed = read(self.app, event.value)
            applies(parsed, self.below)
        except CommandRefused as refused:
            self.say(refused.reason, refused=True)  # the line stays: fix it, or esc
            return
        self.dismiss(None)
        below, app = self.below, self.app
        app.run_worker(
            run(app, below, parsed), name=f":{parsed.command.name}", group="command",
            exit_on_error=False,
        )  # fmt: skip
