"""The riders screen and track replay, driven by keys (Pilot): the list's cursor selects a rider
on the map with their route, pan, zoom and fit move the map, enter lists the rider's orders,
`/` filters by name, the map redraws at a bounded rate; replay steps, plays and changes speed.
A store filled by hand (the demo city's zones, riders placed in them) on a frozen clock."""

from __future__ import annotations

import time
from datetime import timedelta

from backend_client.models import PositionMessage
from console.app import FreshlineApp
from console.commands import COMMANDS
from console.store import RiderState
from console.wall import rotation
from screens.order_detail import OrderDetailScreen
from screens.rider_orders import RiderOrdersScreen
from screens.riders import RidersScreen
from screens.track_replay import FRAME_S, TrackReplayScreen
from tests.console.conftest import until
from tests.console.rider_samples import NOW, riders_app, sample_track
from widgets.rider_map import RiderMap


async def open_riders(app: FreshlineApp, pilot) -> RidersScreen:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
    await pilot.press("3")
    await until(pilot, lambda: isinstance(app.screen, RidersScreen) and app.screen.ready, "riders")
    screen = app.screen
    assert isinstance(screen, RidersScreen)
    await pilot.pause()
    return screen


def painted(rider_map: RiderMap) -> list[str]:
    """The map's rows as the terminal shows them."""
    return [rider_map.render_line(y).text for y in range(rider_map.size.height)]


async def test_the_list_shows_the_worst_first_and_its_cursor_selects_on_the_map() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        riders = screen.rider_list
        states = [screen.states[i] for i in riders.ids]
        assert states[0] == RiderState.LATE
        assert states == sorted(states, key=lambda s: list(RiderState).index(s))
        assert str(riders.border_subtitle) == "2 late · 3 silent"
        assert screen.selected == riders.ids[0]
        # The map shows riders by state glyph, the selected one as @ with numbered stops.
        rows = "".join(painted(screen.rider_map))
        for glyph in "o>!?W@12":
            assert glyph in rows, f"{glyph!r} missing from the map"

        await pilot.press("down", "down")
        chosen = riders.ids[2]
        await until(pilot, lambda: screen.selected == chosen, "the third rider selected")
        await pilot.pause()
        rider = app.store.riders[chosen]
        view = screen.rider_map.view
        assert view is not None
        col, row = view.cell(rider.lat, rider.lng)  # type: ignore[arg-type]
        assert painted(screen.rider_map)[row][col] == "@"
        assert rider.name in str(screen.query_one("#legend").render())
        # The route asked of the backend, for each rider the cursor stopped on.
        assert app.client.routes_asked[-1] == chosen  # type: ignore[union-attr]


async def test_route_follows_the_backends_sequence() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        selected = screen.selected
        assert selected is not None
        await until(pilot, lambda: screen._route_of == selected, "the route")
        by_promise = app.store.orders_of(selected)
        assert [order_id for order_id, _ in screen.route] == list(reversed(by_promise))
        view = screen.rider_map.view
        assert view is not None
        first = app.store.orders[by_promise[-1]]  # the backend's first stop
        col, row = view.cell(first.lat, first.lng)
        assert painted(screen.rider_map)[row][col] == "1"


async def test_pan_zoom_and_fit() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        rider_map = screen.rider_map
        fitted = rider_map.view
        assert fitted is not None

        await pilot.press("plus")
        zoomed = rider_map.view
        assert zoomed is not None and zoomed.metres_per_dot < fitted.metres_per_dot
        await pilot.press("minus", "minus")
        assert rider_map.view.metres_per_dot > fitted.metres_per_dot  # type: ignore[union-attr]

        await pilot.press("0")
        assert rider_map.view == fitted
        await pilot.press("H")  # from the list: shift pans
        assert rider_map.view.lng < fitted.lng  # type: ignore[union-attr]
        await pilot.press("0")
        rider_map.focus()
        await pilot.press("up", "l")  # on the map: arrows and hjkl pan
        view = rider_map.view
        assert view is not None and view.lat > fitted.lat and view.lng > fitted.lng
        # A pan moves everything on the map: the zones' static layer is drawn again.
        before = painted(rider_map)
        await pilot.press("l", "l")
        await until(pilot, lambda: painted(rider_map) != before, "the map drawn again")
        await pilot.press("0")
        assert rider_map.view == fitted
        assert not rider_map.moved_by_hand


