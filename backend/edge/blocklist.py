"""The addresses refused at the door: the `blocked_addresses` setting and the file named by
`blocked_addresses_file`, read again when it changes (looked at, at most, once a second).

The file holds one address or network a line (`203.0.113.7`, `198.51.100.0/24`, `2001:db8::/32`);
`#` starts a comment. A file that cannot be read or parsed at start stops the start; later, a
broken edit is logged and the list before it stays in force (a typo never unblocks everyone).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str], where: str) -> tuple[Network, ...]:
    """Each entry as a network (a bare address is a network of one); ValueError names the bad
    one and `where` it was."""
    networks = []
    for number, raw in enumerate(entries, start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{where}, entry {number}: {entry!r} is not an address or network"
            ) from None
    return tuple(networks)


class BlockList:
    """Whether a peer's address is refused; the file's changes are heard within `recheck_s`."""

    def __init__(
        self,
        addresses: Iterable[str] = (),
        file: Path | None = None,
        *,
        recheck_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed = parse_networks(addresses, "blocked_addresses")
        self._file = file
        self._recheck_s = recheck_s
        self._monotonic = monotonic
        self._stamp: tuple[int, int] | None = None
        self._from_file: tuple[Network, ...] = ()
        self._checked_at = monotonic()
        self._decided: dict[str, bool] = {}
        self._last_error: str | None = None
        if file is not None:
            self._reload(strict=True)

    def blocked(self, host: str) -> bool:
        """True when `host` (an IP address as the socket gives it) is on the list."""
        if self._file is not None and self._monotonic() - self._checked_at >= self._recheck_s:
            self._reload(strict=False)
        decided = self._decided.get(host)
        if decided is None:
            decided = self._decide(host)
            if len(self._decided) >= 65_536:  # bounded: many distinct peers start it afresh
                self._decided.clear()
            self._decided[host] = decided
        return decided

    def _decide(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False  # not an IP peer (a Unix socket): nothing to match
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in (*self._fixed, *self._from_file))

    def _reload(self, *, strict: bool) -> None:
        assert self._file is not None
        self._checked_at = self._monotonic()
        try:
            stat = self._file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return
            self._stamp = stamp  # a broken version is read (and logged) once, not every second
            networks = parse_networks(
                self._file.read_text(encoding="utf-8").splitlines(), str(self._file)
            )
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            if strict:
                raise ValueError(f"blocked_addresses_file: {exc}") from exc
            if str(exc) != self._last_error:
                log.error("blocked addresses not reloaded, the previous list stays: %s", exc)
            self._last_error = str(exc)
            return
        self._last_error = None
        self._from_file = networks
        self._decided.clear()
        log.info("blocked addresses: %d from %s", len(networks), self._file)


REFUSED_BODY = b'{"detail": "connections from this address are refused"}'
REFUSED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(REFUSED_BODY)).encode()),
]


class BlockedAddresses:
    """The block list on each request's client address, as the app sees it: behind a trusted
    proxy (uvicorn's `forwarded_allow_ips`, loopback by default) that is the address the proxy
    names in `X-Forwarded-For`, which the socket-level guard cannot see. 403, REST and stream."""

    def __init__(self, app: Any, blocklist: BlockList) -> None:
        self.app = app
        self.blocklist = blocklist

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind, client = scope["type"], scope.get("client")
        if kind not in ("http", "websocket") or not client or not self.blocklist.blocked(client[0]):
            await self.app(scope, receive, send)
        elif kind == "http":
            await send({"type": "http.response.start", "status": 403, "headers": REFUSED_HEADERS})
            await send({"type": "http.response.body", "body": REFUSED_BODY})
        elif "websocket.http.response" in scope.get("extensions", {}):
            start = {"type": "websocket.http.response.start", "status": 403}
            await send({**start, "headers": REFUSED_HEADERS})
            await send({"type": "websocket.http.response.body", "body": REFUSED_BODY})
        else:
            await send({"type": "websocket.close", "code": 1008})
