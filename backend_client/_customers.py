"""`client.customers`: a customer's erasure (admins; a channel for its own customers)."""

from __future__ import annotations

from backend_client._transport import Resource
from backend_client.models import CustomerErasure


class Customers(Resource):
    """Customers, known by phone across channels."""

    async def erase(self, customer_id: int) -> CustomerErasure:
        """Replace the customer's name, phone and address by a pseudonym everywhere they were
        kept (counts, times and amounts stay); erasing again answers the same and changes
        nothing, so a retry is safe."""
        return await self._transport.call("DELETE", f"/customers/{customer_id}", CustomerErasure)
