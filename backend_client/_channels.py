"""`client.channels`: the sales channels' gateway (signed by each channel's secret) and what
the desk reads of it."""

from __future__ import annotations

from datetime import date
from typing import Any

from backend_client._transport import Resource, query_params
from backend_client.models import (
    Channel,
    ChannelCallbackResult,
    ChannelInfo,
    ChannelOrderReceipt,
    ChannelReconciliation,
    ChannelRejection,
)


class Channels(Resource):
    """Sales channels: send as one (signed, no token), or read the gateway as the desk."""

    async def all(self) -> list[ChannelInfo]:
        return await self._transport.call("GET", "/channels", list[ChannelInfo])

    async def send_order(
        self, channel: Channel | str, payload: dict[str, Any] | bytes, secret: str
    ) -> ChannelOrderReceipt:
        """A channel's own order payload, signed; a retry answers the first answer."""
        return await self._transport.signed(
            f"/channels/{channel}/orders", payload, secret, ChannelOrderReceipt
        )

    async def send_callback(
        self, channel: Channel | str, payload: dict[str, Any] | bytes, secret: str
    ) -> ChannelCallbackResult:
        """A channel's own status callback, signed."""
        return await self._transport.signed(
            f"/channels/{channel}/callbacks", payload, secret, ChannelCallbackResult
        )

    async def rejections(
        self, *, channel: Channel | str | None = None, limit: int = 100
    ) -> list[ChannelRejection]:
        """Payloads refused at the gateway (never their content)."""
        params = query_params(channel=str(channel) if channel else None, limit=limit)
        return await self._transport.call(
            "GET", "/channels/rejections", list[ChannelRejection], params=params
        )

    async def reconciliation(
        self, day: date, *, channel: Channel | str | None = None
    ) -> list[ChannelReconciliation]:
        params = query_params(day=day.isoformat(), channel=str(channel) if channel else None)
        return await self._transport.call(
            "GET", "/channels/reconciliation", list[ChannelReconciliation], params=params
        )

    async def reconciliation_csv(self, day: date, *, channel: Channel | str | None = None) -> str:
        params = query_params(day=day.isoformat(), channel=str(channel) if channel else None)
        return await self._transport.text("/channels/reconciliation.csv", params=params)
