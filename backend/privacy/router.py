"""`DELETE /customers/{id}`: a customer's erasure."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanEraseCustomers
from backend.crypto.cipher import active
from backend.deps import ClockDep, DbDep
from backend.privacy.erasure import Erased, erase_customer
from backend.proof.deps import ProofStorageDep
from backend.realtime.deps import FeedDep
from backend.responses import PROTECTED, errors
from backend_client.models import CustomerErasure

router = APIRouter(tags=["customers"])

CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Customer id.")]


@router.delete(
    "/customers/{customer_id}",
    response_model=CustomerErasure,
    responses={
        **PROTECTED,
        **errors(
            {
                403: "Your role may not erase customers, or (a channel) the customer has "
                "orders of another channel too.",
                404: "No such customer.",
                409: "The customer has an order still open: erase once it has ended.",
            }
        ),
    },
)
async def erase(
    customer_id: CustomerId,
    db: DbDep,
    clock: ClockDep,
    feed: FeedDep,
    storage: ProofStorageDep,
    principal: CanEraseCustomers,
) -> CustomerErasure:
    """Erase a customer: their name, phone and address become a pseudonym in every place they
    were kept (the customer, their orders, the events, alerts and requests that quoted them,
    stored answers), the point their goods went to rounded to about a kilometre; counts,
    times, amounts and the audit trail stay. Audited (`customer.erased`). Erasing again
    answers the same and changes nothing."""
    now = clock.now()

    async def job(session: AsyncSession) -> Erased:
        return await erase_customer(session, customer_id, actor=principal, now=now)

    erased = await db.write(job)
    # Committed: the rows no longer name it, so the content goes.
    for sha256 in erased.proof_content:
        await asyncio.to_thread(storage.discard, sha256)
    # The log is rewritten; so are its newest events this instance holds for replays.
    erased.rewrite_held(feed)
    active().forget()  # nor are their values kept decrypted in this instance's memory
    return erased.answer
