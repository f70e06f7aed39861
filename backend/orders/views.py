"""Turning order and event rows into the wire models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from backend.auth.fields import FieldPolicy
from backend.auth.principal import Principal
from backend.auth.redaction import redact_event, sees_staff_details
from backend.orders.models import OrderRow
from backend.orders.records import OrderRecord
from backend.realtime.models import EventRow
from backend_client.models import Channel, CustomerOut, Event, Order, OrderItem, OrderState


def order_view(row: OrderRow | OrderRecord, now: datetime, fields: FieldPolicy) -> Order:
    """The wire model of an order as the account with `fields` may see it (the customer's
    phone whole or masked), built without validation (`model_construct`): every value
    comes from our own rows, and validating them again cost more than the rest of a read. The
    one view not built `from_attributes` like the others: with its computed customer and
    lateness that costs 1.5x as much (`bench/row_views.py`), and every write answers with it."""
    return Order.model_construct(
        id=row.id,
        channel=Channel(row.channel),
        external_id=row.external_id,
        status=OrderState(row.status),
        version=row.version,
        customer=CustomerOut.model_construct(
            id=row.customer_id,
            name=row.customer_name,
            phone=fields.customer_phone(row.customer_phone),
        ),
        address=row.address,
        lat=row.lat,
        lng=row.lng,
        zone=row.zone,
        warehouse_id=row.warehouse_id,
        rider_id=row.rider_id,
        items=[
            OrderItem.model_construct(
                sku=i.sku,
                name=i.name,
                quantity=i.quantity,
                unit=i.unit,
                weight_g=i.weight_g,
                cold_chain=i.cold_chain,
                unit_price_cents=i.unit_price_cents,
            )
            for i in row.items
        ],
        weight_g=row.weight_g,
        cold_chain=row.cold_chain,
        amount_cents=row.amount_cents,
        note=row.note,
        promised_at=row.promised_at,
        late=row.open_rank == 0 and row.promised_at < now,
        created_at=row.created_at,
        paid_at=row.paid_at,
        picking_at=row.picking_at,
        out_of_stock_at=row.out_of_stock_at,
        delivering_at=row.delivering_at,
        signed_at=row.signed_at,
        exception_at=row.exception_at,
        returning_at=row.returning_at,
        returned_at=row.returned_at,
        claiming_at=row.claiming_at,
        claim_settled_at=row.claim_settled_at,
        cancelled_at=row.cancelled_at,
        updated_at=row.updated_at,
    )


def event_view(row: EventRow) -> Event:
    """The event as the API shows it: the row's columns by name (see `user_view`)."""
    return Event.model_validate(row, from_attributes=True)


def event_views_for(rows: Iterable[EventRow], principal: Principal) -> list[Event]:
    """Events as `principal` may see them: staff in full, everyone else redacted."""
    events = [event_view(r) for r in rows]
    if sees_staff_details(principal):
        return events
    return [Event(**redact_event(e.model_dump())) for e in events]
