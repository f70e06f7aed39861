"""Routes: webhook subscriptions (admins manage them; supervisors may read them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.auth.deps import CanManageWebhooks, CanReadWebhooks
from backend.deps import ClockDep, DbDep
from backend.idempotency import IDEMPOTENT, run_once
from backend.realtime.deps import FeedDep
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend.webhooks import service
from backend.webhooks.deliverer import Deliverer
from backend.webhooks.service import webhook_view
from backend_client.models import Webhook, WebhookCreate, WebhookCreated, WebhookReplay

router = APIRouter(tags=["webhooks"], responses=PROTECTED)

WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Subscription id.")]
NOT_FOUND = errors({404: "No such webhook subscription."})


async def deliverer(connection: HTTPConnection) -> Deliverer | None:
    """This instance's deliverer (None when `webhooks` is off here)."""
    return connection.app.state.runtime.webhooks


DelivererDep = Annotated[Deliverer | None, Depends(deliverer)]


def _nudge(deliverer: Deliverer | None) -> None:
    if deliverer is not None:
        deliverer.nudge()


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    responses=TOO_LARGE,
    openapi_extra=IDEMPOTENT,
)
async def create_webhook(
    body: WebhookCreate,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    feed: FeedDep,
    hooks: DelivererDep,
    principal: CanManageWebhooks,
):
    """Subscribe a URL to kinds of events, from now on. The answer carries the signing secret:
    it is shown this once (stored encrypted; a retry with the same Idempotency-Key answers the
    same). 422: a bad URL (http/https only, no user name or password), kind or scope."""
    now = clock.now()

    async def act(session: AsyncSession) -> tuple[int, WebhookCreated]:
        created = await service.create_webhook(
            session, body, head_seq=feed.last_seq, actor=principal, now=now
        )
        return 201, created

    answer = await run_once(request, db, principal, now, act)
    _nudge(hooks)
    return answer


@router.get("/webhooks", response_model=list[Webhook])
async def list_webhooks(db: DbDep, feed: FeedDep, _principal: CanReadWebhooks) -> list[Webhook]:
    """Every subscription with its state, lag behind the log and last error."""
    async with db.read() as session:
        return [webhook_view(row, feed.last_seq) for row in await service.list_webhooks(session)]


@router.get("/webhooks/{webhook_id}", response_model=Webhook, responses=NOT_FOUND)
async def get_webhook(
    webhook_id: WebhookId, db: DbDep, feed: FeedDep, _principal: CanReadWebhooks
) -> Webhook:
    async with db.read() as session:
        return webhook_view(await service.load_webhook(session, webhook_id), feed.last_seq)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=NOT_FOUND)
async def delete_webhook(
    webhook_id: WebhookId,
    db: DbDep,
    clock: ClockDep,
    hooks: DelivererDep,
    principal: CanManageWebhooks,
) -> None:
    """Stop delivering and forget the subscription (and its secret)."""
    now = clock.now()

    async def job(session: AsyncSession) -> None:
        await service.delete_webhook(session, webhook_id, actor=principal, now=now)

    await db.write(job)
    _nudge(hooks)


@router.post(
    "/webhooks/{webhook_id}/replay",
    response_model=Webhook,
    responses={**NOT_FOUND, **TOO_LARGE},
)
async def replay_webhook(
    webhook_id: WebhookId,
    body: WebhookReplay,
    db: DbDep,
    clock: ClockDep,
    feed: FeedDep,
    hooks: DelivererDep,
    principal: CanManageWebhooks,
) -> Webhook:
    """Deliver again every matching event from `from_seq` on, in order (a parked subscription
    becomes active). Repeating it is harmless: receivers drop repeats by delivery id. 422:
    `from_seq` beyond the log's head."""
    now, head = clock.now(), feed.last_seq

    async def job(session: AsyncSession) -> Webhook:
        row = await service.replay_webhook(
            session, webhook_id, body, head_seq=head, actor=principal, now=now
        )
        return webhook_view(row, head)

    answer = await db.write(job)
    _nudge(hooks)
    return answer


@router.post("/webhooks/{webhook_id}/resume", response_model=Webhook, responses=NOT_FOUND)
async def resume_webhook(
    webhook_id: WebhookId,
    db: DbDep,
    clock: ClockDep,
    feed: FeedDep,
    hooks: DelivererDep,
    principal: CanManageWebhooks,
) -> Webhook:
    """Try a parked subscription again from the event it stopped at (failures back to 0)."""
    now, head = clock.now(), feed.last_seq

    async def job(session: AsyncSession) -> Webhook:
        row = await service.resume_webhook(session, webhook_id, actor=principal, now=now)
        return webhook_view(row, head)

    answer = await db.write(job)
    _nudge(hooks)
    return answer
