"""Appending to the event log inside the caller's transaction.

`seq` is global, gap-free and strictly increasing, and commits in order: on PostgreSQL a
transaction-level advisory lock serialises appenders until commit (so a reader of `seq > N`
never misses a late commit); on SQLite the write transaction already holds the only write lock.
Append events last in a transaction, after its row changes, to hold the lock briefly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import COMMITTED_SEQ
from backend.realtime.models import EventRow

EVENT_LOG_LOCK_KEY = 0x46524C02
_NEXT_SEQ = "freshline_next_seq"


async def append_event(
    session: AsyncSession,
    *,
    kind: str,
    actor: Principal,
    at: datetime,
    order_id: int | None = None,
    rider_id: int | None = None,
    warehouse_id: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
) -> EventRow:
    """Add one event row to the session's transaction and return it."""
    seq = await _next_seq(session)
    row = EventRow(
        seq=seq,
        kind=kind,
        order_id=order_id,
        rider_id=rider_id,
        warehouse_id=warehouse_id,
        from_state=from_state,
        to_state=to_state,
        actor=actor.username,
        role=str(actor.role),
        client_addr=actor.client_addr,
        at=at,
        reason=reason,
        payload=payload or {},
    )
    session.add(row)
    return row


async def _next_seq(session: AsyncSession) -> int:
    # The counter lives on the session: `Database.write` gives each transaction a fresh session,
    # so a rolled-back transaction takes its numbers with it and the next one re-reads max(seq).
    seq = session.info.get(_NEXT_SEQ)
    if seq is None:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK_KEY}
            )
        seq = (await session.scalar(select(func.coalesce(func.max(EventRow.seq), 0)))) + 1
    session.info[_NEXT_SEQ] = seq + 1
    session.info[COMMITTED_SEQ] = seq
    return seq
