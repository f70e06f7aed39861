"""The connection guard: uvicorn's HTTP and WebSocket protocols with a door in front.

Uvicorn 0.54 closes a keep-alive connection idle between requests (`timeout_keep_alive`), but a
connection that never sends a request, or sends its head (or body) a byte at a time, is held as
long as the peer likes: with enough of them an unauthenticated client holds the process's file
descriptors. The guard, at the socket, before any parsing reaches the app:

- refuses a blocked address (403, then hangs up; `BlockList`);
- refuses a peer's connection beyond `max_connections_per_address` open at once (429);
- gives every request `request_timeout_seconds` from the connection's opening (or, later on a
  kept-alive connection, from the request's first byte) to its last byte; past that the
  connection is closed (408 if part of a request came);
- refuses a WebSocket upgrade beyond `stream_handshakes_per_minute` from one address in any
  minute (429, before the token is even looked at).

Addresses are the socket's peers: behind a proxy every client is the proxy's address, so the
per-address limits belong on the proxy then (deploy/nginx.conf sets them per client), and the
addresses in `trusted_proxies`, which speak for many clients, are exempt from them here (the
block list still applies to them). Refusals are answered with raw bytes and a close: no ASGI app
call, no task, no log line per refused connection (a flood must not become a flood of logs).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from backend.edge.blocklist import BlockList, parse_networks
from backend.settings import Settings


def answer(status: int, reason: str, detail: str, *extra: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, with a JSON `detail`."""
    body = json.dumps({"detail": detail}).encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        "x-content-type-options: nosniff",
        "cache-control: no-store",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


BLOCKED = answer(403, "Forbidden", "connections from this address are refused")
REQUEST_TIMEOUT = answer(408, "Request Timeout", "the request did not arrive in time")


class ConnectionGuard:
    """Who may connect, how many at once per address, and how fast streams may be opened."""

    def __init__(
        self,
        blocklist: BlockList,
        *,
        max_per_address: int,
        request_timeout_s: float,
        handshakes_per_minute: int,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.blocklist = blocklist
        self._proxies = parse_networks(trusted_proxies, "trusted_proxies")
        self._is_proxy: dict[str, bool] = {}
        self.max_per_address = max_per_address
        self.request_timeout_s = request_timeout_s
        self.open: dict[str, int] = {}
        """Connections open now, by peer address (WebSocket ones included)."""
        self._handshakes = RateLimitItemPerMinute(handshakes_per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.too_many = answer(
            429,
            "Too Many Requests",
            f"more than {max_per_address} connections from this address; close some",
            "retry-after: 5",
        )
        self.too_many_handshakes = answer(
            429,
            "Too Many Requests",
            f"more than {handshakes_per_minute} stream connections a minute from this address",
            "retry-after: 30",
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionGuard:
        """The guard the settings describe; ValueError if the block list cannot be read."""
        file = Path(settings.blocked_addresses_file) if settings.blocked_addresses_file else None
        return cls(
            BlockList(settings.blocked_addresses, file),
            max_per_address=settings.max_connections_per_address,
            request_timeout_s=settings.request_timeout_seconds,
            handshakes_per_minute=settings.stream_handshakes_per_minute,
            trusted_proxies=settings.trusted_proxies,
        )

    def speaks_for_many(self, host: str) -> bool:
        """`host` is a trusted proxy: every client behind it arrives from its address."""
        if not self._proxies:
            return False
        known = self._is_proxy.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host.split("%", 1)[0])
            except ValueError:
                address = None
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            known = address is not None and any(address in net for net in self._proxies)
            if len(self._is_proxy) >= 65_536:  # bounded, as the block list's decisions
                self._is_proxy.clear()
            self._is_proxy[host] = known
        return known

    def admit(self, host: str) -> bytes | None:
        """None, counting the connection in; else the answer that refuses it."""
        if self.blocklist.blocked(host):
            return BLOCKED
        count = self.open.get(host, 0)
        if count >= self.max_per_address and not self.speaks_for_many(host):
            return self.too_many
        self.open[host] = count + 1
        return None

    def release(self, host: str) -> None:
        """A connection `admit` counted in has closed."""
        count = self.open.get(host, 0) - 1
        if count > 0:
            self.open[host] = count
        else:
            self.open.pop(host, None)

    def handshake_allowed(self, host: str) -> bool:
        """One more WebSocket upgrade from `host` within the minute's budget (counted)."""
        if self.speaks_for_many(host):
            return True
        return self._limiter.hit(self._handshakes, "stream-handshake", host)


def peer_host(transport: asyncio.BaseTransport) -> str | None:
    """The peer's IP address, None for a peer without one (a Unix socket)."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return None


def guarded_protocols(guard: ConnectionGuard) -> tuple[type[asyncio.Protocol], type[Any]]:
    """uvicorn's `http` and `ws` protocol classes, with `guard` at the door."""

    class GuardedWebSocket(WebSocketsSansIOProtocol):
        """A stream connection; the HTTP side counted it in, this side counts it out."""

        def connection_lost(self, exc: Exception | None) -> None:
            try:
                super().connection_lost(exc)
            finally:
                if self.client is not None:
                    guard.release(self.client[0])

    class GuardedHttp(HttpToolsProtocol):
        """HTTP/1.1 (httptools) with the guard: refusals, per-address counts, the deadline."""

        _host: str | None = None
        _counted = False
        _receiving = False
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            host = peer_host(transport)
            if host is not None:
                refusal = guard.admit(host)
                if refusal is not None:
                    # Enough for uvicorn's connection_lost, which asyncio still calls.
                    self.transport = transport
                    transport.write(refusal)
                    transport.close()
                    return
                self._host, self._counted = host, True
            super().connection_made(transport)
            self._arm()  # a connection that never sends a request is closed too

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted and self._host is not None:
                self._counted = False
                guard.release(self._host)
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._receiving = True
            self._arm()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._receiving = False
            self._disarm()

        def handle_websocket_upgrade(self) -> None:
            self._receiving = False
            self._disarm()
            if self._host is not None and not guard.handshake_allowed(self._host):
                self.transport.write(guard.too_many_handshakes)
                self.transport.close()
                return
            super().handle_websocket_upgrade()
            # The socket is the WebSocket protocol's now: it counts the connection out.
            self._counted = False

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(guard.request_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            cycle = self.cycle
            answering = cycle is not None and cycle.response_started and not cycle.response_complete
            if self._receiving and not answering:
                self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    return GuardedHttp, GuardedWebSocket
