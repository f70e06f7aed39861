"""The channel gateway through the real app (SQLite and PostgreSQL): signatures and replays,
retries, bad payloads, callbacks in any order, rate limits, reconciliation."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

from sqlalchemy import func, select

from backend.channels.models import ChannelRejectionRow
from backend.orders.models import OrderRow
from backend_client.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.backend.channel_support import (
    CHANNELS,
    body_of,
    sample_callback,
    sample_order,
    send,
    with_message,
)
from tests.backend.proof_support import pin_of
from tests.support import Api


async def count(api: Api, table: Any) -> int:
    async with api.app.state.runtime.db.read() as session:
        return await session.scalar(select(func.count()).select_from(table))


async def timeline(api: Api, order_id: int) -> list[dict[str, Any]]:
    response = await api.get("admin", f"/orders/{order_id}/timeline")
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_channel_places_its_order_once_however_often_it_retries(api: Api) -> None:
    for channel in CHANNELS:
        first = await send(api, channel, "orders", sample_order(channel))
        assert first.status_code == 201, first.text
        receipt = first.json()
        assert receipt["order"]["channel"] == channel
        assert receipt["order"]["status"] == "PAID"  # forwarded paid: stock reserved now
        # The PIN its customer tells the rider at the door (proof of delivery).
        assert receipt["delivery_pin"] == await pin_of(api, receipt["order"]["id"])
        events = await api.event_count()
        # The platform did not hear us and sends again (its own request id may change).
        payload = sample_order(channel)
        if channel == "eleme":
            payload["requestId"] = "100000418938475999"
        again = await send(api, channel, "orders", payload)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == {**receipt, "replayed": True}
        assert await api.event_count() == events
    assert await count(api, OrderRow) == len(CHANNELS)
    # The same order id with other content is not the same order.
    changed = sample_order("app")
    changed["lines"][0]["qty"] = 5
    conflict = await send(api, "app", "orders", changed)
    assert conflict.status_code == 409
    assert "taken already" in conflict.json()["detail"]


async def test_signatures_replays_and_unknown_channels(api: Api) -> None:
    payload = sample_order("meituan")
    wrong = await send(api, "meituan", "orders", payload, secret="not-the-secret")
    assert wrong.status_code == 401
    assert "signature does not match" in wrong.json()["detail"]
    # Signed by another channel's secret: still not Meituan.
    other = await send(api, "meituan", "orders", payload, secret="demo-secret-eleme")
    assert other.status_code == 401
    # A captured request replayed ten minutes later.
    stale = await send(api, "meituan", "orders", payload, at=time.time() - 600)
    assert stale.status_code == 401
    assert "s old; the window is 300 s" in stale.json()["detail"]
    future = await send(api, "meituan", "orders", payload, at=time.time() + 600)
    assert future.status_code == 401
    # The body changed after signing.
    body = body_of(payload)
    signed = await send(api, "meituan", "orders", payload)
    assert signed.status_code == 201
    tampered = body.replace(b"Wang Fang", b"Wang Gang")
    headers = {TIMESTAMP_HEADER: str(int(time.time())), SIGNATURE_HEADER: "sha256=" + "0" * 64}
    forged = await api.client.post(
        "/api/v1/channels/meituan/orders", content=tampered, headers=headers
    )
    assert forged.status_code == 401
    unsigned = await api.client.post("/api/v1/channels/meituan/orders", content=body)
    assert unsigned.status_code == 401
    unknown = await send(api, "amazon", "orders", payload)
    assert unknown.status_code == 422  # not a channel at all
    assert await count(api, OrderRow) == 1
    assert await count(api, ChannelRejectionRow) == 0  # unsigned noise is not recorded


async def test_a_bad_payload_names_the_field_changes_nothing_and_is_recorded(api: Api) -> None:
    events = await api.event_count()
    payload = sample_order("eleme")
    bad = with_message(payload, phoneList=["13800138000-"])
    response = await send(api, "eleme", "orders", bad)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "customer.phone"
    assert body["channel_field"] == "message.phoneList[0]"
    assert "message.phoneList[0] (our customer.phone)" in body["detail"]
    # Known only to the database: an unknown SKU, a store that is not ours, a past promise.
    meituan = sample_order("meituan")
    for change, field, theirs in [
        ({"app_poi_code": "WH-XX"}, "warehouse_id", "app_poi_code"),
        (
            {"detail": '[{"app_food_code": "VEG-DURIAN", "quantity": 1, "price": 99}]'},
            "items[0].sku",
            "detail[0].app_food_code",
        ),
        ({"delivery_time": 1795300000}, "promised_at", "delivery_time"),
    ]:
        response = await send(api, "meituan", "orders", meituan | change)
        assert response.status_code == 422, response.text
        assert (response.json()["field"], response.json()["channel_field"]) == (field, theirs)
    # Nothing half-made: no order, no customer change, no event; four refusals on record.
    assert await count(api, OrderRow) == 0
    assert await api.event_count() == events
    rejections = (await api.get("dispatcher", "/channels/rejections")).json()
    assert [r["channel_field"] for r in rejections] == [
        "delivery_time",
        "detail[0].app_food_code",
        "app_poi_code",
        "message.phoneList[0]",
    ]
    assert rejections[1]["external_id"] == "27061900338318741"
    everything = str(rejections)
    assert "13800138000" not in everything and "Wang Fang" not in everything
    assert (await api.get("viewer", "/channels/rejections")).status_code == 403
    # Fixed, the same order goes through.
    assert (await send(api, "eleme", "orders", payload)).status_code == 201


async def test_callbacks_before_their_order_are_kept_and_applied_in_order(api: Api) -> None:
    unpaid = sample_order("app") | {"payStatus": "UNPAID"}
    paid = {
        "eventId": "EV-pay-1",
        "orderNo": "APP-20261122-0001",
        "event": "PAID",
        "occurredAt": "2026-11-22T10:01:00Z",
    }
    cancel = sample_callback("app") | {"occurredAt": "2026-11-22T10:03:00Z"}
    # The cancellation overtakes the payment, and both overtake the order.
    first = await send(api, "app", "callbacks", cancel)
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "pending"
    second = await send(api, "app", "callbacks", paid)
    assert second.json()["outcome"] == "pending"
    order = await send(api, "app", "orders", unpaid)
    assert order.status_code == 201
    order_id = order.json()["order"]["id"]
    assert order.json()["order"]["status"] == "CANCELLED"
    states = [e["to_state"] for e in await timeline(api, order_id) if e["to_state"]]
    assert states == ["CREATED", "PAID", "CANCELLED"]  # by when they happened
    stock = await api.stock("WH-CY", "MEA-PORKBELLY")
    assert stock["reserved"] == 0  # reserved at payment, released at cancel
    # A retried callback answers what became of it, and acts no more.
    events = await api.event_count()
    retried = await send(api, "app", "callbacks", cancel)
    assert retried.status_code == 200
    assert (retried.json()["outcome"], retried.json()["replayed"]) == ("applied", True)
    assert await api.event_count() == events


async def test_a_cancellation_too_late_is_refused_and_shown(api: Api) -> None:
    placed = (await send(api, "meituan", "orders", sample_order("meituan"))).json()["order"]
    await api.act("merchant-wh-cy", placed, "start_picking")
    late = await send(api, "meituan", "callbacks", sample_callback("meituan"))
    assert late.status_code == 200
    result = late.json()
    assert result["outcome"] == "refused"
    assert "PICKING: too late to cancel" in result["detail"]
    assert result["order"]["status"] == "PICKING"
    note = (await timeline(api, placed["id"]))[-1]
    assert note["kind"] == "order.channel"
    assert "meituan: the customer cancelled: 用户取消" in note["reason"]
    # A refund request while picking is kept for the desk; the order goes on.
    refund = {
        "msg_id": "mt-refund-1",
        "notify_type": "refund_apply",
        "timestamp": 1795342000,
        "order_id": 27061900338318741,
        "money": 24.9,
        "reason": "wrong item",
    }
    kept = (await send(api, "meituan", "callbacks", refund)).json()
    assert kept["outcome"] == "recorded"
    assert "24.90 yuan" in (await timeline(api, placed["id"]))[-1]["reason"]


async def test_a_burst_from_one_channel_leaves_the_others_and_readers_alone(api: Api) -> None:
    api.app.state.channel_gate = None  # rebuilt from the settings below
    api.app.state.runtime.settings.channel_rate_per_second = 5
    burst = [
        send(api, "meituan", "orders", sample_order("meituan") | {"order_id": 1000 + n})
        for n in range(12)
    ]
    others = [send(api, "eleme", "orders", sample_order("eleme"))]
    reads = [api.get("dispatcher", "/orders") for _ in range(3)]
    results = await asyncio.gather(*burst, *others, *reads)
    meituan = results[: len(burst)]
    statuses = sorted(r.status_code for r in meituan)
    assert statuses.count(201) == 5 and statuses.count(429) == 7, statuses
    limited = next(r for r in meituan if r.status_code == 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert "more than 5 requests a second" in limited.json()["detail"]
    assert results[len(burst)].status_code == 201  # Ele.me has a budget of its own
    assert all(r.status_code == 200 for r in results[len(burst) + 1 :])


async def test_reconciliation_of_a_day_per_channel(api: Api) -> None:
    # Meituan: one order at its price (a refund asked for while it is picked), one we cancel
    # for lack of stock.
    kept = (await send(api, "meituan", "orders", sample_order("meituan"))).json()["order"]
    await api.act("merchant-wh-cy", kept, "start_picking")
    short = sample_order("meituan") | {"order_id": 27061900338318742, "total": 30.0}
    short_order = (await send(api, "meituan", "orders", short)).json()["order"]
    await api.act("merchant-wh-cy", short_order, "report_out_of_stock", reason="freezer broke")
    refund = {
        "msg_id": "r-9",
        "notify_type": "refund_apply",
        "timestamp": 1795345000,
        "order_id": 27061900338318741,
        "money": 9.8,
    }
    await send(api, "meituan", "callbacks", refund)
    # A cancellation for an order that never came, and the platform's bill for the day.
    ghost = {
        "msg_id": "g-1",
        "notify_type": "order_cancel",
        "timestamp": 1795345100,
        "order_id": 99,
    }
    assert (await send(api, "meituan", "callbacks", ghost)).status_code == 202
    bill = {
        "msg_id": "bill-1122",
        "notify_type": "bill",
        "timestamp": 1795400000,
        "bill_date": "2026-11-22",
        "order_count": 1,
        "settle_amount": 34.0,
    }
    assert (await send(api, "meituan", "callbacks", bill)).json()["outcome"] == "recorded"
    await api.act(
        "support",
        short_order | {"version": short_order["version"] + 1},
        "cancel",
        reason="no stock",
    )

    answer = await api.get(
        "supervisor", "/channels/reconciliation", params={"day": "2026-11-22", "channel": "meituan"}
    )
    assert answer.status_code == 200, answer.text
    [report] = answer.json()
    assert report["held"] == {"orders": 2, "amount_cents": 6940}
    assert report["held_cancelled"] == {"orders": 1, "amount_cents": 3470}
    assert report["reported"] == {"orders": 2, "amount_cents": 6470}
    assert report["refunds_requested"] == {"orders": 1, "amount_cents": 980}
    assert report["statement"] == {"orders": 1, "amount_cents": 3400}
    kinds = sorted(d["kind"] for d in report["differences"])
    assert kinds == [
        "amount",  # 30.00 reported for a 34.70 basket
        "callback_without_order",
        "cancelled_here",  # the shortage: Meituan must refund
        "refund_requested",
        "statement_amount",  # 34.00 billed for the 34.70 order we hold
    ]
    amount = next(d for d in report["differences"] if d["kind"] == "amount")
    assert (amount["ours"], amount["theirs"]) == (3470, 3000)

    as_csv = await api.get(
        "supervisor",
        "/channels/reconciliation.csv",
        params={"day": "2026-11-22", "channel": "meituan"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["kind"] for r in rows} >= {"total_held", "amount", "cancelled_here"}
    assert next(r for r in rows if r["kind"] == "total_statement")["theirs"] == "3400"
    # Another day is empty; dispatchers do not see the money.
    other = await api.get("admin", "/channels/reconciliation", params={"day": "2026-11-21"})
    assert all(r["held"]["orders"] == 0 for r in other.json())
    assert len(other.json()) == len(CHANNELS)
    denied = await api.get("dispatcher", "/channels/reconciliation", params={"day": "2026-11-22"})
    assert denied.status_code == 403
