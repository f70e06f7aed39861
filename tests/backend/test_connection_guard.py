"""Connection hygiene against a real `freshline serve`: idle and half-sent connections closed on
the (short, test-set) timeout, per-address connection and stream-handshake limits, and the block
list, read again when its file changes. Every wait is for a condition, bounded for a loaded
machine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.servers import Server, running, serving
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.long(35)]

CLOSED_WITHIN_S = 60.0
"""A bound for a loaded machine: the server closes them after 1 s."""


def own_database(tmp_path: Path) -> tuple[str, str]:
    return ("--database-url", f"sqlite+aiosqlite:///{tmp_path / 'guard.db'}")


async def closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (fails past the bound)."""
    return await asyncio.wait_for(reader.read(), CLOSED_WITHIN_S)


async def get(server: Server, path: str = "/api/v1/health") -> httpx.Response:
    """One request on a connection of its own (the guard decides per connection)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        return await client.get(path, headers={"Connection": "close"})


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[Server]:
    env = {
        "FRESHLINE_REQUEST_TIMEOUT_SECONDS": "1",
        "FRESHLINE_KEEP_ALIVE_TIMEOUT_SECONDS": "1",
        "FRESHLINE_MAX_CONNECTIONS_PER_ADDRESS": "5000",
    }
    with serving(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:
        yield server


async def test_idle_and_half_sent_connections_are_closed(quick: Server) -> None:
    opened = [await asyncio.open_connection("127.0.0.1", quick.port) for _ in range(900)]
    half_sent, kept_alive = opened[300:600], opened[600:]  # the first 300 stay idle
    for _, writer in half_sent:
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: freshline\r\nX-Slow: ")
    for _, writer in kept_alive:
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: freshline\r\n\r\n")
    answers = await asyncio.gather(*(closed(reader) for reader, _ in opened))
    assert all(a == b"" for a in answers[:300]), "an idle connection was answered"
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers[300:600]), answers[300]
    assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers[600:]), answers[600]
    for _, writer in opened:
        writer.close()
    assert (await get(quick)).status_code == 200  # and the server serves on


async def test_connections_per_address_are_bounded(tmp_path: Path) -> None:
    env = {"FRESHLINE_MAX_CONNECTIONS_PER_ADDRESS": "5"}
    with serving(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(5)]
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        refused = await closed(reader)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 429 "), refused
        assert b"retry-after: 5" in refused
        assert b"more than 5 connections" in refused
        held.pop()[1].close()  # one of the five goes: room for one more

        async def admitted() -> bool:
            return (await get(server)).status_code == 200

        await eventually(admitted, "a connection admitted once one of the five closed")
        for _, writer in held:
            writer.close()


async def test_stream_handshakes_per_address_are_bounded(tmp_path: Path) -> None:
    env = {"FRESHLINE_STREAM_HANDSHAKES_PER_MINUTE": "3"}
    with serving(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:
        for _ in range(3):  # through the door; then the missing token is refused
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(server.ws_url):
                    pass
            assert refused.value.response.status_code == 403
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(server.ws_url):
                pass
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["retry-after"] == "30"
        assert (await get(server)).status_code == 200  # REST from there goes on


async def test_the_block_list_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked.txt"
    blocked.write_text("# nobody yet\n198.51.100.0/24\n")
    env = {"FRESHLINE_BLOCKED_ADDRESSES_FILE": str(blocked)}
    with serving(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:
        assert (await get(server)).status_code == 200

        async def status() -> int:
            try:
                return (await get(server)).status_code
            except httpx.TransportError:
                return 0

        blocked.write_text("198.51.100.0/24\n127.0.0.1  # this machine\n")
        await eventually(lambda: status_is(status, 403), "127.0.0.1 blocked by the file")
        refused = await get(server)
        assert refused.json() == {"detail": "connections from this address are refused"}
        with pytest.raises(websockets.InvalidStatus) as stream_refused:
            async with websockets.connect(server.ws_url):
                pass
        assert stream_refused.value.response.status_code == 403

        # A broken edit is logged and changes nothing: the previous list stays in force.
        blocked.write_text("127.0.0.1\nnot-an-address\n")

        async def broken_edit_logged() -> bool:
            await status()  # the file is looked at as connections arrive
            return "not-an-address" in server.read("freshline.log")

        await eventually(broken_edit_logged, "the broken edit logged")
        assert (await get(server)).status_code == 403

        blocked.write_text("")
        await eventually(lambda: status_is(status, 200), "unblocked when the file emptied")


async def status_is(status: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await status() == expected


async def test_blocked_addresses_setting_refuses_rest_and_stream(tmp_path: Path) -> None:
    env = {"FRESHLINE_BLOCKED_ADDRESSES": '["10.1.2.3", "127.0.0.0/8"]'}
    with running(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:

        async def status() -> int:
            try:
                return (await get(server)).status_code
            except httpx.TransportError:
                return 0  # not listening yet

        await eventually(lambda: status_is(status, 403), "refused once listening", within=60)
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(server.ws_url):
                pass
        assert refused.value.response.status_code == 403


def test_an_unreadable_block_list_stops_the_start(tmp_path: Path) -> None:
    broken = tmp_path / "blocked.txt"
    broken.write_text("127.0.0.1\n300.1.1.1\n")
    with running(
        tmp_path, *own_database(tmp_path), env={"FRESHLINE_BLOCKED_ADDRESSES_FILE": str(broken)}
    ) as server:
        assert server.process is not None
        assert server.process.wait(timeout=60) == 2
        assert "entry 2: '300.1.1.1' is not an address" in server.read("stderr.txt")


async def test_a_blocked_client_behind_a_trusted_proxy_is_refused(tmp_path: Path) -> None:
    # A proxy on this machine, named as trusted (no peer is by default).
    env = {
        "FRESHLINE_BLOCKED_ADDRESSES": '["203.0.113.9"]',
        "FRESHLINE_TRUSTED_PROXIES": '["127.0.0.1"]',
    }
    with serving(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:
        forwarded = {"X-Forwarded-For": "203.0.113.9", "Connection": "close"}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            refused = await client.get("/api/v1/health", headers=forwarded)
            passed = await client.get("/api/v1/health", headers={"X-Forwarded-For": "192.0.2.1"})
        assert refused.status_code == 403
        assert refused.headers["content-security-policy"].startswith("default-src 'none'")
        assert passed.status_code == 200
        with pytest.raises(websockets.InvalidStatus) as stream_refused:
            async with websockets.connect(server.ws_url, additional_headers=forwarded):
                pass
        assert stream_refused.value.response.status_code == 403


async def test_stream_connections_count_in_and_out(tmp_path: Path) -> None:
    env = {"FRESHLINE_MAX_CONNECTIONS_PER_ADDRESS": "2"}
    with serving(tmp_path, "--demo", *own_database(tmp_path), env=env) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            signed_in = await client.post(
                "/api/v1/auth/token",
                data={"username": "dispatcher", "password": "demo-dispatcher"},
                headers={"Connection": "close"},
            )
        token = signed_in.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}

        async def served() -> bool:
            try:
                return (await get(server)).status_code == 200
            except httpx.TransportError:
                return False

        # Far more streams, one after another, than the two an address may hold at once: each
        # one closed gives its place back (refused ones and accepted ones alike).
        for _ in range(5):
            await eventually(served, "a place free for the next stream")
            async with websockets.connect(server.ws_url, additional_headers=bearer) as stream:
                await stream.send('{"type": "hello", "topics": ["orders"]}')
                assert '"welcome"' in str(await stream.recv())
            await eventually(served, "a place free for the next stream")
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(server.ws_url):
                    pass
        # Two held streams fill the address's places: a third connection is refused.
        async with (
            websockets.connect(server.ws_url, additional_headers=bearer),
            websockets.connect(server.ws_url, additional_headers=bearer),
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            assert (await closed(reader)).startswith(b"HTTP/1.1 429 ")
            writer.close()
        await eventually(served, "both places back once the streams closed")
