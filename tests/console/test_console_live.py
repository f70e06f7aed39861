"""The console under Pilot against a real backend: the board follows the city, keys do what
the footer says, actions go through REST, and trouble on the line is shown, not hidden."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from backend_client import StreamState
from backend_client.models import OrderState
from console.app import FreshlineApp
from console.store import Lane
from screens.board import BoardScreen
from screens.dialogs import ActionPicker, ConfirmDialog
from screens.help import HelpScreen
from screens.login import LoginScreen
from screens.order_detail import OrderDetailScreen
from tests.console.conftest import until
from tests.stream_support import Actors, LiveServer
from widgets.connection_badge import ConnectionBadge
from widgets.lane import LaneView

SIZE = (160, 48)


def console(backend: LiveServer, token: str | None) -> FreshlineApp:
    return FreshlineApp(server=backend.base_url, token=token)


def notes_of(app: FreshlineApp) -> list[str]:
    """Every notification the app shows, as "title: message" (recorded, still shown)."""
    seen: list[str] = []
    show = app.notify

    def notify(message: str, *args: Any, title: str = "", **kwargs: Any) -> None:
        seen.append(f"{title}: {message}")
        show(message, *args, title=title, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


def text_of(widget: Any) -> str:
    """What a Static shows, as plain text (rich renderables included)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def lane(app: FreshlineApp, which: Lane) -> LaneView:
    return app.screen.query_one(f"#lane-{which.value}", LaneView)


def live(app: FreshlineApp) -> bool:
    return app.store.connection.state == StreamState.LIVE


async def test_the_board_shows_every_order_in_its_lane_and_follows_changes(
    backend: LiveServer, actors: Actors
) -> None:
    created = await actors.create()
    paid = await actors.paid()
    picking = await actors.picking()
    app = console(backend, await actors.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app) and picking.id in lane(app, Lane.PICKING).ids, "board")
        assert set(lane(app, Lane.NEW).ids) >= {created.id, paid.id}
        assert isinstance(app.screen, BoardScreen)
        assert "1" in str(lane(app, Lane.PICKING).border_title)
        # A change made over REST by someone else reaches the screen by itself.
        dispatcher = await actors("dispatcher")
        await dispatcher.orders.transition(paid.id, "start_picking", paid.version)
        took = await until(
            pilot, lambda: paid.id in lane(app, Lane.PICKING).ids, "the transition", within=5
        )
        assert paid.id not in lane(app, Lane.NEW).ids
        assert took < 5
        # A new order appears in the new lane, and a cancelled one leaves the board.
        fresh = await actors.create()
        await until(pilot, lambda: fresh.id in lane(app, Lane.NEW).ids, "the new order")
        channel = await actors("channel-app")
        await channel.orders.transition(
            created.id, "cancel", created.version, reason="customer left"
        )
        await until(pilot, lambda: created.id not in lane(app, Lane.NEW).ids, "the cancellation")
        assert created.id not in app.store.orders


async def test_enter_opens_the_order_with_its_timeline_and_esc_comes_back(
    backend: LiveServer, actors: Actors
) -> None:
    order = await actors.picking()
    app = console(backend, await actors.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: order.id in lane(app, Lane.PICKING).ids, "the order")
        await pilot.press("right")  # new -> picking
        assert app.screen.focused is lane(app, Lane.PICKING)
        await pilot.press("enter")
        assert isinstance(app.screen, OrderDetailScreen)
        detail = app.screen
        await until(pilot, lambda: len(detail.events) >= 3, "the timeline")
        header = text_of(detail.query_one("#header"))
        assert f"#{order.id}" in header and "PICKING" in header
        people = text_of(detail.query_one("#people-text"))
        assert order.customer.phone not in people  # masked
        assert order.customer.phone[-4:] in people
        # It updates live: a transition made elsewhere lands in its timeline.
        merchant = await actors("merchant-wh-cy")
        current = await merchant.orders.get(order.id)
        await merchant.orders.transition(
            order.id, "report_out_of_stock", current.version, reason="no bok choy left"
        )
        await until(pilot, lambda: len(detail.events) >= 4, "the new timeline row")
        assert detail.order is not None and detail.order.status == OrderState.OUT_OF_STOCK
        assert detail.events[-1].reason == "no bok choy left"
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


async def test_acting_on_an_order_goes_through_rest_and_a_stale_version_is_explained(
    backend: LiveServer, actors: Actors
) -> None:
    order = await actors.create()
    app = console(backend, await actors.token("dispatcher"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: lane(app, Lane.NEW).ids == [order.id], "the order")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ActionPicker), "the action picker")
        picker = app.screen
        assert isinstance(picker, ActionPicker) and "cancel" in picker.actions
        await pilot.press("escape")  # backing out does nothing
        assert isinstance(app.screen, BoardScreen)
        assert app.store.orders[order.id].status == OrderState.CREATED

        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ActionPicker), "the action picker")
        options = [str(a) for a in app.screen.actions]  # type: ignore[attr-defined]
        for _ in range(options.index("cancel")):
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query("#reason"), "the reason dialog")
        await pilot.press("enter")  # empty: refused, the dialog stays
        assert app.screen.query("#reason")
        await pilot.press(*"duplicate order", "enter")
        # Cancelling ends the order's story: it asks first, and only y says yes.
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: order.id not in app.store.orders, "the cancellation")
        assert any("done" in n for n in notes)

        # The console's copy is one version behind when someone else acted first.
        other = await actors.create()
        channel = await actors("channel-app")
        paid = await channel.orders.transition(other.id, "pay", other.version)
        await until(
            pilot,
            lambda: (
                other.id in app.store.orders and app.store.orders[other.id].version == paid.version
            ),
            "the payment",
        )
        app.store.orders[other.id].version = other.version  # as if the event were in flight
        await until(pilot, lambda: lane(app, Lane.NEW).ids == [other.id], "the lane")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ActionPicker), f"the picker {notes}")
        await pilot.press("enter")  # the first action offered (a paid order: start picking)
        await until(pilot, lambda: any("Not everything" in n for n in notes), "the refusal")
        refusal = next(n for n in notes if "Not everything" in n)
        assert "conflict" in refusal and "channel-app" in refusal, refusal


