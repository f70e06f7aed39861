"""`client.tracking`: the customer's tracking link (its token is the credential: no account
needed) and the rider asking the customer to sign on it (docs/tracking.md)."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models.tracking import (
    SignatureRequest,
    TrackingMap,
    TrackingSignature,
    TrackingSignatureResult,
    TrackingView,
)


class Tracking(Resource):
    """Tracking links: what a customer's page reads and sends, and the rider's request."""

    async def view(self, token: str) -> TrackingView:
        """The order the link opens, as its customer sees it (NotFound: unknown or expired)."""
        return await self._transport.call("GET", f"/track/{token}", TrackingView)

    async def city(self, token: str) -> TrackingMap:
        """The zones the page draws its map from."""
        return await self._transport.call("GET", f"/track/{token}/map", TrackingMap)

    async def sign(self, token: str, signature_png: str) -> TrackingSignatureResult:
        """The customer's drawn signature (a PNG data URL), recorded as proof of delivery;
        Conflict unless the rider arrived or asked, or if signed already (so a retry after a
        lost answer never records it twice: it answers Conflict)."""
        body = TrackingSignature(signature_png=signature_png)
        return await self._transport.call(
            "POST", f"/track/{token}/signature", TrackingSignatureResult, json=body
        )

    async def ask_signature(self, order_id: int) -> SignatureRequest:
        """The rider at the door asks the customer to sign on their page."""
        return await self._transport.call(
            "POST", f"/orders/{order_id}/signature-request", SignatureRequest
        )
