"""`client.proofs`: proofs of delivery, recorded at the door and read back."""

from __future__ import annotations

from datetime import date

from backend_client._transport import Resource
from backend_client.models import PinProof, Proof, ProofKind


class Proofs(Resource):
    """Photos, signatures and PINs that prove an order reached its customer (docs/proof.md)."""

    async def of_order(self, order_id: int) -> list[Proof]:
        """The order's proofs, oldest first."""
        return await self._transport.call("GET", f"/orders/{order_id}/proofs", list[Proof])

    async def content(self, order_id: int, sha256: str) -> bytes:
        """A photo's or signature's stored image (JPEG or PNG), by its hash."""
        return await self._transport.content(f"/orders/{order_id}/proofs/{sha256}")

    async def upload(
        self,
        order_id: int,
        kind: ProofKind,
        image: bytes,
        *,
        filename: str = "proof",
        idempotency_key: str | None = None,
    ) -> Proof:
        """Record a photo or a signature (JPEG or PNG) of the order at the door."""
        return await self._transport.upload(
            f"/orders/{order_id}/proof",
            Proof,
            data={"kind": str(kind)},
            files={"file": (filename, image)},
            idempotency_key=idempotency_key,
        )

    async def pin(self, order_id: int, pin: str, *, idempotency_key: str | None = None) -> Proof:
        """Record the PIN the customer read out (a wrong one answers `InvalidRequest`)."""
        return await self._transport.call(
            "POST",
            f"/orders/{order_id}/proof",
            Proof,
            json=PinProof(pin=pin),
            idempotency_key=idempotency_key,
            # A wrong PIN is counted: never send it twice on its own.
            retry=False,
        )

    async def day_archive(self, warehouse_id: str, day: date) -> bytes:
        """The warehouse's proofs of one business day as a ZIP (with `manifest.csv`)."""
        return await self._transport.content(
            f"/warehouses/{warehouse_id}/proofs.zip", params={"day": day.isoformat()}
        )
