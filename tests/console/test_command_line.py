"""The `:` command line under Pilot, on the sample store (a frozen clock, no network): keys
typed in bursts land in the line and do what the command says; a refused command says why
under the line and does nothing; Tab completes; a bare command acts on the cursor; the palette
lists the same commands."""

from __future__ import annotations

import json

import httpx
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Select

from backend_client import FreshlineClient
from backend_client.models import Role
from console.alert_book import AlertFilter
from console.app import FreshlineApp
from console.command_line import REGISTRY
from console.commands import COMMANDS
from console.store import OrderFilter, RiderState
from screens.board import BoardScreen
from screens.command_line import CommandLine
from screens.dialogs import ConfirmDialog
from screens.exceptions import ExceptionsScreen
from screens.order_detail import OrderDetailScreen
from screens.riders import RidersScreen
from tests.console.conftest import until
from tests.console.samples import me_as
from tests.console.test_console_live import notes_of
from tests.console.test_snapshots import queue_app

SIZE = (120, 36)


def burst(app: FreshlineApp, text: str, *, enter: bool = True) -> None:
    """`text` (then enter) as a fast typist sends it: every key queued at once."""
    for character in text:
        app.post_message(events.Key(_character_to_key(character), character))
    if enter:
        app.post_message(events.Key("enter", "\r"))


async def board_ready(app: FreshlineApp, pilot: object) -> None:
    await until(pilot, lambda: getattr(app.screen, "ready", False), "the board")


def said(app: FreshlineApp) -> str:
    """What the line says under it ("" while it is not up)."""
    line = app.screen
    found = line.query("#said") if isinstance(line, CommandLine) else []
    return str(found[0].render()) if found else ""  # not up, or not composed yet


async def test_a_burst_lands_in_the_line_and_filters_the_board() -> None:
    app = queue_app()
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        burst(app, ":orders zone=xicheng late")
        wanted = OrderFilter(zone="Xicheng", late_only=True)
        await until(
            pilot,
            lambda: isinstance(app.screen, BoardScreen) and app.screen.order_filter == wanted,
            "the board narrowed to Xicheng's late orders",
        )
        board = app.screen
        assert isinstance(board, BoardScreen)
        shown = {i for view in board.views.values() for i in view.ids}
        assert 1003 in shown  # paid, 3 minutes past its promise
        assert all(app.store.orders[i].zone == "Xicheng" for i in shown)
        # The filter bar shows it, so Esc clears it as any filter.
        assert board.query_one("#zone", Select).value == "Xicheng"


async def test_riders_silent_and_alerts_mine_open_their_screens_narrowed() -> None:
    app = queue_app()
    app.me = me_as(Role.SUPPORT, "support")
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        burst(app, ":alerts mine")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ExceptionsScreen)
                and app.screen.alert_filter == AlertFilter(acknowledged_by="support")
            ),
            "the queue narrowed to support's alerts",
        )
        queue = app.screen
        assert isinstance(queue, ExceptionsScreen)
        await until(pilot, lambda: queue.queue.ids == [5], "only the alert support took")
        burst(app, ":riders late")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, RidersScreen) and app.screen.state_filter == RiderState.LATE
            ),
            "the riders narrowed to the late ones",
        )
        riders = app.screen
        assert isinstance(riders, RidersScreen)
        await until(pilot, lambda: bool(riders.rider_list.ids), "the late riders listed")
        assert all(riders.states[i] == RiderState.LATE for i in riders.rider_list.ids)
        assert len(riders.rider_list.ids) < len(app.store.riders)


async def test_order_opens_it_and_a_bare_command_acts_on_the_cursor() -> None:
    app = queue_app()
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        burst(app, ":order 1003")
        await until(
            pilot,
            lambda: isinstance(app.screen, OrderDetailScreen) and app.screen.order_id == 1003,
            "order 1003's detail",
        )
        burst(app, ":2")  # not the `2` key: no command is called so
        await until(pilot, lambda: "no command `2`" in said(app), "the refusal")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OrderDetailScreen), "the line gone")
        burst(app, ":exc")  # the one command starting so
        await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen), "the queue")
        queue = app.screen
        assert isinstance(queue, ExceptionsScreen)
        await until(pilot, lambda: queue.queue.current is not None, "the queue drawn")
        start = queue.queue.cursor
        burst(app, ":next")  # `n`'s action: down to the next alert nobody took
        await until(pilot, lambda: queue.queue.cursor != start, "the cursor moved by :next")


