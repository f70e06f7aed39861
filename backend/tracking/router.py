"""Routes of the customer's tracking link: the view, its live socket, the map, the page, the
customer's signature; and the rider asking for it (docs/tracking.md).

Every route under `/track/{token}` and `/t/{token}` is open without an account: the token is
the credential. Each call is counted per token and per client address (`throttle.py`) before
the token is even looked up, and an unknown or expired token is 404 with one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.auth.deps import CanTransitionOrders
from backend.clock import Clock
from backend.db import Database
from backend.deps import ClockDep, DbDep, SettingsDep
from backend.errors import DomainError, Forbidden, NotFound
from backend.orders.lifecycle import RULES
from backend.orders.service import load_order
from backend.paths import OrderId
from backend.proof import images
from backend.proof.deps import ProofStorageDep
from backend.responses import PROTECTED, errors
from backend.settings import Settings
from backend.tracking import requests, signing, tokens
from backend.tracking.live import TrackingLive, Watcher
from backend.tracking.throttle import TrackingThrottle
from backend.tracking.view import city_map, customer_view
from backend_client import cancel_and_wait, within
from backend_client.models import OrderAction
from backend_client.models.tracking import (
    SignatureRequest,
    TrackingMap,
    TrackingSignature,
    TrackingSignatureResult,
    TrackingView,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["tracking"])
page_router = APIRouter(include_in_schema=False)

LINK = errors(
    {
        404: "No such tracking link, or it has expired (the same answer for both).",
        429: "Too many requests for this link or from this address; see Retry-After.",
    }
)
TokenPath = Annotated[str, "the tracking token"]

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The page loads only its own script and style and talks only to its own origin."""
ASSETS = {"track.js": "text/javascript", "track.css": "text/css"}
SIGNERS = next(rule.roles for rule in RULES if rule.action == OrderAction.SIGN)
"""Who may ask a customer to sign: whoever may sign the order off (the lifecycle's table)."""
CLOSE_GONE = 4404
"""The link died while its socket was open (its order ended `ttl` ago)."""


def throttle_of(connection: HTTPConnection) -> TrackingThrottle:
    return connection.app.state.tracking_throttle


def live_of(connection: HTTPConnection) -> TrackingLive:
    return connection.app.state.tracking_live


