"""A customer's erasure (`DELETE /customers/{id}`): their name, phone and address replaced by
a pseudonym wherever they were kept, the numbers left as they were.

What changes: the customer's row (name, phone, address, and its blind index, which would
otherwise still find them by phone), each of their orders' copy (and its search tags), the
point they were delivered to, rounded to about a kilometre (the zone and the warehouse stay),
every event, alert and return or claim of those orders that quoted them, the stored answers
that carried them (channel receipts, `Idempotency-Key` replays), the merge key of their
parcels, and the fixes of the riders who carried their orders near their door (blurred to about
100 m: the order's track would still lead there). What stays: every count, time, amount,
state and actor, so the KPIs and the audit trail read the same; an event (`customer.erased`)
records who erased whom, and when.

A customer with an order still open is not erased (409): the rider needs the address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.models import AlertRow
from backend.auth.principal import Principal
from backend.crypto.cipher import PREFIX, active
from backend.dispatch.models import DeliveryItemRow, DeliveryRow
from backend.errors import Conflict, Forbidden, NotFound
from backend.orders.lifecycle import FINAL_STATES
from backend.orders.models import CustomerRow, OrderRow
from backend.proof.service import forget_content
from backend.realtime.feed import EventFeed
from backend.realtime.models import EventRow
from backend.realtime.outbox import append_event
from backend.returns.models import ReturnRequestRow
from backend.riders.models import RiderPositionRow
from backend.sql import Query, sql_of
from backend_client.models import CustomerErasure, Role

ERASED_PHONE = ""
ERASED_ADDRESS = "erased"
COORDINATE_DECIMALS = 2
"""Where an erased customer's goods went, kept to about a kilometre: their zone, not their door."""


def pseudonym(customer_id: int) -> str:
    return f"erased customer {customer_id}"


class Scrubber:
    """Replaces every personal string (name, phone, address as any channel spelled them) found
    in text or in JSON, longest first (a name inside an address goes with the address)."""

    def __init__(self, replacements: dict[str, str], exact: dict[str, str]) -> None:
        self.exact = exact
        """Values replaced only when a JSON string is all of it (a phone field: emptied)."""
        self.pairs = sorted(
            ((old, new) for old, new in replacements.items() if old and old != new),
            key=lambda pair: -len(pair[0]),
        )

    def text(self, value: str) -> str:
        for old, new in self.pairs:
            if old in value:
                value = value.replace(old, new)
        return value

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.exact[value] if value in self.exact else self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: ("" if k == "phone_tail" else self.json(v)) for k, v in value.items()}
        return value

    def found_in(self, value: str) -> bool:
        return any(old in value for old, _ in self.pairs)


@dataclass(frozen=True)
class Erased:
    """An erasure's answer, and what the events held in memory need rewritten like the log."""

    answer: CustomerErasure
    order_ids: frozenset[int] = frozenset()
    scrub: Scrubber | None = None
    proof_content: frozenset[str] = frozenset()
    """Photos and signatures of the customer's orders, to discard from the proof storage once
    the erasure is committed (a signature is theirs, a photo may show their door)."""

    def rewrite_held(self, feed: EventFeed) -> int:
        """The erased customer's events in the feed's memory rewritten as in the log."""
        scrub = self.scrub
        if scrub is None:
            return 0

        def change(event: dict[str, Any]) -> dict[str, Any] | None:
            if event.get("order_id") not in self.order_ids:
                return None
            reason = event.get("reason")
            return {
                **event,
                "payload": scrub.json(event["payload"]),
                "reason": scrub.text(reason) if reason else reason,
            }

        return feed.rewrite(change)


async def erase_customer(
    session: AsyncSession, customer_id: int, *, actor: Principal, now: datetime
) -> Erased:
    """Erase the customer (idempotent: erased already, the same answer and no change)."""
    customer = await session.get(CustomerRow, customer_id, with_for_update=True)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    orders = list(
        (
            await session.scalars(
                select(OrderRow).where(OrderRow.customer_id == customer_id).order_by(OrderRow.id)
            )
        ).all()
    )
    if actor.role == Role.CHANNEL:
        channels = {o.channel for o in orders}
        if channels != {actor.channel}:
            others = ", ".join(sorted(channels - {actor.channel})) or "no channel of yours"
            raise Forbidden(
                f"customer {customer_id} is not only {actor.channel}'s ({others}): "
                "an admin erases customers several channels share"
            )
    if customer.erased_at is not None:
        return Erased(_answer(customer, orders))
    still_open = [o.id for o in orders if o.status not in FINAL_STATES]
    if still_open:
        raise Conflict(
            f"customer {customer_id} has open orders ({', '.join(map(str, still_open[:10]))}): "
            "erase once they have ended"
        )

    await _blur_doorstep(session, orders, now)
    name = pseudonym(customer_id)
    phones = {customer.phone} | {o.customer_phone for o in orders}
    replacements = {customer.name: name, customer.address: ERASED_ADDRESS}
    for o in orders:
        replacements.update({o.customer_name: name, o.address: ERASED_ADDRESS})
    replacements.update(dict.fromkeys(phones, "(erased phone)"))
    scrub = Scrubber(replacements, exact=dict.fromkeys(phones, ERASED_PHONE))

    customer.name, customer.phone, customer.address = name, ERASED_PHONE, ERASED_ADDRESS
    customer.phone_index = None
    customer.lat, customer.lng = _coarse(customer.lat), _coarse(customer.lng)
    customer.erased_at, customer.erased_by = now, actor.username
    order_ids = [o.id for o in orders]
    for o in orders:
        o.customer_name, o.customer_phone, o.address = name, ERASED_PHONE, ERASED_ADDRESS
        o.search_tags = ""  # not NULL: the upkeep pass would tag the pseudonym
        o.lat, o.lng = _coarse(o.lat), _coarse(o.lng)
    proof_content: frozenset[str] = frozenset()
    if order_ids:
        await _scrub_order_trail(session, order_ids, scrub)
        proof_content = await forget_content(session, order_ids)
    if orders:
        first = min(o.created_at for o in orders)
        await _scrub_idempotency_answers(session, scrub, since=first)
    await append_event(
        session,
        kind="customer.erased",
        actor=actor,
        at=now,
        # The order ids let every instance's search memory read those orders again.
        payload={"customer_id": customer_id, "orders": len(order_ids), "order_ids": order_ids},
    )
    await session.flush()
    return Erased(_answer(customer, orders), frozenset(order_ids), scrub, proof_content)


