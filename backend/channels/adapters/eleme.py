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
    CallbackKind,
    ChannelAdapter,
    ChannelCallback,
    FieldProblem,
    Mapped,
    Statement,
    business_day,
    cents_of_yuan,
    china_time,
    coordinate,
    unix_time,
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


KINDS = {
    11: CallbackKind.PAID,
    14: CallbackKind.CANCELLED,
    30: CallbackKind.REFUND_REQUESTED,
    90: CallbackKind.STATEMENT,
}


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

    def to_callback(self, payload: ElemeNotice) -> ChannelCallback:
        kind = KINDS[payload.type]
        message = payload.message
        at = unix_time(payload.timestamp / 1000, our="occurred_at", theirs="timestamp")
        if kind == CallbackKind.STATEMENT:
            if message.billDate is None or message.orderCount is None:
                raise FieldProblem(
                    "statement", "message.billDate", "a bill needs billDate and orderCount"
                )
            return ChannelCallback(
                payload.requestId,
                kind,
                at,
                statement=Statement(
                    business_day(message.billDate, our="statement.day", theirs="message.billDate"),
                    message.orderCount,
                    cents_of_yuan(message.income or 0, our="statement.amount", theirs="income"),
                ),
            )
        if message.orderId is None:
            raise FieldProblem("external_id", "message.orderId", "Field required")
        refund = None
        if message.refundAmount is not None:
            refund = cents_of_yuan(message.refundAmount, our="amount", theirs="refundAmount")
        return ChannelCallback(
            payload.requestId,
            kind,
            at,
            external_id=message.orderId,
            amount_cents=refund,
            reason=message.reason,
        )


ADAPTER = ElemeAdapter()
