"""`client.takeovers`: handover proposals (docs/auto-handover.md) and the desk's decisions."""

from __future__ import annotations

from datetime import datetime

from backend_client._transport import Resource, query_params
from backend_client.models import (
    TakeoverChange,
    TakeoverDecision,
    TakeoverProposal,
    TakeoverState,
)


class Takeovers(Resource):
    """Proposed handovers of a rider's orders: list, read, accept (or change), dismiss, undo."""

    async def all(
        self,
        *,
        state: list[TakeoverState] | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[TakeoverProposal]:
        """Newest first."""
        params = query_params(
            state=[str(s) for s in state or []] or None,
            since=since and since.isoformat(),
            limit=limit,
        )
        return await self._transport.call(
            "GET", "/takeovers", list[TakeoverProposal], params=params
        )

    async def get(self, takeover_id: int) -> TakeoverProposal:
        return await self._transport.call("GET", f"/takeovers/{takeover_id}", TakeoverProposal)

    async def accept(
        self,
        takeover_id: int,
        version: int,
        *,
        changes: list[tuple[int, int]] | None = None,
        idempotency_key: str | None = None,
    ) -> TakeoverProposal:
        """Carry it out now; `changes`: (order id, rider id) for orders given to another
        rider than proposed."""
        body = TakeoverDecision(
            version=version,
            changes=[TakeoverChange(order_id=o, to_rider_id=r) for o, r in changes or []],
        )
        return await self._decide(takeover_id, "accept", body, idempotency_key)

    async def dismiss(
        self,
        takeover_id: int,
        version: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> TakeoverProposal:
        """The orders stay with their rider."""
        body = TakeoverDecision(version=version, reason=reason)
        return await self._decide(takeover_id, "dismiss", body, idempotency_key)

    async def undo(
        self,
        takeover_id: int,
        version: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> TakeoverProposal:
        """Every order it moved back to its rider, as it was."""
        body = TakeoverDecision(version=version, reason=reason)
        return await self._decide(takeover_id, "undo", body, idempotency_key)

    async def _decide(
        self, takeover_id: int, verb: str, body: TakeoverDecision, key: str | None
    ) -> TakeoverProposal:
        return await self._transport.call(
            "POST",
            f"/takeovers/{takeover_id}/{verb}",
            TakeoverProposal,
            json=body,
            idempotency_key=key,
        )
