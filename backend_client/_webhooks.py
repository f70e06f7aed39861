"""`client.webhooks`: outbound webhook subscriptions (admins manage; supervisors read)."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models import Webhook, WebhookCreate, WebhookCreated, WebhookReplay


class Webhooks(Resource):
    """Subscriptions: list, read, create (the secret comes back once), delete, replay, resume."""

    async def all(self) -> list[Webhook]:
        return await self._transport.call("GET", "/webhooks", list[Webhook])

    async def get(self, webhook_id: int) -> Webhook:
        return await self._transport.call("GET", f"/webhooks/{webhook_id}", Webhook)

    async def create(self, subscription: WebhookCreate) -> WebhookCreated:
        """Subscribe; keep the answer's `secret`: it is never shown again."""
        return await self._transport.call("POST", "/webhooks", WebhookCreated, json=subscription)

    async def delete(self, webhook_id: int) -> None:
        await self._transport.call("DELETE", f"/webhooks/{webhook_id}", None)

    async def replay(self, webhook_id: int, from_seq: int) -> Webhook:
        """Deliver again from `from_seq` on (active again if it was parked)."""
        body = WebhookReplay(from_seq=from_seq)
        return await self._transport.call(
            "POST", f"/webhooks/{webhook_id}/replay", Webhook, json=body
        )

    async def resume(self, webhook_id: int) -> Webhook:
        """A parked subscription tries again from the event it stopped at."""
        return await self._transport.call("POST", f"/webhooks/{webhook_id}/resume", Webhook)
