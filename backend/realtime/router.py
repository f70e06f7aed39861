"""Routes: the WebSocket stream and its long-poll fallback (protocol in docs/stream.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Protocol

from fastapi import APIRouter, Query, Request, WebSocket
from pydantic import TypeAdapter, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.auth.deps import Authenticated, bearer_token
from backend.auth.principal import Principal
from backend.auth.redaction import redact_event, sees_staff_details
from backend.auth.service import token_digest
from backend.auth.tokens import TokenCache
from backend.clock import Clock
from backend.db import Database
from backend.deps import SettingsDep
from backend.errors import Forbidden, NotAuthenticated
from backend.realtime.deps import FeedDep, HubDep
from backend.realtime.feed import EventFeed
from backend.realtime.hub import REVOKED, CloseCode, Connection, Hub, PollWatch
from backend.realtime.visibility import Subscription, authorise
from backend.responses import PROTECTED
from backend.settings import Settings
from backend_client import cancel_and_wait, within
from backend_client.models import (
    NO_CONTROL_CHARS,
    ClientMessage,
    Event,
    EventBatch,
    Hello,
    StreamError,
    Topic,
    Welcome,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])

HELLO_TIMEOUT = 10.0
LONG_POLL_LIMIT = 1000
_client_message: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


class StreamHost(Protocol):
    """What a stream connection uses of the runtime (`app.state.runtime`) for its lifetime."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def tokens(self) -> TokenCache: ...
    @property
    def feed(self) -> EventFeed: ...
    @property
    def hub(self) -> Hub: ...


class StreamClosed(Exception):
    """Ends a stream connection with a close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    """The live stream: authenticate by header, then hello, then events until either side goes."""
    runtime: StreamHost = websocket.app.state.runtime
    token = _token_of(websocket)
    try:
        principal = await _authenticate(runtime, websocket, token)
    except NotAuthenticated as refusal:
        # Before accept: the handshake is refused (HTTP 403) and no data ever flows.
        await websocket.close(code=CloseCode.NOT_AUTHENTICATED, reason=refusal.detail)
        return
    await websocket.accept()
    connection: Connection | None = None
    try:
        hello = await _receive_hello(websocket)
        try:
            topics = authorise(principal, hello.topics)
        except Forbidden as refusal:
            raise StreamClosed(CloseCode.FORBIDDEN, refusal.detail) from None
        subscription = Subscription(principal, topics, hello.warehouse_id, hello.zone)
        connection = Connection(
            subscription,
            queue_limit=runtime.settings.stream_queue_limit,
            since=hello.since or 0,
            digest=token_digest(token),
        )
        connection.push(
            Welcome(
                topics=sorted(topics),
                last_seq=runtime.feed.last_seq,
                heartbeat_seconds=runtime.settings.stream_heartbeat_seconds,
            ).model_dump_json()
        )
        await runtime.hub.attach(connection, hello.since)
        # Revoked while saying hello (before the hub knew this connection)? The hub tells it
        # of revocations from now on; this covers the time before.
        try:
            await _authenticate(runtime, websocket, token)
        except NotAuthenticated as refusal:
            raise StreamClosed(CloseCode.NOT_AUTHENTICATED, refusal.detail) from None
        await _serve(runtime, websocket, connection, token)
    except StreamClosed as closed:
        if connection is None or connection.failure is None:
            # A bad hello, a forbidden topic, an idle client: the hub counts the others.
            runtime.hub.closed[closed.code] += 1
        await _close(websocket, closed.code, closed.reason)
    except WebSocketDisconnect:
        pass
    except Exception:
        # The database went away mid-replay, or a bug: say so (1011) and let the client resume.
        log.exception("stream connection failed")
        await _close(websocket, CloseCode.INTERNAL_ERROR, "server error; reconnect and resume")
    finally:
        if connection is not None:
            runtime.hub.detach(connection)


async def _serve(
    runtime: StreamHost, websocket: WebSocket, connection: Connection, token: str
) -> None:
    tasks = [
        asyncio.create_task(_pump(websocket, connection), name="stream-pump"),
        asyncio.create_task(_listen(runtime, websocket), name="stream-listen"),
        asyncio.create_task(_beat(runtime, websocket, connection, token), name="stream-beat"),
        asyncio.create_task(connection.failed.wait(), name="stream-failed"),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(*tasks)  # a cancellation of this handler still goes through
    if connection.failure is not None:
        raise StreamClosed(*connection.failure)
    for task in done:
        if not task.cancelled() and (failure := task.exception()) is not None:
            # StreamClosed and disconnects are handled by the caller; anything else is
            # unexpected, and the caller logs it and closes with 1011.
            raise failure


async def _pump(websocket: WebSocket, connection: Connection) -> None:
    """Send what the connection is owed, in order, as fast as the client reads."""
    while True:
        await connection.ready.wait()
        for message in connection.take():
            if connection.failure is not None:
                return  # failed (revoked, too slow) while sending: the rest is not owed
            await websocket.send_text(message)


async def _listen(runtime: StreamHost, websocket: WebSocket) -> None:
    """Read the client's heartbeats; a client silent for the idle timeout is dropped."""
    idle = runtime.settings.stream_idle_timeout_seconds
    while True:
        try:
            raw = await within(idle, _receive_text(websocket))
        except TimeoutError:
            raise StreamClosed(CloseCode.IDLE, f"nothing heard for {idle} s") from None
        _parse(raw)  # anything well-formed counts as a sign of life