async def test_enter_lists_the_riders_orders_and_enter_again_opens_one() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        rider_id = screen.selected
        assert rider_id is not None
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RiderOrdersScreen), "the orders")
        orders = app.screen.query_one("#rider-orders")
        assert orders.option_count == len(app.store.orders_of(rider_id)) == 2  # type: ignore[attr-defined]
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, OrderDetailScreen), "the order")
        assert app.screen.order_id == app.store.orders_of(rider_id)[1]  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RidersScreen), "back on the map")


async def test_slash_filters_riders_by_name_and_escape_clears_it() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        everyone = len(screen.rider_list.ids)
        await pilot.press("slash", *"zhou")
        await until(pilot, lambda: len(screen.rider_list.ids) < everyone, "the filter")
        ids = screen.rider_list.ids
        assert 0 < len(ids) < everyone
        assert all("zhou" in app.store.riders[i].name.lower() for i in ids)
        assert screen.selected in ids
        assert str(screen.rider_list.border_title) == f"Riders  {len(ids)} of {everyone}"
        await pilot.press("enter")  # back to the list, still filtered
        assert screen.rider_list.has_focus and len(screen.rider_list.ids) == len(ids)
        await pilot.press("escape")
        await until(pilot, lambda: len(screen.rider_list.ids) == everyone, "the filter cleared")


async def test_riders_moving_all_the_time_redraw_the_map_at_a_bounded_rate() -> None:
    """40 redraw ticks, each after a burst of 300 fixes, 24 ms apart on the map's own clock:
    0.96 s of fixes are `max_hz` (5) redraws, however fast or slow the machine runs them."""
    app = riders_app(300)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        rider_map = screen.rider_map
        assert rider_map.max_hz == 5
        # The map's clock starts a second after its last real redraw: the first burst draws.
        start_at = time.monotonic() + 1.0
        seconds = [start_at]
        rider_map.clock = lambda: seconds[0]
        start = rider_map.frames
        # No await in the loop: the app's own timers cannot tick in between.
        for step in range(1, 41):
            for rider in list(app.store.riders.values()):
                if rider.lat is None or rider.lng is None:
                    continue
                app.store.move_rider(
                    PositionMessage(
                        rider_id=rider.id,
                        warehouse_id=rider.warehouse_id,
                        lat=rider.lat + 0.0001,
                        lng=rider.lng,
                        at=NOW + timedelta(seconds=step),
                    )
                )
            seconds[0] = start_at + step * 0.024
            app._tick()
        # Drawn at 0.024, 0.240, 0.456, 0.672 and 0.888 s: the first tick 0.2 s after the last.
        frames = rider_map.frames - start
        assert frames == 5, f"{frames} redraws for 12,000 fixes in 0.96 s"


async def test_silent_riders_are_flagged_in_the_list() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        silent = [i for i, s in screen.states.items() if s == RiderState.SILENT]
        assert silent
        index = screen.rider_list.ids.index(silent[0])
        line = screen.rider_list.render_line(index).text
        assert line.startswith("? ") and "SILENT" in line and "5m" in line


def test_the_wall_rotates_through_the_riders_screen() -> None:
    assert rotation(FreshlineApp.MODES) == ["kpi", "summary", "riders"]


# --- track replay -------------------------------------------------------------------------------


async def open_replay(app: FreshlineApp, pilot) -> TrackReplayScreen:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
    app.open_track(5000)
    await until(
        pilot,
        lambda: isinstance(app.screen, TrackReplayScreen) and app.screen.track is not None,
        "the track",
    )
    screen = app.screen
    assert isinstance(screen, TrackReplayScreen)
    return screen