async def test_a_refused_command_says_why_keeps_the_line_and_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    app = queue_app()
    app.client = FreshlineClient(
        "http://freshline.test", token="t", transport=httpx.MockTransport(record), retries=0
    )
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        # (Every refusal's words: test_command_words.py; here, that the line shows them.)
        for typed, reason in (
            (":assign 1003 nobody", "there is no rider called `nobody`"),
            (":assign 1003", "`assign` needs a rider"),
            (":orders zone=Atlantis", "there is no zone `Atlantis`"),
            (':cancel 1003 "no quote', "a quote is not closed"),
            (":next", "`next` works on the exception queue"),
            (":approve", "not for this account: returns and claims are decided by support"),
            (":assign [bold] x", "`[bold]` is not an order id"),  # words, not markup
            (":orders zone=[/]", "there is no zone `[/]`"),
        ):
            burst(app, typed)
            await until(pilot, lambda r=reason: r in said(app), f"the reason for {typed!r}")
            line = app.screen
            assert isinstance(line, CommandLine)
            assert line.line.value == typed.removeprefix(":")  # kept: fix it, or esc
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the line gone")
        assert sent == []


async def test_a_viewer_is_told_it_may_not_before_anything_is_sent() -> None:
    app = queue_app()
    app.me = me_as(Role.VIEWER, "viewer")
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        burst(app, ":assign 1003 zhou-tao")
        await until(pilot, lambda: "not for this account" in said(app), "the refusal")
        assert "dispatchers and supervisors" in said(app)


async def test_tab_completes_names_riders_zones_and_order_ids() -> None:
    app = queue_app()
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        burst(app, ":ass", enter=False)
        await until(pilot, lambda: isinstance(app.screen, CommandLine), "the line")
        line = app.screen
        assert isinstance(line, CommandLine)
        await until(pilot, lambda: line.line.value == "ass", "the typing")
        await pilot.press("tab")
        assert line.line.value == "assign "
        burst(app, "100", enter=False)
        await until(pilot, lambda: line.line.value == "assign 100", "the typing")
        await pilot.press("tab")  # 1000 … 1015: they share "100"; listed under the line
        assert "1003" in said(app)
        burst(app, "3 zh", enter=False)
        await until(pilot, lambda: line.line.value == "assign 1003 zh", "the typing")
        await pilot.press("tab")
        assert line.line.value == "assign 1003 zhou-tao "
        line.line.value = "orders zone=ha"
        await pilot.press("tab")
        assert line.line.value == "orders zone=Haidian "


def test_the_palette_lists_every_command_of_the_registry() -> None:
    assert [entry.title for entry in COMMANDS] == [command.label for command in REGISTRY]
    needs_words = [entry for entry in COMMANDS if entry.action.startswith("app.command_line")]
    assert {e.title for e in needs_words} >= {"Assign an order", "Open an order"}
    # Every key of the console's screens that acts has a command (the bindings are the keys).
    actions = {c.action for c in REGISTRY if c.action}
    for key_action in (
        "screen.search",
        "screen.act",
        "screen.acknowledge",
        "screen.snooze",
        "screen.reassign",
        "screen.approve",
        "screen.reject",
        "screen.resolve",
        "screen.take_back",
        "screen.move_zone",
        "screen.replay",
        "screen.resume",
        "screen.adjust_stock",
    ):
        assert key_action in actions, key_action


async def test_the_palette_opens_the_line_for_a_command_that_needs_words() -> None:
    app = queue_app()
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        notes = notes_of(app)
        burst(app, "", enter=False)
        await pilot.press("ctrl+p", *"assign an order", "enter")
        await until(pilot, lambda: isinstance(app.screen, CommandLine), "the line")
        line = app.screen
        assert isinstance(line, CommandLine)
        assert line.line.value == "assign "
        assert notes == []


async def test_a_final_action_asks_first_and_sends_the_version_the_console_shows() -> None:
    sent: list[tuple[str, str, object]] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path, json.loads(request.content or b"null")))
        return httpx.Response(409, json={"detail": "cannot cancel an order in PAID any more"})

    app = queue_app()
    app.client = FreshlineClient(
        "http://freshline.test", token="t", transport=httpx.MockTransport(server), retries=0
    )
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app)
        await board_ready(app, pilot)
        burst(app, ':order 1003 cancel "customer called"')
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert sent == []  # nothing before `y`
        await pilot.press("y")
        await until(pilot, lambda: any("not done" in n for n in notes), "the server's answer")
    version = app.store.orders[1003].version
    assert sent == [
        (
            "POST",
            "/api/v1/orders/1003/transitions",
            {"action": "cancel", "version": version, "reason": "customer called"},
        )
    ]
    assert "cancel: not done: order 1003: cannot cancel an order in PAID any more" in notes


