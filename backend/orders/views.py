"""Turning order and event rows into the wire models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.fields import FieldPolicy
from backend.auth.principal import Principal
from backend.auth.redaction import redact_event, sees_staff_details
from backend.orders.models import OrderRow
from backend.orders.on_road import OnRoad, eta_reason, on_road
from backend.orders.records import OrderRecord
from backend.realtime.models import EventRow
from backend_client.models import (
    Channel,
    CustomerOut,
    Event,
    Order,
    OrderItem,
    OrderRider,
    OrderState,
    RiderFix,
)


async def order_views(
    session: AsyncSession,
    rows: Sequence[OrderRow | OrderRecord],
    now: datetime,
    fields: FieldPolicy,
) -> list[Order]:
    """`order_view` of each of `rows`, their riders and ETAs read in one query."""
    road = await on_road(session, rows)
    return [order_view(row, now, fields, road.get(row.id)) for row in rows]


async def order_answer(
    session: AsyncSession, row: OrderRow | OrderRecord, now: datetime, fields: FieldPolicy
) -> Order:
    """`order_view` of one order, its rider and ETA read with it."""
    [order] = await order_views(session, [row], now, fields)
    return order


def order_view(
    row: OrderRow | OrderRecord, now: datetime, fields: FieldPolicy, road: OnRoad | None
) -> Order:
    """The wire model of an order as the account with `fields` may see it (the customer's
    phone and its rider's whole or masked), with `road` (`on_road`: None for an order not
    out for delivery), built without validation (`model_construct`): every value
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
        eta=road.eta_at if road is not None else None,
        eta_reason=eta_reason(row.status, road),
        late_risk=road.late_risk if road is not None and road.eta_at is not None else None,
        rider=_rider(road, fields) if road is not None else None,
    )


def _rider(road: OnRoad, fields: FieldPolicy) -> OrderRider:
    fix = None
    if road.last_lat is not None and road.last_lng is not None and road.last_fix_at is not None:
        fix = RiderFix.model_construct(lat=road.last_lat, lng=road.last_lng, at=road.last_fix_at)
    return OrderRider.model_construct(
        id=road.rider_id,
        name=road.rider_name,
        phone=fields.rider_phone(road.rider_id, road.rider_phone),
        last_fix=fix,
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
