"""The sales platforms as the simulator plays them: each order of the plan in its channel's own
words (Meituan's integer coordinates and JSON-string item list, Ele.me's envelope, the till's
receipt, a group-buy leader's pick-up point...), and its status callbacks, signed with the
channel's secret and sent to `/api/v1/channels/{channel}/...`.

Platforms that route orders to a store name the warehouse serving the customer's zone. Group-buy
buyers collect at their neighbourhood leader's pick-up point: a few leaders per zone, the same
ones for a seed, so their orders travel together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

import httpx

from backend.sim.city import Zone, demo_city, demo_zones
from backend.sim.demand import BEIJING, OrderPlan
from backend_client import ConnectionFailed, FreshlineClient, ServerError
from backend_client.demo import demo_channel_secret
from backend_client.models import Channel, ChannelCallbackResult, ChannelOrderReceipt

log = logging.getLogger(__name__)
T = TypeVar("T")

LEADERS_PER_ZONE = 4
# Group buys sell a little under the list price; the difference shows in reconciliation.
GROUP_DISCOUNT = 0.9
OUTAGE_PATIENCE_S = 60.0


@cache
def _catalogue() -> dict[str, dict[str, Any]]:
    return {s["sku"]: s for s in demo_city()["skus"]}


def _zone(plan: OrderPlan) -> Zone:
    return next(z for z in demo_zones() if z.name == plan.zone)


def leader_of(seed: int, plan: OrderPlan) -> dict[str, str]:
    """The group-buy leader a buyer collects from: one of their zone's few, always the same."""
    zone = _zone(plan)
    number = int(plan.customer.phone[-4:]) % LEADERS_PER_ZONE
    rng = random.Random(f"{seed}:leader:{zone.name}:{number}")
    lat, lng = zone.random_point(rng)
    people = demo_city()["people"]
    return {
        "leader_id": f"L-{zone.warehouse_id.removeprefix('WH-')}-{number + 1:02d}",
        "leader_name": f"{rng.choice(people['surnames'])} {rng.choice(people['given'])}",
        "leader_mobile": f"137{rng.randrange(10**8):08d}",
        "pickup_address": f"{rng.choice(zone.streets)} {rng.randint(1, 200)} "
        f"(pick-up point {number + 1}), {zone.name}",
        "lng": f"{lng:.6f}",
        "lat": f"{lat:.6f}",
    }


