"""`client.handover`: the shift handover digest."""

from __future__ import annotations

from datetime import datetime

from backend_client._transport import Resource, query_params
from backend_client.models import HandoverDigest


class ShiftHandover(Resource):
    """What the next shift must know (docs/handover.md)."""

    async def digest(
        self, *, since: datetime | None = None, hours: float | None = None
    ) -> HandoverDigest:
        """Since the shift under way began (the server's shift boundaries), or since `since`,
        or over the last `hours`."""
        params = query_params(since=since and since.isoformat(), hours=hours)
        return await self._transport.call("GET", "/handover", HandoverDigest, params=params)
