"""Meituan (delivery platform): orders pushed by the platform to the store it routed them to.

Its order: `order_id` (a long number), `app_poi_code` (our warehouse code as the store's own
code on Meituan), `recipient_*`, coordinates as integers in millionths of a degree, `detail`
(the item list as a JSON string, `app_food_code` being our SKU), amounts in yuan, times in Unix
seconds (`delivery_time` 0: as soon as possible) and `status` (1 placed and unpaid, 2 paid and
pushed to the store, 4 confirmed, 8 completed, 9 cancelled). Its callbacks carry a `msg_id`
and a `notify_type`: `order_paid`, `order_cancel` (the customer cancelled), `refund_apply`
(the customer asks for a refund, `money` in yuan), `bill` (the day's statement).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Json

from backend.channels.adapter import (
    CallbackFields,
    CallbackKind,
    ChannelAdapter,
    FieldProblem,
    Mapped,
    cents_of_yuan,
    coordinate,
    unix_time,
)
from backend_client.models import Channel

PAID_STATUSES = frozenset({2, 4, 8})


class MeituanFood(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_food_code: str
    food_name: str = ""
    quantity: int
    price: Decimal
    unit: str = ""


class MeituanOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: int | str
    wm_order_id_view: str | None = None
    app_poi_code: str
    ctime: int
    delivery_time: int = 0
    recipient_name: str
    recipient_phone: str
    recipient_address: str
    latitude: int
    longitude: int
    detail: Json[list[MeituanFood]]
    total: Decimal
    original_price: Decimal | None = None
    shipping_fee: Decimal = Decimal(0)
    caution: str = ""
    status: Literal[1, 2, 4, 8, 9]


class MeituanNotice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    msg_id: str
    notify_type: Literal["order_paid", "order_cancel", "refund_apply", "bill"]
    timestamp: int
    order_id: int | str | None = None
    reason_code: int | None = None
    reason: str | None = None
    money: Decimal | None = None
    bill_date: str | None = None
    order_count: int | None = None
    settle_amount: Decimal | None = None


class MeituanAdapter(ChannelAdapter):
    channel = Channel.MEITUAN
    order_payload = MeituanOrder
    callback_payload = MeituanNotice
    fields = {
        "external_id": "order_id",
        "warehouse_id": "app_poi_code",
        "customer.name": "recipient_name",
        "customer.phone": "recipient_phone",
        "customer.address": "recipient_address",
        "customer.lat": "latitude",
        "customer.lng": "longitude",
        "items": "detail",
        "items[].sku": "app_food_code",
        "items[].quantity": "quantity",
        "promised_at": "delivery_time",
        "note": "caution",
    }

    callbacks = CallbackFields(
        kinds={
            "order_paid": CallbackKind.PAID,
            "order_cancel": CallbackKind.CANCELLED,
            "refund_apply": CallbackKind.REFUND_REQUESTED,
            "bill": CallbackKind.STATEMENT,
        },
        kind="notify_type",
        callback_id="msg_id",
        occurred_at="timestamp",
        read_time=unix_time,
        external_id="order_id",
        amount="money",
        reason="reason",
        statement="a bill",
        day="bill_date",
        orders="order_count",
        takings="settle_amount",
        yuan=True,
    )

    def to_order(self, payload: MeituanOrder) -> Mapped:
        if payload.status == 9:
            raise FieldProblem(None, "status", "the order is cancelled (status 9) already")
        promised = None
        if payload.delivery_time:
            promised = unix_time(payload.delivery_time, our="promised_at", theirs="delivery_time")
        return Mapped(
            fields={
                "external_id": str(payload.order_id),
                "warehouse_id": payload.app_poi_code,
                "customer": {
                    "name": payload.recipient_name,
                    "phone": payload.recipient_phone,
                    "address": payload.recipient_address,
                    "lat": coordinate(
                        payload.latitude, our="customer.lat", theirs="latitude", scale=1e6
                    ),
                    "lng": coordinate(
                        payload.longitude, our="customer.lng", theirs="longitude", scale=1e6
                    ),
                },
                "items": [
                    {"sku": food.app_food_code, "quantity": food.quantity}
                    for food in payload.detail
                ],
                "promised_at": promised,
                "note": payload.caution or None,
            },
            paid=payload.status in PAID_STATUSES,
            reported_amount_cents=cents_of_yuan(payload.total, our="amount", theirs="total"),
        )


ADAPTER = MeituanAdapter()
