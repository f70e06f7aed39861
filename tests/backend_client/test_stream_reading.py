"""`client.stream(...)` against a scripted WebSocket server (real sockets on loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection

from backend_client import Backoff, FreshlineClient, StreamMessage, StreamState, StreamStatus
from backend_client.models import EventMessage, SnapshotRequired

FAST = Backoff(base=0.001, cap=0.002)
WELCOME = {"type": "welcome", "topics": ["orders"], "last_seq": 0, "heartbeat_seconds": 15}


def event(seq: int, prev_seq: int) -> dict[str, Any]:
    return {
        "type": "event",
        "seq": seq,
        "prev_seq": prev_seq,
        "kind": "order.transition",
        "order_id": 1,
        "rider_id": None,
        "warehouse_id": "WH-CY",
        "from_state": "CREATED",
        "to_state": "PAID",
        "actor": "channel-app",
        "role": "channel",
        "client_addr": None,
        "at": "2026-11-22T03:30:00Z",
        "reason": None,
        "payload": {"version": 2},
    }


Script = Callable[[int, dict[str, Any]], list[dict[str, Any]]]
"""What the server sends in its n-th session (from 1), given the client's hello."""


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[tuple[FreshlineClient, list[dict[str, Any]]]]:
    """A server that answers each session's hello with the script's messages, then waits for the
    client to close; with a client for it and the hellos it heard."""
    hellos: list[dict[str, Any]] = []

    async def session(socket: ServerConnection) -> None:
        hello = json.loads(await socket.recv())
        hellos.append(hello)
        for message in script(len(hellos), hello):
            await socket.send(json.dumps(message))
        await socket.wait_closed()

    async with websockets.serve(session, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with FreshlineClient(f"http://127.0.0.1:{port}", token="t") as client:
            yield client, hellos


async def read_until(
    stream: AsyncIterator[StreamMessage], done: Callable[[list[StreamMessage]], bool]
) -> list[StreamMessage]:
    heard: list[StreamMessage] = []
    async for message in stream:
        heard.append(message)
        if done(heard):
            break
    return heard


def seqs(heard: list[StreamMessage]) -> list[int]:
    return [m.seq for m in heard if isinstance(m, EventMessage)]


async def test_events_come_once_in_order_and_a_gap_resumes_from_the_last_one() -> None:
    def script(session: int, hello: dict[str, Any]) -> list[dict[str, Any]]:
        if session == 1:  # 3 is lost: 4 says it follows 3
            return [WELCOME, event(1, 0), event(2, 1), event(2, 1), event(4, 3)]
        return [{**WELCOME, "last_seq": 4}, event(3, 2), event(4, 3)]

    async with scripted(script) as (client, hellos):
        stream = client.stream(["orders"], since=0, backoff=FAST)
        async with stream:
            heard = await asyncio.wait_for(read_until(stream, lambda h: 4 in seqs(h)), 10)
            assert seqs(heard) == [1, 2, 3, 4]
            assert stream.duplicates == 1 and stream.last_seq == 4
    assert [h["since"] for h in hellos] == [0, 2]
    states = [m.state for m in heard if isinstance(m, StreamStatus)]
    assert states == [
        StreamState.CONNECTING,
        StreamState.LIVE,
        StreamState.RECONNECTING,
        StreamState.RECONNECTING,
        StreamState.LIVE,
    ]


async def test_a_snapshot_is_asked_for_then_the_events_after_it_follow() -> None:
    def script(session: int, hello: dict[str, Any]) -> list[dict[str, Any]]:
        snapshot = {"type": "snapshot_required", "last_seq": 40, "reason": "too far behind"}
        return [{**WELCOME, "last_seq": 40}, snapshot, event(41, 40)]

    async with scripted(script) as (client, _):
        stream = client.stream(["orders"], since=1, backoff=FAST)
        async with stream:
            heard = await asyncio.wait_for(read_until(stream, lambda h: 41 in seqs(h)), 10)
    assert [
        m.state if isinstance(m, StreamStatus) else m.type
        for m in heard
        if not isinstance(m, StreamStatus) or m.state == StreamState.RESYNCING
    ] == [StreamState.RESYNCING, "snapshot_required", "event"]
    (snapshot,) = [m for m in heard if isinstance(m, SnapshotRequired)]
    assert snapshot.last_seq == 40


async def test_the_next_message_is_read_only_when_the_reader_asks() -> None:
    def script(session: int, hello: dict[str, Any]) -> list[dict[str, Any]]:
        return [WELCOME, event(1, 0), event(2, 1)]

    async with scripted(script) as (client, _):
        stream = client.stream(["orders"], since=0, backoff=FAST)
        async with stream:
            async for message in stream:
                if isinstance(message, EventMessage):
                    # The reader is busy with event 1: the stream has taken nothing further.
                    assert (message.seq, stream.last_seq) == (1, 1)
                    break
            assert stream.last_seq == 1


async def test_stop_ends_the_loop_with_an_offline_status_and_closes_the_socket() -> None:
    closed = asyncio.Event()

    async def session(socket: ServerConnection) -> None:
        await socket.recv()
        await socket.send(json.dumps(WELCOME))
        await socket.wait_closed()
        closed.set()

    async with websockets.serve(session, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with FreshlineClient(f"http://127.0.0.1:{port}", token="t") as client:
            stream = client.stream(["orders"], backoff=FAST)
            heard: list[StreamMessage] = []
            async for message in stream:
                heard.append(message)
                if isinstance(message, StreamStatus) and message.state == StreamState.LIVE:
                    stream.stop()
            await asyncio.wait_for(closed.wait(), 5)
    assert isinstance(heard[-1], StreamStatus)
    assert (heard[-1].state, heard[-1].detail) == (StreamState.OFFLINE, "stopped")


async def test_a_session_that_was_welcomed_resets_the_attempt_count() -> None:
    """A server that welcomes and then goes away (a restart, say) is not a failing server:
    the stream keeps reconnecting as attempt 1 and never falls back to polling."""
    sessions = 0
    enough = asyncio.Event()

    async def welcome_then_leave(socket: ServerConnection) -> None:
        nonlocal sessions
        sessions += 1
        if sessions >= 6:
            enough.set()
        await socket.recv()  # hello
        await socket.send(json.dumps(WELCOME))
        await socket.close(1001, "restarting")

    async with websockets.serve(welcome_then_leave, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        attempts: list[int] = []
        states: list[StreamState] = []
        client = FreshlineClient(f"http://127.0.0.1:{port}", token="t")
        stream = client.stream(["orders"], backoff=FAST, poll_after_failures=3)

        async def read() -> None:
            async for message in stream:
                if isinstance(message, StreamStatus):
                    states.append(message.state)
                    if message.state == StreamState.RECONNECTING:
                        attempts.append(message.attempt)

        task = asyncio.create_task(read())
        await asyncio.wait_for(enough.wait(), 10)
        stream.stop()
        await asyncio.wait_for(task, 5)
        await client.aclose()

    assert attempts and set(attempts) == {1}
    assert StreamState.POLLING not in states
