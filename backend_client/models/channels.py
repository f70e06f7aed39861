"""Sales channels (README "Sales channels"): what the gateway knows, receipts, callbacks,
rejections and reconciliation."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
)

from backend_client.models.common import Channel, Response
from backend_client.models.orders import Order


class ChannelPayload(Response):
    """A channel's own JSON, as its platform sends it (field names, ids, units of its own);
    each channel's shape is in README and its adapter in `backend/channels/adapters/`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "orderNo": "APP-20261122-0001",
                    "userId": 10086,
                    "createdAt": "2026-11-22T03:30:00Z",
                    "expectedArrival": "2026-11-22T04:15:00Z",
                    "receiver": {
                        "name": "Wang Fang",
                        "mobile": "13800138000",
                        "address": "Sanlitun Rd 19, Chaoyang",
                        "location": {"lat": "39.936100", "lng": "116.455100"},
                    },
                    "lines": [{"skuCode": "VEG-BOKCHOY", "qty": 2, "unitPriceCents": 490}],
                    "payableCents": 980,
                    "payStatus": "PAID",
                }
            ]
        },
    )


class ChannelInfo(Response):
    """A channel the gateway knows: whether it is taken here, how its fields map to ours,
    and an order and a callback in its own words."""

    channel: Channel
    taken: bool = Field(description="It has a secret here: its signed requests are taken.")
    rate_per_second: int
    fields: dict[str, str] = Field(description="Our field -> the channel's name for it.")
    example_order: ChannelPayload
    example_callback: ChannelPayload


class ChannelOrderReceipt(Response):
    """Answer to a channel's order: the order as we hold it (the same answer to every retry)."""

    channel: Channel
    external_id: str
    order: Order
    deliveries: list[int] = Field(description="Its parcels: one, or several when split.")
    reported_amount_cents: int = Field(description="What the channel says the customer pays.")
    replayed: bool = Field(default=False, description="A retry: this is the first answer.")
    delivery_pin: str | None = Field(
        default=None,
        description="The PIN the customer tells the rider at the door (proof of delivery): "
        "for the channel to show its customer, never anyone else.",
    )


class CallbackOutcome(StrEnum):
    """What became of a channel's callback."""

    PENDING = "pending"
    """The order has not arrived yet: kept, and applied when it does."""
    APPLIED = "applied"
    IGNORED = "ignored"
    """Nothing to change (already so)."""
    REFUSED = "refused"
    """Too late for it (e.g. cancelled by the customer while already on the road): recorded
    on the order's timeline and in reconciliation for the desk."""
    RECORDED = "recorded"
    """Kept for the desk and reconciliation (a refund request, a daily statement)."""


class ChannelCallbackResult(Response):
    """Answer to a channel's status callback."""

    channel: Channel
    callback_id: str
    external_id: str | None
    kind: Literal["paid", "cancelled", "refund_requested", "statement"]
    outcome: CallbackOutcome
    detail: str
    order: Order | None = None
    replayed: bool = False


class ChannelRejection(Response):
    """A payload refused at the gateway, as the operator sees it (never its content)."""

    id: int
    channel: str
    kind: Literal["order", "callback"]
    received_at: datetime
    external_id: str | None
    field: str | None = Field(description="Our name for the field at fault.")
    channel_field: str | None = Field(description="The channel's name for it.")
    problem: str


class ChannelTotals(Response):
    """A count of orders and their amount."""

    orders: int
    amount_cents: int


class ReconciliationDifference(Response):
    """One thing the channel and we see differently on that day."""

    kind: Literal[
        "amount",
        "cancelled_by_channel",
        "cancelled_here",
        "refund_requested",
        "paid_after_cancel",
        "callback_without_order",
        "not_reported",
        "statement_orders",
        "statement_amount",
    ]
    external_id: str | None
    order_id: int | None
    ours: int | None = Field(description="Our figure (cents, or a count).")
    theirs: int | None = Field(description="The channel's figure.")
    detail: str


class ChannelReconciliation(Response):
    """One channel's business day: what we hold against what the channel reported."""

    channel: Channel
    day: date
    held: ChannelTotals = Field(description="Orders we hold from that day, at our prices.")
    held_cancelled: ChannelTotals
    reported: ChannelTotals = Field(description="Orders the channel sent, at its amounts.")
    reported_cancelled: int = Field(description="Cancellations the channel called back.")
    refunds_requested: ChannelTotals
    statement: ChannelTotals | None = Field(description="The channel's own daily totals.")
    differences: list[ReconciliationDifference]