async def test_replay_steps_plays_and_changes_speed() -> None:
    app = riders_app()
    track = sample_track()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_replay(app, pilot)
        assert screen.at == track.points[0].at and screen.index == 0
        assert screen.event_index == 0  # dispatched, at the first fix
        rider_map = screen.query_one(RiderMap)
        rows = "".join(painted(rider_map))
        assert "@" in rows and "C" in rows and "s" in rows  # here, the customer, the stop

        await pilot.press("right", "right", "right")
        assert screen.index == 3 and screen.at == track.points[3].at
        await pilot.press("left")
        assert screen.index == 2

        await pilot.press("right_square_bracket")  # 5x -> 10x
        assert screen.speed == 10
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert screen.speed == 20  # the fastest
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert screen.speed == 2

        await pilot.press("space")
        assert screen.playing
        before = screen.at
        assert before is not None

        def played() -> float:
            return (screen.at - before).total_seconds()  # type: ignore[operator]

        await until(pilot, lambda: played() >= 1.0, "two frames played")
        await pilot.press("space")
        assert not screen.playing
        # Each frame (every FRAME_S of the wall clock, however late it comes) moves the
        # track on by FRAME_S at 2x: half a second.
        frames = played() / (FRAME_S * 2)
        assert frames == int(frames) >= 2, f"{played()} s of track at 2x"

        await pilot.press("end")
        assert screen.index == len(track.points) - 1
        assert screen.event_index == len(track.events) - 1  # signed
        table = screen.query_one("#replay-events")
        assert table.cursor_row == len(track.events) - 1  # type: ignore[attr-defined]
        await pilot.press("home")
        assert screen.index == 0 and screen.event_index == 0


async def test_replay_highlights_the_event_of_the_moment_and_the_stop() -> None:
    app = riders_app()
    track = sample_track()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_replay(app, pilot)
        for _ in range(44):  # 11 minutes in: inside the stop, after the exception
            await pilot.press("right")
        assert screen.at == track.points[44].at
        assert screen.event_index == 1
        status = str(screen.query_one("#replay-status").render())
        assert "stopped 3 min" in status and "DELIVERING -> EXCEPTION" in status


async def test_m_on_an_orders_detail_opens_its_replay() -> None:
    app = riders_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        app.open_order(5000)
        await until(pilot, lambda: isinstance(app.screen, OrderDetailScreen), "the order")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, TrackReplayScreen), "the replay")
        assert app.screen.order_id == 5000  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OrderDetailScreen), "back")


async def test_replay_says_when_the_order_has_no_track() -> None:
    app = riders_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        app.open_track(5001)  # the stand-in client has no track for it
        await until(
            pilot,
            lambda: isinstance(app.screen, TrackReplayScreen) and app.screen.ready,
            "the replay",
        )
        status = app.screen.query_one("#replay-status")
        await until(pilot, lambda: "no track" in str(status.render()), "the explanation")
        await pilot.press("space", "right")  # nothing to play: nothing breaks
        assert not app.screen.playing  # type: ignore[attr-defined]


async def test_every_palette_command_of_the_riders_screen_runs() -> None:
    app = riders_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_riders(app, pilot)
        mine = [c for c in COMMANDS if "RidersScreen" in c.screens]
        assert {c.title for c in mine} >= {"Find a rider", "Fit the map", "Zoom in", "Reload"}
        fitted = screen.rider_map.view
        for command in mine:
            if command.action == "screen.reload":
                continue  # a real feed's reload; nothing to reload here
            if command.action == "screen.move_zone":
                continue  # its own dialog (test_riders_staffing.py)
            await app.run_action(command.action, screen)
            await pilot.pause()
        assert screen.query_one("#rider-search").has_focus  # Find a rider
        await app.run_action("screen.zoom(0)", screen)
        assert screen.rider_map.view == fitted
        riders = [c for c in COMMANDS if c.action == "app.switch_mode('riders')"]
        assert len(riders) == 1
