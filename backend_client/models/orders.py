"""Orders, their lifecycle requests, the event log's rows, and the parcels (deliveries)
they travel in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StrictBool,
)

from backend_client.models.common import (
    ByValue,
    Channel,
    Code,
    DbId,
    Latitude,
    Longitude,
    Moment,
    Name,
    OrderAction,
    OrderState,
    Phone,
    Reason,
    Request,
    Response,
    Version,
    text,
)


class CustomerIn(Request):
    """The customer as the channel knows them; matched to an existing customer by phone."""

    name: Name
    phone: Phone
    address: Annotated[str, text(300)]
    lat: Latitude
    lng: Longitude


class OrderItemIn(Request):
    sku: Code
    quantity: Annotated[int, Field(ge=1, le=1000)]


class OrderCreate(Request):
    """A new order from a sales channel. Price, weight and cold chain come from the catalogue."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "MT-20261122-0001",
                    "customer": {
                        "name": "Wang Fang",
                        "phone": "13800138000",
                        "address": "Sanlitun Rd 19, Chaoyang",
                        "lat": 39.9361,
                        "lng": 116.4551,
                    },
                    "items": [{"sku": "VEG-BOKCHOY", "quantity": 2}],
                    "promised_at": "2026-11-22T11:30:00Z",
                }
            ]
        },
    )

    external_id: Code = Field(description="The channel's own order id; unique per channel.")
    channel: Annotated[Channel, ByValue] | None = Field(
        default=None, description="Taken from a channel account; admins must give it."
    )
    customer: CustomerIn
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=50)]
    warehouse_id: Code | None = Field(
        default=None, description="Serving warehouse; the nearest one when omitted."
    )
    promised_at: Moment | None = Field(
        default=None, description="Promised delivery time; default is now + 45 minutes."
    )
    note: Annotated[str, text(500, min_length=0)] | None = None


class OrderItem(Response):
    sku: str
    name: str
    quantity: int
    unit: str
    weight_g: int
    cold_chain: bool
    unit_price_cents: int


class CustomerOut(Response):
    id: int
    name: str
    phone: str = Field(
        description="Whole for accounts with `phones:read`, else masked: `138****7474` "
        "(`backend_client.phones`)."
    )


class CustomerErasure(Response):
    """What `DELETE /customers/{id}` did (the same answer again for a customer erased before):
    their name, phone and address replaced by a pseudonym wherever they were kept."""

    customer_id: int
    erased_at: AwareDatetime
    erased_by: str = Field(description="The account that erased the customer.")
    orders: list[int] = Field(
        description="The customer's orders: kept, with the pseudonym in place of the customer."
    )


class EtaReason(StrEnum):
    """Why an order has no ETA."""

    NOT_DISPATCHED = "not_dispatched"
    """Not out for delivery yet."""
    NO_FIX = "no_fix"
    """Out for delivery, but its rider has sent no fix since taking it."""
    EXCEPTION = "exception"
    """Stopped on the road (EXCEPTION): a new ETA comes with the rider who resumes it."""
    DELIVERY_OVER = "delivery_over"
    """Signed, cancelled, or coming back (returns, claims): nothing is on its way."""


class RiderFix(Response):
    """Where a rider was last seen."""

    lat: float
    lng: float
    at: datetime


class OrderRider(Response):
    """The rider carrying an order out for delivery."""

    id: int
    name: str
    phone: str = Field(
        description="Whole for accounts with `phones:read` (and the rider themselves), else "
        "masked: `138****7474`."
    )
    last_fix: RiderFix | None = Field(description="Null before the rider's first fix.")