def _answer(customer: CustomerRow, orders: list[OrderRow]) -> CustomerErasure:
    assert customer.erased_at is not None and customer.erased_by is not None
    return CustomerErasure(
        customer_id=customer.id,
        erased_at=customer.erased_at,
        erased_by=customer.erased_by,
        orders=[o.id for o in orders],
    )


def _coarse(degrees: float) -> float:
    return round(degrees, COORDINATE_DECIMALS)


DOORSTEP_DEGREES = 0.002
"""About 200 m: the fixes of a rider this near an erased customer's door while carrying their
order are blurred, or the order's track would still lead there."""
DOORSTEP_DECIMALS = 3
"""Blurred to about 100 m: the rider's track keeps its shape and its length, not the door."""


async def _blur_doorstep(session: AsyncSession, orders: list[OrderRow], now: datetime) -> None:
    for order in orders:
        if order.rider_id is None or order.delivering_at is None:
            continue
        ended = order.signed_at or order.exception_at or order.cancelled_at or now
        near = select(RiderPositionRow).where(
            RiderPositionRow.rider_id == order.rider_id,
            RiderPositionRow.at >= order.delivering_at,
            RiderPositionRow.at <= ended,
            RiderPositionRow.lat.between(
                order.lat - DOORSTEP_DEGREES, order.lat + DOORSTEP_DEGREES
            ),
            RiderPositionRow.lng.between(
                order.lng - DOORSTEP_DEGREES, order.lng + DOORSTEP_DEGREES
            ),
        )
        for fix in await session.scalars(near):
            fix.lat = round(fix.lat, DOORSTEP_DECIMALS)
            fix.lng = round(fix.lng, DOORSTEP_DECIMALS)


async def _scrub_order_trail(session: AsyncSession, order_ids: list[int], scrub: Scrubber) -> None:
    for event in await session.scalars(select(EventRow).where(EventRow.order_id.in_(order_ids))):
        payload = scrub.json(event.payload)
        if payload != event.payload:
            event.payload = payload
        if event.reason and scrub.found_in(event.reason):
            event.reason = scrub.text(event.reason)
    for alert in await session.scalars(select(AlertRow).where(AlertRow.order_id.in_(order_ids))):
        alert.title = scrub.text(alert.title)
        details = scrub.json(alert.details)
        if details != alert.details:
            alert.details = details
        for field in ("note", "resolution"):
            value = getattr(alert, field)
            if value and scrub.found_in(value):
                setattr(alert, field, scrub.text(value))
    requests = select(ReturnRequestRow).where(ReturnRequestRow.order_id.in_(order_ids))
    for request in await session.scalars(requests):
        request.reason = scrub.text(request.reason)
        if request.decision_reason:
            request.decision_reason = scrub.text(request.decision_reason)
    parcels = select(DeliveryItemRow.delivery_id).where(DeliveryItemRow.order_id.in_(order_ids))
    for parcel in await session.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(parcels))):
        if parcel.merge_key and parcel.merge_key.startswith("customer:"):
            parcel.merge_key = None
    await _scrub_answers(
        session,
        Query("SELECT id, CAST(response AS TEXT) FROM channel_orders WHERE order_id = :id"),
        "channel_orders",
        scrub,
        ({"id": order_id} for order_id in order_ids),
    )


async def _scrub_idempotency_answers(
    session: AsyncSession, scrub: Scrubber, *, since: datetime
) -> None:
    # Which stored answers quote the customer is known only by reading them (they are kept
    # encrypted): those given since the customer's first order, within the retention.
    await _scrub_answers(
        session,
        Query("SELECT id, CAST(response AS TEXT) FROM idempotency_keys WHERE created_at >= :since"),
        "idempotency_keys",
        scrub,
        [{"since": since}],
    )


async def _scrub_answers(
    session: AsyncSession,
    pick: Query,
    table: str,
    scrub: Scrubber,
    params: Iterable[dict[str, Any]],
) -> None:
    cipher = active()
    label = f"{table}.response"
    sql = sql_of(session)
    put = Query(f"UPDATE {table} SET response = :response WHERE id = :id")
    for p in params:
        for row_id, stored in await sql.all(pick, p):
            value = orjson.loads(stored) if stored else None
            if not isinstance(value, str):
                continue  # pruned (null), or an empty answer
            text = cipher.decrypt(value, label) if value.startswith(PREFIX) else value
            if not scrub.found_in(text):
                continue
            cleaned = orjson.dumps(scrub.json(orjson.loads(text))).decode()
            sealed = orjson.dumps(cipher.encrypt(cleaned, label)).decode()
            await sql.run(put, {"id": row_id, "response": sealed})
