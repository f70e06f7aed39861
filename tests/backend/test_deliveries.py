"""Merging and splitting deliveries at their edges, and what a shared or split parcel means for
riders' loads, assignment, dispatch and signing (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.dispatch.models import DeliveryRow
from backend.riders.models import RiderRow
from tests.backend.channel_support import sample_order, send
from tests.support import Api


def app_order(number: int, **receiver: Any) -> dict[str, Any]:
    """The app's sample order under another order number, paid, for the same customer unless
    `receiver` says otherwise."""
    payload = sample_order("app")
    payload["orderNo"] = f"APP-20261122-{number:04d}"
    payload["receiver"] |= receiver
    payload["expectedArrival"] = "2026-11-22T12:00:00Z"
    return payload


async def place(api: Api, payload: dict[str, Any], channel: str = "app") -> dict[str, Any]:
    response = await send(api, channel, "orders", payload)
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries_of(api: Api, order_id: int) -> list[dict[str, Any]]:
    response = await api.get("dispatcher", f"/orders/{order_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()


async def order(api: Api, order_id: int) -> dict[str, Any]:
    return (await api.get("admin", f"/orders/{order_id}")).json()


async def reasons(api: Api, order_id: int, kind: str = "order.delivery") -> list[str]:
    events = (await api.get("admin", f"/orders/{order_id}/timeline")).json()
    return [e["reason"] for e in events if e["kind"] == kind]


async def loads(api: Api) -> dict[int, int]:
    """Every rider's load, checked against the parcels they hold."""
    async with api.app.state.runtime.db.read() as session:
        riders = (await session.scalars(select(RiderRow))).all()
        parcels = (await session.scalars(select(DeliveryRow))).all()
    for rider in riders:
        held = [d for d in parcels if d.rider_id == rider.id and d.status != "done"]
        assert rider.active_orders == len(held), (rider.id, rider.active_orders, held)
    return {r.id: r.active_orders for r in riders if r.active_orders}


async def test_the_merge_window_is_thirty_minutes_from_the_first_order(api: Api) -> None:
    first = (await place(api, app_order(1)))["order"]
    api.clock.advance(minutes=30)
    on_the_edge = await place(api, app_order(2))
    first_parcels = [d["id"] for d in await deliveries_of(api, first["id"])]
    assert on_the_edge["deliveries"] == first_parcels
    api.clock.advance(seconds=1)
    too_late = await place(api, app_order(3))
    assert too_late["deliveries"] != on_the_edge["deliveries"]
    # Elsewhere, or someone else: never merged.
    elsewhere = await place(api, app_order(4, address="Gongti North Rd 8, Chaoyang"))
    someone_else = await place(api, app_order(5, mobile="13911112222"))
    assert (
        len({*elsewhere["deliveries"], *someone_else["deliveries"], *too_late["deliveries"]}) == 3
    )
    [shared] = await deliveries_of(api, first["id"])
    assert shared["orders"] == [first["id"], on_the_edge["order"]["id"]]
    assert shared["weight_g"] == 3000 and shared["cold_chain"] is True
    assert "merged into delivery" in (await reasons(api, on_the_edge["order"]["id"]))[0]
    assert "joined its delivery" in (await reasons(api, first["id"]))[0]
    # Spelling aside, the same address is the same address.
    api.clock.advance(seconds=1)
    spelled = await place(api, app_order(6, address="  sanlitun rd 19,  Chaoyang "))
    assert spelled["deliveries"] == too_late["deliveries"]
    # Group-buy buyers, whoever they are, travel together to their leader's pick-up point.
    first = sample_order("group_buy")
    second = sample_order("group_buy") | {"sub_order_sn": "GB-20261122-000732"}
    second["buyer"] = {"nickname": "Li Lei", "mobile": "13900001111"}
    other_leader = sample_order("group_buy") | {"sub_order_sn": "GB-20261122-000733"}
    other_leader["leader"] = other_leader["leader"] | {"leader_id": "L-CY-04"}
    a = await place(api, first, "group_buy")
    b = await place(api, second, "group_buy")
    c = await place(api, other_leader, "group_buy")
    assert a["deliveries"] == b["deliveries"] != c["deliveries"]
    assert "same pick-up point" in (await reasons(api, b["order"]["id"]))[0]


async def test_a_shared_parcel_takes_one_slot_goes_out_together_and_frees_it_last(
    api: Api,
) -> None:
    a = (await place(api, app_order(1)))["order"]
    b = (await place(api, app_order(2)))["order"]
    await api.rider_online(1)
    a = await api.act("merchant-wh-cy", a, "start_picking")
    a = await api.assign(a, 1)
    b = await order(api, b["id"])
    assert b["rider_id"] == 1  # the parcel went to rider 1, with both orders in it
    assert await loads(api) == {1: 1}
    b = await api.act("merchant-wh-cy", b, "start_picking")
    a = await api.act("rider-1", a, "dispatch")
    b = await order(api, b["id"])
    assert b["status"] == "DELIVERING"
    assert (
        f"out with order {a['id']}: one parcel"
        in ((await api.get("admin", f"/orders/{b['id']}/timeline")).json()[-1]["reason"])
    )
    # The stock of both left the shelf.
    assert (await api.stock("WH-CY", "MEA-PORKBELLY"))["reserved"] == 0
    # A new order of the same customer now waits for a parcel of its own.
    c = await place(api, app_order(3))
    assert c["deliveries"] != [d["id"] for d in await deliveries_of(api, a["id"])]
    # Trouble at the door with one of them: handed to another rider, it leaves the parcel.
    b = await api.act("rider-1", b, "report_exception", reason="nobody home")
    await api.rider_online(3)
    b = await api.assign(b, 3)
    assert await loads(api) == {1: 1, 3: 1}
    [alone] = await deliveries_of(api, b["id"])
    assert (alone["orders"], alone["rider_id"], alone["status"]) == ([b["id"]], 3, "out")
    assert (await deliveries_of(api, a["id"]))[0]["orders"] == [a["id"]]
    a = await api.act("rider-1", a, "sign")
    assert await loads(api) == {3: 1}
    assert (await deliveries_of(api, a["id"]))[0]["status"] == "done"
    b = await api.act("dispatcher", b, "resume")
    await api.act("rider-3", b, "sign")
    assert await loads(api) == {}


