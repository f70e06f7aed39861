"""POST /orders/transitions: many transitions in one request, each applied or refused on its own,
a refusal changing nothing of its own and nothing of its neighbours."""

from __future__ import annotations

from typing import Any

from tests.support import Api

API = "/api/v1"


async def batch(api: Api, who: str, items: list[dict[str, Any]], **headers: str) -> Any:
    return await api.post(who, "/orders/transitions", json={"transitions": items}, headers=headers)


async def timeline_kinds(api: Api, order: dict[str, Any]) -> list[str]:
    events = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
    return [f"{e['kind']}:{e['to_state']}" for e in events]


async def test_each_transition_is_applied_or_refused_on_its_own(api: Api) -> None:
    paid = await api.act("channel-app", await api.create_order(), "pay")
    # Paid: store staff see their warehouse's orders from payment on.
    created = await api.act("channel-app", await api.create_order(), "pay")
    stale = await api.act("channel-app", await api.create_order(), "pay")
    other = await api.create_order(warehouse_id="WH-HD")  # outside the merchant's scope
    before = await api.stock("WH-CY", "VEG-BOKCHOY")
    events_before = {o["id"]: await timeline_kinds(api, o) for o in (created, stale, other)}
    answer = await batch(
        api,
        "merchant-wh-cy",
        [
            {"order_id": paid["id"], "action": "start_picking", "version": paid["version"]},
            {"order_id": created["id"], "action": "dispatch", "version": created["version"]},
            {"order_id": stale["id"], "action": "cancel", "version": 7, "reason": "x"},
            {"order_id": other["id"], "action": "cancel", "version": 1, "reason": "x"},
            {"order_id": created["id"], "action": "cancel", "version": created["version"]},
            {"order_id": 999_999, "action": "pay", "version": 1},
        ],
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    statuses = [(r["order_id"], r["status"]) for r in result["results"]]
    assert statuses == [
        (paid["id"], 200),
        (created["id"], 409),  # illegal from PAID
        (stale["id"], 409),  # stale version
        (other["id"], 404),  # not in this merchant's scope: as if it did not exist
        (created["id"], 403),  # a merchant does not cancel
        (999_999, 404),
    ]
    assert (result["applied"], result["refused"]) == (1, 5)
    picked = result["results"][0]["order"]
    assert (picked["status"], picked["version"]) == ("PICKING", paid["version"] + 1)
    assert result["results"][2]["current_version"] == 2
    assert "PAID" in result["results"][1]["detail"]
    # The applied one is committed; the refused ones changed nothing at all.
    assert (await api.get("admin", f"/orders/{paid['id']}")).json()["status"] == "PICKING"
    for untouched in (created, stale, other):
        now = (await api.get("admin", f"/orders/{untouched['id']}")).json()
        assert (now["status"], now["version"]) == (untouched["status"], untouched["version"])
        assert await timeline_kinds(api, untouched) == events_before[untouched["id"]]
    assert await api.stock("WH-CY", "VEG-BOKCHOY") == before


async def test_a_refusal_takes_back_what_its_transition_had_done(api: Api) -> None:
    """A payment that reserves one line and then finds the next short is refused whole inside
    the batch: the first line's reservation is given back, its events are gone, the neighbour
    that followed it is applied."""
    scarce = await api.stock("WH-CY", "FRU-ORANGE")
    short = await api.create_order(
        items=[
            {"sku": "VEG-BOKCHOY", "quantity": 1},
            {"sku": "FRU-ORANGE", "quantity": scarce["available"] + 1},
        ]
    )
    short = await api.act("channel-app", short, "pay")  # OUT_OF_STOCK: nothing reserved
    assert short["status"] == "OUT_OF_STOCK"
    fine = await api.create_order()
    bokchoy = await api.stock("WH-CY", "VEG-BOKCHOY")
    answer = await batch(
        api,
        "admin",
        [
            # restock: REQUIRE_STOCK reserves the bok choy, finds the oranges still short,
            # refuses, and must hand the bok choy back.
            {"order_id": short["id"], "action": "restock", "version": short["version"]},
            {"order_id": fine["id"], "action": "pay", "version": fine["version"]},
        ],
    )
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == [409, 200]
    after = await api.stock("WH-CY", "VEG-BOKCHOY")
    # Only the paid neighbour's unit is reserved now.
    assert after["reserved"] == bokchoy["reserved"] + 2
    assert await timeline_kinds(api, short) == [
        "order.created:CREATED",
        "order.transition:PAID",
        "order.transition:OUT_OF_STOCK",
    ]


async def test_a_retried_batch_answers_the_first_answer_and_acts_once(api: Api) -> None:
    order = await api.create_order()
    items = [{"order_id": order["id"], "action": "pay", "version": 1}]
    first = await batch(api, "channel-app", items, **{"Idempotency-Key": "batch-1"})
    again = await batch(api, "channel-app", items, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await timeline_kinds(api, order) == ["order.created:CREATED", "order.transition:PAID"]


async def test_a_malformed_batch_is_refused_whole(api: Api) -> None:
    order = await api.create_order()
    events = await api.event_count()
    for body in (
        {"transitions": []},
        {"transitions": [{"order_id": order["id"], "action": "pay", "version": 1}] * 501},
        {"transitions": [{"order_id": order["id"], "action": "fly", "version": 1}]},
        {"transitions": [{"order_id": order["id"], "action": "pay", "version": 0}]},
        {"orders": []},
    ):
        answer = await api.post("admin", "/orders/transitions", json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert await api.event_count() == events
    viewer = await batch(api, "viewer", [{"order_id": order["id"], "action": "pay", "version": 1}])
    assert viewer.status_code == 403
    assert await api.event_count() == events
