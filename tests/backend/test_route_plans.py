"""A rider's planned route through the real API, on both databases: the optimiser's sequence
of their stops, and the dispatcher's order and locks on it (version-checked, kept, refused
cleanly when wrong).

Rider 1 of the demo city (WH-CY, capacity 4, a cold box) gets orders to customers at known
places around the Sanlitun warehouse; orders still PICKING are collected there first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.backend.test_eta_and_geofences import fix
from tests.support import Api, customer

WH_CY = (39.9334, 116.455)


async def out_for_delivery(
    api: Api, rider: int, lat: float, lng: float, promise_minutes: float, *, picking: bool = False
) -> dict[str, Any]:
    """A WH-CY order to (lat, lng) promised in `promise_minutes`, given to `rider`, out with
    them (or still being picked: its goods wait at the warehouse)."""
    promised = api.clock.now() + timedelta(minutes=promise_minutes)
    order = await api.create_order(
        customer=customer(lat=lat, lng=lng), promised_at=promised.isoformat()
    )
    order = await api.act("channel-app", order, "pay")
    order = await api.assign(order, rider)
    order = await api.act("dispatcher", order, "start_picking")
    if not picking:
        order = await api.act("dispatcher", order, "dispatch")
    return order


async def plan_of(api: Api, rider: int, account: str = "dispatcher") -> dict[str, Any]:
    response = await api.get(account, f"/riders/{rider}/plan")
    assert response.status_code == 200, response.text
    return response.json()


def drops(plan: dict[str, Any]) -> list[int]:
    return [v["order_id"] for v in plan["visits"] if v["kind"] == "drop"]


async def test_a_route_is_planned_with_pickups_before_their_drops(api: Api) -> None:
    await api.rider_online(1)
    # A zig-zag in promise order (north, south, north); the optimiser need not ride it so.
    north = await out_for_delivery(api, 1, WH_CY[0] + 0.02, WH_CY[1], 40)
    south = await out_for_delivery(api, 1, WH_CY[0] - 0.02, WH_CY[1], 45)
    later = await out_for_delivery(api, 1, WH_CY[0] + 0.021, WH_CY[1], 50, picking=True)
    plan = await plan_of(api, 1)
    assert plan["rider_id"] == 1 and plan["version"] == 0
    assert sorted(drops(plan)) == sorted([north["id"], south["id"], later["id"]])
    kinds = [(v["kind"], v["order_id"]) for v in plan["visits"]]
    # The picking order is collected at its warehouse before it is dropped; the others are on board.
    assert ("pickup", later["id"]) in kinds
    assert kinds.index(("pickup", later["id"])) < kinds.index(("drop", later["id"]))
    assert [k for k, i in kinds if i != later["id"]] == ["drop", "drop"]
    pickup = next(v for v in plan["visits"] if v["kind"] == "pickup")
    warehouses = (await api.get("admin", "/warehouses")).json()
    home = next(w for w in warehouses if w["id"] == later["warehouse_id"])
    assert (pickup["lat"], pickup["lng"]) == (home["lat"], home["lng"])
    # Never worse than the promise order, and the ETAs follow the sequence.
    assert plan["km"] <= plan["promise_order_km"] + 0.01
    etas = [v["eta"] for v in plan["visits"]]
    assert etas == sorted(etas)
    # Anyone who reads riders reads the plan; out of scope is 404, no such rider too.
    assert (await api.get("viewer", "/riders/1/plan")).status_code == 200
    assert (await api.get("rider-2", "/riders/1/plan")).status_code == 404
    assert (await api.get("dispatcher", "/riders/999999/plan")).status_code == 404


async def test_a_rider_with_nothing_to_do_has_an_empty_plan(api: Api) -> None:
    plan = await plan_of(api, 2)
    assert plan["visits"] == [] and plan["source"] == "promise" and plan["km"] == 0


async def test_locked_stops_stay_where_the_dispatcher_put_them(api: Api) -> None:
    await api.rider_online(1)
    near = await out_for_delivery(api, 1, WH_CY[0] + 0.003, WH_CY[1], 20)
    mid = await out_for_delivery(api, 1, WH_CY[0] + 0.01, WH_CY[1], 25)
    far = await out_for_delivery(api, 1, WH_CY[0] + 0.03, WH_CY[1], 30)
    # The farthest first, locked there: an order no optimiser would choose.
    body = {
        "version": 0,
        "stops": [
            {"order_id": far["id"], "locked": True},
            {"order_id": near["id"]},
            {"order_id": mid["id"]},
        ],
    }
    before = await api.event_count()
    response = await api.client.put(
        "/api/v1/riders/1/plan", json=body, headers=await api.auth("dispatcher")
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["version"] == 1
    assert drops(plan)[0] == far["id"]
    assert [v["locked"] for v in plan["visits"]] == [True, False, False]
    assert await api.event_count() == before + 1
    # Kept: read again, and again after the first drop is signed (its place is now the others').
    assert drops(await plan_of(api, 1))[0] == far["id"]
    # Unlocked again, the optimiser puts the nearest first.
    body = {"version": 1, "stops": [{"order_id": i} for i in (far["id"], near["id"], mid["id"])]}
    response = await api.client.put(
        "/api/v1/riders/1/plan", json=body, headers=await api.auth("dispatcher")
    )
    assert response.status_code == 200, response.text
    assert drops(response.json()) == [near["id"], mid["id"], far["id"]]


async def test_the_dispatchers_order_is_the_riders_route_and_its_etas(api: Api) -> None:
    """What the dispatcher saved is what the rider is told to ride next and what every ETA is
    chained along; an order given to the rider since goes after the saved ones."""
    await api.rider_online(1)
    near = await out_for_delivery(api, 1, WH_CY[0] + 0.003, WH_CY[1], 20)
    far = await out_for_delivery(api, 1, WH_CY[0] + 0.03, WH_CY[1], 30)

    async def route() -> list[dict[str, Any]]:
        response = await api.get("dispatcher", "/riders/1/route")
        assert response.status_code == 200, response.text
        return response.json()["stops"]

    assert [s["order_id"] for s in await route()] == [near["id"], far["id"]]  # by promise
    body = {"version": 0, "stops": [{"order_id": far["id"]}, {"order_id": near["id"]}]}
    response = await api.client.put(
        "/api/v1/riders/1/plan", json=body, headers=await api.auth("dispatcher")
    )
    assert response.status_code == 200, response.text
    later = await out_for_delivery(api, 1, WH_CY[0] + 0.004, WH_CY[1], 10)  # the earliest promise
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    stops = await route()
    assert [s["order_id"] for s in stops] == [far["id"], near["id"], later["id"]]
    etas = [s["eta"] for s in stops]
    assert None not in etas and etas == sorted(etas)  # chained far first, then back to near


async def test_bad_route_orders_are_refused_and_change_nothing(api: Api) -> None:
    await api.rider_online(1)
    await api.rider_online(3)
    one = await out_for_delivery(api, 1, WH_CY[0] + 0.01, WH_CY[1], 20)
    two = await out_for_delivery(api, 1, WH_CY[0] - 0.01, WH_CY[1], 25)
    other = await out_for_delivery(api, 3, WH_CY[0], WH_CY[1] + 0.01, 25)
    headers = await api.auth("dispatcher")

    async def put(body: Any, rider: int = 1) -> Any:
        return await api.client.put(f"/api/v1/riders/{rider}/plan", json=body, headers=headers)

    both = [{"order_id": one["id"]}, {"order_id": two["id"]}]
    before = await api.event_count()
    cases = [
        ({"version": 5, "stops": both}, 409, "version 0"),  # stale
        ({"version": 0, "stops": both[:1]}, 409, "missing"),  # a stop left out
        ({"version": 0, "stops": [*both, {"order_id": other["id"]}]}, 409, "not theirs"),
        ({"version": 0, "stops": [both[0], both[0], both[1]]}, 422, "twice"),
        ({"version": 0, "stops": []}, 422, None),
        ({"version": -1, "stops": both}, 422, None),
        ({"version": "0", "stops": both}, 422, None),
        ({"version": 0, "stops": both, "extra": 1}, 422, None),
        ({"version": 0, "stops": [{"order_id": one["id"], "locked": "yes"}]}, 422, None),
    ]
    for body, status, words in cases:
        response = await put(body)
        assert response.status_code == status, (body, response.text)
        if words:
            assert words in response.text, response.text
    response = await put({"version": 0, "stops": both}, rider=999999)
    assert response.status_code == 404
    assert await api.event_count() == before
    assert (await plan_of(api, 1))["version"] == 0
    # A role that may not assign orders may not order a route either.
    response = await api.client.put(
        "/api/v1/riders/1/plan",
        json={"version": 0, "stops": both},
        headers=await api.auth("support"),
    )
    assert response.status_code == 403


async def test_an_order_that_breaks_the_load_limit_is_refused(api: Api) -> None:
    api.app.state.runtime.settings.rider_max_load_g = 1_000
    await api.rider_online(1)
    # Two orders still at the warehouse, 0.6 kg each (two bunches of bok choy): together over
    # the 1 kg limit. Collected one at a time they fit; both picked up first they do not.
    first = await out_for_delivery(api, 1, WH_CY[0] + 0.01, WH_CY[1], 30, picking=True)
    second = await out_for_delivery(api, 1, WH_CY[0] - 0.01, WH_CY[1], 35, picking=True)
    plan = await plan_of(api, 1)
    assert all(600 <= v["weight_g"] <= 1_000 for v in plan["visits"]), plan
    load = 0
    for visit in plan["visits"]:
        load += visit["weight_g"] if visit["kind"] == "pickup" else -visit["weight_g"]
        assert load <= 1_000, plan
    assert sorted(drops(plan)) == sorted([first["id"], second["id"]])


async def test_goods_on_board_over_the_limit_fall_back_and_an_order_is_422(api: Api) -> None:
    await api.rider_online(1)
    one = await out_for_delivery(api, 1, WH_CY[0] + 0.01, WH_CY[1], 30)
    two = await out_for_delivery(api, 1, WH_CY[0] - 0.01, WH_CY[1], 35)
    # The limit is lowered after both went out: what is on board is over it already.
    api.app.state.runtime.settings.rider_max_load_g = 1_000
    plan = await plan_of(api, 1)
    assert plan["source"] == "promise" and "over" in plan["why"], plan
    assert sorted(drops(plan)) == sorted([one["id"], two["id"]])
    before = await api.event_count()
    body = {"version": 0, "stops": [{"order_id": two["id"]}, {"order_id": one["id"]}]}
    response = await api.client.put(
        "/api/v1/riders/1/plan", json=body, headers=await api.auth("dispatcher")
    )
    assert response.status_code == 422 and "kg on board" in response.json()["detail"]
    assert await api.event_count() == before
    assert (await plan_of(api, 1))["version"] == 0
