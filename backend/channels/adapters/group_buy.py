"""Community group-buy: neighbours buy together through a leader, who hands the goods out at a
pick-up point; every buyer's order to one leader travels as one delivery.

A sub-order: `sub_order_sn`, `activity_id`, `created_time` and `pickup_by` in Unix
milliseconds, `leader` (`leader_id`, `leader_name`, `leader_mobile`, `pickup_address`, `lng`
and `lat` as strings), `buyer` (`nickname`, `mobile`), `goods` (`goods_sku` = our SKU, `num`,
`group_price` in cents), `pay_amount` in cents, `order_status` (0 unpaid, 1 paid), `remark`.
Notifications: `notify_id`, `sub_order_sn`, `notify_type` (`PAY_SUCCESS`, `USER_CANCEL`,
`AFTER_SALE_APPLY` with `refund_amount` in cents, `DAILY_SETTLE` with `settle_date`,
`order_num`, `settle_amount`), `notify_time` (ms), `reason`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from backend.channels.adapter import (
    CallbackFields,
    CallbackKind,
    ChannelAdapter,
    Mapped,
    coordinate,
    unix_millis,
    unix_time,
)
from backend_client.models import Channel


class Leader(BaseModel):
    model_config = ConfigDict(extra="ignore")

    leader_id: str
    leader_name: str = ""
    leader_mobile: str = ""
    pickup_address: str
    lng: str
    lat: str


class Buyer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    nickname: str
    mobile: str


class GroupGoods(BaseModel):
    model_config = ConfigDict(extra="ignore")

    goods_sku: str
    num: int
    group_price: int


class SubOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sub_order_sn: str
    activity_id: str = ""
    created_time: int
    pickup_by: int | None = None
    leader: Leader
    buyer: Buyer
    goods: list[GroupGoods]
    pay_amount: int
    order_status: Literal[0, 1]
    remark: str = ""


class GroupNotify(BaseModel):
    model_config = ConfigDict(extra="ignore")

    notify_id: str
    sub_order_sn: str | None = None
    notify_type: Literal["PAY_SUCCESS", "USER_CANCEL", "AFTER_SALE_APPLY", "DAILY_SETTLE"]
    notify_time: int
    refund_amount: int | None = None
    reason: str | None = None
    settle_date: str | None = None
    order_num: int | None = None
    settle_amount: int | None = None


class GroupBuyAdapter(ChannelAdapter):
    channel = Channel.GROUP_BUY
    order_payload = SubOrder
    callback_payload = GroupNotify
    fields = {
        "external_id": "sub_order_sn",
        "customer.name": "buyer.nickname",
        "customer.phone": "buyer.mobile",
        "customer.address": "leader.pickup_address",
        "customer.lat": "leader.lat",
        "customer.lng": "leader.lng",
        "items": "goods",
        "items[].sku": "goods_sku",
        "items[].quantity": "num",
        "promised_at": "pickup_by",
        "note": "remark",
    }

    callbacks = CallbackFields(
        kinds={
            "PAY_SUCCESS": CallbackKind.PAID,
            "USER_CANCEL": CallbackKind.CANCELLED,
            "AFTER_SALE_APPLY": CallbackKind.REFUND_REQUESTED,
            "DAILY_SETTLE": CallbackKind.STATEMENT,
        },
        kind="notify_type",
        callback_id="notify_id",
        occurred_at="notify_time",
        read_time=unix_millis,
        external_id="sub_order_sn",
        amount="refund_amount",
        reason="reason",
        statement="a settlement",
        day="settle_date",
        orders="order_num",
        takings="settle_amount",
    )

    def to_order(self, payload: SubOrder) -> Mapped:
        leader = payload.leader
        promised = None
        if payload.pickup_by:
            promised = unix_time(payload.pickup_by / 1000, our="promised_at", theirs="pickup_by")
        return Mapped(
            fields={
                "external_id": payload.sub_order_sn,
                "customer": {
                    "name": payload.buyer.nickname,
                    "phone": payload.buyer.mobile,
                    # The goods go to the leader's pick-up point, not to the buyer's door.
                    "address": leader.pickup_address,
                    "lat": coordinate(leader.lat, our="customer.lat", theirs="leader.lat"),
                    "lng": coordinate(leader.lng, our="customer.lng", theirs="leader.lng"),
                },
                "items": [{"sku": g.goods_sku, "quantity": g.num} for g in payload.goods],
                "promised_at": promised,
                "note": payload.remark or None,
            },
            paid=payload.order_status == 1,
            reported_amount_cents=payload.pay_amount,
            pickup_point=leader.leader_id,
        )


ADAPTER = GroupBuyAdapter()
