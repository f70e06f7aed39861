"""The Freshline console: the App, its global keys, its screens, and the one live feed.

Kept small on purpose: screens live in `screens/`, widgets in `widgets/`, the picture of the city
in `console/store/`, the feed in `console/live.py`, the palette in `console/commands.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from backend_client import (
    Backoff,
    FreshlineClient,
    FreshlineError,
    KeyringUnavailable,
    NotAuthenticated,
    StreamRefused,
    StreamState,
    StreamStatus,
    TokenStore,
)
from backend_client.models import Me, Role, TokenResponse
from console.attention import Attention, AttentionSettings
from console.commands import FreshlineCommands
from console.host import ConsoleHost
from console.keys import KeyGate, set_escape_delay
from console.kpi_feed import KpiFeed
from console.live import LiveFeed, desk
from console.looked import LookedBook
from console.noticing import Noticing
from console.roles import home_mode, screen_denial
from console.sign_in import SESSION_ENDED, SIGNED_OUT, KnownUsers
from console.store import Changes, Store
from console.views import ViewBook, open_default_view
from console.wall import Wall, WallSettings
from screens.board import BoardScreen
from screens.board_summary import BoardSummaryScreen
from screens.command_line import CommandLine
from screens.exceptions import ExceptionsScreen
from screens.guard import GuardedScreen, LiveScreen
from screens.handover import HandoverScreen
from screens.help import HelpScreen, footer_laid_out
from screens.kpi import KpiScreen
from screens.login import LoginScreen
from screens.merchant import MerchantScreen
from screens.riders import RidersScreen
from screens.webhooks import WebhooksScreen
from themes import APP_CSS, DEFAULT_THEME, DOMAIN_DEFAULTS, THEMES

log = logging.getLogger(__name__)


def takes_type_ahead(screen: Screen[Any]) -> bool:
    """The console's views, its help, its palette and its `:` line take keys typed before they
    came up; dialogs and the sign-in form do not (`console.keys`)."""
    return isinstance(screen, GuardedScreen | HelpScreen | CommandPalette | CommandLine)


class FreshlineApp(App[None]):
    """The console. Give it a server and a token, or it asks for them."""

    TITLE = "Freshline"
    CSS_PATH = APP_CSS
    MODES = {
        "board": BoardScreen,
        "exceptions": ExceptionsScreen,
        "riders": RidersScreen,
        "kpi": KpiScreen,
        "summary": BoardSummaryScreen,
        "webhooks": WebhooksScreen,
        "handover": HandoverScreen,
        "merchant": MerchantScreen,
    }
    COMMANDS = App.COMMANDS | {FreshlineCommands}
    BINDINGS = [
        Binding("1", "switch_mode('board')", "Board", tooltip="The swimlanes", id="app.board"),
        Binding(
            "2",
            "switch_mode('exceptions')",
            "Exceptions",
            tooltip="The exception queue",
            id="app.exceptions",
        ),
        Binding(
            "3",
            "switch_mode('riders')",
            "Riders",
            tooltip="The map and the riders",
            id="app.riders",
        ),
        Binding("4", "switch_mode('kpi')", "KPIs", tooltip="Tiles, channels, charts", id="app.kpi"),
        Binding(
            "5",
            "switch_mode('handover')",
            "Handover",
            show=False,
            tooltip="The shift handover digest",
            id="app.handover",
        ),
        Binding("question_mark", "help", "Keys", tooltip="Every key on this screen", id="app.help"),
        Binding(
            "ctrl+g",
            "attention",
            "Bell",
            show=False,
            tooltip="Bell and desktop notifications for alerts: off, or back on",
            id="app.attention",
        ),
        Binding("ctrl+p", "command_palette", "Palette", id="app.palette"),
        Binding(
            "colon",
            "command_line",
            "Command",
            key_display=":",
            show=False,
            tooltip="A command: orders zone=Haidian late, assign 8 li-fang (Tab completes)",
            id="app.command_line",
        ),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c,ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_now"),
    ]

    def __init__(
        self,
        *,
        server: str = "",
        token: str | None = None,
        store: Store | None = None,
        token_store: TokenStore | None = None,
        zone: tzinfo | None = None,
        theme: str = DEFAULT_THEME,
        refresh_hz: float = 5.0,
        live: bool = True,
        me: Me | None = None,
        stop_after: float | None = None,
        wall: WallSettings | None = None,
        users: KnownUsers | None = None,
        sign_in_why: str = "",
        attention: AttentionSettings | None = None,
        looked_dir: Path | None = None,
        keep_looked: bool = True,
        terminal_write: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.server = server
        self.client = FreshlineClient(server, token=token) if server else None
        self.store = store or Store()
        self.token_store = token_store
        self.zone = zone
        self.refresh_hz = refresh_hz
        self.live = live
        self.me = me
        self.feed: LiveFeed | None = None
        self.stop_after = stop_after
        self.wall = Wall(self, wall) if wall is not None else None
        """Wall mode: signs in by itself, rotates screens (`freshline wall`)."""
        self.kpi_feed: KpiFeed | None = None
        self.signing_in = False
        """The sign-in form is up: no screen opens until it is done."""
        self.users = users
        """Who signed in last on each server: the form opens on them."""
        self.sign_in_why = sign_in_why
        """Why the first sign-in form asks (no keyring, no kept session), said on the form."""
        self.views = ViewBook()
        """The account's saved views; the default opens at sign-in (`console.views`)."""
        self.keys = KeyGate(
            self, takes_type_ahead, lambda screen: isinstance(screen, CommandPalette)
        )
        """Every key from the terminal goes through here, one at a time (`console.keys`)."""
        self.noticing = Noticing(
            self.store,
            Attention(attention or AttentionSettings()),
            terminal_write or self.write_to_terminal,
            folder=looked_dir,
            # Kept per desk when there is a server to come back to (or a folder named for it);
            # the wall looks at nothing.
            keep=keep_looked and wall is None and bool(server or looked_dir),
        )
        """What this desk looked at, and the alerts that ring (`console.noticing`)."""
        set_escape_delay()
        for theme_object in THEMES:
            self.register_theme(theme_object)
        self.theme = theme if theme in self.available_themes else DEFAULT_THEME

    # --- who is signed in ---------------------------------------------------------------------

    @property
    def role(self) -> Role | None:
        return self.me.role if self.me else None

    @property
    def who(self) -> str:
        return f"{self.me.username} ({self.me.role})" if self.me else ""

    @property
    def looked(self) -> LookedBook:
        """What this desk has looked at, for "since I looked" (`console.looked`)."""
        return self.noticing.looked

    def write_to_terminal(self, text: str) -> None:
        """Write escape sequences (bell, desktop notification) to the terminal, in order with
        the frames. Textual has no public call for that: `App.bell` and
        `App.copy_to_clipboard` write through the driver just so, and so does this, here only."""
        driver = self._driver
        if driver is not None and not self.is_headless:
            driver.write(text)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DOMAIN_DEFAULTS)

    async def on_mount(self) -> None:
        # immediate: the moment a screen comes up is when it is pushed, not a turn later.
        self.screen_change_signal.subscribe(self, self.keys.screen_changed, immediate=True)
        await self.switch_mode(self.wall.first if self.wall else home_mode(self.me))
        self._desk_opened()
        if self.wall is not None:
            self.wall.start()
        self.set_interval(1 / self.refresh_hz, self._tick, name="redraw")
        if self.stop_after is not None:
            self.set_timer(self.stop_after, self.exit)
        if not self.live:
            return
        if self.client is None or self.client.token is None:
            self._ask_to_sign_in("")
        else:
            self.run_worker(self._resume_session(), group="session", exclusive=True)

    async def _resume_session(self) -> None:
        assert self.client is not None
        try:
            self.me = await self.client.me()
        except NotAuthenticated:
            self._ask_to_sign_in(SESSION_ENDED)
            return
        except FreshlineError as exc:
            log.warning("cannot check the session yet: %r", exc)
        if self.wall is not None and self.me is not None and not self.wall.check(self.me):
            return
        await self._go_home()
        self.start_feed()

    def _ask_to_sign_in(self, why: str) -> None:
        if self.wall is not None and self.wall.sign_in(why):
            return  # the wall signs in by itself
        username = self.me.username if self.me else ""
        if not username and self.users is not None:
            username = self.users.last(self.server)
        why = why or self.sign_in_why
        self.signing_in = True
        self.refresh_bindings()
        self.push_screen(LoginScreen(self.server, username, why), self._signed_in)

    async def _signed_in(self, result: tuple[FreshlineClient, TokenResponse] | None) -> None:
        self.signing_in = False
        if result is None:
            return
        client, answer = result
        if self.client is not None:
            await self.client.aclose()
        self.client, self.server = client, client.server
        self.me = await client.me()
        if self.users is not None:
            self.users.remember(client.server, self.me.username)
        if self.token_store is not None:
            try:
                await self.token_store.save(client.server, answer.access_token)
            except KeyringUnavailable:
                self.notify("No keyring here: you will sign in again next time.", timeout=8)
        self.refresh_bindings()
        await self._go_home()
        self.start_feed()

    async def use_session(self, client: FreshlineClient, me: Me) -> None:
        """Go on as `me` through `client` (a new sign-in), with a fresh feed."""
        if self.client is not None and self.client is not client:
            await self.client.aclose()
        self.client, self.server, self.me = client, client.server, me
        self.refresh_bindings()
        await self._go_home()
        self.start_feed()

    def _desk_opened(self) -> None:
        """Open this desk's "since I looked" book for who is signed in."""
        if self.me is not None:
            self.noticing.signed_in(self.server, self.me.username)

    async def _go_home(self) -> None:
        """The screen this account works on, when the one up is not theirs to see (a store
        account opens its warehouse, not the board: `console.roles.home_mode`)."""
        self._desk_opened()
        if self.wall is None and screen_denial(self.me, self.current_mode):
            await self.action_switch_mode(home_mode(self.me))

    # --- keys ---------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Keys from the terminal go through the gate, one at a time (`console.keys`)."""
        if isinstance(event, events.Key):
            if not event.is_forwarded:
                if await self.keys.take(event):
                    return
            elif self.keys.stray(event):
                return
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Before sign-in, nothing opens a screen behind the form: no palette, no 1-4, no `:`.
        if self.signing_in and action in ("command_palette", "switch_mode", "command_line"):
            return False
        if action == "command_line" and not isinstance(self.screen, GuardedScreen):
            return False  # over a dialog, `:` is not a command: answer the dialog first
        # A store account's keys to the desk's screens are not shown (`screen_denial`).
        return not (
            action == "switch_mode" and parameters and screen_denial(self.me, str(parameters[0]))
        )

    async def action_switch_mode(self, mode: str) -> None:
        """1-4: that screen as it is now, at its root.

        A mode keeps its own stack of screens, so switching back used to bring back whatever
        was left on top of it: an order's detail from minutes ago, or a dialog about an alert
        long handled. Whatever is above the root is closed (a dialog as if cancelled), and the
        root catches up with the store before the next key is read, so the queue's cursor is on
        a row that exists now.
        """
        why = screen_denial(self.me, mode)
        if why:
            self.notify(why, title="Not for this account", severity="warning")
            return
        with self.batch_update():
            if mode != self.current_mode:
                await self.switch_mode(mode)
            while len(self.screen_stack) > 1:
                top = self.screen
                if isinstance(top, ModalScreen):
                    await top.dismiss(None)
                else:
                    await self.pop_screen()
        root = self.screen
        if isinstance(root, LiveScreen) and root.ready:
            root.show_changes(Changes(reloaded=True))

    # --- the live feed ------------------------------------------------------------------------

    def start_feed(self) -> None:
        self.run_worker(
            open_default_view(self),
            name="views",
            group="views",
            exclusive=True,
            exit_on_error=False,
        )
        self.run_worker(
            self._follow(), name="live-feed", group="live-feed", exclusive=True, exit_on_error=False
        )
        self.run_worker(
            self._follow_kpis(),
            name="kpi-feed",
            group="kpi-feed",
            exclusive=True,
            exit_on_error=False,
        )

    async def _follow_kpis(self) -> None:
        """Keep the KPI board fresh (desk roles: the KPIs are theirs to read)."""
        assert self.client is not None
        while self.me is None:
            try:
                self.me = await self.client.me()
            except NotAuthenticated:
                return  # the live feed asks for a new sign-in, which starts us again
            except FreshlineError:
                await asyncio.sleep(2)
        if desk(self.me):
            self.kpi_feed = KpiFeed(self.client, self.store, zone=self.zone)
            await self.kpi_feed.run()

    def reload_kpis(self) -> None:
        """ctrl+r on the KPI screen: fetch the summary and the day now."""
        if self.kpi_feed is not None:
            self.run_worker(
                self.kpi_feed.refresh_all(), group="reload", exclusive=True, exit_on_error=False
            )

    def reload_feed(self) -> None:
        """ctrl+r: a fresh snapshot (the stream keeps running)."""
        if self.feed is not None:
            self.run_worker(self.feed.reload(), group="reload", exclusive=True, exit_on_error=False)

    async def _follow(self) -> None:
        """Keep the store live; wait and try again after anything but a dead token."""
        assert self.client is not None
        if self.me is None:
            self.me = await self.client.me()
        backoff = Backoff(base=1.0, cap=15.0)
        attempt = 0
        while True:
            self.feed = LiveFeed(self.client, self.store, self.me)
            try:
                await self.feed.run()
            except NotAuthenticated:
                self.store.set_connection(StreamStatus(StreamState.OFFLINE, detail="signed out"))
                self._ask_to_sign_in(SESSION_ENDED)
                return
            except StreamRefused as exc:
                self.notify(f"The server refused the stream: {exc}", severity="error")
                self.store.set_connection(StreamStatus(StreamState.OFFLINE, detail=str(exc)))
                return
            except FreshlineError as exc:
                attempt += 1
                log.info("feed could not start (%r); attempt %d", exc, attempt)
                self.store.set_connection(
                    StreamStatus(StreamState.RECONNECTING, attempt=attempt, detail=str(exc))
                )
            await asyncio.sleep(backoff.delay(attempt))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place for worker failures: logged, shown, never a crash."""
        self.keys.worker_changed()  # a palette's search done: the next key may go
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.error("worker %s failed: %r", event.worker.name, error, exc_info=error)
            self.notify(f"{event.worker.name}: {error}", title="Something failed", severity="error")

    # --- drawing ------------------------------------------------------------------------------

    def _tick(self) -> None:
        """The bounded redraw: hand the screen on top what changed since the last tick."""
        self.noticing.tick()
        if not self.screen_stack:
            return  # starting or closing: no screen to draw on
        screen = self.screen
        # Changes wait in the store while nothing can show them (a dialog on top, a screen not
        # ready yet or being torn down); screens also redraw everything when they come back.
        if isinstance(screen, LiveScreen) and screen.taking_changes:
            screen.show_changes(self.store.drain())

    def open_order(self, order_id: int) -> None:
        from screens.order_detail import OrderDetailScreen

        if self.signing_in:
            return  # nothing opens behind the sign-in form
        self.push_screen(OrderDetailScreen(order_id))

    def open_track(self, order_id: int) -> None:
        from screens.track_replay import TrackReplayScreen

        if self.signing_in:
            return
        self.push_screen(TrackReplayScreen(order_id))

    async def action_sign_out(self) -> None:
        """Revoke the token, forget it here, and ask who is next."""
        self.workers.cancel_group(self, "live-feed")
        self.workers.cancel_group(self, "kpi-feed")
        if self.client is not None:
            try:
                await self.client.logout()
            except FreshlineError as exc:
                log.info("logout: %r (forgotten here anyway)", exc)
        if self.token_store is not None:
            await self.token_store.forget(self.server)
        self.noticing.flush()
        self.store.load([], [], None)
        self.views.forget()
        self.store.set_connection(StreamStatus(StreamState.OFFLINE, detail="signed out"))
        self._ask_to_sign_in(SIGNED_OUT)

    def action_command_line(self, text: str = "") -> None:
        """`:`: the command line over the screen it acts on (`screens/command_line.py`)."""
        self.push_screen(CommandLine(self.screen, text))

    def action_help(self, tries: int = 0) -> None:
        """`?`: this screen's keys, read while its footer is laid out (what it had to drop)."""
        if isinstance(self.screen, HelpScreen):
            return
        if tries < 10 and not footer_laid_out(self.screen):
            self.call_after_refresh(self.action_help, tries + 1)
            return
        self.push_screen(HelpScreen.of(self.screen))

    async def action_quit(self) -> None:
        if self.feed is not None and self.feed.stream is not None:
            self.feed.stream.stop()
        self.exit()

    def action_attention(self) -> None:
        """ctrl+g: alerts stop ringing and notifying for this session, or start again."""
        on = self.noticing.toggle()
        self.notify(
            "Alerts ring the bell and notify again."
            if on
            else "Alerts no longer ring or notify (ctrl+g turns them back on).",
            title="Bell on" if on else "Bell off",
        )

    async def on_unmount(self) -> None:
        self.noticing.flush()
        if self.client is not None:
            await self.client.aclose()


def _keeps_the_host_contract(app: FreshlineApp) -> ConsoleHost:
    return app  # mypy checks here that the app is what its screens expect (`console.host`)
