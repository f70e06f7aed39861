"""After sale through the real app on SQLite and PostgreSQL: returns, claims and exchanges of a
signed order, opened by the customer's channel or the desk within `after_sale_hours` (the clock
injected and moved), through the same approval queue; claims citing the order's proofs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.clock import ManualClock
from tests.backend.proof_support import jpeg, out_for_delivery, photo_form
from tests.support import Api, started

ITEMS = [{"sku": "VEG-BOKCHOY", "quantity": 1}]


@pytest.fixture
async def api(database_url: str, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Api]:
    # Tokens outlive the days the clock is moved on by.
    settings = {"proof_dir": str(tmp_path), "after_sale_hours": 48, "token_ttl_minutes": 10**5}
    async for api in started(database_url, clock, **settings):
        yield api


async def signed_order(api: Api, *, photo: bool = False) -> dict[str, Any]:
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    if photo:
        taken = await api.post("rider-1", f"/orders/{order['id']}/proof", **photo_form(jpeg()))
        assert taken.status_code == 201, taken.text
    return await api.act("rider-1", order, "sign")


async def open_(api: Api, who: str, order: dict[str, Any], kind: str, **extra: Any):
    body = {"version": order["version"], "reason": "after the door", **extra}
    return await api.post(who, f"/orders/{order['id']}/{kind}", json=body)


async def decide(api: Api, who: str, request: dict[str, Any], verdict: str, **extra: Any):
    body = {"version": request["version"], **extra}
    return await api.post(who, f"/requests/{request['id']}/{verdict}", json=body)


async def status_of(api: Api, order: dict[str, Any]) -> str:
    return (await api.get("admin", f"/orders/{order['id']}")).json()["status"]


async def test_a_return_after_sale_waits_with_the_order_signed_then_brings_goods_back(api: Api):
    order = await signed_order(api)
    start = await api.stock("WH-CY", "VEG-BOKCHOY")
    api.clock.advance(hours=47)
    opened = await open_(api, "channel-app", order, "returns")
    assert opened.status_code == 201, opened.text
    request = opened.json()
    assert (request["kind"], request["after_sale"], request["opened_by"]) == (
        "return",
        True,
        "channel-app",
    )
    assert await status_of(api, order) == "SIGNED"  # no EXCEPTION: it waits where it is
    queued = (await api.get("support", "/requests", params={"state": "pending"})).json()
    assert [r["id"] for r in queued] == [request["id"]]

    approved = await decide(api, "support", request, "approve", reason="wilted on arrival")
    assert approved.status_code == 200, approved.text
    assert await status_of(api, order) == "RETURNING"
    now = (await api.get("admin", f"/orders/{order['id']}")).json()
    await api.act("merchant-wh-cy", now, "complete_return")
    assert await status_of(api, order) == "RETURNED"
    assert (await api.stock("WH-CY", "VEG-BOKCHOY"))["on_hand"] == start["on_hand"] + 2


async def test_the_window_closes_and_only_the_channel_or_the_desk_open_after_sale(api: Api):
    order = await signed_order(api)
    # The rider's and the dispatcher's part ended at the door.
    for who in ("rider-1", "dispatcher"):
        refused = await open_(api, who, order, "returns")
        assert refused.status_code == 403 and "channel or the desk" in refused.json()["detail"]
    assert (await open_(api, "rider-1", order, "exchanges", items=ITEMS)).status_code == 403
    # Another channel's order is not this channel's to touch.
    assert (await open_(api, "channel-meituan", order, "returns")).status_code == 404

    api.clock.advance(hours=48, seconds=1)
    events = await api.event_count()
    for who, kind, extra in (
        ("channel-app", "returns", {}),
        ("support", "claims", {"items": ITEMS, "amount_cents": 100}),
        ("supervisor", "exchanges", {"items": ITEMS}),
    ):
        late = await open_(api, who, order, kind, **extra)
        assert late.status_code == 409, late.text
        assert "48 h" in late.json()["detail"] and "too late" in late.json()["detail"]
        assert late.json()["closed_at"].startswith("2026-11-24")
    assert await api.event_count() == events
    assert (await api.get("admin", "/requests", params={"order_id": order["id"]})).json() == []
    assert await status_of(api, order) == "SIGNED"


async def test_a_claim_after_sale_cites_the_proof_and_settles_from_signed(api: Api):
    order = await signed_order(api, photo=True)
    proofs = (await api.get("support", f"/orders/{order['id']}/proofs")).json()
    opened = await open_(api, "support", order, "claims", items=ITEMS, amount_cents=500)
    assert opened.status_code == 201, opened.text
    detail = (await api.get("support", f"/requests/{opened.json()['id']}")).json()
    assert detail["after_sale"] and detail["proofs"] == proofs and proofs[0]["kind"] == "photo"
    # One at a time, as on the road.
    again = await open_(api, "channel-app", order, "returns")
    assert again.status_code == 409 and again.json()["request_id"] == opened.json()["id"]

    # Rejected, the order stays signed; taken back, it waits again; approved, it is claimed.
    rejected = await decide(api, "support", opened.json(), "reject", reason="photo shows it fine")
    assert rejected.status_code == 200 and await status_of(api, order) == "SIGNED"
    reopened = await decide(api, "support", rejected.json(), "reopen")
    assert reopened.status_code == 200, reopened.text
    approved = await decide(api, "support", reopened.json(), "approve")
    assert approved.status_code == 200, approved.text
    assert await status_of(api, order) == "CLAIMING"


async def test_an_exchange_is_after_sale_only_and_its_items_are_the_orders(api: Api):
    await api.rider_online(1)
    out = await out_for_delivery(api, 1)
    early = await open_(api, "channel-app", out, "exchanges", items=ITEMS)
    assert early.status_code == 409 and "after delivery" in early.json()["detail"]
    order = await api.act("rider-1", out, "sign")
    for items, why in (
        ([{"sku": "FRUIT-APPLE", "quantity": 1}], "not in order"),
        ([{"sku": "VEG-BOKCHOY", "quantity": 3}], "3 of VEG-BOKCHOY claimed, 2 ordered"),
    ):
        wrong = await open_(api, "channel-app", order, "exchanges", items=items)
        assert wrong.status_code == 422 and why in wrong.json()["detail"], wrong.text
    opened = await open_(api, "channel-app", order, "exchanges", items=ITEMS)
    assert opened.status_code == 201, opened.text
    assert (opened.json()["kind"], opened.json()["items"]) == ("exchange", ITEMS)
    approved = await decide(api, "supervisor", opened.json(), "approve")
    assert approved.status_code == 200, approved.text
    assert await status_of(api, order) == "RETURNING"
    timeline = (await api.get("admin", f"/orders/{order['id']}/timeline")).json()
    assert [e["kind"] for e in timeline[-3:]] == [
        "request.opened",
        "order.transition",
        "request.approved",
    ]
    assert timeline[-2]["reason"].startswith(f"exchange {opened.json()['id']} approved")
