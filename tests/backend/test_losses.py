"""A warehouse's loss rate by SKU through the real app on SQLite and PostgreSQL: units sold at
dispatch, claimed, written off by hand and returned to the shelf, counted in their window; the
merchant sees only their own warehouse; a bad window is a 422 that changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.backend.test_returns_and_handover import decide, open_, order_now, out_for_delivery
from tests.support import Api


async def losses(api: Api, who: str = "merchant-wh-cy", **params: str) -> dict[str, Any]:
    api.clock.advance(seconds=1)  # the window ends (exclusive) at now: a frozen now is later
    response = await api.get(who, "/warehouses/WH-CY/losses", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def line(answer: dict[str, Any], sku: str) -> dict[str, Any]:
    return next(entry for entry in answer["skus"] if entry["sku"] == sku)


async def adjust(api: Api, sku: str, delta: int, reason: str) -> None:
    response = await api.post(
        "merchant-wh-cy",
        f"/warehouses/WH-CY/stock/{sku}/adjust",
        json={"delta": delta, "reason": reason},
    )
    assert response.status_code == 200, response.text


async def test_claims_and_write_offs_over_units_sold(api: Api) -> None:
    before = api.clock.now()
    assert (await losses(api))["skus"] == []  # a quiet week: nothing sold, nothing lost

    await api.rider_online(1)
    salmon = [{"sku": "SEA-SALMON", "quantity": 4}, {"sku": "VEG-BOKCHOY", "quantity": 2}]
    claimed = await out_for_delivery(api, 1, items=salmon)
    request = (
        await open_(
            api,
            "rider-1",
            claimed,
            "claims",
            items=[{"sku": "SEA-SALMON", "quantity": 1}],
            amount_cents=6990,
        )
    ).json()
    assert (await decide(api, "support", request, "approve")).status_code == 200

    # A return: the goods come back to the shelf (not a loss, shown beside it).
    await api.rider_online(2)
    refused = await out_for_delivery(api, 2, items=[{"sku": "VEG-BOKCHOY", "quantity": 3}])
    request = (await open_(api, "rider-2", refused, "returns")).json()
    assert (await decide(api, "support", request, "approve")).status_code == 200
    refused = await order_now(api, refused)
    await api.act("merchant-wh-cy", refused, "complete_return")

    # Spoilage taken off the shelf by hand; a restock is no loss.
    await adjust(api, "VEG-BOKCHOY", -2, "wilted")
    await adjust(api, "VEG-BOKCHOY", 10, "delivery from the farm")
    # A claim still waiting is no loss yet.
    await api.rider_online(3)
    waiting = await out_for_delivery(api, 3, items=[{"sku": "VEG-TOMATO", "quantity": 2}])
    opened = await open_(
        api,
        "rider-3",
        waiting,
        "claims",
        items=[{"sku": "VEG-TOMATO", "quantity": 2}],
        amount_cents=100,
    )
    assert opened.status_code == 201, opened.text

    answer = await losses(api)
    assert line(answer, "SEA-SALMON") | {"name": ""} == {
        "sku": "SEA-SALMON",
        "name": "",
        "sold": 4,
        "claimed": 1,
        "written_off": 0,
        "returned": 0,
        "lost": 1,
        "loss_rate": 0.25,
    }
    bokchoy = line(answer, "VEG-BOKCHOY")
    assert (bokchoy["sold"], bokchoy["claimed"], bokchoy["written_off"]) == (5, 0, 2)
    assert (bokchoy["returned"], bokchoy["lost"], bokchoy["loss_rate"]) == (3, 2, 0.4)
    tomato = line(answer, "VEG-TOMATO")
    assert (tomato["sold"], tomato["lost"], tomato["loss_rate"]) == (2, 0, 0.0)
    # The worst rate first, and the totals add up.
    assert [entry["sku"] for entry in answer["skus"]] == ["VEG-BOKCHOY", "SEA-SALMON", "VEG-TOMATO"]
    assert (answer["sold"], answer["lost"], answer["loss_rate"]) == (11, 3, round(3 / 11, 4))
    assert answer["warehouse_id"] == "WH-CY"

    # The desk reads the same figures; a window that ended before any of it shows none.
    window = {"start": "", "end": ""}
    assert await losses(api, "supervisor") | window == answer | window
    earlier = {
        "start": (before - timedelta(days=3)).isoformat(),
        "end": (before - timedelta(seconds=1)).isoformat(),
    }
    assert (await losses(api, **earlier))["skus"] == []

    # A window starting after it all shows none either.
    later = api.clock.now() + timedelta(hours=1)
    after = {"start": later.isoformat(), "end": (later + timedelta(days=7)).isoformat()}
    assert (await losses(api, **after))["skus"] == []


async def test_spoilage_with_nothing_sold_leads_the_list(api: Api) -> None:
    await adjust(api, "DAI-MILK", -3, "past its date")
    answer = await losses(api)
    milk = answer["skus"][0]
    assert (milk["sku"], milk["sold"], milk["lost"], milk["loss_rate"]) == (
        "DAI-MILK",
        0,
        3,
        None,
    )
    assert (answer["sold"], answer["lost"], answer["loss_rate"]) == (0, 3, None)


async def test_scope_and_bad_windows(api: Api) -> None:
    other = await api.get("merchant-wh-cy", "/warehouses/WH-HD/losses")
    assert other.status_code == 404, other.text
    assert (await api.get("supervisor", "/warehouses/WH-HD/losses")).status_code == 200
    assert (await api.get("supervisor", "/warehouses/WH-NONE/losses")).status_code == 404
    for who in ("channel-app", "rider-1"):
        assert (await api.get(who, "/warehouses/WH-CY/losses")).status_code == 403
    now = api.clock.now()
    for params, said in (
        ({"start": now.isoformat(), "end": now.isoformat()}, "before end"),
        ({"start": now.isoformat(), "end": (now - timedelta(hours=1)).isoformat()}, "before end"),
        ({"start": (now - timedelta(days=100)).isoformat()}, "at most 92 days"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-11-22T10:00:00"}, "end"),  # no offset: which 10:00?
    ):
        response = await api.get("merchant-wh-cy", "/warehouses/WH-CY/losses", params=params)
        assert response.status_code == 422, (params, response.text)
        assert said in response.text, response.text
