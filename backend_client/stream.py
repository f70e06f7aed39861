"""The stream consumer: keeps a console's picture exact across every kind of network trouble.

It connects to `/api/v1/stream`, resumes from the last applied `seq`, drops duplicates,
detects gaps (by `prev_seq`) and reconnects to fill them, reloads a snapshot when told to,
reconnects by itself with exponential backoff and jitter, falls back to long polling when
WebSocket keeps failing while REST works, and reports its state all along. Protocol:
docs/stream.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import websockets
from pydantic import TypeAdapter, ValidationError

from backend_client.errors import FreshlineError, NotAuthenticated
from backend_client.http import FreshlineClient
from backend_client.models import (
    ClientHeartbeat,
    EventMessage,
    Heartbeat,
    Hello,
    KpiMessage,
    PositionMessage,
    ServerMessage,
    SnapshotRequired,
    StreamError,
    Topic,
    Welcome,
)
from backend_client.retry import Backoff
from backend_client.waiting import within

log = logging.getLogger(__name__)

_server_message: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)
Handler = Callable[..., Awaitable[None] | None]


class StreamState(StrEnum):
    """What the console's connection badge shows."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    RESYNCING = "resyncing"
    POLLING = "polling"
    OFFLINE = "offline"


@dataclass(frozen=True)
class StreamStatus:
    state: StreamState
    attempt: int = 0
    """Consecutive failed attempts (shown as "reconnecting (attempt n)")."""
    last_seq: int | None = None
    last_message_at: float | None = None
    """`time.monotonic()` of the last message heard, for "last event n s ago"."""
    detail: str | None = None


class GapDetected(FreshlineError):
    """An event's `prev_seq` is not the last applied seq: something was lost in between."""


class StreamRefused(FreshlineError):
    """The server closed for a reason retrying cannot fix (4400 bad message, 4403 forbidden)."""


FATAL_CLOSE_CODES = {4400, 4403}


