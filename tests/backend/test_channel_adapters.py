"""Each channel's adapter on payloads shaped as its platform sends them: mapped to our order
model field by field, and refused with both names of the field at fault. Pure: no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from backend.channels.adapter import CallbackKind, FieldProblem
from backend.channels.registry import all_adapters
from tests.backend.channel_support import (
    CHANNELS,
    body_of,
    sample_callback,
    sample_order,
    with_message,
)

PROMISE = datetime(2026, 11, 22, 10, 45, tzinfo=UTC)
ADAPTERS = all_adapters()


def read(channel: str, payload) -> object:
    return ADAPTERS[channel].read_order(body_of(payload))


def refused(channel: str, payload, *, callback: bool = False) -> FieldProblem:
    adapter = ADAPTERS[channel]
    with pytest.raises(FieldProblem) as caught:
        if callback:
            adapter.read_callback(body_of(payload))
        else:
            adapter.read_order(body_of(payload))
    return caught.value


def test_every_channel_has_an_adapter() -> None:
    assert sorted(ADAPTERS) == sorted(CHANNELS)


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_sample_order_maps_to_our_model(channel: str) -> None:
    parsed = read(channel, sample_order(channel))
    order = parsed.order
    assert [(i.sku, i.quantity) for i in order.items] == [("VEG-BOKCHOY", 2), ("MEA-PORKBELLY", 1)]
    assert order.customer.phone == "13800138000"
    assert order.customer.name == "Wang Fang"
    assert order.promised_at == PROMISE
    assert parsed.paid is True
    if channel == "group_buy":
        # Delivered to the leader's pick-up point, where the buyer collects.
        assert order.customer.address == "Tuanjiehu Community, Gate 2, Chaoyang"
        assert (order.customer.lat, order.customer.lng) == (39.9298, 116.4613)
        assert parsed.pickup_point == "L-CY-03"
        assert parsed.reported_amount_cents == 3190  # the group price, under ours
    else:
        assert order.customer.address == "Sanlitun Rd 19, Chaoyang"
        assert (order.customer.lat, order.customer.lng) == (39.9361, 116.4551)
        assert parsed.pickup_point is None
        assert parsed.reported_amount_cents == 3470
    assert order.warehouse_id == ("WH-CY" if channel in {"meituan", "eleme", "store"} else None)


def test_channel_specific_units() -> None:
    # Meituan: order ids are long numbers, coordinates millionths of a degree, yuan floats.
    meituan = read("meituan", sample_order("meituan") | {"total": 0.1 + 0.2})
    assert meituan.external_id == "27061900338318741"
    assert meituan.reported_amount_cents == 30
    # Ele.me: "longitude,latitude" in one string, baskets flattened in order, local times.
    push = with_message(sample_order("eleme"), deliveryGeo="116.397128,39.916527")
    eleme = read("eleme", push)
    assert (eleme.order.customer.lat, eleme.order.customer.lng) == (39.916527, 116.397128)
    # The till: quantities and amounts as decimal strings.
    receipt = sample_order("store")
    receipt["items"][0] |= {"qty": "3", "amount": "14.70"}
    assert read("store", receipt).order.items[0].quantity == 3
    # Unpaid on arrival: the app's UNPAID, Meituan's status 1, Ele.me's type 1.
    assert read("app", sample_order("app") | {"payStatus": "UNPAID"}).paid is False
    assert read("meituan", sample_order("meituan") | {"status": 1}).paid is False
    assert read("eleme", sample_order("eleme") | {"type": 1}).paid is False
    # A platform adding fields it did not have yesterday is not refused.
    assert read("app", sample_order("app") | {"couponIds": [7, 8]}).external_id


@pytest.mark.parametrize(
    ("channel", "change", "ours", "theirs"),
    [
        ("meituan", {"recipient_phone": "not-a-phone"}, "customer.phone", "recipient_phone"),
        ("meituan", {"latitude": "north"}, "customer.lat", "latitude"),
        ("meituan", {"latitude": 239_000_000}, "customer.lat", "latitude"),
        (
            "meituan",
            {"detail": json.dumps([{"app_food_code": "VEG-BOKCHOY", "quantity": 0, "price": 4.9}])},
            "items[0].quantity",
            "detail[0].quantity",
        ),
        ("meituan", {"detail": "[{not json"}, "items", "detail"),
        (
            "app",
            {
                "receiver": {
                    "name": "W",
                    "mobile": "1",
                    "address": "x",
                    "location": {"lat": "39.9", "lng": "116.4"},
                }
            },
            "customer.phone",
            "receiver.mobile",
        ),
        ("app", {"orderNo": "has spaces in it"}, "external_id", "orderNo"),
        ("mini_program", {"trade_state": "MAYBE"}, None, "trade_state"),
        ("mini_program", {"total_fee": "lots"}, None, "total_fee"),
        ("store", {"delivery": {"address": "x", "geo": "39.9"}}, "customer.lng", "delivery.geo"),
        ("group_buy", {"goods": []}, "items", "goods"),
    ],
)
def test_a_bad_field_is_named_by_both_names(
    channel: str, change: dict, ours: str | None, theirs: str
) -> None:
    problem = refused(channel, sample_order(channel) | change)
    assert (problem.field, problem.channel_field) == (ours, theirs)
    sentence = problem.sentence(channel)
    assert theirs in sentence
    if ours and ours != theirs:
        assert f"our {ours}" in sentence


def test_nested_and_enveloped_fields_keep_their_place() -> None:
    push = sample_order("eleme")
    message = json.loads(push["message"])
    message["groups"].append({"name": "2号篮子", "items": [dict(message["groups"][0]["items"][0])]})
    message["groups"][1]["items"][0]["quantity"] = -1
    problem = refused("eleme", {**push, "message": json.dumps(message)})
    assert problem.field == "items[2].quantity"
    assert problem.channel_field == "message.groups[1].items[0].quantity"
    problem = refused("eleme", with_message(push, phoneList=["12"]))
    assert (problem.field, problem.channel_field) == ("customer.phone", "message.phoneList[0]")


def test_what_is_refused_carries_no_personal_data() -> None:
    payload = sample_order("meituan") | {"recipient_phone": "13800138000x"}
    problem = refused("meituan", payload)
    assert "13800138000" not in problem.problem
    assert problem.external_id == "27061900338318741"  # an order id is not personal


def test_not_json_and_not_an_object() -> None:
    assert refused("app", b"{nope").problem == "the body is not JSON"
    assert refused("app", b"[1, 2]").problem == "the body must be a JSON object"


@pytest.mark.parametrize(
    ("channel", "kind", "external_id"),
    [
        ("app", CallbackKind.CANCELLED, "APP-20261122-0001"),
        ("mini_program", CallbackKind.PAID, "MP-20261122-0001"),
        ("meituan", CallbackKind.CANCELLED, "27061900338318741"),
        ("eleme", CallbackKind.REFUND_REQUESTED, "3023617581128429512"),
        ("group_buy", CallbackKind.REFUND_REQUESTED, "GB-20261122-000731"),
    ],
)
def test_callbacks_in_each_platforms_words(
    channel: str, kind: CallbackKind, external_id: str
) -> None:
    callback = ADAPTERS[channel].read_callback(body_of(sample_callback(channel)))
    assert (callback.kind, callback.external_id) == (kind, external_id)
    assert callback.occurred_at.tzinfo is not None


def test_refund_amounts_and_daily_statements() -> None:
    eleme = ADAPTERS["eleme"].read_callback(body_of(sample_callback("eleme")))
    assert eleme.amount_cents == 2490  # 24.9 yuan
    z_report = ADAPTERS["store"].read_callback(body_of(sample_callback("store")))
    assert z_report.kind == CallbackKind.STATEMENT
    assert z_report.statement is not None
    assert (z_report.statement.day, z_report.statement.orders) == (date(2026, 11, 22), 41)
    assert z_report.statement.amount_cents == 187340
    bill = {
        "msg_id": "b1",
        "notify_type": "bill",
        "timestamp": 1795400000,
        "bill_date": "2026-11-22",
        "order_count": 12,
        "settle_amount": 401.5,
    }
    statement = ADAPTERS["meituan"].read_callback(body_of(bill)).statement
    assert statement is not None and statement.amount_cents == 40150
    problem = refused("meituan", bill | {"bill_date": "yesterday"}, callback=True)
    assert (problem.field, problem.channel_field) == ("statement.day", "bill_date")


def test_a_callback_refused_names_the_platforms_field() -> None:
    bill = sample_callback("mini_program") | {"event_type": "BILL.DAILY"}
    bill["resource"] = {"bill_date": "2026-11-22"}
    problem = refused("mini_program", bill, callback=True)
    assert (problem.field, problem.channel_field) == ("statement", "resource.bill_date")
    assert problem.problem == "a bill needs bill_date and count"

    no_order = with_message(sample_callback("eleme"), orderId=None)
    problem = refused("eleme", no_order, callback=True)
    assert (problem.field, problem.channel_field) == ("external_id", "message.orderId")

    bad_refund = with_message(sample_callback("eleme"), refundAmount=-1)
    problem = refused("eleme", bad_refund, callback=True)
    assert (problem.field, problem.channel_field) == ("amount", "message.refundAmount")
