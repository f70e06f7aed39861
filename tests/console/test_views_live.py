"""Saved views at the console against a real backend: a view saved with `v s NAME enter` opens
with `v` and its number, columns changed with `f6` are kept in the view open, the default opens
at sign-in after the backend restarted, enter opens and `x y` deletes."""

from __future__ import annotations

import pytest

from backend_client.models import BoardLane, LaneSort
from console.app import FreshlineApp
from console.store import Lane
from screens.board import BoardScreen
from screens.dialogs import ConfirmDialog
from screens.lane_setup import LaneSetupScreen
from screens.views import ViewsScreen
from tests.console.conftest import drawn, until
from tests.console.test_console_live import notes_of
from tests.console.test_views import SIZE, board, lane
from tests.stream_support import Actors, LiveServer

pytestmark = pytest.mark.slow  # the console against a real backend, restarted once


async def test_a_view_saved_at_the_console_opens_in_two_keys_and_at_sign_in_after_a_restart(
    backend: LiveServer, actors: Actors
) -> None:
    for _ in range(3):
        await actors.create()
    token = await actors.token("dispatcher")
    app = FreshlineApp(server=backend.base_url, token=token)
    async with app.run_test(size=SIZE) as pilot:
        await drawn(pilot)
        await until(pilot, lambda: len(lane(app, Lane.NEW).ids) >= 3, "the new orders")
        new = lane(app, Lane.NEW)
        said = notes_of(app)
        # Lay the new lane out: order id first and reversed, no customer.
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the dialog")
        await pilot.press("down", "space", "tab", "down", "space", "r", "enter")
        await until(pilot, lambda: new.column_names is not None, "the new columns")
        # Save it as my-zones and make it the default, typed as one burst each.
        await pilot.press("v", "s", *"my-zones", "enter")
        await until(pilot, lambda: app.views.current == "my-zones", "the view saved")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("v", "d", "escape")
        await until(pilot, lambda: bool(app.views.default), "the default")
        # A second view from this one: late orders only, and (with it open) the new lane put
        # back as the board lays it out, which is kept in it and not in my-zones.
        await pilot.press("l", "v", "s", *"late", "enter")
        await until(pilot, lambda: app.views.current == "late", "the second view")
        assert [v.name for v in app.views.saved] == ["late", "my-zones"]
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the dialog")
        await pilot.press("0")
        await until(pilot, lambda: new.column_names is None, "the board's own columns")

        def plain() -> bool:
            late = app.views.named("late")
            return late is not None and late.settings.layouts == {}

        await until(pilot, plain, "the late view laid out as the board's own")

        # Two keys switch between them, and the lanes follow at once.
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("v", "2")
        await until(pilot, lambda: app.views.current == "my-zones", "my-zones open")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        assert new.column_names == ("id", "time", "rider", "zone", "channel")
        assert new.ids == sorted(new.ids, reverse=True)
        assert not board(app).order_filter.late_only
        await pilot.press("v", "1")
        await until(pilot, lambda: app.views.current == "late", "late open")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        assert board(app).order_filter.late_only and new.column_names is None
        # A view number that is not there says so and opens nothing.
        await pilot.press("v", "7")
        await until(pilot, lambda: any("No view 7" in n for n in said), "no view 7")
        assert app.views.current == "late"
        await pilot.press("escape")

        # Columns changed while a view is open are kept in it.
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LaneSetupScreen), "the dialog")
        await pilot.press("tab", "down", "down", "space", "enter")  # sort by customer

        def kept() -> bool:
            late = app.views.named("late")
            return late is not None and "new" in late.settings.layouts

        await until(pilot, kept, "the columns kept in the view")
        client = await actors("dispatcher")
        late = next(v for v in await client.views.all() if v.name == "late")
        assert late.settings.layouts[BoardLane.NEW].sort == LaneSort.CUSTOMER
        assert late.settings.late_only

    # The backend restarts; a new console for the same account opens its default view.
    backend.kill()
    await backend.start()
    app = FreshlineApp(server=backend.base_url, token=token)
    async with app.run_test(size=SIZE) as pilot:
        await drawn(pilot)
        await until(pilot, lambda: app.views.current == "my-zones", "the default at sign-in")
        await until(
            pilot,
            lambda: lane(app, Lane.NEW).column_names == ("id", "time", "rider", "zone", "channel"),
            "its columns",
        )
        await until(pilot, lambda: len(lane(app, Lane.NEW).ids) >= 3, "the orders")
        ids = lane(app, Lane.NEW).ids
        assert ids == sorted(ids, reverse=True)
        # enter opens the highlighted view; x deletes one, once y says so.
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ViewsScreen), "the views")
        await pilot.press("home", "enter")
        await until(pilot, lambda: app.views.current == "late", "late opened by enter")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ViewsScreen), "the views")
        await pilot.press("home", "x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: [v.name for v in app.views.saved] == ["my-zones"], "deleted")
        assert app.views.current is None
        mine = await (await actors("dispatcher")).views.all()
        assert [(v.name, v.default) for v in mine] == [("my-zones", True)]

    # Another account sees none of them.
    assert await (await actors("supervisor")).views.all() == []
