"""Appending to the event log inside the caller's write transaction.

The row's place on the stream (`seq`) is global, gap-free and increasing in commit order. On
SQLite the writer hands it out as the row is appended (it is the file's only writer); on
PostgreSQL the row is appended without one and numbered right after commit, so appenders
never wait for each other (`backend/writer.py`, `Sequencer`). One INSERT per event, written
out (`backend/sql.py`): every change appends at least one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.sql import Query, json_text, json_value, sql_of, when
from backend.writer import ledger_of

COLUMNS = (
    "kind, order_id, rider_id, warehouse_id, from_state, to_state, actor, role, client_addr, "
    "at, reason, payload"
)
VALUES = (
    ":kind, :order_id, :rider_id, :warehouse_id, :from_state, :to_state, :actor, :role, "
    ":client_addr, :at, :reason, :payload"
)
REQUEST_ID = "http_request_id"
"""The payload key of the `X-Request-ID` of the request that appended the event (absent for
the backend's own work: auto-dispatch, alert passes, upkeep). Not `request_id`: that names a
return or claim request in the payloads of returns and alerts."""
INSERT_NUMBERED = Query(f"INSERT INTO events (id, seq, {COLUMNS}) VALUES (:seq, :seq, {VALUES})")
"""SQLite: numbered as appended (`id` and `seq` alike)."""
INSERT_UNNUMBERED = Query(f"INSERT INTO events ({COLUMNS}) VALUES ({VALUES})")
"""PostgreSQL: `id` from the table's sequence, `seq` given after commit."""


@dataclass(slots=True)
class LoggedEvent:
    """One row of the event log as the writer and the sequencer hand it to the feed (the
    attributes of `EventRow`, without the ORM)."""

    seq: int | None
    kind: str
    order_id: int | None
    rider_id: int | None
    warehouse_id: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str
    client_addr: str | None
    at: datetime
    reason: str | None
    payload: dict[str, Any]

    @classmethod
    def of_row(cls, row: Any) -> LoggedEvent:
        """From a row of `events` read with `COLUMNS` after `seq`."""
        return cls(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
            cast(datetime, when(row[10])), row[11], json_value(row[12]),  # `at`: NOT NULL
        )  # fmt: skip


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
) -> LoggedEvent:
    """Add one event row to the session's transaction and return it."""
    ledger = ledger_of(session)
    seq = ledger.next_seq
    if seq is not None:
        ledger.next_seq = seq + 1
    if ledger.request_id is not None:
        # The audit trail names the request that made the change, as the access log does.
        payload = {**(payload or {}), REQUEST_ID: ledger.request_id}
    event = LoggedEvent(
        seq, kind, order_id, rider_id, warehouse_id, from_state, to_state, actor.username,
        str(actor.role), actor.client_addr, at, reason, payload or {},
    )  # fmt: skip
    await sql_of(session).run(
        INSERT_UNNUMBERED if seq is None else INSERT_NUMBERED,
        {
            "seq": seq,
            "kind": kind,
            "order_id": order_id,
            "rider_id": rider_id,
            "warehouse_id": warehouse_id,
            "from_state": from_state,
            "to_state": to_state,
            "actor": event.actor,
            "role": event.role,
            "client_addr": event.client_addr,
            "at": at,
            "reason": reason,
            "payload": json_text(event.payload),
        },
    )
    ledger.appended.append(event)
    return event
