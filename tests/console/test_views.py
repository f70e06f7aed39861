"""Saved views, columns and sort at the console, on a store filled by hand: `f6` re-sorts and
re-columns a lane and hides lanes, the logic under it, and what the console says without a
server. Against a real backend: test_views_live.py."""

from __future__ import annotations

from dataclasses import replace

from rich.style import Style

from backend_client.models import LaneSort
from console.app import FreshlineApp
from console.board_look import (
    BoardLook,
    LaneLook,
    arrange,
    lane_counts,
    look_of,
    settings_of,
)
from console.store import Lane, OrderFilter
from screens.board import BoardScreen
from screens.lane_setup import LaneSetupScreen
from screens.views import ViewsScreen
from tests.console.conftest import drawn, until
from tests.console.sample_apps import board_app
from tests.console.samples import NOW
from tests.console.test_console_live import notes_of
from widgets.lane import LaneView
from widgets.order_row import columns_for

SIZE = (160, 48)


def lane(app: FreshlineApp, which: Lane) -> LaneView:
    return app.screen.query_one(f"#lane-{which.value}", LaneView)


def row_text(view: LaneView, item_id: int) -> str:
    return view.render_row(item_id, 0, view.scrollable_content_region.width, Style()).text


def board(app: FreshlineApp) -> BoardScreen:
    screen = app.screen
    assert isinstance(screen, BoardScreen)
    return screen


# --- the logic, without a screen ----------------------------------------------------------------


def test_a_lane_sorted_by_eta_puts_orders_without_one_last_either_way() -> None:
    store = board_app().store
    ids = store.lane_ids(Lane.DELIVERING)
    eta = {i: store.eta(store.orders[i], NOW) for i in ids}
    assert any(v is None for v in eta.values()) or len(ids) >= 2
    for descending in (False, True):
        ordered = arrange(store, ids, LaneLook(None, LaneSort.ETA, descending), NOW)
        assert sorted(ordered) == sorted(ids)
        known = [i for i in ordered if eta[i] is not None]
        assert ordered[: len(known)] == known  # the ones without an ETA last
        times = [eta[i] for i in known]
        assert times == sorted(times, reverse=descending)  # type: ignore[type-var]


def test_counts_do_not_depend_on_the_order_a_lane_is_shown_in() -> None:
    store = board_app().store
    for which in Lane:
        ids = store.lane_ids(which)
        for look in (LaneLook(None, LaneSort.CUSTOMER), LaneLook(None, LaneSort.URGENCY, True)):
            shown = arrange(store, ids, look, store.clock.now())
            assert lane_counts(store, which, shown, look) == store.lane_counts(which, ids)


def test_a_look_survives_the_trip_through_a_views_settings() -> None:
    look = BoardLook(
        order_filter=OrderFilter(text="wang", late_only=True, zones=frozenset({"Haidian"})),
        lanes=(Lane.PICKING, Lane.DELIVERING),
        focus=Lane.DELIVERING,
        layouts={Lane.DELIVERING: LaneLook(("id", "eta", "rider"), LaneSort.ETA, True)},
    )
    assert look_of(settings_of(look).model_copy()) == look  # type: ignore[arg-type]
    # A zone chosen in the filter bar narrows the board to it: the view keeps that zone.
    single = replace(look, order_filter=OrderFilter(zone="Chaoyang"))
    assert settings_of(single).zones == ["Chaoyang"]
    both = replace(
        look, order_filter=OrderFilter(zone="Haidian", zones=frozenset({"Haidian", "Xicheng"}))
    )
    assert settings_of(both).zones == ["Haidian"]


def test_chosen_columns_are_dropped_from_the_right_when_the_lane_is_narrow() -> None:
    names = ("zone", "id", "rider", "channel")
    wide = columns_for(80, names=names)
    assert [c.name for c in wide] == list(names)
    narrow = columns_for(34, names=names)
    assert [c.name for c in narrow] == ["zone", "id", "rider"]


