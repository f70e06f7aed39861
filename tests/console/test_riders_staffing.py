"""The riders screen's staffing table and the move-to-zone key against a real backend (the demo
plans its riders' week): planned against online per zone now and for the next hours; `z`, a
zone and enter (one burst) moves the selected rider there, in the backend and on screen; an
account that may not move riders gets the key dimmed and the reason."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from console.app import FreshlineApp
from screens.move_zone import ZonePicker
from screens.riders import RidersScreen
from tests.console.conftest import until
from tests.stream_support import Actors, LiveServer
from widgets.staffing_table import StaffingTable

pytestmark = pytest.mark.slow  # the console against a real backend

ZONES = ["Chaoyang", "Dongcheng", "Fengtai", "Haidian", "Wangjing", "Xicheng"]


async def open_riders(app: FreshlineApp, pilot: Pilot[None]) -> RidersScreen:
    await until(pilot, lambda: bool(app.screen_stack) and bool(app.store.riders), "the riders")
    await pilot.press("3")
    await until(pilot, lambda: isinstance(app.screen, RidersScreen) and app.screen.ready, "riders")
    screen = app.screen
    assert isinstance(screen, RidersScreen)
    return screen


async def test_planned_against_online_and_moving_a_rider_to_another_zone(
    backend: LiveServer, actors: Actors
) -> None:
    await actors.online(1, 2, 5)
    dispatcher = await actors("dispatcher")
    app = FreshlineApp(server=backend.base_url, token=await actors.token("dispatcher"))
    notes: list[str] = []
    app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        await until(pilot, lambda: screen.staffing is not None, "the staffing table")
        staffing = screen.staffing
        assert staffing is not None
        zones = {z.zone: z for z in staffing.zones}
        assert list(zones) == ZONES
        # The demo's roster: every zone has someone on shift at any hour; who is online is
        # what the riders said (1 and 2 in Chaoyang, 5 in Wangjing).
        assert all(z.planned_now >= 1 for z in zones.values())
        assert {name: z.online_now for name, z in zones.items() if z.online_now} == {
            "Chaoyang": 2,
            "Wangjing": 1,
        }
        assert all(len(z.hours) == 6 for z in zones.values())
        table = str(screen.query_one(StaffingTable).render())
        chaoyang = next(line for line in table.splitlines() if line.startswith("Chaoyang"))
        assert f"{zones['Chaoyang'].planned_now}/2" in chaoyang
        assert "on/online" in table

        # Rider 4 (Chaoyang, idle): find them, then z, one zone down, enter, in one burst.
        await pilot.press("slash", "4", "enter")
        await until(pilot, lambda: screen.selected == 4, "rider 4 selected")
        await pilot.press("z", "down", "enter")
        await until(pilot, lambda: app.store.riders[4].warehouse_id == "WH-DC", "moved on screen")
        assert (await dispatcher.riders.get(4)).warehouse_id == "WH-DC"
        assert not isinstance(app.screen, ZonePicker)
        await until(pilot, lambda: "Chen Tao moved to Dongcheng" in notes, "told it is done")
        # The table is read again after the move; z again shows Dongcheng as where they are.
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ZonePicker), "the zones")
        picker = app.screen
        assert isinstance(picker, ZonePicker) and picker.current == "Dongcheng"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RidersScreen), "back on the riders")
        assert (await dispatcher.riders.get(4)).warehouse_id == "WH-DC"


async def test_a_viewer_sees_no_move_and_is_told_why(backend: LiveServer, actors: Actors) -> None:
    app = FreshlineApp(server=backend.base_url, token=await actors.token("viewer"))
    notes: list[str] = []
    app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_riders(app, pilot)
        await until(pilot, lambda: screen.staffing is not None, "the staffing table")
        await until(pilot, lambda: screen.selected is not None, "a rider selected")
        selected = screen.selected
        assert selected is not None
        before = (await (await actors("admin")).riders.get(selected)).warehouse_id
        await pilot.press("z", "down", "enter")
        await until(
            pilot,
            lambda: any("dispatchers and supervisors" in note for note in notes),
            "the reason",
        )
        assert not isinstance(app.screen, ZonePicker)
        assert (await (await actors("admin")).riders.get(selected)).warehouse_id == before