async def test_a_viewer_sees_act_dimmed_and_is_told_why(
    backend: LiveServer, actors: Actors
) -> None:
    order = await actors.create()
    app = console(backend, await actors.token("viewer"))
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: order.id in lane(app, Lane.NEW).ids, "the order")
        assert app.screen.active_bindings["t"].enabled is False
        await pilot.press("t")
        assert isinstance(app.screen, BoardScreen)
        assert any("viewer" in n and "not allowed" in n for n in notes)


async def test_without_a_token_the_console_asks_who_you_are(
    backend: LiveServer, actors: Actors
) -> None:
    await actors.create()
    app = console(backend, None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await pilot.click("#user")
        await pilot.press(*"dispatcher", "tab", *"wrong-password", "enter")
        await until(
            pilot,
            lambda: "Wrong" in text_of(app.screen.query_one("#error")),
            "the refusal",
        )
        assert isinstance(app.screen, LoginScreen)
        app.screen.query_one("#password").focus()
        await pilot.press(*"demo-dispatcher", "enter")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen) and live(app), "the board")
        assert app.who.startswith("dispatcher")
        await until(pilot, lambda: len(app.store.orders) == 1, "the snapshot")


async def test_search_filters_marks_and_late_only(backend: LiveServer, actors: Actors) -> None:
    first = await actors.create()
    second = await actors.create()
    app = console(backend, await actors.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(lane(app, Lane.NEW).ids) == 2, "both orders")
        await pilot.press("slash", *str(second.id))
        await until(pilot, lambda: lane(app, Lane.NEW).ids == [second.id], "the search")
        assert "1 of 2" in str(lane(app, Lane.NEW).border_title)
        await pilot.press("enter")  # back to the lane, the filter stays
        assert app.screen.focused is lane(app, Lane.NEW)
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: len(lane(app, Lane.NEW).ids) == 2, "the whole lane")

        # The cursor stayed on the order it was on while filtered: the second one.
        assert lane(app, Lane.NEW).current == second.id
        await pilot.press("home", "space", "space")
        board = app.screen
        assert isinstance(board, BoardScreen)
        await until(pilot, lambda: board.marks == {first.id, second.id}, f"marks {board.marks}")
        assert "marked 2" in text_of(board.query_one("#strip"))
        await pilot.press("escape")  # marks go first
        assert board.marks == set()

        await pilot.press("space", "u")  # u unmarks everything
        assert board.marks == set()

        await pilot.press("l")  # nothing is late yet
        await until(pilot, lambda: lane(app, Lane.NEW).ids == [], "late only")
        await pilot.press("l")
        await until(pilot, lambda: len(lane(app, Lane.NEW).ids) == 2, "all again")

        # f: the filter bar's channel list, by keyboard.
        await pilot.press("f")
        assert app.focused is not None and app.focused.id == "channel"
        await pilot.press("enter", "down", "enter")
        await until(pilot, lambda: board.order_filter.channel == "app", "the channel filter")
        assert "2 of 2" in str(lane(app, Lane.NEW).border_title)

        # ctrl+r: a fresh snapshot, same picture.
        before = dict(app.store.orders)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.store.orders.keys() == before.keys(), "the reload")


async def test_the_badge_tells_when_the_picture_is_old_and_recovers(
    backend: LiveServer, actors: Actors
) -> None:
    order = await actors.create()
    app = console(backend, await actors.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app) and lane(app, Lane.NEW).ids == [order.id], "live")
        badge = app.screen.query_one(ConnectionBadge)
        states: list[str] = []
        follow = app.store.set_connection

        def track(status):  # type: ignore[no-untyped-def]
            states.append(f"{status.state}:{status.attempt}:{status.detail}")
            follow(status)

        app.store.set_connection = track  # type: ignore[method-assign]
        backend.kill()
        await until(pilot, lambda: not live(app), "the loss")
        await until(pilot, lambda: "picture" in text_of(badge), f"age: {states}")
        assert lane(app, Lane.NEW).ids == [order.id]  # still readable
        await backend.start()
        await until(pilot, lambda: live(app), f"live again {states}", within=30)
        fresh = await actors.create()
        await until(pilot, lambda: fresh.id in lane(app, Lane.NEW).ids, "a change after restart")
        await until(pilot, lambda: "LIVE" in text_of(badge), f"the badge {states}", within=2)


async def test_help_palette_number_keys_and_quit(backend: LiveServer, actors: Actors) -> None:
    await actors.create()
    app = console(backend, await actors.token("dispatcher"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "live")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = text_of(app.screen.query_one("#keys"))
        assert "Filter as you type" in keys and "Act on the order" in keys
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

        await pilot.press("ctrl+p")
        await pilot.press(*"late only")
        await pilot.pause(0.3)
        await pilot.press("enter")
        board = app.screen
        await until(
            pilot,
            lambda: isinstance(board, BoardScreen) and board.order_filter.late_only,
            "the palette's action",
        )
        await pilot.press("1")
        assert isinstance(app.screen, BoardScreen)
        await pilot.press("q")
    assert app.return_code == 0
