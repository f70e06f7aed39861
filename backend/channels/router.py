"""Routes of the channel gateway: signed intake of orders and callbacks from each platform,
and, for the desk, refused payloads and the daily reconciliation (JSON and CSV)."""

from __future__ import annotations

import logging
from datetime import date, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CanReadChannels, CanReconcileChannels
from backend.auth.principal import Principal
from backend.channels import examples, intake, reconciliation
from backend.channels.adapter import ChannelAdapter, FieldProblem
from backend.channels.gate import ChannelGate
from backend.channels.models import ChannelRejectionRow
from backend.channels.registry import all_adapters
from backend.clock import Clock
from backend.db import Database
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import Unprocessable
from backend.idempotency import run_once
from backend.responses import PROTECTED, TOO_LARGE, errors
from backend_client.models import (
    Channel,
    ChannelCallbackResult,
    ChannelInfo,
    ChannelOrderReceipt,
    ChannelPayload,
    ChannelReconciliation,
    ChannelRejection,
    Day,
    Role,
)
from backend_client.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER

log = logging.getLogger(__name__)
router = APIRouter(tags=["channels"])

ChannelName = Annotated[Channel, Path(description="The sales channel sending.")]
SIGNED = {
    **TOO_LARGE,
    **errors(
        {
            401: f"Missing or wrong `{SIGNATURE_HEADER}`, or `{TIMESTAMP_HEADER}` outside the "
            "window (a replay).",
            404: "The channel is not taken here (no secret configured).",
            422: "The payload is wrong: `detail` names the field by the channel's name and ours "
            "(also in `field` and `channel_field`); recorded for the operator.",
            429: "The channel sends faster than its rate: wait `Retry-After` seconds.",
        }
    ),
}
SIGNING_HEADERS: list[dict[str, Any]] = [
    {
        "name": TIMESTAMP_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Unix seconds when signed.",
    },
    {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "`sha256=` + hex HMAC-SHA256 of `{timestamp}.{raw body}` under the "
        "channel's secret.",
    },
]


def _body_doc(what: str, examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "parameters": SIGNING_HEADERS,
        "security": [],
        "requestBody": {
            "required": True,
            "description": what,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ChannelPayload"},
                    "examples": {name: {"value": value} for name, value in examples.items()},
                }
            },
        },
    }


async def gate_of(request: Request) -> ChannelGate:
    """The instance's gate, made from its settings on first use (async: on the event loop,
    so two first requests cannot each make one)."""
    gate = getattr(request.app.state, "channel_gate", None)
    if gate is None:
        settings = request.app.state.runtime.settings
        gate = request.app.state.channel_gate = ChannelGate.from_settings(settings)
    return gate


GateDep = Annotated[ChannelGate, Depends(gate_of)]


def _principal(channel: Channel, request: Request) -> Principal:
    """The platform itself, as the actor of what it causes (events say `meituan-gateway`)."""
    return Principal(
        user_id=None,
        username=f"{channel}-gateway",
        role=Role.CHANNEL,
        channel=str(channel),
        client_addr=request.client.host if request.client else None,
    )


@router.post(
    "/channels/{channel}/orders",
    response_model=ChannelOrderReceipt,
    status_code=201,
    responses={
        **SIGNED,
        **errors({409: "The channel's order id was taken already with other content."}),
    },
    openapi_extra=_body_doc(
        "The channel's own order payload (see docs/channels.md).", examples.ORDERS
    ),
)
async def receive_order(
    channel: ChannelName,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    gate: GateDep,
) -> Response:
    """Take an order as the channel sends it, signed. A retry answers the first answer
    (`replayed`); paid orders reserve their stock now, or go OUT_OF_STOCK."""
    body = await request.body()
    adapter = gate.verify(str(channel), request.headers, body)
    async with gate.admitted(str(channel)):
        now = clock.now()
        taking = intake.Intake(_principal(channel, request), now, settings)
        try:
            parsed = adapter.read_order(body)
            response = await run_once(
                request,
                db,
                taking.actor,
                now,
                lambda session: intake.take_order(session, adapter, parsed, taking),
            )
        except FieldProblem as problem:
            raise await _refused(db, clock, adapter, "order", problem) from None
    return _replay_marked(response)


