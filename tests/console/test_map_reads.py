"""The riders screen reads true: names and warehouse marks on the map are never covered by a
rider, and the selected rider, carried out of sight by a re-sort, comes back as the first row
(Pilot, the demo city with riders placed by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from console.store import Changes, RiderState
from screens.riders import RidersScreen
from tests.console.conftest import until
from tests.console.rider_samples import NOW, city, riders_app
from widgets.rider_map import RiderMap


def painted(rider_map: RiderMap) -> list[str]:
    return [rider_map.render_line(y).text for y in range(rider_map.size.height)]


async def open_riders(app: Any, pilot: Any) -> RidersScreen:
    await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
    await pilot.press("3")
    await until(pilot, lambda: isinstance(app.screen, RidersScreen) and app.screen.ready, "riders")
    screen = app.screen
    assert isinstance(screen, RidersScreen)
    return screen


@pytest.mark.parametrize("size", [(160, 48), (120, 40)])
async def test_riders_on_a_zone_name_or_a_warehouse_leave_them_readable(
    size: tuple[int, int],
) -> None:
    zones, places = city()
    # Riders standing on every warehouse (where idle riders wait) and on the middle of every
    # zone's name (its outline's mean point, where the map writes it).
    spots = [(lat, lng) for _, lat, lng in places]
    for _, polygon in zones:
        spots.append(
            (sum(p[0] for p in polygon) / len(polygon), sum(p[1] for p in polygon) / len(polygon))
        )
    app = riders_app(len(spots) + 4)
    for rider_id, (lat, lng) in enumerate(spots, start=1):
        card = app.store.riders[rider_id]
        card.lat, card.lng = lat, lng
    async with app.run_test(size=size) as pilot:
        screen = await open_riders(app, pilot)
        rider_map = screen.rider_map
        await until(pilot, lambda: rider_map.frames > 0, "the map")
        view = rider_map.view
        assert view is not None
        rows = painted(rider_map)
        for name, _ in zones:
            assert any(name in row for row in rows), f"{name} covered:\n" + "\n".join(rows)
        for warehouse, lat, lng in places:
            col, row = view.cell(lat, lng)
            assert rows[row][col] == "W", f"{warehouse} covered:\n" + "\n".join(rows)
            # The riders on it are still on the map, beside it.
            beside = {rows[row + dr][col + dc] for dc, dr in ((0, -1), (0, 1), (0, -2), (0, 2))}
            assert beside & set("o>!?@"), f"no rider beside {warehouse}"


async def test_until_a_key_moves_it_the_selection_is_the_top_row() -> None:
    """The riders re-sort every second: an untouched cursor stays on the top row (the worst
    rider of the moment), rather than following a rider down the list."""
    app = riders_app(80)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_riders(app, pilot)
        riders = screen.rider_list
        await until(pilot, lambda: riders.ids, "the list")
        first = riders.ids[0]
        assert screen.selected == first
        app.store.rider_orders[first] = set()  # no longer late: it sorts further down
        app.store.riders[first].fix_at = NOW
        screen.show_changes(Changes(riders=True))
        await until(pilot, lambda: riders.ids[0] != first, "the re-sort")
        assert riders.cursor == 0 and riders.scroll_offset.y == 0
        assert screen.selected == riders.ids[0]


async def test_the_selected_rider_carried_out_of_sight_comes_back_as_the_first_row() -> None:
    app = riders_app(80)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_riders(app, pilot)
        riders = screen.rider_list
        await until(pilot, lambda: riders.ids, "the list")
        first = riders.ids[0]
        assert screen.selected == first and screen.states[first] == RiderState.LATE
        await pilot.press("down", "up")  # the dispatcher chooses this rider
        await until(pilot, lambda: riders.chosen and screen.selected == first, "the choice")
        height = riders.scrollable_content_region.height
        # Its orders are handed over and it waits, idle: idle riders sort after the busy
        # ones (by name: this one first among them), far below the rows shown.
        card = app.store.riders[first]
        app.store.rider_orders[first] = set()
        card.name, card.fix_at = "Aa Idle", NOW
        screen.show_changes(Changes(riders=True, rider_names=True))
        await until(pilot, lambda: riders.ids.index(first) > height, "the re-sort")
        assert riders.ids.index(first) < len(riders.ids) - height  # room to be the first row
        assert screen.selected == first
        assert riders.cursor == riders.scroll_offset.y, (riders.cursor, riders.scroll_offset.y)
