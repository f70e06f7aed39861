"""The block list and the guard's counts, on an injected clock (no server, no waiting)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from backend.app import create_app
from backend.edge.blocklist import BlockList
from backend.edge.guard import BLOCKED, ConnectionGuard
from backend.settings import Settings


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def rewrite(path: Path, text: str) -> None:
    """Write `text` and move the file's time on, so the change shows on any file system."""
    path.write_text(text)
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_addresses_and_networks_both_families() -> None:
    blocks = BlockList(["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"])
    assert blocks.blocked("203.0.113.7")
    assert not blocks.blocked("203.0.113.8")
    assert blocks.blocked("198.51.100.200")
    assert blocks.blocked("2001:db8::1")
    assert blocks.blocked("::ffff:198.51.100.9")  # IPv4 seen through a dual-stack socket
    assert not blocks.blocked("2001:db9::1")
    assert not blocks.blocked("not-an-ip")


def test_the_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    file = tmp_path / "blocked.txt"
    file.write_text("# comment\n10.0.0.0/8  # the office\n")
    ticks = Ticks()
    blocks = BlockList(file=file, monotonic=ticks)
    assert blocks.blocked("10.9.9.9")
    assert not blocks.blocked("192.0.2.1")

    rewrite(file, "192.0.2.1\n")
    assert blocks.blocked("10.9.9.9"), "looked at no more than once a second"
    ticks.now += 1.0
    assert blocks.blocked("192.0.2.1")
    assert not blocks.blocked("10.9.9.9")

    rewrite(file, "192.0.2.1\n10.0.0.0/33\n")  # a broken edit: the list before stays
    ticks.now += 1.0
    assert blocks.blocked("192.0.2.1")
    file.unlink()  # so does a missing file
    ticks.now += 1.0
    assert blocks.blocked("192.0.2.1")
    rewrite(file, "")
    ticks.now += 1.0
    assert not blocks.blocked("192.0.2.1")


def test_a_broken_file_stops_the_start(tmp_path: Path) -> None:
    file = tmp_path / "blocked.txt"
    file.write_text("10.0.0.1\nbad\n")
    with pytest.raises(ValueError, match="entry 2: 'bad'"):
        BlockList(file=file)
    with pytest.raises(ValueError, match="No such file"):
        BlockList(file=tmp_path / "missing.txt")


def test_the_setting_is_checked() -> None:
    with pytest.raises(ValidationError, match=r"'10\.0\.0\.300' is not an address or network"):
        Settings(blocked_addresses=["10.0.0.300"])


def test_connections_are_counted_in_and_out() -> None:
    guard = ConnectionGuard(
        BlockList(["192.0.2.66"]),
        max_per_address=2,
        request_timeout_s=10,
        handshakes_per_minute=2,
    )
    assert guard.admit("192.0.2.66") == BLOCKED
    assert guard.admit("192.0.2.1") is None
    assert guard.admit("192.0.2.1") is None
    assert guard.admit("192.0.2.1") == guard.too_many
    assert guard.admit("192.0.2.2") is None  # another address has its own count
    guard.release("192.0.2.1")
    assert guard.admit("192.0.2.1") is None
    for host in ("192.0.2.1", "192.0.2.1", "192.0.2.2"):
        guard.release(host)
    assert guard.open == {}
    assert guard.handshake_allowed("192.0.2.1")
    assert guard.handshake_allowed("192.0.2.1")
    assert not guard.handshake_allowed("192.0.2.1")
    assert guard.handshake_allowed("192.0.2.2")


async def test_the_app_refuses_blocked_clients_as_it_sees_them(tmp_path: Path) -> None:
    # Behind a trusted proxy the client is the address the proxy forwards, which the socket's
    # guard never sees: the app checks it too. (No lifespan: /health needs none.)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        blocked_addresses=["203.0.113.0/24"],
    )
    app = create_app(settings)
    answers = {}
    for client in (("203.0.113.9", 1), ("192.0.2.1", 1)):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answers[client[0]] = await http.get("/api/v1/health")
    blocked, passed = answers["203.0.113.9"], answers["192.0.2.1"]
    assert blocked.status_code == 403
    assert blocked.json() == {"detail": "connections from this address are refused"}
    assert blocked.headers["cache-control"] == "no-store"
    assert blocked.headers["x-content-type-options"] == "nosniff"
    assert passed.status_code == 200
