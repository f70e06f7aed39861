"""Appending to the event log inside the caller's write transaction.

The row's place on the stream (`seq`) is global, gap-free and increasing in commit order. On
SQLite the writer hands it out as the row is appended (it is the file's only writer); on
PostgreSQL the row is appended without one and numbered right after commit, so appenders
never wait for each other (`backend/writer.py`, `Sequencer`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.realtime.models import EventRow
from backend.writer import ledger_of


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
    ledger = ledger_of(session)
    seq = ledger.next_seq
    if seq is not None:
        ledger.next_seq = seq + 1
    row = EventRow(
        id=seq,  # SQLite: the same number; PostgreSQL: from the table's sequence
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
    ledger.appended.append(row)
    return row
