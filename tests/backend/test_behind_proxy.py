"""The backend behind a trusted reverse proxy (docs/deployment.md): the proxy's
`X-Forwarded-Proto: https` makes answers ask for TLS from then on, as answers over TLS do, and the
connection guard's per-address caps, which the proxy applies per client instead, do not refuse
the proxy, which speaks for every client. From anyone else the header is ignored and the caps
hold."""

from __future__ import annotations

import shutil
from pathlib import Path

from backend.clock import ManualClock
from backend.edge.blocklist import BlockList
from backend.edge.guard import ConnectionGuard
from tests.support import started

# httpx's ASGITransport connects from 127.0.0.1.
FROM_THE_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}


async def hsts_behind(sqlite_template: Path, tmp_path: Path, trusted: list[str]) -> str | None:
    path = tmp_path / "freshline.db"
    shutil.copy(sqlite_template, path)
    async for api in started(f"sqlite+aiosqlite:///{path}", ManualClock(), trusted_proxies=trusted):
        answer = await api.client.get("/api/v1/health", headers=FROM_THE_PROXY)
        assert answer.status_code == 200, answer.text
        refused = await api.client.get("/api/v1/orders", headers=FROM_THE_PROXY)
        assert refused.status_code == 401  # errors carry the headers too
        assert refused.headers.get("strict-transport-security") == answer.headers.get(
            "strict-transport-security"
        )
        return answer.headers.get("strict-transport-security")
    raise AssertionError("the app did not start")


async def test_tls_at_a_trusted_proxy_is_told_to_the_client(
    sqlite_template: Path, tmp_path: Path
) -> None:
    hsts = await hsts_behind(sqlite_template, tmp_path, ["127.0.0.1"])
    assert hsts is not None and hsts.startswith("max-age=")


async def test_a_forwarded_proto_from_anyone_else_is_ignored(
    sqlite_template: Path, tmp_path: Path
) -> None:
    assert await hsts_behind(sqlite_template, tmp_path, ["10.0.0.5"]) is None


def guard(*trusted: str) -> ConnectionGuard:
    return ConnectionGuard(
        BlockList(["10.9.9.9"]),
        max_per_address=2,
        request_timeout_s=10,
        handshakes_per_minute=2,
        trusted_proxies=trusted,
    )


def test_a_trusted_proxy_is_not_held_to_one_clients_limits() -> None:
    """Every client behind the proxy arrives from its address: the per-address caps would
    refuse the 257th console of the whole site (the proxy caps each client instead)."""
    door = guard("10.0.0.5", "fd00::/64")
    for host in ("10.0.0.5", "fd00::7", "::ffff:10.0.0.5"):
        assert all(door.admit(host) is None for _ in range(10)), host
        assert all(door.handshake_allowed(host) for _ in range(10)), host
    # Anyone else still is.
    assert door.admit("10.0.0.6") is None and door.admit("10.0.0.6") is None
    assert door.admit("10.0.0.6") == door.too_many
    assert door.handshake_allowed("10.0.0.6") and door.handshake_allowed("10.0.0.6")
    assert not door.handshake_allowed("10.0.0.6")
    # Counted in and out all the same, so the counts stay right.
    for _ in range(10):
        door.release("10.0.0.5")
    assert "10.0.0.5" not in door.open


def test_without_trusted_proxies_every_address_has_the_limits() -> None:
    door = guard()
    assert door.admit("10.0.0.5") is None and door.admit("10.0.0.5") is None
    assert door.admit("10.0.0.5") == door.too_many


def test_a_trusted_proxy_on_the_block_list_is_still_refused() -> None:
    door = guard("10.9.9.9")
    assert door.admit("10.9.9.9") is not None
