"""`client.orders`: orders, their lifecycle, their parcels and track, returns and claims."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from backend_client._transport import Resource, query_params
from backend_client.models import (
    AssignRequest,
    BatchTransition,
    ClaimCreate,
    ClaimItem,
    ComplaintCategory,
    ComplaintCreate,
    Delivery,
    Event,
    ExchangeCreate,
    Order,
    OrderAction,
    OrderCreate,
    OrderPage,
    OrderState,
    ReturnCreate,
    ReturnRequest,
    RiderSuggestion,
    Track,
    TransitionBatch,
    TransitionRequest,
    TransitionResults,
)


class Orders(Resource):
    """Orders: read, create, move through their lifecycle, assign, open returns and claims."""

    async def page(
        self,
        *,
        status: list[OrderState] | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
        rider_id: int | None = None,
        late: bool = False,
        q: str | None = None,
        updated_since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> OrderPage:
        """One page of the orders matching the filters, most urgent first; with `q` (a search:
        docs/api.md, "Search"), the best matches first, all on this one page."""
        params = query_params(
            status=[str(s) for s in status or []] or None,
            channel=channel,
            warehouse_id=warehouse_id,
            zone=zone,
            rider_id=rider_id,
            late="true" if late else None,
            q=q,
            updated_since=updated_since and updated_since.isoformat(),
            cursor=cursor,
            limit=limit,
        )
        return await self._transport.call("GET", "/orders", OrderPage, params=params)

    async def every(
        self,
        *,
        status: list[OrderState] | None = None,
        channel: str | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
        rider_id: int | None = None,
        late: bool = False,
        q: str | None = None,
        updated_since: datetime | None = None,
        limit: int = 100,
    ) -> AsyncIterator[Order]:
        """Every order matching the filters (as `page`'s), most urgent first, `limit` a page."""
        cursor = None
        while True:
            page = await self.page(
                status=status,
                channel=channel,
                warehouse_id=warehouse_id,
                zone=zone,
                rider_id=rider_id,
                late=late,
                q=q,
                updated_since=updated_since,
                cursor=cursor,
                limit=limit,
            )
            for order in page.items:
                yield order
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get(self, order_id: int) -> Order:
        return await self._transport.call("GET", f"/orders/{order_id}", Order)

    async def timeline(self, order_id: int) -> list[Event]:
        return await self._transport.call("GET", f"/orders/{order_id}/timeline", list[Event])

    async def actions(self, order_id: int) -> list[OrderAction]:
        """What the caller may do to the order now."""
        return await self._transport.call("GET", f"/orders/{order_id}/actions", list[OrderAction])

    async def create(self, order: OrderCreate, *, idempotency_key: str | None = None) -> Order:
        return await self._transport.call(
            "POST", "/orders", Order, json=order, idempotency_key=idempotency_key
        )

    async def transition(
        self,
        order_id: int,
        action: OrderAction | str,
        version: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """Move the order through its lifecycle, from the version you saw (409 if stale)."""
        request = TransitionRequest(action=OrderAction(action), version=version, reason=reason)
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/transitions",
            Order,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def transition_many(
        self, transitions: list[BatchTransition], *, idempotency_key: str | None = None
    ) -> TransitionResults:
        """Many transitions in one request, each applied or refused on its own."""
        return await self._transport.call(
            "POST",
            "/orders/transitions",
            TransitionResults,
            json=TransitionBatch(transitions=transitions),
            idempotency_key=idempotency_key,
        )

    async def assign(
        self,
        order_id: int,
        rider_id: int,
        version: int,
        *,
        reason: str | None = None,
        resume: bool = False,
        idempotency_key: str | None = None,
    ) -> Order:
        """Give the order to a rider; `resume`: an order in EXCEPTION goes on with them at once
        (and its exception alert is resolved)."""
        request = AssignRequest(rider_id=rider_id, version=version, reason=reason, resume=resume)
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/assign",
            Order,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def rider_suggestions(
        self, order_id: int, *, limit: int = 5, what_if: bool = False
    ) -> list[RiderSuggestion]:
        """The riders who could take the order, best first; with `what_if`, what taking it
        does to each one's route (its ETA there, the orders it would make late)."""
        params: dict[str, int | str] = {"limit": limit}
        if what_if:
            params["what_if"] = "true"
        return await self._transport.call(
            "GET",
            f"/orders/{order_id}/rider-suggestions",
            list[RiderSuggestion],
            params=params,
        )

    async def deliveries(self, order_id: int) -> list[Delivery]:
        """The parcels the order travels in (merged with others, or split)."""
        return await self._transport.call("GET", f"/orders/{order_id}/deliveries", list[Delivery])

    async def track(self, order_id: int) -> Track:
        """The order's path from pick-up to sign-off (or now), with its timeline in that time."""
        return await self._transport.call("GET", f"/orders/{order_id}/track", Track)

    async def open_return(
        self, order_id: int, version: int, reason: str, *, idempotency_key: str | None = None
    ) -> ReturnRequest:
        """The customer refused the goods: the order waits for a decision (`client.requests`)."""
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/returns",
            ReturnRequest,
            json=ReturnCreate(version=version, reason=reason),
            idempotency_key=idempotency_key,
        )

    async def open_complaint(
        self,
        order_id: int,
        category: ComplaintCategory,
        reason: str,
        *,
        amount_cents: int = 0,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """The customer complains: a complaint waits for support (`client.requests.resolve`);
        the order's state does not change."""
        body = ComplaintCreate(category=category, reason=reason, amount_cents=amount_cents)
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/complaints",
            ReturnRequest,
            json=body,
            idempotency_key=idempotency_key,
        )

    async def open_claim(
        self,
        order_id: int,
        version: int,
        reason: str,
        items: list[ClaimItem],
        amount_cents: int,
        *,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """Damaged goods: which items, and how much to pay back; waits for a decision."""
        body = ClaimCreate(version=version, reason=reason, items=items, amount_cents=amount_cents)
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/claims",
            ReturnRequest,
            json=body,
            idempotency_key=idempotency_key,
        )

    async def open_exchange(
        self,
        order_id: int,
        version: int,
        reason: str,
        items: list[ClaimItem],
        *,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """After sale (signed, within the backend's `after_sale_hours`): these items replaced;
        waits for a decision like a return."""
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/exchanges",
            ReturnRequest,
            json=ExchangeCreate(version=version, reason=reason, items=items),
            idempotency_key=idempotency_key,
        )
