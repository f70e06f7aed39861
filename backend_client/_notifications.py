"""`client.notifications`: what an order's customer was told, and what failed to reach them."""

from __future__ import annotations

from backend_client._transport import Resource, query_params
from backend_client.models import Notification, NotificationStatus


class Notifications(Resource):
    """Customer notifications (the desk's roles)."""

    async def all(
        self,
        *,
        order_id: int | None = None,
        status: list[NotificationStatus] | None = None,
        limit: int = 200,
    ) -> list[Notification]:
        """One order's, oldest first; without `order_id` the newest first over every order."""
        params = query_params(
            order_id=order_id, status=[str(s) for s in status or []] or None, limit=limit
        )
        return await self._transport.call(
            "GET", "/notifications", list[Notification], params=params
        )