def _address(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None


async def _open(
    connection: HTTPConnection, db: Database, clock: Clock, settings: Settings, token: str
) -> tokens.Link:
    throttle_of(connection).admit(token, _address(connection))
    async with db.read() as session:
        return await tokens.open_link(
            session, token, now=clock.now(), ttl=tokens.link_life(settings)
        )


@router.get("/track/{token}", response_model=TrackingView, responses=LINK)
async def get_tracking_view(
    token: TokenPath, request: Request, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> TrackingView:
    """The order its link opens, as its customer may see it: stages, ETA, the rider's first
    name and masked phone, the rider's position and track while DELIVERING, the items."""
    throttle_of(request).admit(token, _address(request))
    async with db.read() as session:  # one session for the link and the view
        link = await tokens.open_link(
            session, token, now=clock.now(), ttl=tokens.link_life(settings)
        )
        return await customer_view(session, link.order_id)


@router.get("/track/{token}/map", response_model=TrackingMap, responses=LINK)
async def get_tracking_map(
    token: TokenPath, request: Request, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> TrackingMap:
    """The city's delivery zones, for the page's map (drawn from our own data, no tiles)."""
    await _open(request, db, clock, settings, token)
    async with db.read() as session:
        return await city_map(session)


@router.websocket("/track/{token}/live")
async def track_live(
    websocket: WebSocket,
    token: str,
    since: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> None:
    """The view's changes as they happen: `{"type": "view", "view": {...}}` whenever the order
    changed (in seq order; with `since`, only if it changed after it), `{"type": "position"}`
    when its rider moves while DELIVERING, `{"type": "heartbeat"}` every heartbeat period."""
    runtime = websocket.app.state.runtime
    db: Database = runtime.db
    clock: Clock = runtime.clock
    settings: Settings = runtime.settings
    try:
        link = await _open(websocket, db, clock, settings, token)
    except DomainError as refusal:
        # Before accept: the handshake is refused (HTTP 403) and nothing flows.
        await websocket.close(code=4000 + refusal.status_code, reason=refusal.detail[:120])
        return
    await websocket.accept()
    live = live_of(websocket)
    watcher = Watcher(link.order_id, since)
    try:
        await live.attach(watcher)
        await _serve(websocket, watcher, db, clock, settings, token)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("tracking socket failed")
        await _close(websocket, 1011, "server error; reconnect")
    finally:
        live.detach(watcher)


async def _serve(
    websocket: WebSocket,
    watcher: Watcher,
    db: Database,
    clock: Clock,
    settings: Settings,
    token: str,
) -> None:
    tasks = [
        asyncio.create_task(_pump(websocket, watcher)),
        asyncio.create_task(_listen(websocket, settings.stream_idle_timeout_seconds)),
        asyncio.create_task(_beat(websocket, watcher, db, clock, settings, token)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(*tasks)  # a cancellation of this handler still goes through
    if watcher.closed is not None:
        await _close(websocket, *watcher.closed)


async def _pump(websocket: WebSocket, watcher: Watcher) -> None:
    while watcher.closed is None:
        await watcher.ready.wait()
        for message in watcher.take():
            await websocket.send_text(message)


async def _listen(websocket: WebSocket, idle: float) -> None:
    """The page's heartbeats (any text counts); silent for `idle` seconds, it is dropped."""
    while True:
        try:
            message = await within(idle, websocket.receive())
        except TimeoutError:
            await _close(websocket, 4408, f"nothing heard for {idle:g} s")
            return
        if message["type"] == "websocket.disconnect":
            return


async def _beat(
    websocket: WebSocket,
    watcher: Watcher,
    db: Database,
    clock: Clock,
    settings: Settings,
    token: str,
) -> None:
    """A heartbeat every period; each one checks the link still lives (else 4404)."""
    while True:
        await asyncio.sleep(settings.stream_heartbeat_seconds)
        try:
            async with db.read() as session:
                await tokens.open_link(
                    session, token, now=clock.now(), ttl=tokens.link_life(settings)
                )
        except NotFound as gone:
            watcher.close(CLOSE_GONE, gone.detail)
            return
        at = clock.now().isoformat().replace("+00:00", "Z")
        await websocket.send_text(f'{{"type":"heartbeat","at":"{at}"}}')


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(Exception):
        await within(2, websocket.close(code=code, reason=reason[:120]))


@router.post(
    "/orders/{order_id}/signature-request",
    response_model=SignatureRequest,
    responses={
        **PROTECTED,
        **errors(
            {
                403: "Only who may sign the order off (its rider, a dispatcher, an admin) asks.",
                404: "No such order in your scope.",
                409: "The order is not DELIVERING.",
            }
        ),
    },
)
async def ask_signature(
    order_id: OrderId, db: DbDep, clock: ClockDep, principal: CanTransitionOrders
) -> SignatureRequest:
    """The rider at the door asks the customer to sign on their tracking page: the page's
    signature pad opens (it also opens by itself once the rider is within 150 m)."""
    if str(principal.role) not in SIGNERS:
        raise Forbidden(f"role {principal.role} does not sign orders off, nor ask customers to")
    now = clock.now()

    async def act(session: AsyncSession) -> SignatureRequest:
        order = await load_order(session, order_id, principal, for_update=True)
        return await requests.ask(session, order, actor=principal, now=now)

    return await db.write(act)


@router.post(
    "/track/{token}/signature",
    response_model=TrackingSignatureResult,
    status_code=201,
    responses={
        **LINK,
        **errors(
            {
                409: "Not DELIVERING, the rider has not arrived or asked, or signed already.",
                413: "The signature is larger than a proof may be.",
                422: "Not a whole PNG image.",
            }
        ),
    },
)
async def post_signature(
    token: TokenPath,
    body: TrackingSignature,
    request: Request,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    storage: ProofStorageDep,
) -> TrackingSignatureResult:
    """The customer's drawn signature, recorded as the order's proof of delivery (docs/
    tracking.md says when the page offers it)."""
    link = await _open(request, db, clock, settings, token)
    limits = images.Limits(max_bytes=settings.proof_max_bytes, max_pixels=settings.proof_max_pixels)
    return await signing.sign(db, storage, limits, link.order_id, body, now=clock.now())


# --- The page ---------------------------------------------------------------------------------


def _asset(name: str) -> bytes:
    return resources.files("backend.tracking").joinpath("page", name).read_bytes()


@page_router.get("/t/assets/{name}")
async def page_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("no such file")
    return Response(
        _asset(name),
        media_type=ASSETS[name],
        headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-cache"},
    )


@page_router.get("/t/{token}", response_class=HTMLResponse)
async def tracking_page(
    token: str, request: Request, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> HTMLResponse:
    """The customer's page: readable on a phone, updating itself over the live socket."""
    try:
        await _open(request, db, clock, settings, token)
    except DomainError as refusal:
        body = _asset("gone.html") if isinstance(refusal, NotFound) else b"Too many requests"
        headers = {"Content-Security-Policy": PAGE_POLICY}
        retry = getattr(refusal, "retry_after", None)
        if retry is not None:
            headers["Retry-After"] = str(retry)
        return HTMLResponse(body, status_code=refusal.status_code, headers=headers)
    return HTMLResponse(_asset("index.html"), headers={"Content-Security-Policy": PAGE_POLICY})
