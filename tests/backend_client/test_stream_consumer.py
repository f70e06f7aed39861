"""The stream consumer against a scripted WebSocket server (real sockets on loopback)."""

from __future__ import annotations

import asyncio
import json

import websockets

from backend_client import FreshlineClient, StreamConsumer, StreamState
from backend_client.retry import Backoff


async def test_a_session_that_was_welcomed_resets_the_attempt_count() -> None:
    """A server that welcomes and then goes away (a restart, say) is not a failing server:
    the consumer keeps reconnecting as attempt 1 and never falls back to polling."""
    sessions = 0
    enough = asyncio.Event()

    async def welcome_then_leave(socket) -> None:
        nonlocal sessions
        sessions += 1
        if sessions >= 6:
            enough.set()
        await socket.recv()  # hello
        welcome = {"type": "welcome", "topics": ["orders"], "last_seq": 0, "heartbeat_seconds": 15}
        await socket.send(json.dumps(welcome))
        await socket.close(1001, "restarting")

    async with websockets.serve(welcome_then_leave, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        attempts: list[int] = []
        states: list[StreamState] = []

        def on_status(status) -> None:
            states.append(status.state)
            if status.state == StreamState.RECONNECTING:
                attempts.append(status.attempt)

        client = FreshlineClient(f"http://127.0.0.1:{port}", token="t")
        consumer = StreamConsumer(
            client,
            ["orders"],
            on_event=lambda _e: None,
            on_status=on_status,
            backoff=Backoff(base=0.001, cap=0.002),
            poll_after_failures=3,
        )
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(enough.wait(), 10)
        consumer.stop()
        await asyncio.wait_for(task, 5)
        await client.aclose()

    assert attempts and set(attempts) == {1}
    assert StreamState.POLLING not in states
