"""Rosters and moves through the real API on both databases (manual clock): a shift is planned,
changed and removed by the desk and read by its rider and their store; bad times are 422, an
overlap is 409 naming the other shift, and nothing is written by a refusal; moving a rider to
another zone bases them at its warehouse and is in the event log; scoped accounts never reach
another's riders."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import httpx

from backend.staffing.demo import seed_rosters
from tests.support import Api, audited

API = "/api/v1"


def at(api: Api, hours: float) -> str:
    """`hours` from the test clock's now, as the API takes it."""
    return (api.clock.now() + timedelta(hours=hours)).isoformat()


async def call(api: Api, user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return await api.client.request(method, API + path, headers=await api.auth(user), **kwargs)


async def plan(
    api: Api, rider: int, start: float, end: float, zone: str = "Chaoyang", *, expect: int = 201
) -> dict[str, Any]:
    body = {"starts_at": at(api, start), "ends_at": at(api, end), "zone": zone}
    response = await api.post("dispatcher", f"/riders/{rider}/shifts", json=body)
    assert response.status_code == expect, response.text
    return response.json()


async def shifts_of(api: Api, rider: int, user: str = "dispatcher") -> list[dict[str, Any]]:
    # From a day ahead on: the demo's own roster covers the next days too, so each test plans
    # its shifts on days the demo left free (more than a week ahead).
    response = await api.get(user, f"/riders/{rider}/shifts", params={"since": at(api, 24 * 8)})
    assert response.status_code == 200, response.text
    return response.json()


async def events_of(api: Api, kind: str) -> list[dict[str, Any]]:
    response = await api.get("admin", "/events", params={"since": 0, "topics": "riders"})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["kind"] == kind]


WEEK_H = 24 * 9  # past the demo's week of shifts