def order_payload(seed: int, plan: OrderPlan, promised_at: datetime) -> dict[str, Any]:
    """The plan's order as its channel sends it, not paid yet (the payment calls back)."""
    c = plan.customer
    catalogue = _catalogue()
    lines = [(sku, quantity, catalogue[sku]) for sku, quantity in plan.items]
    total = sum(q * s["price_cents"] for _, q, s in lines)
    at, local = plan.at, plan.at.astimezone(BEIJING)
    promise_local = promised_at.astimezone(BEIJING)
    warehouse = _zone(plan).warehouse_id
    match plan.channel:
        case Channel.APP:
            return {
                "orderNo": plan.external_id,
                "userId": int(c.phone[-7:]),
                "createdAt": at.isoformat(),
                "expectedArrival": promised_at.isoformat(),
                "receiver": {
                    "name": c.name,
                    "mobile": c.phone,
                    "address": c.address,
                    "location": {"lat": f"{c.lat:.6f}", "lng": f"{c.lng:.6f}"},
                },
                "lines": [
                    {"skuCode": sku, "qty": q, "unitPriceCents": s["price_cents"]}
                    for sku, q, s in lines
                ],
                "payableCents": total,
                "payStatus": "UNPAID",
            }
        case Channel.MINI_PROGRAM:
            goods = [
                {"goods_id": sku, "goods_name": s["name"], "quantity": q,
                 "price": s["price_cents"]}
                for sku, q, s in lines
            ]  # fmt: skip
            return {
                "out_trade_no": plan.external_id,
                "openid": f"o{c.phone}",
                "time_start": f"{local:%Y%m%d%H%M%S}",
                "expected_time": f"{promise_local:%Y%m%d%H%M%S}",
                "total_fee": total,
                "trade_state": "NOTPAY",
                "detail": json.dumps({"cost_price": total, "goods_detail": goods}),
                "address_info": {
                    "userName": c.name,
                    "telNumber": c.phone,
                    "provinceName": "北京市",
                    "cityName": "北京市",
                    "countyName": plan.zone,
                    "detailInfo": c.address,
                    "latitude": f"{c.lat:.6f}",
                    "longitude": f"{c.lng:.6f}",
                },
            }
        case Channel.MEITUAN:
            detail = [
                {"app_food_code": sku, "food_name": s["name"], "quantity": q,
                 "price": s["price_cents"] / 100, "unit": s["unit"]}
                for sku, q, s in lines
            ]  # fmt: skip
            return {
                "order_id": plan.external_id,
                "app_poi_code": warehouse,
                "ctime": int(at.timestamp()),
                "delivery_time": int(promised_at.timestamp()),
                "recipient_name": c.name,
                "recipient_phone": c.phone,
                "recipient_address": c.address,
                "latitude": round(c.lat * 1e6),
                "longitude": round(c.lng * 1e6),
                "detail": json.dumps(detail, ensure_ascii=False),
                "total": total / 100,
                "status": 1,
            }
        case Channel.ELEME:
            items = [
                {"name": s["name"], "extendCode": sku, "quantity": q,
                 "price": s["price_cents"] / 100, "total": q * s["price_cents"] / 100}
                for sku, q, s in lines
            ]  # fmt: skip
            message = {
                "id": plan.external_id,
                "openId": warehouse,
                "consignee": c.name,
                "phoneList": [c.phone],
                "address": c.address,
                "deliveryGeo": f"{c.lng:.6f},{c.lat:.6f}",
                "groups": [{"name": "1号篮子", "type": "normal", "items": items}],
                "totalPrice": total / 100,
                "createdAt": f"{local:%Y-%m-%dT%H:%M:%S}",
                "deliverTime": f"{promise_local:%Y-%m-%dT%H:%M:%S}",
            }
            return {
                "requestId": f"{plan.external_id}-placed",
                "type": 1,
                "timestamp": int(at.timestamp() * 1000),
                "message": json.dumps(message, ensure_ascii=False),
            }
        case Channel.STORE:
            return {
                "store_code": warehouse,
                "receipt_no": plan.external_id,
                "till": f"{plan.index % 4 + 1:02d}",
                "sold_at": f"{local:%Y-%m-%d %H:%M:%S}",
                "deliver_by": f"{promise_local:%Y-%m-%d %H:%M:%S}",
                "member": {"name": c.name, "mobile": c.phone},
                "delivery": {"address": c.address, "geo": f"{c.lat:.6f},{c.lng:.6f}"},
                "items": [
                    {"plu": sku, "qty": str(q), "amount": f"{q * s['price_cents'] / 100:.2f}"}
                    for sku, q, s in lines
                ],
                "total": f"{total / 100:.2f}",
                # Rung up for delivery: paid by the customer's phone moments later.
                "paid": False,
            }
        case Channel.GROUP_BUY:
            goods = [
                {"goods_sku": sku, "num": q,
                 "group_price": round(s["price_cents"] * GROUP_DISCOUNT)}
                for sku, q, s in lines
            ]  # fmt: skip
            return {
                "sub_order_sn": plan.external_id,
                "activity_id": f"ACT-{local:%Y%m%d}-{plan.zone}",
                "created_time": int(at.timestamp() * 1000),
                "pickup_by": int(promised_at.timestamp() * 1000),
                "leader": leader_of(seed, plan),
                "buyer": {"nickname": c.name, "mobile": c.phone},
                "goods": goods,
                "pay_amount": sum(g["num"] * g["group_price"] for g in goods),
                "order_status": 0,
            }
    raise ValueError(f"no platform for {plan.channel}")