async def test_signing_out_puts_the_board_back_as_it_is_by_default() -> None:
    app = board_app()
    async with app.run_test(size=SIZE) as pilot:
        await drawn(pilot)
        look = BoardLook(
            order_filter=OrderFilter(late_only=True),
            lanes=(Lane.DELIVERING,),
            layouts={Lane.DELIVERING: LaneLook(("id", "eta"), LaneSort.ETA)},
        )
        board(app).show_look(look)
        assert board(app).board_look() == replace(look, focus=Lane.DELIVERING)
        app.views.forget()  # what signing out does
        assert board(app).board_look() == BoardLook(focus=Lane.DELIVERING)
        assert lane(app, Lane.DELIVERING).column_names is None
        assert not lane(app, Lane.NEW).has_class("-hidden")


# --- f6 on the board --------------------------------------------------------------------------


async def test_f6_re_sorts_and_re_columns_the_lane_and_hides_lanes() -> None:
    app = board_app()
    async with app.run_test(size=SIZE) as pilot:
        await drawn(pilot)
        new = lane(app, Lane.NEW)
        before = list(new.ids)
        first = app.store.orders[before[0]]
        assert first.customer.split()[0] in row_text(new, first.id)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the setup dialog")
        # Hide the customer column, sort by order id reversed, hide the signed lane: one burst.
        await pilot.press(
            "down", "space", "tab", "down", "space", "r", "tab", "end", "space", "enter"
        )
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board again")
        assert new.column_names == ("id", "time", "rider", "zone", "channel")
        assert new.ids == sorted(before, reverse=True)
        assert board(app).lane_look(Lane.NEW) == LaneLook(
            ("id", "time", "rider", "zone", "channel"), LaneSort.ID, True
        )
        shown_row = row_text(new, new.ids[0])
        card = app.store.orders[new.ids[0]]
        assert str(card.id) in shown_row and card.customer.split()[0] not in shown_row
        # The other lanes keep the board's own layout; the signed lane is gone from the board,
        # the strip and the arrows.
        assert lane(app, Lane.PICKING).column_names is None
        signed = lane(app, Lane.SIGNED)
        assert signed.has_class("-hidden") and not signed.display
        assert "Signed" not in str(board(app).query_one("#strip").render())
        await pilot.press("left")
        assert board(app).current == Lane.EXCEPTION  # from the first lane round to the last shown

        # 0 in the dialog puts the lane back as the board lays it out; esc changes nothing.
        await pilot.press("right", "f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the dialog")
        await pilot.press("0")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        assert new.column_names is None and new.ids == before
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the dialog")
        await pilot.press("space", "escape")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        assert new.column_names is None


async def test_a_lane_keeps_one_column_and_the_board_one_lane() -> None:
    app = board_app()
    async with app.run_test(size=SIZE) as pilot:
        await drawn(pilot)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the dialog")
        # Hide every column (the last one is refused), and every lane (the last one is refused).
        keys = ["space", "down"] * 6 + ["tab", "tab"] + ["space", "down"] * 6 + ["enter"]
        await pilot.press(*keys)
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        assert lane(app, Lane.NEW).column_names == ("channel",)
        assert board(app).shown == (Lane.SIGNED,)
        assert board(app).current == Lane.SIGNED


async def test_v_without_an_account_that_keeps_views_says_why() -> None:
    app = board_app()
    async with app.run_test(size=SIZE) as pilot:
        await drawn(pilot)
        said = notes_of(app)
        await pilot.press("v", "s", "x", "enter")
        await until(pilot, lambda: isinstance(app.screen, ViewsScreen), "the views")
        # Not signed in to a server: nothing is saved, and the console says so.
        await until(pilot, lambda: any("Not saved" in n for n in said), "a word")
        assert any("sign in first" in n for n in said), said
        assert app.views.saved == [] and app.views.current is None