class StreamConsumer:
    """Feeds `on_event` every visible event exactly once, in order, for as long as it runs."""

    def __init__(
        self,
        client: FreshlineClient,
        topics: list[Topic | str],
        *,
        on_event: Handler,
        on_position: Handler | None = None,
        on_snapshot: Handler | None = None,
        on_status: Callable[[StreamStatus], None] | None = None,
        on_kpi: Handler | None = None,
        since: int | None = None,
        warehouse_id: str | None = None,
        zone: str | None = None,
        backoff: Backoff | None = None,
        dead_after: float = 40.0,
        poll_after_failures: int = 3,
        poll_wait: float = 25.0,
        retry_websocket_after: float = 60.0,
    ) -> None:
        self.client = client
        self.topics = [Topic(t) for t in topics]
        self.on_event, self.on_position, self.on_snapshot = on_event, on_position, on_snapshot
        self.on_status = on_status
        self.on_kpi = on_kpi
        """Called with each `KpiSummary` pushed on the `kpi` topic (WebSocket only: a polling
        consumer gets none, so the caller asks `GET /kpi/summary` when they stop coming)."""
        self.last_seq = since
        self.warehouse_id, self.zone = warehouse_id, zone
        self.backoff = backoff or Backoff(base=0.5, cap=15.0)
        self.dead_after = dead_after
        self.poll_after_failures = poll_after_failures
        self.poll_wait = poll_wait
        self.retry_websocket_after = retry_websocket_after
        self.duplicates = 0
        self.status = StreamStatus(StreamState.CONNECTING)
        self._stopped = asyncio.Event()
        self._socket: Any = None
        self._closing: asyncio.Future[None] | None = None
        self._welcomed = False
        self._unreachable = True
        """Every failure of the current streak was the server not answering at all (refused,
        reset): once REST answers again, WebSocket is worth one more try at once."""
        self._tried_again = False

    @property
    def url(self) -> str:
        return self.client.server.replace("http", "ws", 1) + "/api/v1/stream"

    def stop(self) -> None:
        self._stopped.set()
        if self._socket is not None:
            self._closing = asyncio.ensure_future(self._socket.close())

    async def run(self) -> None:
        """Consume until `stop()`; raises NotAuthenticated or StreamRefused, which need a person."""
        failures = 0
        while not self._stopped.is_set():
            if failures >= self.poll_after_failures:
                failures = 0 if await self._poll() else failures
                if self._stopped.is_set():
                    break
            self._report(
                StreamState.CONNECTING if failures == 0 else StreamState.RECONNECTING,
                attempt=failures,
            )
            self._welcomed = False
            try:
                await self._session()
                failures = 0
            except (NotAuthenticated, StreamRefused) as refusal:
                self._report(StreamState.OFFLINE, detail=str(refusal))
                raise
            except (OSError, TimeoutError, websockets.WebSocketException, GapDetected) as exc:
                # A session that got as far as welcome was a success that ended: this is the
                # first attempt again, not one more failure in a row.
                failures = 1 if self._welcomed else failures + 1
                self._unreachable = _unreachable(exc) and (failures == 1 or self._unreachable)
                self._report(StreamState.RECONNECTING, attempt=failures, detail=repr(exc))
                log.info("stream broke (%r); reconnecting, attempt %d", exc, failures)
            if not self._stopped.is_set():
                await self._pause(self.backoff.delay(failures))
        self._report(StreamState.OFFLINE, detail="stopped")

    # --- WebSocket ----------------------------------------------------------------------------

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self.client.token}"}
        try:
            socket = await websockets.connect(
                self.url,
                additional_headers=headers,
                compression=None,
                open_timeout=10,
                ping_interval=20,
                ping_timeout=20,
                max_size=8 * 2**20,
            )
        except websockets.InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                raise NotAuthenticated(
                    exc.response.status_code, "the stream refused the token"
                ) from exc
            raise
        self._socket = socket
        beat: asyncio.Task[None] | None = None
        try:
            hello = Hello(
                topics=self.topics,
                since=self.last_seq,
                warehouse_id=self.warehouse_id,
                zone=self.zone,
            )
            await socket.send(hello.model_dump_json())
            while not self._stopped.is_set():
                try:
                    raw = await within(self.dead_after, socket.recv())
                except TimeoutError:
                    raise TimeoutError(f"server silent for {self.dead_after} s") from None
                message = self._parse(raw)
                if isinstance(message, Welcome):
                    self._welcomed = True
                    self._tried_again = False
                    if self.last_seq is None:
                        self.last_seq = message.last_seq
                    beat = beat or asyncio.create_task(
                        self._beat(socket, message.heartbeat_seconds)
                    )
                    self._report(StreamState.LIVE)
                else:
                    await self._handle(message)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            reason = closed.rcvd.reason if closed.rcvd else ""
            if code == 4401:
                raise NotAuthenticated(401, reason or "token expired or revoked") from closed
            if code in FATAL_CLOSE_CODES:
                raise StreamRefused(f"{code}: {reason}") from closed
            if not self._stopped.is_set():
                raise
        finally:
            if beat is not None:
                beat.cancel()
            self._socket = None
            await socket.close()

    async def _beat(self, socket: Any, seconds: float) -> None:
        beat = ClientHeartbeat().model_dump_json()
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(seconds)
                await socket.send(beat)

    def _parse(self, raw: str | bytes) -> ServerMessage:
        try:
            return _server_message.validate_json(raw)
        except ValidationError as exc:
            raise StreamRefused(f"unreadable message from the server: {exc}") from exc

    async def _handle(self, message: ServerMessage) -> None:
        self.status = replace(self.status, last_message_at=time.monotonic())
        match message:
            case EventMessage():
                await self._apply(message, prev_seq=message.prev_seq)
            case PositionMessage():
                if self.on_position is not None:
                    await _call(self.on_position, message)
            case KpiMessage():
                if self.on_kpi is not None:
                    await _call(self.on_kpi, message.summary)
            case SnapshotRequired():
                await self._resync(message.last_seq)
            case Heartbeat():
                self._report(StreamState.LIVE)
            case StreamError():
                self.status = replace(self.status, detail=message.detail)

    async def _apply(self, event: EventMessage, *, prev_seq: int | None) -> None:
        last = self.last_seq if self.last_seq is not None else 0
        if event.seq <= last:
            self.duplicates += 1
            return
        if prev_seq is not None and prev_seq != last:
            raise GapDetected(f"event {event.seq} follows {prev_seq}, but {last} was applied last")
        await _call(self.on_event, event)
        self.last_seq = event.seq

    async def _resync(self, last_seq: int) -> None:
        self._report(StreamState.RESYNCING)
        if self.on_snapshot is not None:
            await _call(self.on_snapshot, last_seq)
        self.last_seq = last_seq
        self._report(StreamState.LIVE)

    # --- long polling -------------------------------------------------------------------------

    async def _poll(self) -> bool:
        """Poll for a while; True if REST worked (so WebSocket is what is blocked)."""
        if self._unreachable and not self._tried_again:
            # The server itself seemed down, not the WebSocket blocked: when it answers again,
            # try the stream once more at once instead of polling for a minute. (If that
            # fails too while REST works, the WebSocket is what is blocked: poll.)
            try:
                await self.client.health()
            except FreshlineError as exc:
                self._report(StreamState.OFFLINE, detail=repr(exc))
                return False
            self._tried_again = True
            return True
        deadline = time.monotonic() + self.retry_websocket_after
        worked = False
        while time.monotonic() < deadline and not self._stopped.is_set():
            try:
                batch = await self.client.events(
                    self.last_seq,  # None: the server says where now is, nothing is replayed
                    self.topics,
                    wait=min(self.poll_wait, max(0.0, deadline - time.monotonic())),
                    warehouse_id=self.warehouse_id,
                    zone=self.zone,
                )
            except NotAuthenticated:
                self._report(StreamState.OFFLINE, detail="token refused")
                raise
            except FreshlineError as exc:
                self._report(StreamState.OFFLINE, detail=repr(exc))
                return worked
            worked = True
            self._report(StreamState.POLLING)
            if batch.snapshot_required:
                await self._resync(batch.last_seq)
                self._report(StreamState.POLLING)
                continue
            for event in batch.events:
                await self._apply(EventMessage(**event.model_dump(), prev_seq=0), prev_seq=None)
            if self.last_seq is None or batch.last_seq > self.last_seq:
                self.last_seq = batch.last_seq
            self.status = replace(self.status, last_message_at=time.monotonic())
        return worked

    # --- helpers ------------------------------------------------------------------------------

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await within(seconds, self._stopped.wait())

    def _report(self, state: StreamState, *, attempt: int = 0, detail: str | None = None) -> None:
        self.status = replace(
            self.status, state=state, attempt=attempt, last_seq=self.last_seq, detail=detail
        )
        if self.on_status is not None:
            self.on_status(self.status)


def _unreachable(exc: BaseException) -> bool:
    """The server went away (refused, reset, dropped without a close frame), as opposed to a
    WebSocket that something in between refuses or a server that stopped answering."""
    if isinstance(exc, websockets.ConnectionClosed):
        return exc.rcvd is None
    return isinstance(exc, OSError) and not isinstance(exc, TimeoutError)


async def _call(handler: Handler, *args: Any) -> None:
    result = handler(*args)
    if inspect.isawaitable(result):
        await result
