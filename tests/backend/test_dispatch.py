"""Auto-dispatch through the real API on both databases: who gets an order, and when.

The app here runs with auto-dispatch on and its sweep timer set to an hour, so the tests run
the sweep themselves. Riders are placed due north of the Sanlitun warehouse (WH-CY) at known
distances with position uploads; a rider without a fix counts as standing at their own
warehouse. From the demo city: riders 1..4 belong to WH-CY with capacities 4, 5, 3 and 4;
riders 1 and 3 have a cold-chain box, rider 2 has none.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from geopy.distance import geodesic
from sqlalchemy import select

from backend.app import create_app
from backend.clock import ManualClock
from backend.realtime.models import EventRow
from backend_client.geo import EARTH_RADIUS_M, flat_metres
from tests.support import STARTUP_S, Api, audited, customer, settings_for

WH_CY = (39.9334, 116.455)
COLD = [{"sku": "SEA-SHRIMP", "quantity": 1}]
# 20 km/h in metres per minute, and a 2-minute handover at the counter and at the door.
METRES_PER_MINUTE = 20_000 / 60
HANDOVERS_MINUTES = 4.0


@pytest.fixture
async def api(database_url: str, clock: ManualClock) -> AsyncIterator[Api]:
    """The real app with auto-dispatch on; the sweep's timer never fires during a test. Ranked
    by nearness (distance plus a kilometre per order carried), which these tests measure out;
    the default ranking by insertion cost is tested in test_route_dispatch.py."""
    settings = settings_for(
        database_url, auto_dispatch=True, auto_dispatch_seconds=3600, dispatch_ranking="nearest"
    )
    app = create_app(settings, clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        yield Api(client, app, clock)


async def sweep(api: Api) -> int:
    return await api.app.state.runtime.dispatcher.sweep()


async def place(api: Api, rider_id: int, metres: float) -> None:
    """Put the rider `metres` due north of WH-CY, as of now, on the sphere the ranking measures
    on (`flat_metres`)."""
    lat = WH_CY[0] + math.degrees(metres / EARTH_RADIUS_M)
    fix = {"lat": lat, "lng": WH_CY[1], "at": api.clock.now().isoformat()}
    response = await api.post("admin", f"/riders/{rider_id}/positions", json={"points": [fix]})
    assert response.status_code == 200, response.text


async def set_status(api: Api, rider_id: int, status: str) -> None:
    response = await api.post(
        f"rider-{rider_id}", f"/riders/{rider_id}/status", json={"status": status}
    )
    assert response.status_code == 200, response.text


async def picking(api: Api, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A new WH-CY order, paid, and picking started by the store (auto-dispatch runs here)."""
    order = await api.act("channel-app", await api.create_order(items=items), "pay")
    order = await api.act("merchant-wh-cy", order, "start_picking")
    assert order["status"] == "PICKING"
    return order


