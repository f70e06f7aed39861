"""Orders through the real API on both databases: the journeys a dispatcher would see."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support import Api, customer

COLD = [{"sku": "SEA-SHRIMP", "quantity": 1}]


async def journey_to_picking(api: Api, **fields) -> dict:
    order = await api.create_order(**fields)
    order = await api.act("channel-app", order, "pay")
    assert order["status"] == "PAID"
    return await api.act("dispatcher", order, "start_picking")


async def timeline(api: Api, order: dict) -> list[dict]:
    response = await api.get("dispatcher", f"/orders/{order['id']}/timeline")
    assert response.status_code == 200
    return response.json()


async def rider(api: Api, rider_id: int) -> dict:
    return (await api.get("dispatcher", f"/riders/{rider_id}")).json()


async def test_an_order_from_intake_to_signature(api: Api) -> None:
    before = await api.stock("WH-CY", "VEG-BOKCHOY")
    order = await api.create_order(
        channel_user="channel-meituan", items=[{"sku": "VEG-BOKCHOY", "quantity": 3}]
    )
    assert order["status"] == "CREATED" and order["version"] == 1
    assert order["channel"] == "meituan" and order["warehouse_id"] == "WH-CY"
    assert order["amount_cents"] == 3 * 490 and order["weight_g"] == 1500
    assert datetime.fromisoformat(order["promised_at"]) == api.clock.now() + timedelta(minutes=45)

    order = await api.act("channel-meituan", order, "pay")
    assert (await api.stock("WH-CY", "VEG-BOKCHOY"))["reserved"] == before["reserved"] + 3
    order = await api.act("merchant-wh-cy", order, "start_picking")
    await api.rider_online(1)
    order = await api.assign(order, 1)
    assert (await rider(api, 1))["active_orders"] == 1
    api.clock.advance(minutes=12)
    order = await api.act("rider-1", order, "dispatch")
    after_dispatch = await api.stock("WH-CY", "VEG-BOKCHOY")
    assert after_dispatch["on_hand"] == before["on_hand"] - 3
    assert after_dispatch["reserved"] == before["reserved"]
    api.clock.advance(minutes=20)
    order = await api.act("rider-1", order, "sign")

    assert order["status"] == "SIGNED" and order["version"] == 6
    assert order["late"] is False
    for stage in ("paid_at", "picking_at", "delivering_at", "signed_at"):
        assert order[stage] is not None
    assert (await rider(api, 1))["active_orders"] == 0
    events = await timeline(api, order)
    assert [(e["kind"], e["to_state"]) for e in events] == [
        ("order.created", "CREATED"),
        ("order.transition", "PAID"),
        ("order.transition", "PICKING"),
        ("order.assigned", "PICKING"),
        ("order.transition", "DELIVERING"),
        ("order.transition", "SIGNED"),
    ]
    assert [e["actor"] for e in events] == [
        "channel-meituan",
        "channel-meituan",
        "merchant-wh-cy",
        "dispatcher",
        "rider-1",
        "rider-1",
    ]
    assert events[-1]["from_state"] == "DELIVERING" and events[-1]["role"] == "rider"


async def test_payment_without_stock_goes_out_of_stock_and_restock_brings_it_back(
    api: Api,
) -> None:
    adjust = await api.post(
        "admin",
        "/warehouses/WH-CY/stock/FRU-STRAWBERRY/adjust",
        json={"delta": -58, "reason": "spoiled"},
    )
    assert adjust.json()["available"] == 2
    order = await api.create_order(
        items=[{"sku": "FRU-STRAWBERRY", "quantity": 3}, {"sku": "VEG-BOKCHOY", "quantity": 1}]
    )
    order = await api.act("channel-app", order, "pay")
    assert order["status"] == "OUT_OF_STOCK" and order["version"] == 3
    events = await timeline(api, order)
    assert events[-2]["to_state"] == "PAID"
    assert events[-1]["actor"] == "system" and "FRU-STRAWBERRY" in events[-1]["reason"]
    # All or nothing: the line that was there is not held either.
    assert (await api.stock("WH-CY", "VEG-BOKCHOY"))["reserved"] == 0

    refused = await api.post(
        "merchant-wh-cy",
        f"/orders/{order['id']}/transitions",
        json={"action": "restock", "version": order["version"]},
    )
    assert refused.status_code == 409 and "FRU-STRAWBERRY" in refused.json()["detail"]
    await api.post(
        "merchant-wh-cy",
        "/warehouses/WH-CY/stock/FRU-STRAWBERRY/adjust",
        json={"delta": 10, "reason": "delivery"},
    )
    order = await api.act("merchant-wh-cy", order, "restock")
    assert order["status"] == "PICKING"
    assert (await api.stock("WH-CY", "FRU-STRAWBERRY"))["reserved"] == 3


async def test_refusals_name_what_is_wrong_and_change_nothing(api: Api) -> None:
    order = await api.create_order()
    events = await api.event_count()

    illegal = await api.post(
        "dispatcher",
        f"/orders/{order['id']}/transitions",
        json={"action": "sign", "version": 1},
    )
    assert illegal.status_code == 409
    body = illegal.json()
    assert "CREATED" in body["detail"] and "SIGNED" in body["detail"]
    assert (body["from_state"], body["to_state"]) == ("CREATED", "SIGNED")

    no_reason = await api.post(
        "dispatcher", f"/orders/{order['id']}/transitions", json={"action": "cancel", "version": 1}
    )
    assert no_reason.status_code == 422

    paid = await api.act("channel-app", order, "pay")
    stale = await api.post(
        "dispatcher",
        f"/orders/{order['id']}/transitions",
        json={"action": "start_picking", "version": 1},
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == paid["version"]
    assert stale.json()["changed_by"] == "channel-app"

    picking = await api.act("dispatcher", paid, "start_picking")
    no_rider = await api.post(
        "dispatcher",
        f"/orders/{order['id']}/transitions",
        json={"action": "dispatch", "version": picking["version"]},
    )
    assert no_rider.status_code == 409 and "no rider" in no_rider.json()["detail"]
    assert await api.event_count() == events + 2  # only pay and start_picking were changes
    now = (await api.get("dispatcher", f"/orders/{order['id']}")).json()
    assert now["version"] == picking["version"] and now["status"] == "PICKING"


async def test_assignment_rules(api: Api) -> None:
    order = await journey_to_picking(api)
    offline = await api.assign(order, 1, expect=409)
    assert "offline" in offline["detail"]

    cold = await journey_to_picking(api, items=COLD)
    await api.rider_online(2)  # rider 2 has no cold-chain box
    refused = await api.assign(cold, 2, expect=409)
    assert "cold-chain" in refused["detail"]
    await api.rider_online(1)
    cold = await api.assign(cold, 1)

    order = await api.assign(order, 2)
    assert (await api.assign(order, 2, expect=409))["detail"].endswith("already with rider 2")
    order = await api.assign(order, 1)  # reassign: rider 2's slot is freed
    assert (await rider(api, 2))["active_orders"] == 0
    assert (await rider(api, 1))["active_orders"] == 2

    busy = await api.post("rider-1", "/riders/1/status", json={"status": "offline"})
    assert busy.status_code == 409 and "carries 2" in busy.json()["detail"]

    capacity = (await rider(api, 2))["capacity"]
    for _ in range(capacity):
        await api.assign(await journey_to_picking(api), 2)
    full = await api.assign(await journey_to_picking(api), 2, expect=409)
    assert "full" in full["detail"]

    created = await api.create_order()
    assert "CREATED" in (await api.assign(created, 1, expect=409))["detail"]


async def test_cancel_releases_stock_and_reverse_flows_move_goods(api: Api) -> None:
    start = await api.stock("WH-CY", "VEG-BOKCHOY")
    paid = await api.act("channel-app", await api.create_order(), "pay")
    await api.act("channel-app", paid, "cancel", reason="customer changed their mind")
    assert await api.stock("WH-CY", "VEG-BOKCHOY") == start

    await api.rider_online(1)

    async def delivering() -> dict:
        order = await api.assign(await journey_to_picking(api), 1)
        order = await api.act("rider-1", order, "dispatch")
        return await api.act("rider-1", order, "report_exception", reason="traffic accident")

    async def approved(order: dict, kind: str, **claim) -> dict:
        body = {"version": order["version"], "reason": "at the door", **claim}
        opened = await api.post("rider-1", f"/orders/{order['id']}/{kind}", json=body)
        assert opened.status_code == 201, opened.text
        decision = {"version": opened.json()["version"]}
        answer = await api.post(
            "support", f"/requests/{opened.json()['id']}/approve", json=decision
        )
        assert answer.status_code == 200, answer.text
        return (await api.get("admin", f"/orders/{order['id']}")).json()

    refused = await approved(await delivering(), "returns")
    assert refused["status"] == "RETURNING"
    refused = await api.act("merchant-wh-cy", refused, "complete_return")
    assert refused["status"] == "RETURNED"
    assert (await api.stock("WH-CY", "VEG-BOKCHOY"))["on_hand"] == start["on_hand"]

    claim = {"items": [{"sku": "VEG-BOKCHOY", "quantity": 1}], "amount_cents": 450}
    damaged = await approved(await delivering(), "claims", **claim)
    assert damaged["status"] == "CLAIMING"
    assert (await rider(api, 1))["active_orders"] == 0  # the claim is paperwork, not cargo
    damaged = await api.act("supervisor", damaged, "settle_claim")
    assert damaged["status"] == "CLAIM_SETTLED"
    assert (await api.stock("WH-CY", "VEG-BOKCHOY"))["on_hand"] == start["on_hand"] - 2

    resumed = await delivering()
    await api.rider_online(2)
    resumed = await api.assign(resumed, 2)  # a nearby rider takes over
    resumed = await api.act("dispatcher", resumed, "resume")
    assert resumed["status"] == "DELIVERING" and resumed["rider_id"] == 2


async def test_list_filters_search_and_urgency_order(api: Api) -> None:
    far = await api.create_order(promised_at=(api.clock.now() + timedelta(hours=2)).isoformat())
    soon = await api.create_order(
        channel_user="channel-eleme",
        customer=customer(name="Zhao Min", phone="13712345678", lat=39.984, lng=116.318),
        promised_at=(api.clock.now() + timedelta(minutes=30)).isoformat(),
    )
    assert soon["warehouse_id"] == "WH-HD" and soon["zone"] == "Haidian"  # the nearest one
    done = await api.act("channel-app", await api.create_order(), "cancel", reason="test order")
    middle = await api.create_order()

    async def ids(**params) -> list[int]:
        response = await api.get("dispatcher", "/orders", params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["items"]]

    assert await ids() == [soon["id"], middle["id"], far["id"], done["id"]]
    assert await ids(status=["CANCELLED"]) == [done["id"]]
    assert await ids(status=["CREATED", "CANCELLED"], channel="eleme") == [soon["id"]]
    assert await ids(warehouse_id="WH-HD") == [soon["id"]]
    assert await ids(zone="Haidian") == [soon["id"]]
    assert await ids(q="zhao") == [soon["id"]]
    assert await ids(q="5678") == [soon["id"]]
    assert await ids(q=str(far["id"])) == [far["id"]]
    assert await ids(q=far["external_id"]) == [far["id"]]
    assert await ids(late="true") == []

    api.clock.advance(minutes=50)
    assert await ids(late="true") == [soon["id"], middle["id"]]
    late = (await api.get("dispatcher", f"/orders/{soon['id']}")).json()
    assert late["late"] is True

    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("dispatcher", "/orders", params=params)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [soon["id"], middle["id"], far["id"], done["id"]]


async def test_actions_endpoint_tells_what_the_caller_may_do(api: Api) -> None:
    order = await api.create_order()
    as_channel = await api.get("channel-app", f"/orders/{order['id']}/actions")
    assert as_channel.json() == ["pay", "cancel"]
    as_viewer = await api.get("viewer", f"/orders/{order['id']}/actions")
    assert as_viewer.json() == []


async def test_another_channel_cannot_rewrite_or_read_a_customer_through_its_orders(
    api: Api,
) -> None:
    mine = await api.create_order(customer=customer(name="Wang Fang", phone="13800138000"))
    await api.create_order(
        channel_user="channel-meituan", customer=customer(name="Mallory", phone="13800138000")
    )
    again = (await api.get("channel-app", f"/orders/{mine['id']}")).json()
    assert again["customer"]["name"] == "Wang Fang"
    found = await api.get("channel-app", "/orders", params={"q": "Mallory"})
    assert found.json()["items"] == []


async def test_a_search_of_unicode_digits_is_a_plain_search(api: Api) -> None:
    await api.create_order()
    for text in ("²", "①", "₂"):
        response = await api.get("dispatcher", "/orders", params={"q": text})
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []


async def test_outside_accounts_see_roles_not_staff_names_or_addresses(api: Api) -> None:
    order = await journey_to_picking(api)
    await api.rider_online(1)
    order = await api.assign(order, 1)
    as_rider = await api.get("rider-1", f"/orders/{order['id']}/timeline")
    assert [e["actor"] for e in as_rider.json()] == [
        "channel",
        "channel",
        "dispatcher",
        "dispatcher",
    ]
    assert {e["client_addr"] for e in as_rider.json()} == {None}
    as_desk = await api.get("supervisor", f"/orders/{order['id']}/timeline")
    assert {e["client_addr"] for e in as_desk.json()} == {"127.0.0.1"}

    await api.create_order()  # the channel's own, to prove the 409 below is about versions
    stale = await api.post(
        "channel-app",
        f"/orders/{order['id']}/transitions",
        json={"action": "cancel", "version": 1, "reason": "changed mind"},
    )
    assert stale.status_code == 409
    assert stale.json()["changed_by"] == "dispatcher"  # the role, whoever it was


async def test_updated_since_finds_what_changed_lately(api: Api) -> None:
    """A console loads the signed lane (signed in the last hour) with `updated_since`."""
    old = await api.create_order()
    api.clock.advance(minutes=30)
    mark = api.clock.now()
    fresh = await api.create_order()
    old = await api.act("channel-app", old, "cancel", reason="customer changed their mind")

    response = await api.get("dispatcher", "/orders", params={"updated_since": mark.isoformat()})
    assert response.status_code == 200, response.text
    assert {o["id"] for o in response.json()["items"]} == {old["id"], fresh["id"]}
    later = (mark + timedelta(minutes=1)).isoformat()
    response = await api.get("dispatcher", "/orders", params={"updated_since": later})
    assert response.json()["items"] == []
    naive = await api.get("dispatcher", "/orders", params={"updated_since": "2026-11-22T10:00"})
    assert naive.status_code == 422


async def test_created_event_carries_the_board_line(api: Api) -> None:
    """The console draws a new order from its `order.created` event alone."""
    order = await api.create_order(
        customer=customer(name="Zhao Min", phone="13712345678", lat=39.984, lng=116.318)
    )
    timeline = (await api.get("dispatcher", f"/orders/{order['id']}/timeline")).json()
    payload = timeline[0]["payload"]
    assert payload["customer"] == "Zhao Min" and payload["phone_tail"] == "5678"
    assert payload["cold_chain"] == order["cold_chain"]
    assert (payload["lat"], payload["lng"]) == (39.984, 116.318)
    promised = datetime.fromisoformat(payload["promised_at"])
    assert promised == datetime.fromisoformat(order["promised_at"].replace("Z", "+00:00"))
