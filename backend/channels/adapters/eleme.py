"""Ele.me (delivery platform): every push is an envelope whose `message` is a JSON string.

The envelope: `requestId` (unique per push, retries keep it), `type` (what happened), `appId`,
`shopId`, `timestamp` (milliseconds) and `message`. An order (type 10, "order valid": paid; or
type 1, "order placed": not paid yet) carries `id`, `openId` (our warehouse code as the shop's
own code), `consignee`, `phoneList`, `address`, `deliveryGeo` ("longitude,latitude" as one
string), `groups` (baskets, each with `items` whose `extendCode` is our SKU), `totalPrice` in
yuan, `createdAt` and `deliverTime` as Beijing times without a zone, `description` (the
customer's note). Callbacks: type 11 paid, 14 cancelled by the customer, 30 refund applied for
(`refundAmount` in yuan), 90 the daily bill (`billDate`, `orderCount`, `income` in yuan).
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
    china_time,
    coordinate,
    unix_millis,
)
from backend_client.models import Channel

LOCAL = "%Y-%m-%dT%H:%M:%S"


class ElemeItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | None = None
    name: str = ""
    extendCode: str
    quantity: int
    price: Decimal
    total: Decimal | None = None


class ElemeGroup(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = ""
    type: str = "normal"
    items: list[ElemeItem]


class ElemeOrderMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    openId: str
    consignee: str
    phoneList: list[str]
    address: str
    deliveryGeo: str
    groups: list[ElemeGroup]
    totalPrice: Decimal
    originalPrice: Decimal | None = None
    createdAt: str
    deliverTime: str | None = None
    description: str = ""


class ElemeOrderPush(BaseModel):
    model_config = ConfigDict(extra="ignore")

    requestId: str
    type: Literal[1, 10]
    appId: int | None = None
    shopId: int | None = None
    timestamp: int
    message: Json[ElemeOrderMessage]


class ElemeNoticeMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    orderId: str | None = None
    reason: str | None = None
    refundAmount: Decimal | None = None
    billDate: str | None = None
    orderCount: int | None = None
    income: Decimal | None = None


class ElemeNotice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    requestId: str
    type: Literal[11, 14, 30, 90]
    timestamp: int
    message: Json[ElemeNoticeMessage]


class ElemeAdapter(ChannelAdapter):
    channel = Channel.ELEME
    order_payload = ElemeOrderPush
    callback_payload = ElemeNotice
    fields = {
        "external_id": "message.id",
        "warehouse_id": "message.openId",
        "customer.name": "message.consignee",
        "customer.phone": "message.phoneList[0]",
        "customer.address": "message.address",
        "customer.lat": "message.deliveryGeo",
        "customer.lng": "message.deliveryGeo",
        "items": "message.groups",
        "items[].sku": "extendCode",
        "items[].quantity": "quantity",
        "promised_at": "message.deliverTime",
        "note": "message.description",
    }

    callbacks = CallbackFields(
        kinds={
            11: CallbackKind.PAID,
            14: CallbackKind.CANCELLED,
            30: CallbackKind.REFUND_REQUESTED,
            90: CallbackKind.STATEMENT,
        },
        kind="type",
        callback_id="requestId",
        occurred_at="timestamp",
        read_time=unix_millis,
        external_id="message.orderId",
        amount="message.refundAmount",
        reason="message.reason",
        statement="a bill",
        day="message.billDate",
        orders="message.orderCount",
        takings="message.income",
        yuan=True,
    )

    def to_order(self, payload: ElemeOrderPush) -> Mapped:
        message = payload.message
        if not message.phoneList:
            raise FieldProblem("customer.phone", "message.phoneList", "no phone number")
        lng, _, lat = message.deliveryGeo.partition(",")
        items, paths = [], []
        for g, group in enumerate(message.groups):
            for i, item in enumerate(group.items):
                items.append({"sku": item.extendCode, "quantity": item.quantity})
                paths.append(f"message.groups[{g}].items[{i}]")
        promised = None
        if message.deliverTime:
            promised = china_time(
                message.deliverTime, LOCAL, our="promised_at", theirs="message.deliverTime"
            )
        return Mapped(
            fields={
                "external_id": message.id,
                "warehouse_id": message.openId,
                "customer": {
                    "name": message.consignee,
                    "phone": message.phoneList[0],
                    "address": message.address,
                    "lat": coordinate(lat, our="customer.lat", theirs="message.deliveryGeo"),
                    "lng": coordinate(lng, our="customer.lng", theirs="message.deliveryGeo"),
                },
                "items": items,
                "promised_at": promised,
                "note": message.description or None,
            },
            paid=payload.type == 10,
            reported_amount_cents=cents_of_yuan(
                message.totalPrice, our="amount", theirs="message.totalPrice"
            ),
            item_paths=paths,
        )


ADAPTER = ElemeAdapter()
