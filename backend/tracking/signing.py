"""The customer signs on the tracking page: the drawn signature becomes the order's proof of
delivery (`backend/proof`: cleaned, kept in the proof storage, recorded with `order.proof`).

When: the order is DELIVERING and its rider has arrived (a fix within 150 m of the door,
`order.arrived`) or asked (`POST /orders/{id}/signature-request`); and only once per link. The
order itself does not change: the rider still signs it off (`sign`), now with the proof.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import Database
from backend.errors import Conflict, Unprocessable
from backend.orders import records
from backend.proof import images
from backend.proof.service import keep, record_proof
from backend.proof.storage import ProofStorage
from backend.riders.models import DeliveryProgressRow
from backend.sql import Query, sql_of
from backend.tracking.models import TrackingLinkRow
from backend_client.models import OrderState, ProofKind
from backend_client.models.tracking import (
    PNG_DATA_URL,
    TrackingSignature,
    TrackingSignatureResult,
)

CUSTOMER = Principal(user_id=None, username="customer", role="customer")
"""Who the proof names as its taker: the customer, through their link (no account)."""
SIGNED = Query("UPDATE tracking_links SET signed_at = :at WHERE order_id = :order_id")


def decode(body: TrackingSignature) -> bytes:
    """The PNG's bytes, or 422."""
    try:
        return base64.b64decode(body.signature_png.removeprefix(PNG_DATA_URL), validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("signature_png is not valid base64") from None


async def sign(
    db: Database,
    storage: ProofStorage,
    limits: images.Limits,
    order_id: int,
    body: TrackingSignature,
    *,
    now: datetime,
) -> TrackingSignatureResult:
    """Record the customer's drawn signature as `order_id`'s proof. Checked before anything is
    stored (when, and that it is a whole PNG); stored before it is recorded."""
    async with db.read() as session:
        await _check_open(session, order_id)
    image = await asyncio.to_thread(images.clean, decode(body), limits)
    if image.media_type != "image/png":
        raise Unprocessable("a signature is a PNG image")
    stored = await keep(storage, image)

    async def act(session: AsyncSession) -> TrackingSignatureResult:
        # Again under the lock: the rider may have signed it off, or another tab signed.
        order = await _check_open(session, order_id, lock=True)
        proof = await record_proof(
            session, order, kind=ProofKind.SIGNATURE, actor=CUSTOMER, now=now, image=stored
        )
        await sql_of(session).run(SIGNED, {"at": now, "order_id": order_id})
        return TrackingSignatureResult(
            reference=order.external_id, proof_id=proof.id, recorded_at=now
        )

    return await db.write(act)


async def _check_open(
    session: AsyncSession, order_id: int, *, lock: bool = False
) -> records.OrderRecord:
    order = await records.load(sql_of(session), order_id, lock=lock)
    assert order is not None  # a live link's order; orders are never deleted
    if order.status != OrderState.DELIVERING:
        raise Conflict(
            f"the order is {order.status}: it is signed for at the door, while DELIVERING",
            from_state=order.status,
        )
    link = await session.get(TrackingLinkRow, order_id, populate_existing=True)
    assert link is not None
    if link.signed_at is not None:
        raise Conflict("the order was signed for on this page already")
    asked = link.sign_requested_at is not None and (
        order.delivering_at is None or link.sign_requested_at >= order.delivering_at
    )
    if not asked and not await _arrived(session, order):
        raise Conflict("the rider has not arrived or asked you to sign yet")
    return order


async def _arrived(session: AsyncSession, order: records.OrderRecord) -> bool:
    progress = await session.get(DeliveryProgressRow, order.id, populate_existing=True)
    return (
        progress is not None
        and progress.rider_id == order.rider_id
        and progress.arrived_at is not None
    )
