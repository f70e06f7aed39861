"""Erasures the archive still owes: recorded in the erasure's own transaction, carried out by
`backend/archive/erasure.py`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import conflict_insert
from backend.tiers.models import ArchiveErasureRow


async def note_erasure(session: AsyncSession, customer_id: int, *, now: datetime) -> None:
    """Inside the erasure's transaction: the archive owes this customer the same."""
    row = ArchiveErasureRow.__table__
    statement = conflict_insert(session)(row).values(
        customer_id=customer_id, requested_at=now, done_at=None
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id"], set_={"requested_at": now, "done_at": None}
        )
    )
