"""Recording proofs of delivery, reading them back, and what `sign` needs of them.

A photo or signature is cleaned (`images.clean`), put in the proof storage (`keep`), then
recorded (`record_proof`) in a write transaction with an `order.proof` event. Storing before
recording means a row never names content that is not there; a transaction that fails after
the content was stored leaves an unreferenced file (content-addressed: harmless, and the same
upload again reuses it). Everything a caller can get wrong is checked before anything is stored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, Unprocessable
from backend.orders.records import OrderRecord
from backend.proof import pins
from backend.proof.images import CleanImage
from backend.proof.models import ProofRow
from backend.proof.storage import ProofStorage
from backend.realtime.outbox import append_event
from backend.settings import ProofPolicy
from backend_client.models import OrderState, Proof, ProofKind

PROVABLE = frozenset({OrderState.DELIVERING, OrderState.EXCEPTION})
"""Proof is taken at the door: while the order is out, or stopped there in exception (a photo
of damaged goods for the claim to cite)."""
IMAGE_KINDS = frozenset({ProofKind.PHOTO, ProofKind.SIGNATURE})


@dataclass(frozen=True, slots=True)
class StoredImage:
    """A cleaned image, kept in the proof storage under `sha256`."""

    sha256: str
    media_type: str
    size_bytes: int
    width: int
    height: int


async def keep(storage: ProofStorage, image: CleanImage) -> StoredImage:
    """Put the cleaned image in the store (off the event loop: it writes and flushes a file)."""
    sha = await asyncio.to_thread(storage.put, image.content)
    return StoredImage(sha, image.media_type, len(image.content), image.width, image.height)


def check_provable(order: OrderRecord, kind: ProofKind) -> None:
    """409 unless the order is where a proof of `kind` can be taken."""
    if order.status not in PROVABLE:
        raise Conflict(
            f"a {kind} proves a delivery at the door; order {order.id} is {order.status}, "
            "not DELIVERING or EXCEPTION",
            from_state=order.status,
        )


async def record_proof(
    session: AsyncSession,
    order: OrderRecord,
    *,
    kind: ProofKind,
    actor: Principal,
    now: datetime,
    image: StoredImage | None = None,
    pin: str | None = None,
    pin_max_failures: int = 5,
) -> ProofRow:
    """Record one proof of `order` (loaded, in the caller's scope, locked): a photo or a
    signature already kept (`keep`), or the PIN the customer gave (checked here; a wrong one
    raises `pins.WrongPin`, for the caller to count with `pins.count_failure`). Appends an
    `order.proof` event; the order itself does not change (its version stays)."""
    check_provable(order, kind)
    if kind in IMAGE_KINDS:
        if image is None or pin is not None:
            raise Unprocessable(f"a {kind} proof is an image, with no PIN")
    else:
        if pin is None or image is not None:
            raise Unprocessable("a PIN proof is the PIN alone")
        await pins.check_pin(session, order.id, pin, max_failures=pin_max_failures)
    row = ProofRow(
        order_id=order.id,
        warehouse_id=order.warehouse_id,
        kind=str(kind),
        sha256=image.sha256 if image else None,
        media_type=image.media_type if image else None,
        size_bytes=image.size_bytes if image else 0,
        width=image.width if image else None,
        height=image.height if image else None,
        taken_by=actor.username,
        taken_role=str(actor.role),
        taken_at=now,
    )
    session.add(row)
    await session.flush()
    await append_event(
        session,
        kind="order.proof",
        actor=actor,
        at=now,
        order_id=order.id,
        rider_id=order.rider_id,
        warehouse_id=order.warehouse_id,
        payload={
            "version": order.version,
            "channel": order.channel,
            "zone": order.zone,
            "proof": proof_view(row).model_dump(mode="json"),
        },
    )
    return row


def proof_view(row: ProofRow) -> Proof:
    return Proof.model_validate(row, from_attributes=True)


async def proofs_of(session: AsyncSession, order_id: int) -> list[ProofRow]:
    """Every proof of an order, oldest first."""
    rows = await session.scalars(
        select(ProofRow).where(ProofRow.order_id == order_id).order_by(ProofRow.id)
    )
    return list(rows.all())


async def proofs_for_sign(
    session: AsyncSession, order: OrderRecord, policy: ProofPolicy | None
) -> list[dict[str, object]]:
    """The order's proofs, as the `sign` event links them; 409 naming what is missing when
    the policy asks for a kind the order has no proof of."""
    rows = await proofs_of(session, order.id)
    needs = policy.required(order.warehouse_id, order.channel) if policy else {}
    have = {row.kind for row in rows}
    missing = sorted(kind for kind in needs if kind not in have)
    if missing:
        why = "; ".join(f"{kind} (asked by {', '.join(needs[kind])})" for kind in missing)
        raise Conflict(
            f"order {order.id} cannot be signed without proof: missing {why}; upload it with "
            f"POST /api/v1/orders/{order.id}/proof",
            missing=[str(kind) for kind in missing],
        )
    return [{"id": r.id, "kind": r.kind, "sha256": r.sha256} for r in rows]


async def forget_content(session: AsyncSession, order_ids: list[int]) -> frozenset[str]:
    """The photos and signatures of these orders forgotten (their customer erased): each row
    stays, as the record that proof was taken, by whom and when, without its hash; returns the
    hashes no other proof names, for the caller to discard from the storage once committed."""
    rows = (
        await session.scalars(
            select(ProofRow).where(ProofRow.order_id.in_(order_ids), ProofRow.sha256.is_not(None))
        )
    ).all()
    hashes = {row.sha256 for row in rows if row.sha256 is not None}
    for row in rows:
        row.sha256 = None
    await session.flush()
    if not hashes:
        return frozenset()
    shared = await session.scalars(
        select(ProofRow.sha256).where(ProofRow.sha256.in_(hashes)).distinct()
    )
    return frozenset(hashes - {sha for sha in shared.all() if sha is not None})


async def proofs_of_day(
    session: AsyncSession, warehouse_id: str, day: date, zone: ZoneInfo
) -> list[ProofRow]:
    """A warehouse's proofs taken on one business day (midnight to midnight in `zone`)."""
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)  # 23 or 25 h by DST
    rows = await session.scalars(
        select(ProofRow)
        .where(
            ProofRow.warehouse_id == warehouse_id,
            ProofRow.taken_at >= start,
            ProofRow.taken_at < end,
        )
        .order_by(ProofRow.taken_at, ProofRow.id)
    )
    return list(rows.all())
