"""Offline stores: the till (POS) rings up a home delivery and sends the receipt.

A receipt: `store_code` (our warehouse), `receipt_no`, `till`, `cashier`, `sold_at` and
`deliver_by` as Beijing `YYYY-MM-DD HH:MM:SS`, `member` (`name`, `mobile`), `delivery`
(`address`, `geo` as "latitude,longitude" in one string), `items` (`plu` = our SKU, `qty` and
`amount` as decimal strings, amounts in yuan), `total` (yuan, a string), `paid` (at the till, or
later on delivery). Till events: `event_id`, `receipt_no`, `type` (`payment`, `void` = the
customer cancelled at the counter, `refund`, `z_report` = the day's closing totals), `at`,
`amount` (yuan), `note`; a Z report adds `business_date`, `receipts`, `takings`.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Literal

from pydantic import BaseModel, ConfigDict

from backend.channels.adapter import (
    CallbackFields,
    CallbackKind,
    ChannelAdapter,
    FieldProblem,
    Mapped,
    cents_of_yuan,
    china_time,
    coordinate,
)
from backend_client.models import Channel

TILL_TIME = "%Y-%m-%d %H:%M:%S"


class Member(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    mobile: str


class DeliveryAddress(BaseModel):
    model_config = ConfigDict(extra="ignore")

    address: str
    geo: str


class ReceiptLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plu: str
    qty: Decimal
    amount: Decimal


class Receipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    store_code: str
    receipt_no: str
    till: str = ""
    cashier: str = ""
    sold_at: str
    deliver_by: str | None = None
    member: Member
    delivery: DeliveryAddress
    items: list[ReceiptLine]
    total: Decimal
    paid: bool
    note: str = ""


class TillEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: str
    receipt_no: str | None = None
    type: Literal["payment", "void", "refund", "z_report"]
    at: str
    amount: Decimal | None = None
    note: str | None = None
    business_date: str | None = None
    receipts: int | None = None
    takings: Decimal | None = None


class StoreAdapter(ChannelAdapter):
    channel = Channel.STORE
    order_payload = Receipt
    callback_payload = TillEvent
    fields = {
        "external_id": "receipt_no",
        "warehouse_id": "store_code",
        "customer.name": "member.name",
        "customer.phone": "member.mobile",
        "customer.address": "delivery.address",
        "customer.lat": "delivery.geo",
        "customer.lng": "delivery.geo",
        "items": "items",
        "items[].sku": "plu",
        "items[].quantity": "qty",
        "promised_at": "deliver_by",
        "note": "note",
    }

    callbacks = CallbackFields(
        kinds={
            "payment": CallbackKind.PAID,
            "void": CallbackKind.CANCELLED,
            "refund": CallbackKind.REFUND_REQUESTED,
            "z_report": CallbackKind.STATEMENT,
        },
        kind="type",
        callback_id="event_id",
        occurred_at="at",
        read_time=partial(china_time, fmt=TILL_TIME),
        external_id="receipt_no",
        amount="amount",
        reason="note",
        statement="a Z report",
        day="business_date",
        orders="receipts",
        takings="takings",
        yuan=True,
    )

    def to_order(self, payload: Receipt) -> Mapped:
        lat, _, lng = payload.delivery.geo.partition(",")
        items = []
        for index, line in enumerate(payload.items):
            if line.qty != line.qty.to_integral_value():
                # Loose goods weighed at the till are sold in whole catalogue units here.
                raise FieldProblem(
                    f"items[{index}].quantity", f"items[{index}].qty", "not a whole number"
                )
            items.append({"sku": line.plu, "quantity": int(line.qty)})
        promised = None
        if payload.deliver_by:
            promised = china_time(
                payload.deliver_by, TILL_TIME, our="promised_at", theirs="deliver_by"
            )
        return Mapped(
            fields={
                "external_id": payload.receipt_no,
                "warehouse_id": payload.store_code,
                "customer": {
                    "name": payload.member.name,
                    "phone": payload.member.mobile,
                    "address": payload.delivery.address,
                    "lat": coordinate(lat, our="customer.lat", theirs="delivery.geo"),
                    "lng": coordinate(lng, our="customer.lng", theirs="delivery.geo"),
                },
                "items": items,
                "promised_at": promised,
                "note": payload.note or None,
            },
            paid=payload.paid,
            reported_amount_cents=cents_of_yuan(payload.total, our="amount", theirs="total"),
        )


ADAPTER = StoreAdapter()
