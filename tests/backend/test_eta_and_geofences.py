"""ETAs in sequence, their rate-limited `order.eta` events, and geofences (arriving at the
customer, leaving and coming back to the warehouse), on hand-made tracks with known distances
and speeds, through the real app on SQLite and PostgreSQL.

Distances are great-circle (as the backend's); a step of 0.01 degree of latitude is 1,112 m.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.riders.geo import metres
from backend.riders.progress import HANDOVER
from tests.support import Api, customer

WH_CY = (39.9334, 116.455)


def north(metres_: float, of: tuple[float, float] = WH_CY) -> tuple[float, float]:
    """The point `metres_` due north (great circle: 111,194.9 m a degree of latitude)."""
    return (of[0] + metres_ / 111_194.93, of[1])


async def fix(api: Api, rider: int, at: tuple[float, float], **extra: Any) -> None:
    point = {"lat": at[0], "lng": at[1], "at": api.clock.now().isoformat(), **extra}
    response = await api.post(
        f"rider-{rider}", f"/riders/{rider}/positions", json={"points": [point]}
    )
    assert response.status_code == 200, response.text


async def delivering(
    api: Api, rider: int, *, promise_minutes: float, to: tuple[float, float], phone: str
) -> dict[str, Any]:
    promised = api.clock.now() + timedelta(minutes=promise_minutes)
    order = await api.create_order(
        promised_at=promised.isoformat(),
        customer=customer(phone=phone, lat=to[0], lng=to[1]),
    )
    order = await api.act("channel-app", order, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    return await api.act(f"rider-{rider}", order, "dispatch")


async def events(api: Api, kind: str, account: str = "admin", **params: Any) -> list[dict]:
    """The events of `kind` the account receives (the long poll, after the feed read the log:
    it follows commits a moment later)."""
    await api.app.state.runtime.feed.catch_up()
    topic = kind.partition(".")[0] + "s"
    response = await api.get(account, "/events", params={"since": 0, "topics": topic, **params})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["kind"] == kind]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def leg(metres_: float, kmh: float) -> timedelta:
    return timedelta(hours=metres_ / 1000 / kmh) + HANDOVER


async def test_etas_chain_along_the_riders_sequence_and_flag_the_late_stop(api: Api) -> None:
    await api.rider_online(1)
    stop_a, stop_b = north(1000), north(2000)
    # B's own ride (2 km at 20 km/h, 8 min with the handover) would make its 10 min 6 s; after
    # A (1 km, 5 min with the handover), then the kilometre from A to B (5 min more), it does not.
    a = await delivering(api, 1, promise_minutes=10, to=stop_a, phone="13911110001")
    b = await delivering(api, 1, promise_minutes=10.1, to=stop_b, phone="13911110002")
    api.clock.advance(seconds=15)
    fixed_at = api.clock.now()
    await fix(api, 1, WH_CY, speed_kmh=20)

    eta_a = fixed_at + leg(metres(WH_CY, stop_a), 20)
    eta_b = eta_a + leg(metres(stop_a, stop_b), 20)
    route = (await api.get("dispatcher", "/riders/1/route")).json()
    assert [s["order_id"] for s in route["stops"]] == [a["id"], b["id"]]
    first, second = route["stops"]
    assert at(first["eta"]) == pytest.approx(eta_a, abs=timedelta(milliseconds=5))
    assert at(second["eta"]) == pytest.approx(eta_b, abs=timedelta(milliseconds=5))
    assert second["distance_m"] == pytest.approx(2000, abs=0.5)  # as the crow flies from here
    assert (first["predicted_late"], second["predicted_late"]) == (False, True)

    published = {e["order_id"]: e for e in await events(api, "order.eta")}
    assert published[a["id"]]["payload"]["sequence"] == 1
    eta_event = published[b["id"]]
    assert eta_event["rider_id"] == 1 and eta_event["warehouse_id"] == b["warehouse_id"]
    payload = eta_event["payload"]
    assert (payload["sequence"], payload["predicted_late"]) == (2, True)
    assert at(payload["eta"]) == pytest.approx(eta_b, abs=timedelta(milliseconds=5))
    assert payload["distance_m"] == pytest.approx(2000, abs=0.5)
    assert (payload["channel"], payload["zone"]) == (b["channel"], b["zone"])
    # Nothing of the order changed: its version stays, and the event says which it is.
    assert payload["version"] == b["version"]
    assert (await api.get("admin", f"/orders/{b['id']}")).json()["version"] == b["version"]

    # The predicted-late alert reads the chained ETA.
    await api.app.state.runtime.alerts.evaluate()
    alerts = (await api.get("admin", "/alerts")).json()
    late = {a["order_id"] for a in alerts if a["rule"] == "predicted_late"}
    assert late == {b["id"]}

    # A is signed: B is next, straight from where the rider is.
    await api.act("rider-1", a, "sign")
    api.clock.advance(seconds=15)
    await fix(api, 1, stop_a, speed_kmh=20)
    [stop] = (await api.get("dispatcher", "/riders/1/route")).json()["stops"]
    assert stop["order_id"] == b["id"]
    expected = api.clock.now() + leg(metres(stop_a, stop_b), 20)
    assert at(stop["eta"]) == pytest.approx(expected, abs=timedelta(milliseconds=5))


async def test_published_etas_are_rate_limited_unless_they_jump(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(2000), phone="13911110003")

    async def step(seconds: float, where: tuple[float, float], kmh: float) -> int:
        api.clock.advance(seconds=seconds)
        await fix(api, 1, where, speed_kmh=kmh)
        return len(await events(api, "order.eta"))

    assert await step(15, WH_CY, 20) == 1  # the first ETA goes out at once
    assert await step(10, WH_CY, 20) == 1  # 10 s later, 10 s later: nothing worth telling
    assert await step(10, WH_CY, 40) == 1  # faster (pace 26 km/h): a minute sooner, 20 s on
    assert await step(10, WH_CY, 40) == 2  # 30 s since the last: out it goes
    assert await step(5, north(-6000), 30) == 3  # 6 km the wrong way: 10 minutes later, at once
    assert await step(5, north(-6000), 30) == 3

    sent = (await events(api, "order.eta"))[-1]["payload"]
    assert sent["distance_m"] == pytest.approx(8000, abs=1)
    assert sent["predicted_late"] is False
    assert all(e["order_id"] == order["id"] for e in await events(api, "order.eta"))


async def test_a_flip_to_predicted_late_goes_out_at_once(api: Api) -> None:
    await api.rider_online(1)
    # 2 km at 20 km/h and the handover: 8 min, a quarter of a minute inside the promise.
    order = await delivering(api, 1, promise_minutes=8.5, to=north(2000), phone="13911110008")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY, speed_kmh=20)
    [first] = await events(api, "order.eta")
    assert first["payload"]["predicted_late"] is False

    # 10 s on, a touch slower (pace 19.7 km/h): 15 s later than told, but past the promise.
    api.clock.advance(seconds=10)
    await fix(api, 1, WH_CY, speed_kmh=19)
    flipped = (await events(api, "order.eta"))[-1]
    assert flipped["payload"]["predicted_late"] is True
    change = at(flipped["payload"]["eta"]) - at(first["payload"]["eta"])
    assert timedelta(seconds=10) < change < timedelta(seconds=20)
    assert at(flipped["payload"]["eta"]) > at(order["promised_at"])


async def test_order_eta_events_reach_only_those_who_may_see_the_order(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(1500), phone="13911110004")
    api.clock.advance(seconds=15)
    await fix(api, 1, WH_CY)
    for account in ("dispatcher", "rider-1", "channel-app"):
        seen = await events(api, "order.eta", account)
        assert [e["order_id"] for e in seen] == [order["id"]], account
    # Store staff see their orders until a rider takes them out (docs/permissions.md).
    for account in ("rider-2", "merchant-wh-cy", "merchant-wh-hd", "channel-meituan"):
        assert await events(api, "order.eta", account) == [], account
    assert len(await events(api, "order.eta", zone=order["zone"])) == 1
    assert await events(api, "order.eta", zone="Haidian") == []
    assert await events(api, "order.eta", warehouse_id="WH-HD") == []


async def test_arriving_near_the_customer_is_recorded_once(api: Api) -> None:
    await api.rider_online(1)
    home = north(3000)
    order = await delivering(api, 1, promise_minutes=60, to=home, phone="13911110005")
    for distance in (1000, 400, 160):
        api.clock.advance(seconds=30)
        await fix(api, 1, north(-distance, home))
    assert await events(api, "order.arrived") == []

    api.clock.advance(seconds=30)
    arrived_at = api.clock.now()
    await fix(api, 1, north(-120, home))
    for distance in (40, 10, 200, 30):  # at the door, a GPS jump away and back
        api.clock.advance(seconds=30)
        await fix(api, 1, north(-distance, home))
    [arrived] = await events(api, "order.arrived")
    assert (arrived["order_id"], arrived["rider_id"]) == (order["id"], 1)
    assert arrived["payload"]["distance_m"] == pytest.approx(120, abs=0.5)
    assert at(arrived["payload"]["fix_at"]) == arrived_at
    assert arrived["payload"]["version"] == order["version"]
    assert arrived["to_state"] is None
    timeline = (await api.get("dispatcher", f"/orders/{order['id']}/timeline")).json()
    assert "order.arrived" in [e["kind"] for e in timeline]


async def test_an_offline_batch_arriving_late_still_records_the_arrival_at_its_fix(
    api: Api,
) -> None:
    await api.rider_online(1)
    home = north(1000)
    order = await delivering(api, 1, promise_minutes=60, to=home, phone="13911110006")
    start = api.clock.now()
    api.clock.advance(minutes=3)
    batch = [
        {"lat": lat, "lng": lng, "at": (start + timedelta(seconds=s)).isoformat()}
        for s, (lat, lng) in ((150, north(-50, home)), (30, WH_CY), (90, north(-500, home)))
    ]
    response = await api.post("rider-1", "/riders/1/positions", json={"points": batch})
    assert response.status_code == 200, response.text
    [arrived] = await events(api, "order.arrived")
    assert arrived["order_id"] == order["id"]
    assert at(arrived["payload"]["fix_at"]) == start + timedelta(seconds=150)


async def test_leaving_and_returning_to_the_warehouse_with_hysteresis(api: Api) -> None:
    # The first fix only says where the rider is; 150 m jitter at the gate changes nothing.
    path = [0, 150, 250, 150, 250, 90, 150, 180, 300]
    for distance in path:
        api.clock.advance(seconds=15)
        await fix(api, 2, north(distance))
    crossed = await events(api, "rider.left_warehouse") + await events(
        api, "rider.returned_warehouse"
    )
    crossed.sort(key=lambda e: e["seq"])
    assert [(e["kind"], round(e["payload"]["distance_m"])) for e in crossed] == [
        ("rider.left_warehouse", 250),
        ("rider.returned_warehouse", 90),
        ("rider.left_warehouse", 300),
    ]
    assert all(e["rider_id"] == 2 and e["warehouse_id"] == "WH-CY" for e in crossed)
    assert all(e["to_state"] is None for e in crossed)  # the rider's status is not touched
    assert await events(api, "rider.left_warehouse", "rider-1") == []
    assert len(await events(api, "rider.left_warehouse", "rider-2")) == 2
    assert len(await events(api, "rider.left_warehouse", "merchant-wh-cy")) == 2

    # A rider first heard far away has not "left" anything.
    api.clock.advance(seconds=15)
    await fix(api, 3, north(5000))
    assert [e["rider_id"] for e in await events(api, "rider.left_warehouse")] == [2, 2]


async def test_the_fleet_relay_records_the_same_events(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=60, to=north(1000), phone="13911110007")
    api.clock.advance(seconds=15)
    now = api.clock.now()
    fixes = [
        {"rider_id": 1, "lat": WH_CY[0], "lng": WH_CY[1], "at": (now - timedelta(seconds=10))},
        {"rider_id": 1, "lat": north(950)[0], "lng": WH_CY[1], "at": now},
        {"rider_id": 2, "lat": WH_CY[0], "lng": WH_CY[1], "at": now - timedelta(seconds=10)},
        {"rider_id": 2, "lat": north(400)[0], "lng": WH_CY[1], "at": now},
    ]
    body = {"fixes": [{**f, "at": f["at"].isoformat()} for f in fixes]}
    response = await api.post("admin", "/positions", json=body)
    assert response.status_code == 200, response.text
    assert [e["order_id"] for e in await events(api, "order.eta")] == [order["id"]]
    assert [e["order_id"] for e in await events(api, "order.arrived")] == [order["id"]]
    left = await events(api, "rider.left_warehouse")
    assert sorted(e["rider_id"] for e in left) == [1, 2]
