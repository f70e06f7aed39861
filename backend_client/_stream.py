"""The live stream: keeps a reader's picture exact across every kind of network trouble.

`async for message in client.stream(topics, since=seq)` connects to `/api/v1/stream`, resumes
from the last `seq` handed out, drops duplicates, detects gaps (by `prev_seq`) and reconnects
to fill them, says when to reload a snapshot, reconnects by itself with exponential backoff and
jitter, falls back to long polling when WebSocket keeps failing while REST works, and reports
its state all along. Protocol: docs/stream.md.

The stream reads the next message only when the reader asks for it: whatever the reader does
with one message (apply it, reload a snapshot) is done before the next is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypedDict

import websockets
from pydantic import TypeAdapter, ValidationError

from backend_client._errors import FreshlineError, GapDetected, NotAuthenticated, StreamRefused
from backend_client._retry import Backoff
from backend_client._waiting import within
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

if TYPE_CHECKING:
    from backend_client._client import FreshlineClient

log = logging.getLogger(__name__)

SERVER_MESSAGE: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)
"""Reads one message from the server (`SERVER_MESSAGE.validate_json(raw)`)."""


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
    """The stream's state, handed to the reader each time it changes."""

    state: StreamState
    attempt: int = 0
    """Consecutive failed attempts (shown as "reconnecting (attempt n)")."""
    last_seq: int | None = None
    last_message_at: float | None = None
    """`time.monotonic()` of the last message heard, for "last event n s ago"."""
    detail: str | None = None


StreamMessage = EventMessage | PositionMessage | KpiMessage | SnapshotRequired | StreamStatus
"""What a stream hands its reader:

- `EventMessage`: every visible event exactly once, in `seq` order;
- `SnapshotRequired`: reload over REST as of `last_seq`; the events after it follow;
- `PositionMessage`: a rider's newest fix (latest wins, not in the durable seq stream);
- `KpiMessage`: the KPI summary pushed on the `kpi` topic (WebSocket only: while polling none
  come, so the reader asks `client.kpi.summary()` when they stop);
- `StreamStatus`: the connection's state, whenever it is reported.
"""

FATAL_CLOSE_CODES = {4400, 4403}


class StreamOptions(TypedDict, total=False):
    """`Stream`'s keyword options, for `FreshlineClient.stream` to pass on (the defaults are
    `Stream`'s own)."""

    since: int | None
    warehouse_id: str | None
    zone: str | None
    backoff: Backoff | None
    dead_after: float
    poll_after_failures: int
    poll_wait: float
    retry_websocket_after: float