async def current(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    response = await api.get("dispatcher", f"/orders/{order['id']}")
    assert response.status_code == 200, response.text
    return response.json()


async def rider(api: Api, rider_id: int) -> dict[str, Any]:
    response = await api.get("dispatcher", f"/riders/{rider_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def timeline(api: Api, order: dict[str, Any]) -> list[dict[str, Any]]:
    response = await api.get("dispatcher", f"/orders/{order['id']}/timeline")
    assert response.status_code == 200, response.text
    return response.json()


async def suggestions(
    api: Api, order: dict[str, Any], *, user: str = "dispatcher", **params: Any
) -> list[dict[str, Any]]:
    response = await api.get(user, f"/orders/{order['id']}/rider-suggestions", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def put_dispatch(
    api: Api, warehouse_id: str, body: Any, *, user: str = "dispatcher"
) -> httpx.Response:
    return await api.client.put(
        f"/api/v1/warehouses/{warehouse_id}/dispatch", headers=await api.auth(user), json=body
    )


async def dispatch_events(api: Api) -> list[EventRow]:
    async with api.app.state.runtime.db.read() as session:
        rows = await session.scalars(
            select(EventRow).where(EventRow.kind == "warehouse.dispatch").order_by(EventRow.seq)
        )
        return list(rows.all())


def assert_auto_assigned(event: dict[str, Any], rider_id: int) -> None:
    assert event["kind"] == "order.assigned", event
    assert (event["actor"], event["role"]) == ("system", "system")
    assert event["reason"].startswith("auto-dispatch"), event["reason"]
    assert event["payload"]["to_rider"] == rider_id


async def test_picking_gives_the_order_to_the_nearest_online_rider_and_a_dispatcher_can_move_it(
    api: Api,
) -> None:
    # Rider 3 stands at the warehouse itself but is offline, as is everyone else in the city.
    await place(api, 1, 500)
    await place(api, 2, 200)
    await place(api, 4, 1200)
    for rider_id in (1, 2, 4):
        await api.rider_online(rider_id)

    order = await picking(api)
    assert order["rider_id"] == 2
    assert order["version"] == 4  # created, paid, picking, assigned
    assert (await rider(api, 2))["active_orders"] == 1
    events = await timeline(api, order)
    assert [e["kind"] for e in events[-2:]] == ["order.transition", "order.assigned"]
    assert events[-2]["actor"] == "merchant-wh-cy"
    assert_auto_assigned(events[-1], 2)
    assert events[-1]["reason"] == "auto-dispatch: 0.2 km from WH-CY, carrying 0"
    assert events[-1]["payload"]["from_rider"] is None

    # A dispatcher overrules it: the slot moves, the sweep leaves the order alone after that.
    order = await api.assign(order, 4)
    assert order["rider_id"] == 4 and order["version"] == 5
    assert (await rider(api, 2))["active_orders"] == 0
    assert (await rider(api, 4))["active_orders"] == 1
    assert await sweep(api) == 0
    assert (await current(api, order))["rider_id"] == 4
    last = (await timeline(api, order))[-1]
    assert (last["kind"], last["actor"], last["payload"]["from_rider"]) == (
        "order.assigned",
        "dispatcher",
        2,
    )


async def test_riders_on_a_break_or_offline_are_never_chosen(api: Api) -> None:
    await place(api, 4, 3000)
    await api.rider_online(1)
    await set_status(api, 1, "break")  # at the warehouse, on a break
    await api.rider_online(4)  # 3 km away; rider 3 (at the warehouse) is offline

    order = await picking(api)
    assert order["rider_id"] == 4
    created = await api.create_order()
    assert [s["rider"]["id"] for s in await suggestions(api, created)] == [4]

    await set_status(api, 4, "break")
    waiting = await picking(api)
    assert waiting["rider_id"] is None
    assert await suggestions(api, waiting) == []
    assert await sweep(api) == 0
    assert (await current(api, waiting))["rider_id"] is None

    await api.rider_online(1)
    assert await sweep(api) == 1
    assert (await current(api, waiting))["rider_id"] == 1
    assert_auto_assigned((await timeline(api, waiting))[-1], 1)


async def test_a_full_rider_is_skipped_and_a_waiting_order_is_served_once_a_slot_frees(
    api: Api,
) -> None:
    await place(api, 4, 3000)
    await api.rider_online(3)  # capacity 3, at the warehouse
    await api.rider_online(4)  # 3 km away

    first = [await picking(api) for _ in range(3)]
    assert [o["rider_id"] for o in first] == [3, 3, 3]
    fourth = await picking(api)
    assert fourth["rider_id"] == 4  # rider 3 is nearer but full (3/3)
    assert (await rider(api, 3))["active_orders"] == 3

    await set_status(api, 4, "break")
    waiting = await picking(api)
    assert waiting["rider_id"] is None and waiting["version"] == 3
    assert await sweep(api) == 0

    # Rider 3 delivers one order: the slot frees only at the signature.
    delivering = await api.act("rider-3", first[0], "dispatch")
    assert await sweep(api) == 0
    await api.act("rider-3", delivering, "sign")
    assert (await rider(api, 3))["active_orders"] == 2
    assert await sweep(api) == 1
    served = await current(api, waiting)
    assert served["rider_id"] == 3 and served["version"] == 4
    assert (await rider(api, 3))["active_orders"] == 3
    event = (await timeline(api, waiting))[-1]
    assert_auto_assigned(event, 3)
    assert event["reason"].endswith("carrying 2")
    assert await sweep(api) == 0


async def test_cold_chain_orders_go_only_to_riders_with_a_cold_chain_box(api: Api) -> None:
    await place(api, 2, 100)  # no cold-chain box
    await place(api, 1, 2000)  # a cold-chain box
    await api.rider_online(2)
    await api.rider_online(1)

    cold = await picking(api, COLD)
    assert cold["cold_chain"] is True and cold["rider_id"] == 1
    assert await suggestions(api, cold) == []  # rider 2 is nearer, but has no box
    plain = await picking(api)
    assert plain["rider_id"] == 2

    # With no cold-chain rider about, a cold order waits; ordinary orders behind it do not.
    await set_status(api, 1, "break")
    waiting_cold = await picking(api, COLD)
    assert waiting_cold["rider_id"] is None
    await set_status(api, 2, "break")
    waiting_plain = await picking(api)
    assert waiting_plain["rider_id"] is None
    await api.rider_online(2)
    assert await sweep(api) == 1
    assert (await current(api, waiting_plain))["rider_id"] == 2
    assert (await current(api, waiting_cold))["rider_id"] is None

    # Restocking starts picking again, and auto-dispatches like start_picking does.
    # Strawberries travel cold: rider 2 is nearer and carries less, rider 1 gets them.
    await api.rider_online(1)
    strawberries = await api.stock("WH-CY", "FRU-STRAWBERRY")
    await api.post(
        "admin",
        "/warehouses/WH-CY/stock/FRU-STRAWBERRY/adjust",
        json={"delta": 2 - strawberries["available"], "reason": "spoiled"},
    )
    short = await api.create_order(items=[{"sku": "FRU-STRAWBERRY", "quantity": 3}])
    short = await api.act("channel-app", short, "pay")
    assert short["status"] == "OUT_OF_STOCK" and short["rider_id"] is None
    await api.post(
        "admin",
        "/warehouses/WH-CY/stock/FRU-STRAWBERRY/adjust",
        json={"delta": 10, "reason": "delivery"},
    )
    restocked = await api.act("merchant-wh-cy", short, "restock")
    assert restocked["status"] == "PICKING" and restocked["rider_id"] == 1
    assert_auto_assigned((await timeline(api, restocked))[-1], 1)


async def test_a_rider_carrying_orders_can_lose_to_a_slightly_farther_empty_one(api: Api) -> None:
    await place(api, 2, 200)
    await place(api, 4, 800)
    await api.rider_online(2)
    first = await picking(api)
    assert first["rider_id"] == 2
    await api.rider_online(4)

    # 200 m plus one order carried (worth 1 km) loses to 800 m with nothing.
    second = await picking(api)
    assert second["rider_id"] == 4
    assert (await timeline(api, second))[-1]["reason"] == (
        "auto-dispatch: 0.8 km from WH-CY, carrying 0"
    )
    # Both carry one now: the nearer one wins again.
    third = await picking(api)
    assert third["rider_id"] == 2

    # Suggestions follow the same ranking and say how far each rider is.
    ranked = await suggestions(api, await api.create_order())
    assert [s["rider"]["id"] for s in ranked] == [4, 2]
    assert [s["rider"]["active_orders"] for s in ranked] == [1, 2]
    assert ranked[0]["distance_m"] == pytest.approx(800, abs=1)
    assert ranked[1]["distance_m"] == pytest.approx(200, abs=1)


async def test_a_rider_registered_online_and_placed_by_the_relay_takes_the_next_order(
    api: Api,
) -> None:
    await api.rider_online(1)  # cold chain, at the warehouse... until the relay moves them
    registered = await api.post(
        "supervisor",
        "/riders",
        json={
            "riders": [
                {
                    "name": "Ma Lin",
                    "phone": "13900000099",
                    "warehouse_id": "WH-CY",
                    "capacity": 2,
                    "cold_chain": True,
                    "status": "online",
                }
            ]
        },
    )
    assert registered.status_code == 201, registered.text
    newcomer = registered.json()[0]["id"]
    near = geodesic(meters=50).destination(WH_CY, bearing=90)
    far = geodesic(meters=900).destination(WH_CY, bearing=180)
    now = api.clock.now().isoformat()
    relayed = await api.post(
        "admin",
        "/positions",
        json={
            "fixes": [
                {"rider_id": newcomer, "lat": near.latitude, "lng": near.longitude, "at": now},
                {"rider_id": 1, "lat": far.latitude, "lng": far.longitude, "at": now},
            ]
        },
    )
    assert relayed.status_code == 200, relayed.text

    order = await picking(api, COLD)
    assert order["rider_id"] == newcomer
    assert (await rider(api, newcomer))["active_orders"] == 1


async def test_a_warehouse_with_auto_dispatch_off_leaves_its_orders_to_the_dispatcher(
    api: Api,
) -> None:
    assert await dispatch_events(api) == []
    turned_off = await put_dispatch(api, "WH-CY", {"auto_dispatch": False})
    assert turned_off.status_code == 200, turned_off.text
    assert turned_off.json()["id"] == "WH-CY" and turned_off.json()["auto_dispatch"] is False
    shown = await api.get("viewer", "/warehouses/WH-CY")
    assert shown.json()["auto_dispatch"] is False
    again = await put_dispatch(api, "WH-CY", {"auto_dispatch": False}, user="supervisor")
    assert again.status_code == 200 and again.json()["auto_dispatch"] is False

    await api.rider_online(1)
    held = await picking(api)
    assert held["rider_id"] is None
    assert await sweep(api) == 0
    assert (await current(api, held))["rider_id"] is None
    # The dispatcher still sees who could take it.
    assert [s["rider"]["id"] for s in await suggestions(api, held)] == [1]

    # Other warehouses are unaffected: a Haidian order gets its rider at once.
    await api.rider_online(9)
    haidian = await api.create_order(customer=customer(lat=39.984, lng=116.318))
    assert haidian["warehouse_id"] == "WH-HD"
    haidian = await api.act("channel-app", haidian, "pay")
    haidian = await api.act("dispatcher", haidian, "start_picking")
    assert haidian["rider_id"] == 9

    turned_on = await put_dispatch(api, "WH-CY", {"auto_dispatch": True}, user="admin")
    assert turned_on.status_code == 200, turned_on.text
    assert turned_on.json()["auto_dispatch"] is True
    assert (await current(api, held))["rider_id"] is None  # waiting orders go at the sweep
    assert await sweep(api) == 1
    assert (await current(api, held))["rider_id"] == 1
    assert_auto_assigned((await timeline(api, held))[-1], 1)

    events = await dispatch_events(api)
    assert [(e.actor, e.warehouse_id, audited(e.payload)) for e in events] == [
        ("dispatcher", "WH-CY", {"auto_dispatch": False}),
        ("admin", "WH-CY", {"auto_dispatch": True}),
    ]


async def test_suggestions_rank_riders_and_leave_out_the_current_one(api: Api) -> None:
    await place(api, 1, 300)
    await place(api, 2, 100)
    await place(api, 4, 1500)
    for rider_id in (1, 2, 4):
        await api.rider_online(rider_id)  # rider 3, at the warehouse, stays offline

    created = await api.create_order()
    ranked = await suggestions(api, created)
    assert [s["rider"]["id"] for s in ranked] == [2, 1, 4]
    drop_off_m = flat_metres(WH_CY, (customer()["lat"], customer()["lng"]))
    for suggestion, metres in zip(ranked, (100, 300, 1500), strict=True):
        assert suggestion["distance_m"] == pytest.approx(metres, abs=1)
        eta = (metres + drop_off_m) / METRES_PER_MINUTE + HANDOVERS_MINUTES
        assert suggestion["eta_minutes"] == pytest.approx(eta, abs=0.15)
        assert suggestion["rider"]["status"] == "online"

    order = await api.act("channel-app", created, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    assert order["rider_id"] == 2
    assert [s["rider"]["id"] for s in await suggestions(api, order)] == [1, 4]
    assert [s["rider"]["id"] for s in await suggestions(api, order, limit=1)] == [1]
    assert len(await suggestions(api, order, user="supervisor", limit=50)) == 2
    assert len(await suggestions(api, order, user="admin")) == 2

    path = f"/orders/{order['id']}/rider-suggestions"
    for limit in (0, -1, 51, "many"):
        response = await api.get("dispatcher", path, params={"limit": limit})
        assert response.status_code == 422, (limit, response.text)
    missing = await api.get("dispatcher", "/orders/999999/rider-suggestions")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    for user in ("support", "viewer", "merchant-wh-cy", "rider-2", "channel-app"):
        response = await api.get(user, path)
        assert response.status_code == 403, (user, response.text)
    assert (await api.client.get(f"/api/v1{path}")).status_code == 401


async def test_dispatch_switch_refusals_change_nothing(api: Api) -> None:
    events = await api.event_count()

    unknown = await put_dispatch(api, "WH-NOPE", {"auto_dispatch": False})
    assert unknown.status_code == 404 and "WH-NOPE" in unknown.json()["detail"]
    for body in (
        {},
        {"auto_dispatch": None},
        {"auto_dispatch": "maybe"},
        {"auto_dispatch": [True]},
        {"auto_dispatch": False, "period_seconds": 5},
        [False],
    ):
        response = await put_dispatch(api, "WH-CY", body)
        assert response.status_code == 422, (body, response.text)
    assert (await put_dispatch(api, "WH CY!", {"auto_dispatch": False})).status_code == 422
    for user in ("support", "viewer", "merchant-wh-cy", "rider-1", "channel-app"):
        response = await put_dispatch(api, "WH-CY", {"auto_dispatch": False}, user=user)
        assert response.status_code == 403, (user, response.text)
    anonymous = await api.client.put(
        "/api/v1/warehouses/WH-CY/dispatch", json={"auto_dispatch": False}
    )
    assert anonymous.status_code == 401

    # Already on: saying so again is a no-op, not a change.
    unchanged = await put_dispatch(api, "WH-CY", {"auto_dispatch": True})
    assert unchanged.status_code == 200 and unchanged.json()["auto_dispatch"] is True
    assert await api.event_count() == events
    assert (await api.get("viewer", "/warehouses/WH-CY")).json()["auto_dispatch"] is True


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # 150 requests: one is enough
async def test_load_counts_even_when_more_than_fifty_riders_have_room(api: Api) -> None:
    """A big fleet: 50 riders at the warehouse carry one order each (worth 1 km), and an empty
    rider waits 300 m away. The empty rider is the better choice, however many riders there are.
    """
    crew = [
        {
            "name": f"Crew {n}",
            "phone": f"137{n:08d}",
            "warehouse_id": "WH-CY",
            "capacity": 2,
            "status": "online",
        }
        for n in range(50)
    ]
    registered = await api.post("supervisor", "/riders", json={"riders": crew})
    assert registered.status_code == 201, registered.text
    crew_ids = {r["id"] for r in registered.json()}
    for _ in crew:
        assert (await picking(api))["rider_id"] in crew_ids
    riders = (await api.get("dispatcher", "/riders", params={"warehouse_id": "WH-CY"})).json()
    assert {r["active_orders"] for r in riders if r["id"] in crew_ids} == {1}

    await place(api, 1, 300)
    await api.rider_online(1)
    created = await api.create_order()
    suggested = (await suggestions(api, created, limit=1))[0]
    order = await api.act("channel-app", created, "pay")
    order = await api.act("merchant-wh-cy", order, "start_picking")
    # (first suggestion, its distance, the rider auto-dispatch chose)
    assert (suggested["rider"]["id"], round(suggested["distance_m"]), order["rider_id"]) == (
        1,
        300,
        1,
    )


async def test_one_sweep_serves_every_warehouse_a_rider_can_reach(api: Api) -> None:
    """An order nobody near its own warehouse can take must not hold up orders elsewhere."""
    fengtai = await api.create_order(
        customer=customer(lat=39.8585, lng=116.287),
        promised_at=(api.clock.now() + timedelta(minutes=20)).isoformat(),
    )
    assert fengtai["warehouse_id"] == "WH-FT"
    fengtai = await api.act("channel-app", fengtai, "pay")
    fengtai = await api.act("dispatcher", fengtai, "start_picking")
    sanlitun = await picking(api)  # promised later than the Fengtai order
    assert fengtai["rider_id"] is None and sanlitun["rider_id"] is None  # nobody is online

    await api.rider_online(2)  # at Sanlitun, about 15 km from Fengtai
    await sweep(api)
    assert (await current(api, sanlitun))["rider_id"] == 2


async def test_auto_dispatch_does_not_send_a_rider_across_town(api: Api) -> None:
    await place(api, 4, 5_200)
    await api.rider_online(4)
    order = await picking(api)
    assert order["rider_id"] is None
    assert await sweep(api) == 0
    # A dispatcher still sees the rider and may send them.
    assert [s["rider"]["id"] for s in await suggestions(api, order)] == [4]
    assert (await api.assign(order, 4))["rider_id"] == 4

    await place(api, 2, 4_800)
    await api.rider_online(2)
    assert (await picking(api))["rider_id"] == 2