async def test_colon_over_a_dialog_is_not_a_command() -> None:
    app = queue_app()
    async with app.run_test(size=SIZE) as pilot:
        await board_ready(app, pilot)
        app.push_screen(ConfirmDialog("Cancel order 1003?"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("colon")
        assert isinstance(app.screen, ConfirmDialog)
        assert not app.query(CommandLine)


def test_the_line_at_80x24_lists_the_riders_it_could_be(snap_compare) -> None:
    async def typed(pilot: Pilot[None]) -> None:
        await pilot.press("colon", *"assign 1003 ", "tab")
        line = pilot.app.screen
        assert isinstance(line, CommandLine)
        line.line.cursor_blink = False  # a still picture: the cursor hidden, not blinking

    assert snap_compare(queue_app(), terminal_size=(80, 24), run_before=typed)


async def test_view_saves_the_board_and_opens_it_again_by_name() -> None:
    """`:view save NAME` keeps what the board shows on the server, `:view NAME` shows it again;
    a view that does not exist, or words that are not a view command, are refused with a reason
    and send nothing that changes anything."""
    kept: dict[str, dict[str, object]] = {}
    sent: list[tuple[str, str]] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path))
        if request.method == "POST" and request.url.path == "/api/v1/views":
            body = json.loads(request.content)
            view = {
                "id": len(kept) + 1,
                "name": body["name"],
                "default": body.get("default", False),
                "settings": body["settings"],
                "version": 1,
                "updated_at": "2026-12-05T10:00:00Z",
            }
            kept[body["name"]] = view
            return httpx.Response(201, json=view)
        if request.method == "GET" and request.url.path == "/api/v1/views":
            return httpx.Response(200, json=list(kept.values()))
        return httpx.Response(404, json={"detail": "no such thing"})

    app = queue_app()
    app.client = FreshlineClient(
        "http://freshline.test", token="t", transport=httpx.MockTransport(server), retries=0
    )
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app)
        await board_ready(app, pilot)
        board = app.screen
        assert isinstance(board, BoardScreen)
        for typed, reason in (
            (":view save", "`view save` needs the view's name"),
            (":view mine theirs", "one view at a time"),
        ):
            burst(app, typed)
            await until(pilot, lambda r=reason: r in said(app), f"the reason for {typed!r}")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the line gone")
        # Whether a view exists is the server's to say: asked, then refused in words.
        burst(app, ":view nowhere")
        refusal = "view: not done: no view named 'nowhere' (yours: none yet)"
        await until(pilot, lambda: refusal in notes, "the refusal")
        assert sent == [("GET", "/api/v1/views")]

        burst(app, ":orders late")
        await until(pilot, lambda: board.order_filter.late_only, "the board narrowed")
        burst(app, ":view save late-desk")
        await until(pilot, lambda: "late-desk" in kept, "the view kept on the server")
        assert kept["late-desk"]["settings"]["late_only"] is True  # type: ignore[index]
        await until(pilot, lambda: any("View late-desk saved" in n for n in notes), "the word")

        burst(app, ":orders")
        await until(pilot, lambda: not board.order_filter.late_only, "the board wide again")
        burst(app, ":view late-desk")
        await until(pilot, lambda: board.order_filter.late_only, "the view shown again")
        assert app.views.current == "late-desk"


async def test_the_keys_of_since_i_looked_copy_and_the_bell_are_commands_too() -> None:
    app = queue_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = notes_of(app)
        await board_ready(app, pilot)
        board = app.screen
        assert isinstance(board, BoardScreen)
        order_id = board.copy_subject()
        assert order_id is not None
        burst(app, ":copy-id")
        await until(pilot, lambda: app.clipboard == str(order_id), "the id copied")
        burst(app, ":bell")
        await until(pilot, lambda: any("no longer ring" in n for n in notes), "the bell off")
        burst(app, ":caught-up")
        lane = board.current.label
        await until(pilot, lambda: any(f"{lane}: " in n for n in notes), "the lane caught up")