class Order(Response):
    """An order as every client sees it."""

    id: int
    channel: Channel
    external_id: str
    status: OrderState
    version: int
    customer: CustomerOut
    address: str
    lat: float
    lng: float
    zone: str
    warehouse_id: str
    rider_id: int | None
    items: list[OrderItem]
    weight_g: int
    cold_chain: bool
    amount_cents: int
    note: str | None
    promised_at: datetime
    late: bool = Field(description="Still open and past its promised time.")
    created_at: datetime
    paid_at: datetime | None
    picking_at: datetime | None
    out_of_stock_at: datetime | None
    delivering_at: datetime | None
    signed_at: datetime | None
    exception_at: datetime | None
    returning_at: datetime | None
    returned_at: datetime | None
    claiming_at: datetime | None
    claim_settled_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime
    eta: datetime | None = Field(
        default=None,
        description="When its rider should reach the customer (the source of `order.eta` "
        "events); null while DELIVERING only until the rider's first fix.",
    )
    eta_reason: EtaReason | None = Field(
        default=None, description="Why `eta` is null; null when there is an ETA."
    )
    late_risk: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="The chance it is delivered after its promise, with `eta` (the learned "
        "model's delay risk; 0 or 1 from the straight-line estimate); null without an `eta`.",
    )
    rider: OrderRider | None = Field(
        default=None, description="While DELIVERING: the rider carrying it; else null."
    )
    tracking_url: str | None = Field(
        default=None,
        description="The customer's tracking link (docs/tracking.md): in an order's detail and "
        "the answers to creating it, for accounts with `tracking:read`; null elsewhere.",
    )


class OrderPage(Response):
    """One page of orders, most urgent first; pass `next_cursor` as `cursor` for the next."""

    items: list[Order]
    next_cursor: str | None


class TransitionRequest(Request):
    """Move an order through its lifecycle."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"action": "start_picking", "version": 2}]},
    )

    action: Annotated[OrderAction, ByValue]
    version: Version
    reason: Reason | None = Field(
        default=None, description="Required for cancel, exceptions, returns, claims, shortages."
    )


class BatchTransition(Request):
    """One transition of a batch: which order, the action, the version you saw."""

    order_id: DbId
    action: Annotated[OrderAction, ByValue]
    version: Version
    reason: Reason | None = Field(
        default=None, description="Required for cancel, exceptions, returns, claims, shortages."
    )


class TransitionBatch(Request):
    """Many transitions at once, for machines (a channel gateway, a WMS, the simulator)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "transitions": [
                        {"order_id": 8, "action": "start_picking", "version": 2},
                        {"order_id": 9, "action": "dispatch", "version": 5},
                    ]
                }
            ]
        },
    )

    transitions: list[BatchTransition] = Field(min_length=1, max_length=500)


class TransitionOutcome(Response):
    """What became of one transition of a batch: the order as it is now (`status` 200), or why
    it was refused (the status and `detail` the single call would have answered) and nothing of
    it changed."""

    order_id: int
    status: int
    order: Order | None = None
    detail: str | None = None
    current_version: int | None = Field(
        default=None, description="With a 409 for a stale version: the order's version now."
    )


class TransitionResults(Response):
    """The outcome of each transition of a batch, in the order sent."""

    results: list[TransitionOutcome]
    applied: int
    refused: int


class AssignRequest(Request):
    """Give an order to a rider (or move it to another one)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rider_id": 3, "version": 4}]})

    rider_id: DbId
    version: Version
    reason: Reason | None = None
    resume: StrictBool = Field(
        False,
        description="For an order in EXCEPTION: resume the delivery with the new rider in the "
        "same step, and resolve the order's exception alert. 409 for an order in any other "
        "state.",
    )


class Event(Response):
    """One row of the event log: the audit trail and the source of the live stream."""

    seq: int
    kind: str
    order_id: int | None
    rider_id: int | None
    warehouse_id: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str
    client_addr: str | None
    at: datetime
    reason: str | None
    payload: dict[str, Any]


class DeliveryPart(Response):
    """Units of one order line carried in a delivery."""

    order_id: int
    sku: str
    quantity: int
    weight_g: int
    cold_chain: bool


class Delivery(Response):
    """One parcel a rider carries: several orders when merged, part of one when split."""

    id: int
    status: Literal["open", "out", "done"] = Field(
        description="open: being put together; out: on the road; done: every order settled."
    )
    warehouse_id: str
    rider_id: int | None
    weight_g: int
    cold_chain: bool = Field(description="Needs a rider with a cold-chain box.")
    orders: list[int] = Field(description="Every order with goods in it (merged: several).")
    parts: list[DeliveryPart] = Field(description="What of each order it carries.")
    opened_at: datetime