@router.post(
    "/channels/{channel}/callbacks",
    response_model=ChannelCallbackResult,
    responses={
        **SIGNED,
        202: {"model": ChannelCallbackResult, "description": "Kept until its order arrives."},
        **errors({409: "The callback id was taken already with other content."}),
    },
    openapi_extra=_body_doc(
        "The channel's own status callback (see docs/channels.md).", examples.CALLBACKS
    ),
)
async def receive_callback(
    channel: ChannelName,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    gate: GateDep,
) -> Response:
    """A status change from the channel: paid, cancelled by the customer, refund requested, or
    its daily statement. Answered with what became of it (202 while its order has not come)."""
    body = await request.body()
    adapter = gate.verify(str(channel), request.headers, body)
    async with gate.admitted(str(channel)):
        now = clock.now()
        taking = intake.Intake(_principal(channel, request), now, settings)
        try:
            parsed = adapter.read_callback(body)
            response = await run_once(
                request,
                db,
                taking.actor,
                now,
                lambda session: intake.take_callback(session, adapter, parsed, taking),
            )
        except FieldProblem as problem:
            raise await _refused(db, clock, adapter, "callback", problem) from None
    return _replay_marked(response)


def _replay_marked(response: Response) -> Response:
    if b'"replayed":true' in response.body:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def _refused(
    db: Database, clock: Clock, adapter: ChannelAdapter, kind: str, problem: FieldProblem
) -> Unprocessable:
    """Record the refusal for the operator (by field, never the payload) and say it."""
    channel = str(adapter.channel)
    rejection = ChannelRejectionRow(
        channel=channel,
        kind=kind,
        received_at=clock.now(),
        external_id=problem.external_id,
        field=(problem.field or "")[:80] or None,
        channel_field=(problem.channel_field or "")[:80] or None,
        problem=problem.problem[:300],
    )

    async def record(session: AsyncSession) -> None:
        session.add(rejection)

    await db.write(record)
    log.info("refused a %s %s: %s", channel, kind, problem.sentence(channel))
    return Unprocessable(
        problem.sentence(channel),
        channel=channel,
        field=problem.field,
        channel_field=problem.channel_field,
    )


# --- For the desk -------------------------------------------------------------------------------


@router.get("/channels", response_model=list[ChannelInfo], responses=PROTECTED)
async def list_channels(
    settings: SettingsDep,
    gate: GateDep,
    _principal: CanReadChannels,
) -> list[ChannelInfo]:
    """Every channel the gateway has an adapter for: taken here or not, its rate, how its
    fields map to ours, and an order and a callback in its own words."""
    return [
        ChannelInfo(
            channel=adapter.channel,
            taken=name in gate.adapters,
            rate_per_second=settings.channel_rate_per_second,
            fields=dict(adapter.fields),
            example_order=ChannelPayload.model_validate(examples.ORDERS[name]),
            example_callback=ChannelPayload.model_validate(examples.CALLBACKS[name]),
        )
        for name, adapter in sorted(all_adapters().items())
    ]


DayQuery = Annotated[Day, Query(description="The business day, e.g. 2026-11-22.")]


@router.get("/channels/rejections", response_model=list[ChannelRejection], responses=PROTECTED)
async def list_rejections(
    db: DbDep,
    _principal: CanReadChannels,
    channel: Channel | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ChannelRejection]:
    """Payloads the gateway refused, newest first: which field, by our name and the
    channel's, and why (never the payload: it carries personal data)."""
    query = select(ChannelRejectionRow).order_by(ChannelRejectionRow.id.desc()).limit(limit)
    if channel is not None:
        query = query.where(ChannelRejectionRow.channel == channel)
    async with db.read() as session:
        rows = (await session.scalars(query)).all()
    return [
        ChannelRejection(
            id=r.id,
            channel=r.channel,
            kind=r.kind,
            received_at=r.received_at,
            external_id=r.external_id,
            field=r.field,
            channel_field=r.channel_field,
            problem=r.problem,
        )
        for r in rows
    ]


async def _reports(
    db: Database, zone: tzinfo, day: date, channel: Channel | None
) -> list[ChannelReconciliation]:
    channels = [channel] if channel is not None else list(Channel)
    async with db.read() as session:
        return [await reconciliation.reconcile(session, c, day, zone=zone) for c in channels]


@router.get(
    "/channels/reconciliation",
    response_model=list[ChannelReconciliation],
    responses=PROTECTED,
)
async def get_reconciliation(
    day: DayQuery,
    db: DbDep,
    settings: SettingsDep,
    _principal: CanReconcileChannels,
    channel: Channel | None = None,
) -> list[ChannelReconciliation]:
    """Each channel's (or one channel's) business day: counts and amounts we hold against
    what the channel reported, and every difference."""
    return await _reports(db, settings.zone, day, channel)


@router.get(
    "/channels/reconciliation.csv",
    response_class=Response,
    responses={
        **PROTECTED,
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
    },
)
async def get_reconciliation_csv(
    day: DayQuery,
    db: DbDep,
    settings: SettingsDep,
    _principal: CanReconcileChannels,
    channel: Channel | None = None,
) -> Response:
    """The same report as CSV: the day's totals, then one line per difference."""
    text = reconciliation.as_csv(await _reports(db, settings.zone, day, channel))
    name = f"reconciliation-{day.isoformat()}{'-' + str(channel) if channel else ''}.csv"
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
