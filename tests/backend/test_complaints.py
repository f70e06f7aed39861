"""Complaints through the real app on SQLite and PostgreSQL: opened by support or the customer's
channel (a refund whose reason is a complaint), resolved with an apology, a voucher or a refund,
the order's state untouched throughout; bad input answered 4xx changing nothing; who may do what;
and the complaint KPI equal to a count of the rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.clock import ManualClock
from backend.orders.models import OrderRow
from backend.returns.models import ReturnRequestRow
from backend.returns.reasons import category_of
from backend_client.models import ComplaintCategory
from tests.backend.channel_support import sample_callback, sample_order, send
from tests.backend.proof_support import out_for_delivery
from tests.support import Api, started


@pytest.fixture
async def api(database_url: str, clock: ManualClock) -> AsyncIterator[Api]:
    async for api in started(database_url, clock, token_ttl_minutes=10**5):  # days go by
        yield api


async def complain(api: Api, who: str, order: dict[str, Any], category: str, **extra: Any):
    body = {"category": category, "reason": "the customer called", **extra}
    return await api.post(who, f"/orders/{order['id']}/complaints", json=body)


async def resolve(api: Api, who: str, request: dict[str, Any], outcome: str, **extra: Any):
    body = {"version": request["version"], "outcome": outcome, **extra}
    return await api.post(who, f"/requests/{request['id']}/resolve", json=body)


async def order_now(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    return (await api.get("admin", f"/orders/{order['id']}")).json()


async def complaints_of(api: Api, order: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"kind": "complaint"}
    if order is not None:
        params["order_id"] = order["id"]
    response = await api.get("support", "/requests", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def signed(api: Api, rider: int = 1, **fields: Any) -> dict[str, Any]:
    await api.rider_online(rider)
    order = await out_for_delivery(api, rider, **fields)
    return await api.act(f"rider-{rider}", order, "sign")


async def test_support_opens_and_resolves_complaints_and_the_order_never_moves(api: Api):
    await api.rider_online(1)
    order = await out_for_delivery(api, 1)
    opened = await complain(api, "support", order, "late", reason="40 minutes past the promise")
    assert opened.status_code == 201, opened.text
    late = opened.json()
    assert (late["kind"], late["state"], late["category"], late["after_sale"]) == (
        "complaint",
        "pending",
        "late",
        False,
    )
    assert (late["reason"], late["opened_by"], late["outcome"]) == (
        "40 minutes past the promise",
        "support",
        None,
    )
    now = await order_now(api, order)
    assert (now["status"], now["version"]) == ("DELIVERING", order["version"])
    # A complaint does not stand in the way of a return or of the delivery itself.
    back = await api.post(
        "rider-1",
        f"/orders/{order['id']}/returns",
        json={"version": order["version"], "reason": "refused: late"},
    )
    assert back.status_code == 201, back.text
    resumed = await api.act("dispatcher", await order_now(api, order), "resume")
    assert (await api.get("support", f"/requests/{back.json()['id']}")).json()["state"] == (
        "withdrawn"
    )
    assert (await api.get("support", f"/requests/{late['id']}")).json()["state"] == "pending"
    done = await api.act("rider-1", resumed, "sign")

    # After sale, the channel complains about quality; support resolves both.
    quality = await complain(api, "channel-app", order, "quality", amount_cents=490)
    assert quality.status_code == 201, quality.text
    assert quality.json()["after_sale"] is True
    answered = await resolve(api, "support", late, "apology", note="called and apologised")
    assert answered.status_code == 200, answered.text
    voucher = await resolve(api, "support", quality.json(), "voucher", amount_cents=500)
    assert voucher.status_code == 200, voucher.text
    assert (answered.json()["state"], answered.json()["outcome"]) == ("resolved", "apology")
    assert answered.json()["decision_reason"] == "called and apologised"
    assert (voucher.json()["outcome"], voucher.json()["outcome_cents"]) == ("voucher", 500)
    assert voucher.json()["decided_by"] == "support"
    now = await order_now(api, order)
    assert (now["status"], now["version"]) == ("SIGNED", done["version"])
    kinds = [e["kind"] for e in (await api.get("admin", f"/orders/{order['id']}/timeline")).json()]
    assert kinds.count("request.opened") == 3 and kinds.count("request.resolved") == 2
    pending = (await api.get("support", "/requests", params={"state": "pending"})).json()
    assert [r for r in pending if r["kind"] == "complaint"] == []


async def test_refunds_are_paid_within_the_order_and_the_roles_limit(api: Api):
    order = await signed(api)
    opened = (await complain(api, "support", order, "wrong_item")).json()
    too_much = await resolve(
        api, "support", opened, "refund", amount_cents=order["amount_cents"] + 1
    )
    assert too_much.status_code == 422
    assert "more than the order's" in too_much.json()["detail"]
    big_voucher = await resolve(api, "support", opened, "voucher", amount_cents=20_001)
    assert big_voucher.status_code == 403
    assert "for a supervisor" in big_voucher.json()["detail"]
    by_supervisor = await resolve(api, "supervisor", opened, "voucher", amount_cents=20_001)
    assert by_supervisor.status_code == 200, by_supervisor.text
    again = await resolve(api, "support", by_supervisor.json(), "apology")
    assert again.status_code == 409
    assert "already resolved" in again.json()["detail"]


async def test_bad_input_is_refused_and_changes_nothing(api: Api):
    order = await signed(api)
    waiting = (await complain(api, "support", order, "damaged")).json()
    created = await api.create_order()
    before = await order_now(api, order)
    requests_before = await complaints_of(api)

    bad_opens: list[tuple[dict[str, Any], int, str]] = [
        (order, 422, "category"),  # an unknown category
        (order | {"id": 999999}, 404, "no order"),
        (created, 409, "out for delivery"),  # not on its way yet
        (order, 409, "already has a damaged complaint waiting"),
    ]
    bodies: list[dict[str, Any]] = [
        {"category": "smelly", "reason": "x"},
        {"category": "late", "reason": "x"},
        {"category": "late", "reason": "x"},
        {"category": "damaged", "reason": "again"},
    ]
    for (target, status, words), body in zip(bad_opens, bodies, strict=True):
        answer = await api.post("support", f"/orders/{target['id']}/complaints", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.text, answer.text
    for body in (
        {"category": "late"},  # no text
        {"category": "late", "reason": ""},
        {"category": "late", "reason": "x", "amount_cents": -1},
        {"category": "late", "reason": "x", "amount_cents": order["amount_cents"] + 1},
        {"category": "late", "reason": "x", "extra": 1},
    ):
        answer = await api.post("support", f"/orders/{order['id']}/complaints", json=body)
        assert answer.status_code == 422, (body, answer.text)

    for body, status in (
        ({"outcome": "apology", "amount_cents": 100}, 422),
        ({"outcome": "voucher"}, 422),
        ({"outcome": "refund", "amount_cents": 0}, 422),
        ({"outcome": "cash", "amount_cents": 1}, 422),
        ({"outcome": "apology", "version": waiting["version"] + 1}, 409),
        ({"outcome": "apology", "note": "x" * 501}, 422),
    ):
        sent = {"version": waiting["version"], **body}
        answer = await api.post("support", f"/requests/{waiting['id']}/resolve", json=sent)
        assert answer.status_code == status, (body, answer.text)
    nowhere = {"version": 1, "outcome": "apology"}
    missing = await api.post("support", "/requests/999999/resolve", json=nowhere)
    assert missing.status_code == 404
    # Approving or rejecting a complaint is not how it is answered.
    for verdict in ("approve", "reject"):
        answer = await api.post(
            "support",
            f"/requests/{waiting['id']}/{verdict}",
            json={"version": waiting["version"], "reason": "no"},
        )
        assert answer.status_code == 409 and "resolve it" in answer.json()["detail"]
    # Past the after-sale window, no complaint any more.
    api.clock.advance(hours=73)
    late = await complain(api, "support", order, "late")
    assert late.status_code == 409 and "too late" in late.json()["detail"]

    after = await order_now(api, order)
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    assert await complaints_of(api) == requests_before


@pytest.mark.parametrize("category", list(ComplaintCategory))
def test_every_category_has_a_word_or_is_the_rest(category: ComplaintCategory) -> None:
    from backend.returns.reasons import WORDS

    assert category == ComplaintCategory.OTHER or WORDS[category]


def test_refund_reasons_tell_complaints_from_changed_minds() -> None:
    C = ComplaintCategory
    assert category_of("商品质量问题") == C.QUALITY
    assert category_of("meat not fresh") == C.QUALITY
    assert category_of("Delivery was 40 min LATE") == C.LATE
    assert category_of("the rider was late") == C.LATE  # the lateness, not the rider
    assert category_of("骑手态度差") == C.RIDER_CONDUCT
    assert category_of("rude courier") == C.RIDER_CONDUCT
    assert category_of("wrong item in the bag") == C.WRONG_ITEM
    assert category_of("送错了") == C.WRONG_ITEM
    assert category_of("eggs broken") == C.DAMAGED
    for none in (None, "", "changed my mind", "用户取消", "ordered twice"):
        assert category_of(none) is None


async def test_who_may_open_and_resolve(api: Api):
    order = await signed(api)
    for who in ("rider-1", "merchant-wh-cy", "viewer", "dispatcher"):
        refused = await complain(api, who, order, "late")
        assert refused.status_code == 403, (who, refused.text)
    # A channel opens complaints about its own orders only: another's is not there for it.
    foreign = await complain(api, "channel-meituan", order, "late")
    assert foreign.status_code == 404
    for who in ("admin", "supervisor", "support", "channel-app"):
        category = {"admin": "late", "supervisor": "quality", "support": "other"}.get(
            who, "rider_conduct"
        )
        opened = await complain(api, who, order, category)
        assert opened.status_code == 201, (who, opened.text)
    one = (await complaints_of(api, order))[0]
    for who in ("channel-app", "dispatcher", "merchant-wh-cy", "viewer", "rider-1"):
        refused = await resolve(api, who, one, "apology")
        assert refused.status_code == 403, (who, refused.text)
    assert (await api.get("rider-1", "/requests")).status_code == 403
    assert (await api.get("channel-app", "/requests")).status_code == 403
    # A merchant reads their warehouse's requests within its stages (not a signed order's).
    seen = (await api.get("merchant-wh-cy", "/requests", params={"kind": "complaint"})).json()
    assert seen == []
    assert (await resolve(api, "admin", one, "apology")).status_code == 200


async def eleme_delivered(api: Api) -> dict[str, Any]:
    placed = (await send(api, "eleme", "orders", sample_order("eleme"))).json()["order"]
    await api.rider_online(1)
    order = await api.act("dispatcher", placed, "start_picking")
    order = await api.assign(order, 1)
    order = await api.act("rider-1", order, "dispatch")
    return await api.act("rider-1", order, "sign")


async def test_a_channel_refund_whose_reason_is_a_complaint_opens_one(api: Api):
    order = await eleme_delivered(api)
    refund = sample_callback("eleme")  # 商品质量问题: a quality problem, 24.90 yuan
    taken = await send(api, "eleme", "callbacks", refund)
    assert taken.status_code == 200, taken.text
    result = taken.json()
    assert result["outcome"] == "recorded"
    [complaint] = await complaints_of(api, order)
    assert f"complaint {complaint['id']} opened" in result["detail"]
    assert (complaint["category"], complaint["amount_cents"], complaint["opened_by"]) == (
        "quality",
        2490,
        "eleme-gateway",
    )
    assert complaint["reason"] == "商品质量问题"
    assert (await order_now(api, order))["status"] == "SIGNED"
    # The platform retries: the same answer, no second complaint.
    again = await send(api, "eleme", "callbacks", refund)
    assert again.json()["replayed"] is True
    # A refund for a changed mind is kept for the desk, and is no complaint.
    changed = sample_callback("eleme") | {"requestId": "100000418938475778"}
    changed = _eleme_reason(changed, "不想要了")
    kept = (await send(api, "eleme", "callbacks", changed)).json()
    assert kept["outcome"] == "recorded" and "complaint" not in kept["detail"]
    # Another quality refund while that complaint waits is the same complaint told again.
    repeated = _eleme_reason(sample_callback("eleme") | {"requestId": "1000004189384757"}, "变质")
    kept = (await send(api, "eleme", "callbacks", repeated)).json()
    assert kept["outcome"] == "recorded" and "complaint" not in kept["detail"]
    assert len(await complaints_of(api, order)) == 1


async def test_a_complaint_refund_before_dispatch_still_cancels_the_order(api: Api):
    placed = (await send(api, "eleme", "orders", sample_order("eleme"))).json()["order"]
    taken = (await send(api, "eleme", "callbacks", sample_callback("eleme"))).json()
    assert taken["outcome"] == "applied"
    assert (await order_now(api, placed))["status"] == "CANCELLED"
    assert await complaints_of(api, placed) == []


def _eleme_reason(push: dict[str, Any], reason: str) -> dict[str, Any]:
    import json

    message = json.loads(push["message"])
    message["reason"] = reason
    return {**push, "message": json.dumps(message, ensure_ascii=False)}


def last_two_hours(api: Api) -> dict[str, str]:
    return {"start": (api.clock.now() - timedelta(hours=2)).isoformat()}


async def test_the_complaint_kpi_is_a_count_of_the_rows(api: Api):
    api.clock.advance(hours=1)
    orders = [await signed(api, rider) for rider in (1, 2)]
    orders.append(await signed(api, 1, channel_user="channel-meituan"))
    await api.rider_online(3)
    on_the_way = await out_for_delivery(api, 3)
    opened = [
        (orders[0], "late"),
        (orders[0], "quality"),
        (orders[1], "late"),
        (orders[2], "wrong_item"),
        (on_the_way, "rider_conduct"),
    ]
    for order, category in opened:
        assert (await complain(api, "support", order, category)).status_code == 201
    first = (await complaints_of(api))[0]
    assert (await resolve(api, "support", first, "apology")).status_code == 200
    api.clock.advance(minutes=1)

    summary = (await api.get("support", "/kpi/summary", params=last_two_hours(api))).json()
    figures = summary["complaints"]
    async with api.app.state.runtime.db.read() as session:
        rows = (
            await session.execute(
                select(ReturnRequestRow, OrderRow.channel)
                .join(OrderRow, OrderRow.id == ReturnRequestRow.order_id)
                .where(ReturnRequestRow.kind == "complaint")
            )
        ).all()
        signed_rows = (
            await session.execute(
                select(OrderRow.channel, OrderRow.warehouse_id).where(
                    OrderRow.signed_at.is_not(None)
                )
            )
        ).all()
    assert figures["complaints"] == len(rows) == 5
    assert figures["resolved"] == sum(1 for r, _ in rows if r.state == "resolved") == 1
    assert figures["delivered"] == len(signed_rows) == 3
    assert figures["per_100_delivered"] == pytest.approx(100 * 5 / 3)
    assert figures["previous_per_100_delivered"] is None  # nothing delivered the hour before

    by_category = {r["key"]: r for r in figures["by_category"]}
    assert {k: r["complaints"] for k, r in by_category.items()} == Counter(
        r.category for r, _ in rows
    )
    assert by_category["late"]["per_100_delivered"] == pytest.approx(100 * 2 / 3)
    by_channel = {r["key"]: (r["complaints"], r["delivered"]) for r in figures["by_channel"]}
    complaints_by_channel = Counter(channel for _, channel in rows)
    delivered_by_channel = Counter(channel for channel, _ in signed_rows)
    assert by_channel == {
        c: (complaints_by_channel[c], delivered_by_channel[c])
        for c in set(complaints_by_channel) | set(delivered_by_channel)
    }
    by_warehouse = {r["key"]: r["complaints"] for r in figures["by_warehouse"]}
    assert by_warehouse == Counter(r.warehouse_id for r, _ in rows)
    # Narrowed to a channel: only its orders' complaints and deliveries.
    narrowed = (
        await api.get(
            "support", "/kpi/summary", params={**last_two_hours(api), "channel": "meituan"}
        )
    ).json()["complaints"]
    assert (narrowed["complaints"], narrowed["delivered"]) == (1, 1)
    # The window after: the rate becomes the previous one.
    api.clock.advance(hours=2)
    later = (await api.get("support", "/kpi/summary", params=last_two_hours(api))).json()
    assert later["complaints"]["complaints"] == 0
    assert later["complaints"]["per_100_delivered"] is None
    assert later["complaints"]["previous_per_100_delivered"] == pytest.approx(100 * 5 / 3)
