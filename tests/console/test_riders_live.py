"""The riders screen and track replay against a real backend: the demo city's zones and riders
on the map, a rider out for delivery moving on it, the backend's ETA (`order.eta`) reaching the
order's card, and the order's real track replayed."""

from __future__ import annotations

from datetime import timedelta

from console.app import FreshlineApp
from console.store import RiderState
from screens.riders import RidersScreen
from screens.track_replay import TrackReplayScreen
from tests.console.conftest import until
from tests.stream_support import Actors, LiveServer

WH_CY = (39.9334, 116.455)
RIDER = 1


async def test_a_rider_out_for_delivery_moves_on_the_map_and_the_backends_eta_arrives(
    backend: LiveServer, actors: Actors
) -> None:
    await actors.online(RIDER)
    order = await actors.picking()
    order = await actors.assign(order, RIDER)
    rider = await actors(f"rider-{RIDER}")
    order = await rider.orders.transition(order.id, "dispatch", order.version)
    now = (await rider.health()).time

    app = FreshlineApp(server=backend.base_url, token=await actors.token("dispatcher"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: bool(app.store.zones) and order.id in app.store.orders, "city")
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, RidersScreen), "the riders screen")
        screen = app.screen
        assert isinstance(screen, RidersScreen)
        assert len(screen.rider_map.zones) == len(app.store.zones) >= 6
        assert set(screen.rider_list.ids) == set(app.store.riders)

        # Four fixes an eighth of the way each, after the dispatch: the rider moves on the map,
        # and the backend works out an ETA for the order and publishes it.
        last = now
        for step in range(1, 5):
            share = step / 8
            lat = WH_CY[0] + (order.lat - WH_CY[0]) * share
            lng = WH_CY[1] + (order.lng - WH_CY[1]) * share
            await pilot.pause(0.3)  # the fixes are not from the future
            last = now + timedelta(seconds=0.25 * step)
            await actors.position(RIDER, lat, lng, last)
        await until(pilot, lambda: app.store.riders[RIDER].fix_at == last, "the rider's last fix")
        await until(pilot, lambda: app.store.orders[order.id].eta is not None, "order.eta", 15)
        card = app.store.orders[order.id]
        assert card.version == order.version  # an ETA is not a change of the order
        assert app.store.eta(card) == card.eta
        await until(
            pilot, lambda: screen.states.get(RIDER) == RiderState.DELIVERING, "a delivering rider"
        )
        # The cursor on the rider: the route the backend works out, to this order.
        screen.rider_list.move_to(screen.rider_list.ids.index(RIDER))
        await until(pilot, lambda: screen._route_of == RIDER, "the rider's route")
        assert [order_id for order_id, _ in screen.route] == [order.id]

        # The order's track, replayed: the four fixes, and its timeline.
        app.open_track(order.id)
        await until(
            pilot,
            lambda: isinstance(app.screen, TrackReplayScreen) and app.screen.track is not None,
            "the track",
        )
        replay = app.screen
        assert isinstance(replay, TrackReplayScreen)
        assert replay.track is not None and len(replay.track.points) == 4
        await pilot.press("end")
        assert replay.index == 3
