"""200 paid orders from all six channels at once, for the last units of one SKU: exactly as
many are taken as there are units, the rest go OUT_OF_STOCK, none is lost or made twice
(SQLite and PostgreSQL, through the real app, with `asyncio.gather`)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.channels.models import ChannelOrderRow
from backend.orders.models import OrderRow
from tests.backend.channel_support import CHANNELS, sample_order, send
from tests.backend.test_stock_concurrency import set_available, stock_of
from tests.support import Api

pytestmark = pytest.mark.slow  # concurrent intakes racing on both databases

SKU = "SEA-SALMON"
UNITS_LEFT = 37
ORDERS = 200


def salmon_order(channel: str, n: int) -> dict[str, Any]:
    """Order `n`: one salmon fillet, paid, from its own customer, in the channel's words."""
    payload = sample_order(channel)
    phone = f"1380{n:07d}"
    match channel:
        case "app":
            payload |= {"orderNo": f"APP-RACE-{n}"}
            payload["receiver"] |= {"mobile": phone}
            payload["lines"] = [{"skuCode": SKU, "qty": 1, "unitPriceCents": 6990}]
        case "mini_program":
            payload |= {"out_trade_no": f"MP-RACE-{n}"}
            payload["address_info"] |= {"telNumber": phone}
            payload["detail"] = json.dumps(
                {"goods_detail": [{"goods_id": SKU, "quantity": 1, "price": 6990}]}
            )
        case "meituan":
            payload |= {"order_id": 27061900000000000 + n, "recipient_phone": phone}
            payload["detail"] = json.dumps([{"app_food_code": SKU, "quantity": 1, "price": 69.9}])
        case "eleme":
            message = json.loads(payload["message"])
            message |= {"id": f"30236175811{n:08d}", "phoneList": [phone]}
            message["groups"] = [{"items": [{"extendCode": SKU, "quantity": 1, "price": 69.9}]}]
            payload["message"] = json.dumps(message)
        case "store":
            payload |= {"receipt_no": f"POS-RACE-{n}"}
            payload["member"] |= {"mobile": phone}
            payload["items"] = [{"plu": SKU, "qty": "1", "amount": "69.90"}]
        case "group_buy":
            payload |= {"sub_order_sn": f"GB-RACE-{n}"}
            payload["buyer"] |= {"mobile": phone}
            payload["goods"] = [{"goods_sku": SKU, "num": 1, "group_price": 6290}]
    return payload


async def test_concurrent_intakes_never_oversell_the_last_units(api: Api) -> None:
    await set_available(api, SKU, UNITS_LEFT)
    on_hand_before, reserved_before = await stock_of(api, SKU)
    channels = [CHANNELS[n % len(CHANNELS)] for n in range(ORDERS)]
    responses = await asyncio.gather(
        *(
            send(api, channel, "orders", salmon_order(channel, n))
            for n, channel in enumerate(channels)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: ORDERS}, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    states = Counter(r.json()["order"]["status"] for r in responses)
    assert states == {"PAID": UNITS_LEFT, "OUT_OF_STOCK": ORDERS - UNITS_LEFT}
    assert {r.json()["order"]["warehouse_id"] for r in responses} == {"WH-CY"}
    # Every channel got its share of the race, and the stock is exactly used up.
    paid_by = Counter(
        r.json()["order"]["channel"] for r in responses if r.json()["order"]["status"] == "PAID"
    )
    assert sum(paid_by.values()) == UNITS_LEFT
    on_hand, reserved = await stock_of(api, SKU)
    assert (on_hand, reserved) == (on_hand_before, reserved_before + UNITS_LEFT)
    assert on_hand - reserved == 0
    # One order per channel order id, one receipt each; retries of the race change nothing.
    async with api.app.state.runtime.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(OrderRow)) == ORDERS
        assert await session.scalar(select(func.count()).select_from(ChannelOrderRow)) == ORDERS
    again = await asyncio.gather(
        *(
            send(api, channel, "orders", salmon_order(channel, n))
            for n, channel in enumerate(channels[:12])
        )
    )
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in again)
    assert await stock_of(api, SKU) == (on_hand, reserved)