def callback_payload(
    plan: OrderPlan, kind: str, at: datetime, reason: str, amount_cents: int = 0
) -> dict[str, Any]:
    """`paid`, `cancelled` (by the customer) or `refund` (asked for `amount_cents`, for
    `reason`) for the plan's order, in its channel's words."""
    external_id, local = plan.external_id, at.astimezone(BEIJING)
    yuan = round(amount_cents / 100, 2)
    match plan.channel, kind:
        case Channel.APP, _:
            event = {"paid": "PAID", "cancelled": "CANCELLED_BY_USER",
                     "refund": "REFUND_REQUESTED"}[kind]  # fmt: skip
            return {"eventId": f"{external_id}-{kind}", "orderNo": external_id, "event": event,
                    "occurredAt": at.isoformat(), "reason": reason,
                    **({"amountCents": amount_cents} if kind == "refund" else {})}  # fmt: skip
        case Channel.MINI_PROGRAM, _:
            event = {"paid": "TRANSACTION.SUCCESS", "cancelled": "TRANSACTION.CLOSED",
                     "refund": "REFUND.APPLY"}[kind]  # fmt: skip
            resource: dict[str, Any] = {"out_trade_no": external_id, "reason": reason}
            if kind == "refund":
                resource["amount"] = amount_cents
            return {"id": f"{external_id}-{kind}", "create_time": at.isoformat(),
                    "event_type": event, "resource": resource}  # fmt: skip
        case Channel.MEITUAN, _:
            notify = {"paid": "order_paid", "cancelled": "order_cancel",
                      "refund": "refund_apply"}[kind]  # fmt: skip
            return {"msg_id": f"{external_id}-{kind}", "notify_type": notify,
                    "timestamp": int(at.timestamp()), "order_id": external_id,
                    "reason": reason, **({"money": yuan} if kind == "refund" else {})}  # fmt: skip
        case Channel.ELEME, _:
            message: dict[str, Any] = {"orderId": external_id, "reason": reason}
            if kind == "refund":
                message["refundAmount"] = yuan
            kind_code = {"paid": 11, "cancelled": 14, "refund": 30}[kind]
            return {"requestId": f"{external_id}-{kind}", "type": kind_code,
                    "timestamp": int(at.timestamp() * 1000),
                    "message": json.dumps(message, ensure_ascii=False)}  # fmt: skip
        case Channel.STORE, _:
            return {"event_id": f"{external_id}-{kind}", "receipt_no": external_id,
                    "type": {"paid": "payment", "cancelled": "void", "refund": "refund"}[kind],
                    "at": f"{local:%Y-%m-%d %H:%M:%S}", "note": reason,
                    **({"amount": f"{yuan:.2f}"} if kind == "refund" else {})}  # fmt: skip
        case Channel.GROUP_BUY, _:
            notify = {"paid": "PAY_SUCCESS", "cancelled": "USER_CANCEL",
                      "refund": "AFTER_SALE_APPLY"}[kind]  # fmt: skip
            return {"notify_id": f"{external_id}-{kind}", "sub_order_sn": external_id,
                    "notify_type": notify, "notify_time": int(at.timestamp() * 1000),
                    "reason": reason,
                    **({"refund_amount": amount_cents} if kind == "refund" else {})}  # fmt: skip
    raise ValueError(f"no platform for {plan.channel}")


class Platforms:
    """Every channel's platform, sending signed through one client (no account: a signature)."""

    def __init__(
        self, server: str, seed: int, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.seed = seed
        self.client = FreshlineClient(server, transport=transport, timeout=30.0)

    async def place(self, plan: OrderPlan, promised_at: datetime) -> ChannelOrderReceipt:
        payload = order_payload(self.seed, plan, promised_at)
        return await self._through_outages(
            lambda: self.client.channels.send_order(
                plan.channel, payload, demo_channel_secret(plan.channel)
            )
        )

    async def tell(
        self, plan: OrderPlan, kind: str, at: datetime, reason: str = "", amount_cents: int = 0
    ) -> ChannelCallbackResult:
        payload = callback_payload(plan, kind, at, reason, amount_cents)
        return await self._through_outages(
            lambda: self.client.channels.send_callback(
                plan.channel, payload, demo_channel_secret(plan.channel)
            )
        )

    async def _through_outages(self, send: Callable[[], Awaitable[T]]) -> T:
        waited = 0.0
        while True:
            try:
                return await send()
            except (ConnectionFailed, ServerError) as exc:
                if waited >= OUTAGE_PATIENCE_S or getattr(exc, "status", 503) == 500:
                    raise
                log.info("platform: backend unavailable (%s); retrying", exc)
                await asyncio.sleep(2.0)
                waited += 2.0

    async def aclose(self) -> None:
        await self.client.aclose()
