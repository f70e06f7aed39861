"""Returns, claims and handovers through the real app on SQLite and PostgreSQL: approving and
rejecting with stale versions, wrong roles, claim limits and retried requests (acting once),
and moving a rider's orders to another rider all or none."""

from __future__ import annotations

from typing import Any

from tests.support import Api

CLAIM_ITEMS = [{"sku": "VEG-BOKCHOY", "quantity": 1}]


async def out_for_delivery(api: Api, rider: int, **fields: Any) -> dict[str, Any]:
    order = await api.act("channel-app", await api.create_order(**fields), "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    return await api.act(f"rider-{rider}", order, "dispatch")


async def order_now(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    return (await api.get("admin", f"/orders/{order['id']}")).json()


async def open_(api: Api, who: str, order: dict[str, Any], kind: str, **extra: Any):
    body = {"version": order["version"], "reason": "at the door", **extra}
    return await api.post(who, f"/orders/{order['id']}/{kind}", json=body)


async def decide(api: Api, who: str, request: dict[str, Any], verdict: str, **extra: Any):
    body = {"version": request["version"], **extra}
    return await api.post(who, f"/requests/{request['id']}/{verdict}", json=body)


async def test_a_return_opened_at_the_door_is_approved_once_and_goods_come_back(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    start = await api.stock("WH-CY", "VEG-BOKCHOY")
    opened = await open_(api, "rider-1", order, "returns")
    assert opened.status_code == 201, opened.text
    request = opened.json()
    assert (request["kind"], request["state"], request["opened_by"]) == (
        "return",
        "pending",
        "rider-1",
    )
    order = await order_now(api, order)
    assert order["status"] == "EXCEPTION"

    # One request at a time; the order's old version is refused.
    again = await open_(api, "support", order, "claims", items=CLAIM_ITEMS, amount_cents=100)
    assert again.status_code == 409 and again.json()["request_id"] == request["id"]
    stale = await open_(api, "support", {**order, "version": order["version"] - 1}, "returns")
    assert stale.status_code == 409 and stale.json()["current_version"] == order["version"]

    # Deciding: a dispatcher may not; a stale version is refused naming who changed it.
    assert (await decide(api, "dispatcher", request, "approve")).status_code == 403
    old = await decide(api, "support", {**request, "version": 7}, "approve")
    assert old.status_code == 409 and old.json()["current_version"] == 1
    events = await api.event_count()
    key = {"Idempotency-Key": "approve-return-1"}
    body = {"version": 1, "reason": "refusal confirmed"}
    path = f"/requests/{request['id']}/approve"
    first = await api.post("support", path, json=body, headers=key)
    retried = await api.post("support", path, json=body, headers=key)
    assert first.status_code == retried.status_code == 200, first.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert first.json()["state"] == "approved" and first.json()["decided_by"] == "support"
    assert await api.event_count() == events + 2  # the order's move and the decision, once
    assert (await decide(api, "supervisor", first.json(), "reject", reason="x")).status_code == 409

    order = await order_now(api, order)
    assert order["status"] == "RETURNING"
    await api.act("merchant-wh-cy", order, "complete_return")
    assert (await api.stock("WH-CY", "VEG-BOKCHOY"))["on_hand"] == start["on_hand"] + 2
    kinds = [e["kind"] for e in (await api.get("admin", f"/orders/{order['id']}/timeline")).json()]
    assert kinds[-4:] == [
        "request.opened",
        "order.transition",
        "request.approved",
        "order.transition",
    ]


async def test_claims_are_checked_against_the_order_and_the_deciders_limit(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1, items=[{"sku": "SEA-SALMON", "quantity": 5}])
    assert order["amount_cents"] == 5 * 6990
    for extra, field in (
        ({"items": [{"sku": "VEG-TOMATO", "quantity": 1}], "amount_cents": 100}, "VEG-TOMATO"),
        ({"items": [{"sku": "SEA-SALMON", "quantity": 6}], "amount_cents": 100}, "6 of SEA-SALMON"),
        ({"items": [{"sku": "SEA-SALMON", "quantity": 1}], "amount_cents": 40000}, "amount_cents"),
        ({"items": [], "amount_cents": 100}, "items"),
    ):
        response = await open_(api, "support", order, "claims", **extra)
        assert response.status_code == 422, response.text
        assert field in str(response.json()["detail"])
    assert (await order_now(api, order))["status"] == "DELIVERING"  # nothing half-done

    claim = await open_(
        api,
        "rider-1",
        order,
        "claims",
        items=[{"sku": "SEA-SALMON", "quantity": 5}],
        amount_cents=34950,
    )
    assert claim.status_code == 201, claim.text
    request = claim.json()
    over = await decide(api, "support", request, "approve")
    assert over.status_code == 403 and "200.00" in over.json()["detail"]
    assert (await decide(api, "support", request, "reject")).status_code == 422  # needs a reason
    approved = await decide(api, "supervisor", request, "approve", reason="photo checked")
    assert approved.status_code == 200, approved.text
    order = await order_now(api, order)
    assert order["status"] == "CLAIMING"
    assert (await api.get("admin", "/riders/1")).json()["active_orders"] == 0
    settled = await api.act("support", order, "settle_claim")
    assert settled["status"] == "CLAIM_SETTLED"


async def test_a_rejected_return_leaves_the_order_for_the_desk(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    request = (await open_(api, "dispatcher", order, "returns")).json()
    # A return or claim is not a transition of its own.
    order = await order_now(api, order)
    direct = await api.post(
        "support",
        f"/orders/{order['id']}/transitions",
        json={"action": "start_return", "version": order["version"], "reason": "x"},
    )
    assert direct.status_code == 403 and "/requests/" in direct.json()["detail"]
    rejected = await decide(api, "support", request, "reject", reason="the customer was out")
    assert rejected.json()["state"] == "rejected", rejected.text
    order = await order_now(api, order)
    assert order["status"] == "EXCEPTION"
    assert (await api.act("dispatcher", order, "resume"))["status"] == "DELIVERING"
    listed = (await api.get("support", "/requests", params={"order_id": order["id"]})).json()
    assert [r["state"] for r in listed] == ["rejected"]
    # Scope and roles: other warehouses and outsiders see no requests.
    assert (await api.get("merchant-wh-hd", f"/requests/{request['id']}")).status_code == 404
    assert (await api.get("rider-1", "/requests")).status_code == 403
    signed = await api.act("rider-1", await order_now(api, order), "sign")
    # Signed, the rider's part is over: after sale, the channel or the desk opens one.
    late = await open_(api, "rider-1", signed, "returns")
    assert late.status_code == 403 and "channel or the desk" in late.json()["detail"]


async def test_an_order_leaving_exception_otherwise_withdraws_its_pending_request(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    request = (await open_(api, "rider-1", order, "returns")).json()
    # The customer took the goods after all: the desk sends the rider back.
    order = await api.act("dispatcher", await order_now(api, order), "resume")
    assert order["status"] == "DELIVERING"
    withdrawn = (await api.get("support", f"/requests/{request['id']}")).json()
    assert (withdrawn["state"], withdrawn["decided_by"], withdrawn["version"]) == (
        "withdrawn",
        "dispatcher",
        2,
    )
    assert "resume" in withdrawn["decision_reason"]
    late = await decide(api, "support", withdrawn, "approve")
    assert late.status_code == 409 and "withdrawn" in late.json()["detail"]
    kinds = [e["kind"] for e in (await api.get("admin", f"/orders/{order['id']}/timeline")).json()]
    assert kinds[-2:] == ["order.transition", "request.withdrawn"]
    # Nothing is left waiting, so the next refusal at the door opens a new request.
    again = await open_(api, "rider-1", order, "claims", items=CLAIM_ITEMS, amount_cents=100)
    assert again.status_code == 201, again.text
    waiting = (await api.get("support", "/requests", params={"state": "pending"})).json()
    assert [r["id"] for r in waiting] == [again.json()["id"]]


async def test_a_riders_orders_move_to_another_rider_in_sequence_all_or_none(api: Api):
    for rider in (1, 2, 3):
        await api.rider_online(rider)
    first = await out_for_delivery(api, 1)
    second = await out_for_delivery(api, 1)
    third = await api.assign(await api.act("channel-app", await api.create_order(), "pay"), 1)
    carried = [second, third, first]  # the rider's own sequence, as the desk saw it

    def listing(orders: list[dict[str, Any]]) -> list[dict[str, int]]:
        return [{"id": o["id"], "version": o["version"]} for o in orders]

    async def hand(to: int, orders: list[dict[str, Any]], who: str = "dispatcher"):
        body = {"to_rider_id": to, "orders": listing(orders), "reason": "scooter broke down"}
        return await api.post(who, "/riders/1/handover", json=body)

    events = await api.event_count()
    missing = await hand(2, carried[:2])
    assert missing.status_code == 409 and missing.json()["carried"] == sorted(
        o["id"] for o in carried
    )
    stale = await hand(2, [carried[0], {**carried[1], "version": 1}, carried[2]])
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    rider_3_room = (await api.get("admin", "/riders/3")).json()["capacity"]
    assert rider_3_room == 3
    await out_for_delivery(api, 3)  # rider 3 has room for two now, not three
    assert (await hand(3, carried)).status_code == 409
    assert (await hand(2, carried, who="support")).status_code == 403
    assert (await hand(1, carried)).status_code == 422
    assert (await hand(99, carried)).status_code == 404
    assert await api.event_count() == events + 5  # only rider 3's own order, five changes

    moved = await hand(2, carried)
    assert moved.status_code == 200, moved.text
    assert [o["id"] for o in moved.json()] == [o["id"] for o in carried]
    assert {o["rider_id"] for o in moved.json()} == {2}
    riders = {r["id"]: r for r in (await api.get("admin", "/riders")).json()}
    assert (riders[1]["active_orders"], riders[2]["active_orders"]) == (0, 3)
    timeline = (await api.get("admin", f"/orders/{second['id']}/timeline")).json()
    assert timeline[-1]["kind"] == "order.assigned"
    assert timeline[-1]["reason"] == "scooter broke down (1 of 3)"


async def test_suggestions_for_an_order_on_the_road_start_from_its_rider(api: Api):
    for rider in (1, 2, 4):
        await api.rider_online(rider)
    order = await out_for_delivery(api, 1)
    for rider, spot in ((1, (39.99, 116.47)), (2, (39.991, 116.471)), (4, (39.9334, 116.455))):
        at = api.clock.now().isoformat()
        point = {"lat": spot[0], "lng": spot[1], "at": at}
        response = await api.post(
            f"rider-{rider}", f"/riders/{rider}/positions", json={"points": [point]}
        )
        assert response.status_code == 200, response.text
    suggestions = (await api.get("dispatcher", f"/orders/{order['id']}/rider-suggestions")).json()
    # Rider 2 is next to rider 1 (and the goods), far from the warehouse where rider 4 waits.
    assert [s["rider"]["id"] for s in suggestions][:2] == [2, 4]
    assert suggestions[0]["distance_m"] < 200
