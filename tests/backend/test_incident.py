"""An incident handled in one step, through the real app on SQLite and PostgreSQL: an order
stopped on the road by an accident is given to another rider and resumed in one request, its
alert resolved by whoever did it; the goods wait at the accident site, and the new rider's
distance, ETA and route go via it until they have been there. And one incident is one row:
an order's other alerts group under its exception, return or claim alert.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.riders.geo import metres
from backend.riders.progress import HANDOVER, NOMINAL_KMH
from tests.backend.test_eta_and_geofences import WH_CY, at, delivering, events, fix, north
from tests.support import Api


async def evaluate(api: Api) -> int:
    return await api.app.state.runtime.alerts.evaluate()


async def alerts_of(api: Api, order_id: int, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("dispatcher", "/alerts", params={"order_id": order_id, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def accident(api: Api) -> tuple[dict[str, Any], tuple[float, float]]:
    """Rider 1 takes an order out, rides 2 km north and reports an accident there; rider 2
    stands 1 km north of the warehouse. The exception alert is open."""
    await api.rider_online(1)
    await api.rider_online(2)
    customer_at = north(5_000)
    order = await delivering(api, 1, promise_minutes=40, to=customer_at, phone="13800000101")
    site = north(2_000)
    await fix(api, 1, site)
    await fix(api, 2, north(1_000))
    order = await api.act("rider-1", order, "report_exception", reason="traffic accident")
    await evaluate(api)
    (alert,) = await alerts_of(api, order["id"])
    assert alert["rule"] == "delivery_exception" and alert["state"] == "open"
    return order, site


async def test_reassign_and_resume_is_one_step_that_resolves_the_incident(api: Api) -> None:
    order, site = await accident(api)
    body = {"rider_id": 2, "version": order["version"], "resume": True, "reason": "rider hurt"}
    response = await api.post("dispatcher", f"/orders/{order['id']}/assign", json=body)
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["status"] == "DELIVERING" and moved["rider_id"] == 2
    assert moved["version"] == order["version"] + 2  # assigned, then resumed

    # The alert is closed now, by the dispatcher, saying how; the engine finds nothing more.
    resolved = await alerts_of(api, order["id"], state="resolved")
    assert [a["rule"] for a in resolved] == ["delivery_exception"]
    assert "reassigned to" in resolved[0]["resolution"]
    assert await alerts_of(api, order["id"]) == []
    await evaluate(api)
    assert await alerts_of(api, order["id"]) == []

    # The goods are at the accident site: rider 2's ETA and route go via it.
    (eta,) = [e for e in await events(api, "order.eta") if e["rider_id"] == 2]
    assert eta["order_id"] == order["id"] and eta["payload"]["version"] == moved["version"]
    via = metres(north(1_000), site) + metres(site, north(5_000))
    assert eta["payload"]["distance_m"] == round(via, 1)
    expected = api.clock.now() + timedelta(hours=via / 1000 / NOMINAL_KMH) + 2 * HANDOVER
    assert abs(at(eta["payload"]["eta"]) - expected) < timedelta(seconds=1)
    route = (await api.get("rider-2", "/riders/2/route")).json()
    (stop,) = route["stops"]
    assert (stop["pickup_lat"], stop["pickup_lng"]) == site

    # Half way to the site: still via it. At the site: the goods are collected, then straight on.
    api.clock.advance(seconds=30)
    await fix(api, 2, north(1_500))
    (stop,) = (await api.get("rider-2", "/riders/2/route")).json()["stops"]
    assert stop["distance_m"] == round(metres(north(1_500), site) + metres(site, north(5_000)), 1)
    api.clock.advance(seconds=30)
    await fix(api, 2, north(2_050))
    (stop,) = (await api.get("rider-2", "/riders/2/route")).json()["stops"]
    assert stop["pickup_lat"] is None
    assert stop["distance_m"] == round(metres(north(2_050), north(5_000)), 1)
    assert len(await events(api, "order.collected")) == 1
    api.clock.advance(seconds=30)
    await fix(api, 2, north(4_950))
    assert len(await events(api, "order.arrived")) == 1  # only now, at the customer
    signed = await api.act("rider-2", moved, "sign")
    assert signed["status"] == "SIGNED"


async def test_suggestions_start_from_where_the_goods_wait(api: Api) -> None:
    order, site = await accident(api)
    moved = await api.assign(order, 2)  # reassigned only: still in EXCEPTION
    assert moved["status"] == "EXCEPTION"
    api.clock.advance(seconds=30)
    await fix(api, 2, north(500))  # rider 2 rides the wrong way: the goods stay at the site
    await api.rider_online(4)
    response = await api.get("dispatcher", f"/orders/{order['id']}/rider-suggestions")
    assert response.status_code == 200, response.text
    best = response.json()[0]
    assert best["rider"]["id"] != 2
    # Rider 4 has no fix: they stand at the warehouse, 2 km from the site (not from rider 2).
    four = next(s for s in response.json() if s["rider"]["id"] == 4)
    assert abs(four["distance_m"] - metres(WH_CY, site)) < 10


async def test_resume_with_a_reassignment_is_refused_unless_the_order_is_in_exception(
    api: Api,
) -> None:
    await api.rider_online(1)
    await api.rider_online(2)
    order = await delivering(api, 1, promise_minutes=40, to=north(3_000), phone="13800000102")
    body = {"rider_id": 2, "version": order["version"], "resume": True}
    before = await api.event_count()
    response = await api.post("dispatcher", f"/orders/{order['id']}/assign", json=body)
    assert response.status_code == 409, response.text
    assert "EXCEPTION" in response.json()["detail"] and "DELIVERING" in response.json()["detail"]
    assert await api.event_count() == before
    assert (await api.get("admin", f"/orders/{order['id']}")).json()["rider_id"] == 1
    for bad in ("yes", 1.5, None):
        response = await api.post(
            "dispatcher", f"/orders/{order['id']}/assign", json={**body, "resume": bad}
        )
        assert response.status_code == 422, (bad, response.text)
    assert await api.event_count() == before


async def test_an_orders_alerts_group_under_its_incident(api: Api) -> None:
    order, _site = await accident(api)
    api.clock.advance(minutes=45)  # past its promise: overdue too
    await evaluate(api)
    standing = {a["rule"]: a for a in await alerts_of(api, order["id"])}
    assert set(standing) == {"delivery_exception", "delivery_overdue"}
    incident = standing["delivery_exception"]
    assert standing["delivery_overdue"]["parent_id"] == incident["id"]

    # A return opened for it: the return is the incident now, the overdue alert goes under it.
    current = (await api.get("admin", f"/orders/{order['id']}")).json()
    response = await api.post(
        "rider-1",
        f"/orders/{order['id']}/returns",
        json={"version": current["version"], "reason": "customer refused"},
    )
    assert response.status_code == 201, response.text
    await evaluate(api)
    standing = {a["rule"]: a for a in await alerts_of(api, order["id"])}
    assert set(standing) == {"return_requested", "delivery_overdue"}
    assert standing["delivery_overdue"]["parent_id"] == standing["return_requested"]["id"]


async def test_a_handover_on_the_road_leaves_the_goods_where_the_rider_is(api: Api) -> None:
    await api.rider_online(1)
    await api.rider_online(2)
    order = await delivering(api, 1, promise_minutes=40, to=north(5_000), phone="13800000103")
    await fix(api, 1, north(2_000))  # then rider 1's phone goes quiet there
    body = {"to_rider_id": 2, "orders": [{"id": order["id"], "version": order["version"]}]}
    response = await api.post("dispatcher", "/riders/1/handover", json=body)
    assert response.status_code == 200, response.text
    (stop,) = (await api.get("rider-2", "/riders/2/route")).json()["stops"]
    assert (stop["pickup_lat"], stop["pickup_lng"]) == north(2_000)