async def test_an_order_not_ready_is_left_behind_with_its_own_parcel(api: Api) -> None:
    a = (await place(api, app_order(1)))["order"]
    unpaid = app_order(2) | {"payStatus": "UNPAID"}
    b = (await place(api, unpaid))["order"]
    await api.rider_online(1)
    a = await api.act("merchant-wh-cy", a, "start_picking")
    a = await api.assign(a, 1)
    a = await api.act("rider-1", a, "dispatch")
    b = await order(api, b["id"])
    assert (b["status"], b["rider_id"]) == ("CREATED", None)
    [parcel] = await deliveries_of(api, b["id"])
    assert (parcel["orders"], parcel["status"]) == ([b["id"]], "open")
    assert "left delivery" in (await reasons(api, b["id"]))[-1]
    # Cancelled, it leaves its parcel, and a parcel with nothing in it is done.
    await api.act("support", b, "cancel", reason="customer changed their mind")
    assert await deliveries_of(api, b["id"]) == []
    assert await loads(api) == {1: 1}


async def test_an_order_one_rider_cannot_carry_is_split_at_the_limit(api: Api) -> None:
    apples = sample_order("app") | {"orderNo": "APP-HEAVY-1"}
    apples["lines"] = [{"skuCode": "FRU-APPLE", "qty": 20, "unitPriceCents": 1290}]
    exactly = await place(api, apples)
    assert len(exactly["deliveries"]) == 1  # 20 kg: one rider's load
    apples = apples | {"orderNo": "APP-HEAVY-2"}
    apples["lines"] = [{"skuCode": "FRU-APPLE", "qty": 21, "unitPriceCents": 1290}]
    heavy = await place(api, apples)
    assert len(heavy["deliveries"]) == 2
    parts = await deliveries_of(api, heavy["order"]["id"])
    assert [p["weight_g"] for p in parts] == [20_000, 1_000]
    assert "split into 2 deliveries (20 kg, 1 kg)" in (await reasons(api, heavy["order"]["id"]))[0]
    # A part without a rider keeps the whole order from leaving.
    await api.rider_online(1)
    picking = await api.act("merchant-wh-cy", heavy["order"], "start_picking")
    picking = await api.assign(picking, 1)
    refused = await api.act("rider-1", picking, "dispatch", expect=409)
    assert f"delivery {parts[1]['id']} has no rider yet" in refused["detail"]
    assert (await order(api, picking["id"]))["status"] == "PICKING"
    # Milk beyond one cold box.
    milk = sample_order("app") | {"orderNo": "APP-COLD-1"}
    milk["lines"] = [{"skuCode": "DAI-MILK", "qty": 9, "unitPriceCents": 1590},
                     {"skuCode": "VEG-POTATO", "qty": 3, "unitPriceCents": 590}]  # fmt: skip
    cold = await place(api, milk)
    boxes = await deliveries_of(api, cold["order"]["id"])
    assert [(b["weight_g"], b["cold_chain"]) for b in boxes] == [(11_000, True), (1_000, True)]
    # A unit heavier than any rider carries is refused, naming the field.
    melon = sample_order("app") | {"orderNo": "APP-MELON"}
    melon["lines"] = [{"skuCode": "FRU-APPLE", "qty": 1, "unitPriceCents": 1290}]
    api.app.state.runtime.settings.rider_max_load_g = 900
    refused = await send(api, "app", "orders", melon)
    assert refused.status_code == 422
    assert refused.json()["channel_field"] == "lines[0].qty"


async def test_each_part_of_a_split_order_needs_its_own_rider(api: Api) -> None:
    api.app.state.runtime.settings.auto_dispatch = True
    heavy = sample_order("app") | {"orderNo": "APP-HEAVY-3"}
    heavy["lines"] = [{"skuCode": "FRU-APPLE", "qty": 30, "unitPriceCents": 1290}]
    placed = (await place(api, heavy))["order"]
    for rider_id in (1, 2, 3):
        await api.rider_online(rider_id)
    picking = await api.act("merchant-wh-cy", placed, "start_picking")
    parts = await deliveries_of(api, placed["id"])
    riders = [p["rider_id"] for p in parts]
    assert None not in riders and len(set(riders)) == 2, riders
    assert picking["rider_id"] == riders[0]
    assert await loads(api) == dict.fromkeys(riders, 1)
    assert any("a part of this order" in r for r in await reasons(api, placed["id"]))
    picking = await order(api, placed["id"])
    await api.act(f"rider-{riders[0]}", picking, "dispatch")
    signed = await api.act(f"rider-{riders[0]}", await order(api, placed["id"]), "sign")
    assert signed["status"] == "SIGNED"
    assert await loads(api) == {}
