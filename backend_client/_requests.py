"""`client.requests`: returns and claims waiting for a decision, and the decisions; complaints
waiting for a resolution, and the resolutions."""

from __future__ import annotations

from backend_client._transport import Resource, query_params
from backend_client.models import (
    ComplaintOutcome,
    ComplaintResolution,
    RequestDecision,
    RequestKind,
    RequestState,
    ReturnRequest,
)


class Requests(Resource):
    """Returns and claims (opened with `client.orders.open_return` / `open_claim`)."""

    async def all(
        self,
        *,
        state: RequestState | None = None,
        kind: RequestKind | None = None,
        order_id: int | None = None,
        limit: int = 200,
    ) -> list[ReturnRequest]:
        params = query_params(
            state=state and str(state), kind=kind and str(kind), order_id=order_id, limit=limit
        )
        return await self._transport.call("GET", "/requests", list[ReturnRequest], params=params)

    async def get(self, request_id: int) -> ReturnRequest:
        return await self._transport.call("GET", f"/requests/{request_id}", ReturnRequest)

    async def decide(
        self,
        request_id: int,
        version: int,
        *,
        approve: bool,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """Approve, or reject (a reason is required then)."""
        verdict = "approve" if approve else "reject"
        return await self._transport.call(
            "POST",
            f"/requests/{request_id}/{verdict}",
            ReturnRequest,
            json=RequestDecision(version=version, reason=reason),
            idempotency_key=idempotency_key,
        )

    async def reopen(
        self,
        request_id: int,
        version: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """Take a rejection back, within the backend's `decision_undo_seconds` of it: the
        request waits for a decision again. An approval cannot be taken back (409)."""
        return await self._transport.call(
            "POST",
            f"/requests/{request_id}/reopen",
            ReturnRequest,
            json=RequestDecision(version=version, reason=reason),
            idempotency_key=idempotency_key,
        )

    async def resolve(
        self,
        request_id: int,
        version: int,
        outcome: ComplaintOutcome,
        *,
        amount_cents: int = 0,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> ReturnRequest:
        """Resolve a complaint: an apology, or a voucher or refund of `amount_cents`."""
        body = ComplaintResolution(
            version=version, outcome=outcome, amount_cents=amount_cents, note=note
        )
        return await self._transport.call(
            "POST",
            f"/requests/{request_id}/resolve",
            ReturnRequest,
            json=body,
            idempotency_key=idempotency_key,
        )