class Stream:
    """The live stream as an async iterator; ends after `stop()`, raises `NotAuthenticated` or
    `StreamRefused`, which need a person. Also an async context manager that stops it."""

    def __init__(
        self,
        client: FreshlineClient,
        topics: Sequence[Topic | str],
        *,
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
        self.last_seq = since
        """The seq of the last event handed out (or of the snapshot asked for)."""
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
        self._polled_ok = False
        self._messages: AsyncGenerator[StreamMessage, None] | None = None
        self._reading = False
        """A reader is waiting on `_messages` (which cannot be closed from outside then)."""

    @property
    def url(self) -> str:
        return self.client.server.replace("http", "ws", 1) + "/api/v1/stream"

    def stop(self) -> None:
        """End the stream: the reader's loop gets a last `StreamStatus` (offline) and ends."""
        self._stopped.set()
        if self._socket is not None:
            self._closing = asyncio.ensure_future(self._socket.close())

    def __aiter__(self) -> AsyncIterator[StreamMessage]:
        return self

    async def __anext__(self) -> StreamMessage:
        if self._messages is None:
            self._messages = self._run()
        self._reading = True
        try:
            return await self._messages.__anext__()
        finally:
            self._reading = False

    async def aclose(self) -> None:
        """Stop, and close the connection now if no reader is waiting on it."""
        self.stop()
        if self._messages is not None and not self._reading:
            await self._messages.aclose()

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[StreamMessage, None]:
        failures = 0
        while not self._stopped.is_set():
            if failures >= self.poll_after_failures:
                async with contextlib.aclosing(self._poll()) as polled:
                    async for message in polled:
                        yield message
                failures = 0 if self._polled_ok else failures
                if self._stopped.is_set():
                    break
            yield self._report(
                StreamState.CONNECTING if failures == 0 else StreamState.RECONNECTING,
                attempt=failures,
            )
            self._welcomed = False
            try:
                async with contextlib.aclosing(self._session()) as session:
                    async for message in session:
                        yield message
                failures = 0
            except (NotAuthenticated, StreamRefused) as refusal:
                yield self._report(StreamState.OFFLINE, detail=str(refusal))
                raise
            except (OSError, TimeoutError, websockets.WebSocketException, GapDetected) as exc:
                # A session that got as far as welcome was a success that ended: this is the
                # first attempt again, not one more failure in a row.
                failures = 1 if self._welcomed else failures + 1
                self._unreachable = _unreachable(exc) and (failures == 1 or self._unreachable)
                yield self._report(StreamState.RECONNECTING, attempt=failures, detail=repr(exc))
                log.info("stream broke (%r); reconnecting, attempt %d", exc, failures)
            if not self._stopped.is_set():
                await self._pause(self.backoff.delay(failures))
        yield self._report(StreamState.OFFLINE, detail="stopped")

    # --- WebSocket ----------------------------------------------------------------------------

    async def _session(self) -> AsyncGenerator[StreamMessage, None]:
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
                ssl=self.client.tls,  # wss://: verified as REST is; ws://: None
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
                    yield self._report(StreamState.LIVE)
                else:
                    async with contextlib.aclosing(self._handle(message)) as handled:
                        async for item in handled:
                            yield item
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
            return SERVER_MESSAGE.validate_json(raw)
        except ValidationError as exc:
            raise StreamRefused(f"unreadable message from the server: {exc}") from exc

    async def _handle(self, message: ServerMessage) -> AsyncGenerator[StreamMessage, None]:
        self.status = replace(self.status, last_message_at=time.monotonic())
        match message:
            case EventMessage():
                if self._fresh(message, prev_seq=message.prev_seq):
                    yield message
            case PositionMessage() | KpiMessage():
                yield message
            case SnapshotRequired():
                async with contextlib.aclosing(self._resync(message)) as resync:
                    async for item in resync:
                        yield item
            case Heartbeat():
                yield self._report(StreamState.LIVE)
            case StreamError():
                self.status = replace(self.status, detail=message.detail)

    def _fresh(self, event: EventMessage, *, prev_seq: int | None) -> bool:
        """Whether to hand the event out (and count it as applied); a duplicate is dropped, a
        gap raises `GapDetected` (the session reconnects from the last seq to fill it)."""
        last = self.last_seq if self.last_seq is not None else 0
        if event.seq <= last:
            self.duplicates += 1
            return False
        if prev_seq is not None and prev_seq != last:
            raise GapDetected(f"event {event.seq} follows {prev_seq}, but {last} was applied last")
        self.last_seq = event.seq
        return True

    async def _resync(self, snapshot: SnapshotRequired) -> AsyncGenerator[StreamMessage, None]:
        yield self._report(StreamState.RESYNCING)
        self.last_seq = snapshot.last_seq
        yield snapshot
        yield self._report(StreamState.LIVE)

    # --- long polling -------------------------------------------------------------------------

    async def _poll(self) -> AsyncGenerator[StreamMessage, None]:
        """Poll for a while; `_polled_ok` says whether REST worked (so WebSocket is what is
        blocked)."""
        self._polled_ok = False
        if self._unreachable and not self._tried_again:
            # The server itself seemed down, not the WebSocket blocked: when it answers again,
            # try the stream once more at once instead of polling for a minute. (If that
            # fails too while REST works, the WebSocket is what is blocked: poll.)
            try:
                await self.client.health()
            except FreshlineError as exc:
                yield self._report(StreamState.OFFLINE, detail=repr(exc))
                return
            self._tried_again = True
            self._polled_ok = True
            return
        deadline = time.monotonic() + self.retry_websocket_after
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
                yield self._report(StreamState.OFFLINE, detail="token refused")
                raise
            except FreshlineError as exc:
                yield self._report(StreamState.OFFLINE, detail=repr(exc))
                return
            self._polled_ok = True
            yield self._report(StreamState.POLLING)
            if batch.snapshot_required:
                snapshot = SnapshotRequired(last_seq=batch.last_seq, reason="snapshot required")
                async with contextlib.aclosing(self._resync(snapshot)) as resync:
                    async for item in resync:
                        yield item
                yield self._report(StreamState.POLLING)
                continue
            for event in batch.events:
                message = EventMessage(**event.model_dump(), prev_seq=0)
                if self._fresh(message, prev_seq=None):
                    yield message
            if self.last_seq is None or batch.last_seq > self.last_seq:
                self.last_seq = batch.last_seq
            self.status = replace(self.status, last_message_at=time.monotonic())

    # --- helpers ------------------------------------------------------------------------------

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await within(seconds, self._stopped.wait())

    def _report(
        self, state: StreamState, *, attempt: int = 0, detail: str | None = None
    ) -> StreamStatus:
        self.status = replace(
            self.status, state=state, attempt=attempt, last_seq=self.last_seq, detail=detail
        )
        return self.status


def _unreachable(exc: BaseException) -> bool:
    """The server went away (refused, reset, dropped without a close frame), as opposed to a
    WebSocket that something in between refuses or a server that stopped answering."""
    if isinstance(exc, websockets.ConnectionClosed):
        return exc.rcvd is None
    return isinstance(exc, OSError) and not isinstance(exc, TimeoutError)
