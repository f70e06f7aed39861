"""Managing subscriptions: create, read, delete, replay, resume. Each change is audited in the
event log (`webhook.*`, the audit topic) in the same transaction."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFound, Unprocessable
from backend.inventory.models import WarehouseRow
from backend.realtime.outbox import append_event
from backend.webhooks.models import WebhookRow
from backend_client.models import (
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookReplay,
    WebhookState,
)

SECRET_BYTES = 32


def webhook_view(row: WebhookRow, head_seq: int) -> Webhook:
    """The subscription as the API shows it (never its secret)."""
    head = max(head_seq, row.cursor)
    return Webhook(
        id=row.id,
        url=row.url,
        kinds=list(row.kinds),
        channel=row.channel,
        warehouse_id=row.warehouse_id,
        description=row.description,
        state=WebhookState(row.state),
        cursor=row.cursor,
        head_seq=head,
        lag=head - row.cursor,
        failures=row.failures,
        last_error=row.last_error,
        last_attempt_at=row.last_attempt_at,
        last_delivered_at=row.last_delivered_at,
        created_at=row.created_at,
        created_by=row.created_by,
    )


async def create_webhook(
    session: AsyncSession,
    body: WebhookCreate,
    *,
    head_seq: int,
    actor: Principal,
    now: datetime,
) -> WebhookCreated:
    """A new subscription from the log's head on (`replay` reaches further back)."""
    if body.warehouse_id is not None and await session.get(WarehouseRow, body.warehouse_id) is None:
        raise Unprocessable(f"no warehouse {body.warehouse_id}")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = WebhookRow(
        url=body.url,
        secret=secret,
        kinds=list(body.kinds),
        channel=None if body.channel is None else str(body.channel),
        warehouse_id=body.warehouse_id,
        description=body.description,
        state=WebhookState.ACTIVE,
        cursor=head_seq,
        generation=1,
        failures=0,
        created_at=now,
        created_by=actor.username,
    )
    session.add(row)
    await session.flush()
    await _audit(session, row, "created", actor, now)
    return WebhookCreated(**webhook_view(row, head_seq).model_dump(), secret=secret)


async def list_webhooks(session: AsyncSession) -> list[WebhookRow]:
    return list((await session.scalars(select(WebhookRow).order_by(WebhookRow.id))).all())


async def load_webhook(
    session: AsyncSession, webhook_id: int, *, for_update: bool = False
) -> WebhookRow:
    """The subscription; `for_update`: locked until the transaction ends (PostgreSQL), so a
    change is made to the row as it is now, not as a deliverer's write left it a moment ago."""
    row = await session.get(WebhookRow, webhook_id, with_for_update=for_update or None)
    if row is None:
        raise NotFound(f"no webhook {webhook_id}")
    return row


async def delete_webhook(
    session: AsyncSession, webhook_id: int, *, actor: Principal, now: datetime
) -> None:
    row = await load_webhook(session, webhook_id, for_update=True)
    await _audit(session, row, "deleted", actor, now)
    await session.delete(row)


async def replay_webhook(
    session: AsyncSession,
    webhook_id: int,
    body: WebhookReplay,
    *,
    head_seq: int,
    actor: Principal,
    now: datetime,
) -> WebhookRow:
    """Deliver again from `from_seq` (active again if it was parked)."""
    if body.from_seq > head_seq + 1:
        raise Unprocessable(f"from_seq {body.from_seq} is beyond the log's head ({head_seq})")
    row = await load_webhook(session, webhook_id, for_update=True)
    _restart(row, cursor=body.from_seq - 1)
    await _audit(session, row, "replayed", actor, now, reason=f"from seq {body.from_seq}")
    return row


async def resume_webhook(
    session: AsyncSession, webhook_id: int, *, actor: Principal, now: datetime
) -> WebhookRow:
    """A parked subscription tries again from where it stopped."""
    row = await load_webhook(session, webhook_id, for_update=True)
    _restart(row, cursor=row.cursor)
    await _audit(session, row, "resumed", actor, now)
    return row


def _restart(row: WebhookRow, *, cursor: int) -> None:
    # A new generation: the instance delivering it drops what it had in hand and starts again
    # from this row (its older progress may no longer be written over it). The row is locked
    # (load_webhook): without the lock a deliverer's write committed after it was read would
    # keep its cursor where this one is the same as the value read (the ORM writes only what
    # changed), and a replay from there would replay nothing.
    row.cursor = cursor
    row.state = WebhookState.ACTIVE
    row.failures = 0
    row.generation += 1


async def _audit(
    session: AsyncSession,
    row: WebhookRow,
    what: str,
    actor: Principal,
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    await append_event(
        session,
        kind=f"webhook.{what}",
        actor=actor,
        at=now,
        warehouse_id=row.warehouse_id,
        reason=reason,
        payload={
            "webhook_id": row.id,
            "kinds": list(row.kinds),
            "channel": row.channel,
            "cursor": row.cursor,
        },
    )