async def test_the_desk_plans_changes_and_removes_a_shift_and_each_is_logged(api: Api) -> None:
    shift = await plan(api, 1, WEEK_H + 8, WEEK_H + 16)
    assert shift["rider_id"] == 1 and shift["zone"] == "Chaoyang" and shift["version"] == 1
    assert shift["created_by"] == "dispatcher"
    assert [s["id"] for s in await shifts_of(api, 1)] == [shift["id"]]

    # Later and in Wangjing; a stale version is refused and changes nothing.
    body = {"version": 1, "ends_at": at(api, WEEK_H + 18), "zone": "Wangjing"}
    changed = await call(api, "supervisor", "PATCH", f"/riders/1/shifts/{shift['id']}", json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["zone"] == "Wangjing" and changed.json()["version"] == 2
    stale = await call(api, "dispatcher", "PATCH", f"/riders/1/shifts/{shift['id']}", json=body)
    assert stale.status_code == 409 and stale.json()["version"] == 2

    # The rider reads their own roster; the store reads its riders' (who planned it: "desk").
    own = await shifts_of(api, 1, "rider-1")
    assert [(s["id"], s["ends_at"], s["created_by"]) for s in own] == [
        (shift["id"], changed.json()["ends_at"], "desk")
    ]
    assert len(await shifts_of(api, 1, "merchant-wh-cy")) == 1

    gone = await call(api, "dispatcher", "DELETE", f"/riders/1/shifts/{shift['id']}")
    assert gone.status_code == 204, gone.text
    assert await shifts_of(api, 1) == []
    again = await call(api, "dispatcher", "DELETE", f"/riders/1/shifts/{shift['id']}")
    assert again.status_code == 404

    kinds = ("rider.shift_planned", "rider.shift_changed", "rider.shift_removed")
    logged = {kind: await events_of(api, kind) for kind in kinds}
    mine = {k: [e for e in v if e["payload"]["shift_id"] == shift["id"]] for k, v in logged.items()}
    assert [len(v) for v in mine.values()] == [1, 1, 1]
    assert audited(mine["rider.shift_changed"][0]["payload"])["zone"] == "Wangjing"
    assert mine["rider.shift_removed"][0]["actor"] == "dispatcher"


async def test_bad_times_are_422_and_an_overlap_409_and_nothing_is_kept(api: Api) -> None:
    first = await plan(api, 2, WEEK_H + 8, WEEK_H + 16)
    before = await api.event_count()
    bad = [
        {"starts_at": at(api, WEEK_H + 10), "ends_at": at(api, WEEK_H + 9), "zone": "Chaoyang"},
        {"starts_at": at(api, WEEK_H + 10), "ends_at": at(api, WEEK_H + 10), "zone": "Chaoyang"},
        # Longer than shift_max_hours (12).
        {"starts_at": at(api, WEEK_H + 20), "ends_at": at(api, WEEK_H + 33), "zone": "Chaoyang"},
        # Over already.
        {"starts_at": at(api, -5), "ends_at": at(api, -1), "zone": "Chaoyang"},
        {"starts_at": at(api, WEEK_H + 20), "ends_at": at(api, WEEK_H + 22), "zone": "Atlantis"},
        {"starts_at": "2026-11-30T08:00:00", "ends_at": at(api, WEEK_H + 22), "zone": "Chaoyang"},
        {"starts_at": "tomorrow", "ends_at": at(api, WEEK_H + 22), "zone": "Chaoyang"},
        {"starts_at": at(api, WEEK_H + 20), "ends_at": at(api, WEEK_H + 22)},
        {"starts_at": at(api, WEEK_H + 20), "ends_at": at(api, WEEK_H + 22), "zone": "X", "y": 1},
    ]
    for body in bad:
        response = await api.post("dispatcher", "/riders/2/shifts", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"]
    # Overlapping the first shift at either end, or inside it: 409 naming it.
    for start, end in (
        (WEEK_H + 4, WEEK_H + 9),
        (WEEK_H + 15, WEEK_H + 20),
        (WEEK_H + 9, WEEK_H + 10),
    ):
        response = await api.post(
            "dispatcher",
            "/riders/2/shifts",
            json={"starts_at": at(api, start), "ends_at": at(api, end), "zone": "Chaoyang"},
        )
        assert response.status_code == 409, response.text
        assert response.json()["shift_id"] == first["id"]
    assert await api.event_count() == before
    assert [s["id"] for s in await shifts_of(api, 2)] == [first["id"]]

    # Touching is not overlapping: one shift right after the other is fine.
    await plan(api, 2, WEEK_H + 16, WEEK_H + 20)
    # Another rider may work the same hours.
    await plan(api, 3, WEEK_H + 8, WEEK_H + 16)
    # A change is held to the same rules: stretching into the next shift is refused.
    body = {"version": 1, "ends_at": at(api, WEEK_H + 17)}
    clash = await call(api, "dispatcher", "PATCH", f"/riders/2/shifts/{first['id']}", json=body)
    assert clash.status_code == 409, clash.text
    body = {"version": 1, "starts_at": at(api, WEEK_H + 17)}
    backwards = await call(api, "dispatcher", "PATCH", f"/riders/2/shifts/{first['id']}", json=body)
    assert backwards.status_code == 422, backwards.text


async def test_scope_and_permissions_of_rosters(api: Api) -> None:
    shift = await plan(api, 5, WEEK_H + 8, WEEK_H + 16, "Wangjing")
    body = {"starts_at": at(api, WEEK_H + 30), "ends_at": at(api, WEEK_H + 32), "zone": "Wangjing"}
    # Rider 5 is Wangjing's: another rider and another store's merchant see no such rider.
    for user in ("rider-1", "merchant-wh-cy"):
        response = await api.get(user, "/riders/5/shifts")
        assert response.status_code == 404, (user, response.text)
    assert (await api.get("merchant-wh-wj", "/riders/5/shifts")).status_code == 200
    # Only the desk's planners write; the rider, the store, support and viewers do not.
    before = await api.event_count()
    for user in ("rider-5", "merchant-wh-wj", "support", "viewer", "channel-app"):
        refused = await api.post(user, "/riders/5/shifts", json=body)
        assert refused.status_code == 403, (user, refused.text)
        removal = await call(api, user, "DELETE", f"/riders/5/shifts/{shift['id']}")
        assert removal.status_code == 403, (user, removal.text)
        move = await api.post(user, "/riders/5/zone", json={"zone": "Chaoyang"})
        assert move.status_code == 403, (user, move.text)
    assert await api.event_count() == before
    # A channel reads no rosters at all; a shift of another rider is not found through rider 1.
    assert (await api.get("channel-app", "/riders/5/shifts")).status_code == 403
    wrong = await call(api, "dispatcher", "DELETE", f"/riders/1/shifts/{shift['id']}")
    assert wrong.status_code == 404
    assert (await api.get("merchant-wh-cy", "/staffing")).status_code == 403
    assert (await api.get("viewer", "/staffing")).status_code == 200


async def test_moving_a_rider_to_a_zone_rebases_them_and_is_audited(api: Api) -> None:
    moved = await api.post(
        "dispatcher", "/riders/4/zone", json={"zone": "Wangjing", "reason": "Wangjing is short"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["warehouse_id"] == "WH-WJ"
    rider = (await api.get("admin", "/riders/4")).json()
    assert rider["warehouse_id"] == "WH-WJ"
    # Now Wangjing's store sees them, Chaoyang's no longer does.
    assert (await api.get("merchant-wh-wj", "/riders/4")).status_code == 200
    assert (await api.get("merchant-wh-cy", "/riders/4")).status_code == 404

    [event] = await events_of(api, "rider.moved")
    assert event["rider_id"] == 4 and event["actor"] == "dispatcher"
    assert event["reason"] == "Wangjing is short"
    assert audited(event["payload"]) == {
        "from_zone": "Chaoyang",
        "to_zone": "Wangjing",
        "from_warehouse": "WH-CY",
        "to_warehouse": "WH-WJ",
    }
    # Where they are already: nothing changes, nothing is logged.
    before = await api.event_count()
    same = await api.post("dispatcher", "/riders/4/zone", json={"zone": "Wangjing"})
    assert same.status_code == 200 and await api.event_count() == before
    # An unknown zone is 422, a missing rider 404; neither writes.
    assert (
        await api.post("dispatcher", "/riders/4/zone", json={"zone": "Atlantis"})
    ).status_code == 422
    assert (
        await api.post("dispatcher", "/riders/999/zone", json={"zone": "Wangjing"})
    ).status_code == 404
    assert (await api.post("dispatcher", "/riders/4/zone", json={})).status_code == 422
    assert await api.event_count() == before


async def test_a_rider_carrying_orders_is_not_moved(api: Api) -> None:
    await api.rider_online(1)
    order = await api.create_order()
    order = await api.act("channel-app", order, "pay")
    await api.assign(order, 1)
    before = await api.event_count()
    refused = await api.post("dispatcher", "/riders/1/zone", json={"zone": "Haidian"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["active_orders"] == 1
    assert (await api.get("admin", "/riders/1")).json()["warehouse_id"] == "WH-CY"
    assert await api.event_count() == before


async def test_the_demo_plans_a_week_for_every_rider_once(api: Api) -> None:
    zones = (await api.get("dispatcher", "/staffing")).json()["zones"]
    assert len(zones) == 6 and all(z["planned_now"] >= 1 for z in zones)
    for rider in (1, 5, 24):
        response = await api.get("dispatcher", f"/riders/{rider}/shifts")
        shifts = response.json()
        assert 6 <= len(shifts) <= 7, shifts
        spans = [(s["starts_at"], s["ends_at"]) for s in shifts]
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    before = (await api.get("dispatcher", "/riders/1/shifts")).json()
    count = await api.event_count()

    async def again(session: Any) -> None:
        await seed_rosters(session, api.clock.now())

    # A restart seeds again: the week still planned is left alone, and seeding logs nothing.
    await api.app.state.runtime.db.write(again)
    assert (await api.get("dispatcher", "/riders/1/shifts")).json() == before
    assert await api.event_count() == count
