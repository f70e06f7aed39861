"""Riders on the map: zones, track replay with stops, an order's track from pick-up to sign-off,
and a rider's next stops, through the real app on SQLite and PostgreSQL, on hand-made tracks.

A step of 0.001 degree of latitude is 111.2 m; one every 15 s is 26.7 km/h.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.riders import geo
from backend.riders.tracks import MAX_POINTS, find_stops, thin
from backend_client import FreshlineClient, NotFound
from backend_client.geo import contains
from backend_client.models import TrackPoint
from tests.support import Api, customer

WH_CY = (39.9334, 116.455)
STEP = 0.001
"""Degrees of latitude per fix: 111.2 m."""


async def upload(api: Api, rider: int, fixes: list[tuple[datetime, float, float]]) -> None:
    points = [{"lat": lat, "lng": lng, "at": at.isoformat()} for at, lat, lng in fixes]
    response = await api.post(
        f"rider-{rider}", f"/riders/{rider}/positions", json={"points": points}
    )
    assert response.status_code == 200, response.text


def ride(start: datetime, origin: tuple[float, float], steps: int, *, every: float = 15):
    """Fixes riding north one STEP every `every` seconds, the first at `start`, at `origin`."""
    return [
        (start + timedelta(seconds=every * i), origin[0] + STEP * i, origin[1])
        for i in range(steps)
    ]


def wait(start: datetime, at: tuple[float, float], minutes: float, *, every: float = 15):
    """Fixes standing at `at` (a few metres of jitter) for `minutes`, one every `every` s."""
    count = int(minutes * 60 / every) + 1
    jitter = [0.00003, -0.00004, 0.00002, 0.0]
    return [
        (start + timedelta(seconds=every * i), at[0] + jitter[i % 4], at[1] + jitter[(i + 1) % 4])
        for i in range(count)
    ]


async def delivering(api: Api, rider: int, *, promise_minutes: int, **fields: Any) -> dict:
    promised = api.clock.now() + timedelta(minutes=promise_minutes)
    order = await api.create_order(promised_at=promised.isoformat(), **fields)
    order = await api.act("channel-app", order, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    return await api.act(f"rider-{rider}", order, "dispatch")


async def test_zones_are_the_demo_citys_polygons_around_their_warehouses(api: Api) -> None:
    for account in ("viewer", "channel-app", "rider-1", "merchant-wh-cy"):
        response = await api.get(account, "/zones")
        assert response.status_code == 200, (account, response.text)
    zones = response.json()
    warehouses = {w["id"]: w for w in (await api.get("admin", "/warehouses")).json()}
    assert {z["warehouse_id"] for z in zones} == set(warehouses)
    for zone in zones:
        warehouse = warehouses[zone["warehouse_id"]]
        assert zone["name"] == warehouse["zone"]
        assert len(zone["polygon"]) >= 3
        polygon = [tuple(p) for p in zone["polygon"]]
        assert contains(polygon, (warehouse["lat"], warehouse["lng"]))


async def test_a_riders_track_over_a_range_with_a_stop_marked(api: Api) -> None:
    now = api.clock.now()
    start = now - timedelta(minutes=20)
    out = ride(start, WH_CY, 20)  # 4 min 45 s riding north
    stand_at = (out[-1][1] + STEP, out[-1][2])
    stand = wait(out[-1][0] + timedelta(seconds=15), stand_at, 3)  # 3 minutes at a door
    back = ride(stand[-1][0] + timedelta(seconds=15), (stand_at[0] + STEP, stand_at[1]), 10)
    await upload(api, 1, out + stand + back)

    response = await api.get(
        "dispatcher",
        "/riders/1/track",
        params={"since": start.isoformat(), "until": now.isoformat()},
    )
    assert response.status_code == 200, response.text
    track = response.json()
    assert (track["rider_id"], track["order_id"]) == (1, None)
    assert len(track["points"]) == len(out) + len(stand) + len(back)
    assert [datetime.fromisoformat(p["at"]) for p in track["points"]] == [
        at for at, _, _ in out + stand + back
    ]
    assert track["points"][0]["speed_kmh"] is None
    assert track["points"][1]["speed_kmh"] == pytest.approx(26.7, abs=0.1)
    [stop] = track["stops"]
    assert datetime.fromisoformat(stop["start"]) == stand[0][0]
    assert datetime.fromisoformat(stop["end"]) == stand[-1][0]
    assert stop["minutes"] == pytest.approx(3.0)
    assert geo.metres((stop["lat"], stop["lng"]), stand_at) < 5

    # The default range is the hour up to now; a range can cut a track.
    default = (await api.get("dispatcher", "/riders/1/track")).json()
    assert len(default["points"]) == len(track["points"])
    later = await api.get("dispatcher", "/riders/1/track", params={"since": back[0][0].isoformat()})
    assert len(later.json()["points"]) == len(back)
    assert later.json()["stops"] == []

    # Up to now includes a fix a phone's clock put ahead of ours, as the map shows it.
    ahead = [(now + timedelta(seconds=40), back[-1][1] + STEP, back[-1][2])]
    await upload(api, 1, ahead)
    default = (await api.get("dispatcher", "/riders/1/track")).json()
    assert datetime.fromisoformat(default["points"][-1]["at"]) == ahead[0][0]
    assert datetime.fromisoformat(default["until"]) == ahead[0][0]
    asked = await api.get("dispatcher", "/riders/1/track", params={"until": now.isoformat()})
    assert len(asked.json()["points"]) == len(track["points"])  # an asked end is kept


async def test_track_ranges_are_checked_and_scope_applies(api: Api) -> None:
    now = api.clock.now()
    backwards = await api.get(
        "dispatcher",
        "/riders/1/track",
        params={"since": now.isoformat(), "until": (now - timedelta(minutes=1)).isoformat()},
    )
    assert backwards.status_code == 422
    assert "before" in backwards.json()["detail"]
    too_long = await api.get(
        "dispatcher",
        "/riders/1/track",
        params={"since": (now - timedelta(hours=25)).isoformat(), "until": now.isoformat()},
    )
    assert too_long.status_code == 422
    assert "24 hours" in too_long.json()["detail"]
    naive = await api.get("dispatcher", "/riders/1/track", params={"since": "2026-11-22T09:00"})
    assert naive.status_code == 422

    for path in ("/riders/{}/track", "/riders/{}/route"):
        assert (await api.get("rider-1", path.format(1))).status_code == 200
        assert (await api.get("rider-1", path.format(2))).status_code == 404
        assert (await api.get("merchant-wh-cy", path.format(1))).status_code == 200
        assert (await api.get("merchant-wh-cy", path.format(9))).status_code == 404
        assert (await api.get("dispatcher", path.format(99999))).status_code == 404
        assert (await api.get("channel-app", path.format(1))).status_code == 403
    assert (await api.get("dispatcher", "/orders/99999/track")).status_code == 404


async def test_an_orders_track_runs_from_pick_up_to_sign_off(api: Api) -> None:
    await api.rider_online(1)
    before = api.clock.now()
    await upload(api, 1, [(before - timedelta(minutes=5), *WH_CY)])  # before pick-up: not in it
    order = await delivering(api, 1, promise_minutes=40)

    empty = (await api.get("dispatcher", f"/orders/{order['id']}/track")).json()
    assert (empty["rider_id"], empty["points"]) == (1, [])
    assert [e["to_state"] for e in empty["events"]] == ["DELIVERING"]

    path = ride(api.clock.now() + timedelta(seconds=15), WH_CY, 8)
    api.clock.advance(minutes=2, seconds=30)
    await upload(api, 1, path)
    signed = await api.act("rider-1", order, "sign")
    api.clock.advance(minutes=1)
    await upload(api, 1, [(api.clock.now(), WH_CY[0], WH_CY[1])])  # after sign-off: not in it

    # Store staff see an order until a rider takes it out (docs/permissions.md).
    hidden = await api.get("merchant-wh-cy", f"/orders/{order['id']}/track")
    assert hidden.status_code == 404, hidden.text
    for account in ("dispatcher", "rider-1", "channel-app"):
        response = await api.get(account, f"/orders/{order['id']}/track")
        assert response.status_code == 200, (account, response.text)
        track = response.json()
        assert (track["rider_id"], track["order_id"]) == (1, order["id"])
        assert [datetime.fromisoformat(p["at"]) for p in track["points"]] == [
            at for at, _, _ in path
        ]
        kinds = [(e["kind"], e["to_state"]) for e in track["events"]]
        assert kinds[0] == ("order.transition", "DELIVERING")
        assert kinds[-1] == ("order.transition", "SIGNED")
    assert track["events"][-1]["actor"] == "rider"  # a role, not "rider-1", for outside accounts
    assert signed["status"] == "SIGNED"
    other = await api.get("merchant-wh-hd", f"/orders/{order['id']}/track")
    assert other.status_code == 404


async def test_an_order_still_out_has_the_fixes_a_phone_put_ahead_of_our_clock(api: Api) -> None:
    # The backend accepts fixes up to two minutes ahead of its clock (a phone's skew), and the
    # map moves the rider to them at once: the replay must not lag behind the map.
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=40)
    now = api.clock.now()
    ahead = ride(now + timedelta(seconds=15), WH_CY, 6)  # the last 90 s ahead
    await upload(api, 1, ahead)
    track = (await api.get("dispatcher", f"/orders/{order['id']}/track")).json()
    assert [datetime.fromisoformat(p["at"]) for p in track["points"]] == [a for a, _, _ in ahead]
    assert datetime.fromisoformat(track["until"]) == ahead[-1][0]
    # Once signed, the track ends at the signature, whatever a phone sends later.
    signed = await api.act("rider-1", order, "sign")
    await upload(api, 1, ride(now + timedelta(seconds=100), ahead[-1][1:], 2))
    track = (await api.get("dispatcher", f"/orders/{order['id']}/track")).json()
    assert datetime.fromisoformat(track["until"]) == datetime.fromisoformat(signed["updated_at"])
    assert track["points"] == []  # signed at `now`: every fix came after


async def test_an_order_handed_over_has_each_riders_part_of_the_track(api: Api) -> None:
    for rider in (1, 2):
        await api.rider_online(rider)
    order = await delivering(api, 1, promise_minutes=40)
    first = ride(api.clock.now() + timedelta(seconds=15), WH_CY, 4)
    api.clock.advance(minutes=1, seconds=15)
    await upload(api, 1, first)
    current = (await api.get("admin", f"/orders/{order['id']}")).json()
    body = {"to_rider_id": 2, "orders": [{"id": order["id"], "version": current["version"]}]}
    response = await api.post("dispatcher", "/riders/1/handover", json=body)
    assert response.status_code == 200, response.text
    second = ride(api.clock.now() + timedelta(seconds=15), (39.95, 116.46), 4)
    api.clock.advance(minutes=1, seconds=15)
    await upload(api, 1, ride(api.clock.now() - timedelta(seconds=10), WH_CY, 1))  # not its leg
    await upload(api, 2, second)

    track = (await api.get("dispatcher", f"/orders/{order['id']}/track")).json()
    assert track["rider_id"] is None
    assert [(p["lat"], p["lng"]) for p in track["points"]] == [
        (lat, lng) for _, lat, lng in first + second
    ]


async def test_a_riders_route_lists_their_deliveries_by_promise(api: Api) -> None:
    await api.rider_online(1)
    later = await delivering(api, 1, promise_minutes=50)
    sooner = await delivering(
        api, 1, promise_minutes=30, customer=customer(phone="13911112222", lat=39.95)
    )
    route = (await api.get("dispatcher", "/riders/1/route")).json()
    assert route["rider_id"] == 1
    assert [s["order_id"] for s in route["stops"]] == [sooner["id"], later["id"]]
    assert all(s["eta"] is None and s["distance_m"] is None for s in route["stops"])
    assert not any(s["predicted_late"] for s in route["stops"])

    api.clock.advance(seconds=15)
    await upload(api, 1, [(api.clock.now(), *WH_CY)])
    route = (await api.get("dispatcher", "/riders/1/route")).json()
    first, second = route["stops"]
    assert first["distance_m"] == pytest.approx(geo.metres(WH_CY, (39.95, 116.4551)), abs=1)
    assert first["eta"] is not None and second["eta"] is not None


def test_stops_need_over_two_minutes_within_thirty_metres() -> None:
    start = datetime.fromisoformat("2026-11-22T10:00:00+00:00")

    def points(fixes):
        return [TrackPoint(at=at, lat=lat, lng=lng, speed_kmh=None) for at, lat, lng in fixes]

    short = wait(start, WH_CY, 1.75)
    assert find_stops(points(short)) == []
    drifting = [
        (at, lat + 0.0001 * i, lng) for i, (at, lat, lng) in enumerate(wait(start, WH_CY, 5))
    ]
    assert find_stops(points(drifting)) == []  # 11 m a fix: never 2 minutes within 30 m
    [stop] = find_stops(points(wait(start, WH_CY, 2.25)))
    assert stop.minutes == pytest.approx(2.25)

    many = points(ride(start, WH_CY, MAX_POINTS * 2 + 7, every=1))
    thinned = thin(many, MAX_POINTS)
    assert len(thinned) == MAX_POINTS
    assert (thinned[0], thinned[-1]) == (many[0], many[-1])
    gaps = {(b.at - a.at).total_seconds() for a, b in itertools.pairwise(thinned)}
    assert gaps <= {2.0, 3.0}


async def test_the_client_reads_zones_tracks_and_routes(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, promise_minutes=40)
    api.clock.advance(minutes=1)
    now = api.clock.now()
    await upload(api, 1, ride(now - timedelta(seconds=45), WH_CY, 4))
    transport = httpx.ASGITransport(app=api.app)
    async with FreshlineClient("http://testserver", transport=transport) as client:
        await client.login("dispatcher", "demo-dispatcher")
        zones = await client.warehouses.zones()
        assert "Chaoyang" in {z.name for z in zones}
        track = await client.riders.track(1, since=now - timedelta(minutes=5), until=now)
        assert len(track.points) == 4 and track.since == now - timedelta(minutes=5)
        assert len((await client.riders.track(1)).points) == 4
        order_track = await client.orders.track(order["id"])
        assert order_track.order_id == order["id"] and len(order_track.points) == 4
        route = await client.riders.route(1)
        assert [s.order_id for s in route.stops] == [order["id"]]
        assert route.stops[0].eta is not None
        with pytest.raises(NotFound):
            await client.riders.route(99999)
