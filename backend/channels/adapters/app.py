"""Our own app's order service: camelCase JSON, amounts in cents, times in ISO 8601.

An order: `orderNo`, `userId`, `createdAt`, `expectedArrival`, `receiver` (`name`, `mobile`,
`address`, `location` with `lat` and `lng` as decimal strings), `lines` (`skuCode`, `qty`,
`unitPriceCents`), `payableCents`, `payStatus` (`UNPAID` or `PAID`), `remark`. A callback:
`eventId`, `orderNo`, `event` (`PAID`, `CANCELLED_BY_USER`, `REFUND_REQUESTED`,
`DAILY_TOTALS`), `occurredAt`, `amountCents`, `reason`; daily totals add `day`, `orderCount`.
The warehouse is ours to choose (the nearest).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from backend.channels.adapter import (
    CallbackFields,
    CallbackKind,
    ChannelAdapter,
    Mapped,
    aware_time,
    coordinate,
)
from backend_client.models import Channel


class AppLocation(BaseModel):
    lat: str
    lng: str


class AppReceiver(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    mobile: str
    address: str
    location: AppLocation


class AppLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    skuCode: str
    qty: int
    unitPriceCents: int


class AppOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    orderNo: str
    userId: int | None = None
    createdAt: AwareDatetime
    expectedArrival: AwareDatetime | None = None
    receiver: AppReceiver
    lines: list[AppLine]
    payableCents: int
    payStatus: Literal["UNPAID", "PAID"]
    remark: str = ""


class AppEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    eventId: str
    orderNo: str | None = None
    event: Literal["PAID", "CANCELLED_BY_USER", "REFUND_REQUESTED", "DAILY_TOTALS"]
    occurredAt: AwareDatetime
    amountCents: int | None = None
    reason: str | None = None
    day: str | None = None
    orderCount: int | None = None


class AppAdapter(ChannelAdapter):
    channel = Channel.APP
    order_payload = AppOrder
    callback_payload = AppEvent
    fields = {
        "external_id": "orderNo",
        "customer.name": "receiver.name",
        "customer.phone": "receiver.mobile",
        "customer.address": "receiver.address",
        "customer.lat": "receiver.location.lat",
        "customer.lng": "receiver.location.lng",
        "items": "lines",
        "items[].sku": "skuCode",
        "items[].quantity": "qty",
        "promised_at": "expectedArrival",
        "note": "remark",
    }

    callbacks = CallbackFields(
        kinds={
            "PAID": CallbackKind.PAID,
            "CANCELLED_BY_USER": CallbackKind.CANCELLED,
            "REFUND_REQUESTED": CallbackKind.REFUND_REQUESTED,
            "DAILY_TOTALS": CallbackKind.STATEMENT,
        },
        kind="event",
        callback_id="eventId",
        occurred_at="occurredAt",
        read_time=aware_time,
        external_id="orderNo",
        amount="amountCents",
        reason="reason",
        statement="a DAILY_TOTALS event",
        day="day",
        orders="orderCount",
        takings="amountCents",
    )

    def to_order(self, payload: AppOrder) -> Mapped:
        receiver = payload.receiver
        return Mapped(
            fields={
                "external_id": payload.orderNo,
                "customer": {
                    "name": receiver.name,
                    "phone": receiver.mobile,
                    "address": receiver.address,
                    "lat": coordinate(
                        receiver.location.lat, our="customer.lat", theirs="receiver.location.lat"
                    ),
                    "lng": coordinate(
                        receiver.location.lng, our="customer.lng", theirs="receiver.location.lng"
                    ),
                },
                "items": [{"sku": line.skuCode, "quantity": line.qty} for line in payload.lines],
                "promised_at": payload.expectedArrival,
                "note": payload.remark or None,
            },
            paid=payload.payStatus == "PAID",
            reported_amount_cents=payload.payableCents,
        )


ADAPTER = AppAdapter()