async def _beat(
    runtime: StreamHost, websocket: WebSocket, connection: Connection, token: str
) -> None:
    """Heartbeats to the client; each one also re-checks the token (expired or revoked: 4401)."""
    interval = runtime.settings.stream_heartbeat_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await _authenticate(runtime, websocket, token)
        except NotAuthenticated as refusal:
            raise StreamClosed(CloseCode.NOT_AUTHENTICATED, refusal.detail) from None
        runtime.hub.heartbeat(connection, runtime.clock.now())


async def _receive_hello(websocket: WebSocket) -> Hello:
    try:
        raw = await within(HELLO_TIMEOUT, _receive_text(websocket))
    except TimeoutError:
        raise StreamClosed(CloseCode.BAD_MESSAGE, "send hello first") from None
    message = _parse(raw)
    if not isinstance(message, Hello):
        raise StreamClosed(CloseCode.BAD_MESSAGE, "the first message must be hello")
    return message


async def _receive_text(websocket: WebSocket) -> str:
    """The next text frame; a binary frame is a protocol error (4400), not a crash."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("text") is None:
        raise StreamClosed(CloseCode.BAD_MESSAGE, "send JSON text frames, not binary")
    return message["text"]


def _parse(raw: str) -> ClientMessage:
    try:
        return _client_message.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise StreamClosed(CloseCode.BAD_MESSAGE, f"bad message: {where}: {first['msg']}") from None


def _token_of(websocket: WebSocket) -> str:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _authenticate(runtime: StreamHost, websocket: WebSocket, token: str) -> Principal:
    if not token:
        raise NotAuthenticated("send Authorization: Bearer <token> on the handshake")
    return await runtime.tokens.principal(
        runtime.db,
        token,
        now=runtime.clock.now(),
        client_addr=websocket.client.host if websocket.client else None,
    )


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(Exception):
        await within(
            1, websocket.send_text(StreamError(code=code, detail=reason).model_dump_json())
        )
    with contextlib.suppress(Exception):
        await within(2, websocket.close(code=code, reason=reason[:120]))


@router.get("/events", response_model=EventBatch, responses=PROTECTED)
async def poll_events(
    request: Request,
    feed: FeedDep,
    hub: HubDep,
    settings: SettingsDep,
    principal: Authenticated,
    topics: Annotated[list[Topic], Query(min_length=1, max_length=10)],
    since: Annotated[
        int | None,
        Query(ge=0, le=2**62, description="Last seq you applied; omit to learn where now is."),
    ] = None,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for news.")] = 0,
    warehouse_id: Annotated[str | None, Query(max_length=40, pattern=NO_CONTROL_CHARS)] = None,
    zone: Annotated[str | None, Query(max_length=60, pattern=NO_CONTROL_CHARS)] = None,
) -> EventBatch:
    """Long-poll fallback for networks that block WebSocket: the events after `since` you may
    see, waiting up to `wait` seconds for the first one. Same scope and topics as the stream.
    Signing out (or the account disabled) ends a poll under way with 401 at once."""
    subscription = Subscription(principal, authorise(principal, topics), warehouse_id, zone)
    token = bearer_token(request)
    with hub.watching(token_digest(token), principal.user_id) as watch:
        # Revoked between the token check and the watch? The hub tells the watch from now on.
        runtime: StreamHost = request.app.state.runtime
        await runtime.tokens.principal(
            runtime.db, token, now=runtime.clock.now(), client_addr=principal.client_addr
        )
        return await _poll(feed, hub, settings, principal, subscription, since, wait, watch)


async def _poll(
    feed: EventFeed,
    hub: Hub,
    settings: Settings,
    principal: Principal,
    subscription: Subscription,
    since: int | None,
    wait: float,
    watch: PollWatch,
) -> EventBatch:
    if since is None:
        # "From now on": where now is, so the next poll asks for what comes after it.
        return EventBatch(events=[], last_seq=feed.last_seq)
    if since > feed.last_seq:
        await feed.catch_up()  # perhaps committed through another instance, not yet read here
    if since > feed.last_seq or feed.last_seq - since > settings.stream_replay_limit:
        return EventBatch(events=[], last_seq=feed.last_seq, snapshot_required=True)
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        if feed.last_seq <= since:
            await feed.wait_beyond(
                since,
                max(0.0, deadline - asyncio.get_running_loop().time()),
                unless=watch.revoked,
            )
        if watch.revoked.is_set():
            raise NotAuthenticated(REVOKED)
        if since + 1 >= feed.ring_first:
            items = feed.held_after(since)[:LONG_POLL_LIMIT]
        else:
            items = await feed.read(since, 2**62, LONG_POLL_LIMIT)
            if not items or items[0].seq != since + 1 or items[-1].seq - since != len(items):
                # A hole in the log: those events moved to the archive (docs/data-tiers.md).
                return EventBatch(events=[], last_seq=feed.last_seq, snapshot_required=True)
        visible = [
            i.event for i in items if subscription.sees(i.event, hub.zones, hub.order_states)
        ]
        if not sees_staff_details(principal):
            visible = [redact_event(e) for e in visible]
        if items:
            since = items[-1].seq
        if watch.revoked.is_set():
            # Revoked while the log was read: nothing read after the sign-out goes out.
            raise NotAuthenticated(REVOKED)
        if visible or asyncio.get_running_loop().time() >= deadline:
            return EventBatch(events=[Event(**e) for e in visible], last_seq=max(since, 0))
