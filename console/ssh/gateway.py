"""The SSH server of `freshline ssh-serve` (asyncssh): who may connect, and one console each.

A connection is let in by public key only; the backend says which account a key signs in as
(`/ssh/gateway/lookup`, with the gateway's secret) and, once the client has proven it holds the
key, gives a session token for that account (`/ssh/gateway/sessions`). No shell, no command, no
forwarding: a session with a terminal gets a console (`freshline`, or `freshline wall` for a
read-only key) in a child process on its own PTY (`terminal.py`). Every `check_seconds` the
backend is asked which keys still count; a revoked key's sessions end then (their tokens were
revoked at once by the backend). Idle sessions end, sessions end when their token would, and
connections are limited per address.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from backend_client import FreshlineClient, FreshlineError, NotFound, cancel_and_wait
from backend_client.models import SshGatewayKey, SshSessionGrant
from console.ssh.session import ConsoleSession, Served

log = logging.getLogger(__name__)

CLIENT_ENVIRONMENT = ("COLORTERM", "NO_COLOR")
"""What the client may tell the console about its terminal besides TERM; nothing else."""
MAX_KEYS_OFFERED = 6
"""Different keys one connection may offer (each one asked of the backend), as OpenSSH's
MaxAuthTries."""
PASSED_ON = ("PATH", "HOME", "FRESHLINE_CONFIG", "FRESHLINE_CA_FILE", "TZ")
"""What the console inherits from ssh-serve's environment: never the gateway's secret."""


@dataclass(frozen=True)
class ServeSettings:
    """`freshline ssh-serve`'s options (docs/ssh.md)."""

    server: str
    gateway_secret: str
    host: str = "127.0.0.1"
    port: int = 2222
    host_key: Path = Path("ssh_host_ed25519_key")
    log_dir: Path = Path("ssh-logs")
    idle_seconds: float = 30 * 60
    connections_per_minute: int = 10
    max_sessions: int = 50
    check_seconds: float = 2.0
    login_timeout: float = 30.0


class Gateway:
    """The server: its backend client (holding the gateway's secret), limits and sessions."""

    def __init__(
        self,
        settings: ServeSettings,
        host_key: asyncssh.SSHKey,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.host_key = settings, host_key
        self.monotonic = monotonic
        """The clock idle time is measured on (a test drives its own)."""
        self.backend = FreshlineClient(settings.server, token=settings.gateway_secret)
        self.sessions: set[Served] = set()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = parse(f"{settings.connections_per_minute}/minute")
        self._listener: asyncssh.SSHAcceptor | None = None
        self._checker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._listener = await asyncssh.listen(
            self.settings.host,
            self.settings.port,
            server_factory=lambda: _Connection(self),
            server_host_keys=[self.host_key],
            encoding=None,
            line_editor=False,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            password_auth=False,
            kbdint_auth=False,
            host_based_auth=False,
            gss_host=None,
            login_timeout=self.settings.login_timeout,
            keepalive_interval=30,
            keepalive_count_max=3,
        )
        self._checker = asyncio.create_task(self._check_loop(), name="ssh-check")

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.get_port())

    async def close(self) -> None:
        if self._checker is not None:
            await cancel_and_wait(self._checker)
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
        await asyncio.gather(
            *(s.channel.end("the server is stopping", 0) for s in list(self.sessions)),
            return_exceptions=True,
        )
        await self.backend.aclose()

    async def serve_forever(self) -> None:
        assert self._listener is not None
        await self._listener.wait_closed()

    # --- limits ----------------------------------------------------------------------------

    def admit(self, address: str) -> bool:
        """Count a connection from `address`; False once over the limit for the last minute."""
        return self._limiter.hit(self._rate, "ssh", address)

    # --- the checks ------------------------------------------------------------------------

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_seconds)
            try:
                await self.check()
            except Exception:  # the loop must outlive any one round
                log.exception("checking the SSH sessions failed")

    async def check(self) -> None:
        """End sessions whose key no longer counts, that sat idle, or whose token runs out."""
        sessions = list(self.sessions)
        if not sessions:
            return
        live: set[int] | None
        try:
            live = set(await self.backend.ssh_gateway.live({s.key.key_id for s in sessions}))
        except FreshlineError as exc:
            # The backend still refuses the sessions' tokens if it revoked them; we learn of it
            # at the next round it answers.
            log.warning("cannot ask the backend which SSH keys still count: %r", exc)
            live = None
        now = self.monotonic()
        for session in sessions:
            if live is not None and session.key.key_id not in live:
                reason = "your SSH key was revoked, or your account may no longer sign in"
                await session.channel.end(reason, 1)
            elif session.ends_at <= now:
                await session.channel.end("the session reached its time limit; connect again", 0)
            elif (
                not session.key.read_only and now - session.last_input > self.settings.idle_seconds
            ):
                minutes = self.settings.idle_seconds / 60
                await session.channel.end(f"idle for {minutes:g} minutes: session ended", 0)

    def environment(
        self, grant: SshSessionGrant, term: str, client: Mapping[str, str]
    ) -> dict[str, str]:
        """The console's environment: built, never inherited whole (the secret stays here)."""
        log_dir = self.settings.log_dir
        env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
        env.update({name: client[name] for name in CLIENT_ENVIRONMENT if name in client})
        env.update(
            TERM=term or "xterm-256color",
            LANG="C.UTF-8",
            FRESHLINE_SERVER=self.settings.server,
            FRESHLINE_TOKEN=grant.access_token,
            FRESHLINE_CONSOLE_LOG=str(log_dir / f"console-{grant.username}.log"),
        )
        return env


class _Connection(asyncssh.SSHServer):
    """One SSH connection: public keys checked by the backend, at most one console."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer = "-"
        self.proven: tuple[str, SshGatewayKey] | None = None
        self._validated: tuple[str, SshGatewayKey] | None = None
        self._asked: set[str] = set()
        self._sessions = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "-"
        if not self.gateway.admit(self.peer):
            log.info("refused a connection from %s: over the rate limit", self.peer)
            conn.disconnect(
                asyncssh.DISC_TOO_MANY_CONNECTIONS,
                "too many connections from your address; try again in a minute",
            )

    def begin_auth(self, username: str) -> bool:
        return True  # always: a key, and nothing else, lets anyone in

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        if fingerprint not in self._asked:
            if len(self._asked) >= MAX_KEYS_OFFERED:
                # OpenSSH's MaxAuthTries: a client cycling through keys is not let on asking.
                log.info("%s offered more than %d keys", self.peer, MAX_KEYS_OFFERED)
                return False
            self._asked.add(fingerprint)
        try:
            known = await self.gateway.backend.ssh_gateway.lookup(fingerprint)
        except NotFound:
            log.info("%s offered unknown key %s", self.peer, fingerprint)
            return False
        except FreshlineError as exc:
            log.warning("cannot ask the backend about key %s: %r", fingerprint, exc)
            return False
        # asyncssh checks the client's signature after this says yes; the last key said yes
        # to is the one that signed in (see auth_completed).
        self._validated = (fingerprint, known)
        return True

    def auth_completed(self) -> None:
        self.proven = self._validated
        if self.proven:
            log.info(
                "%s signed in with key %s as %s",
                self.peer,
                *self.proven[0:1],
                self.proven[1].username,
            )

    def session_requested(self) -> ConsoleSession | bool:
        if self.proven is None or self._sessions >= 1:
            return False  # one console per connection
        if len(self.gateway.sessions) >= self.gateway.settings.max_sessions:
            log.warning(
                "refused a session from %s: %d sessions open", self.peer, len(self.gateway.sessions)
            )
            return False
        self._sessions += 1
        fingerprint, key = self.proven
        return ConsoleSession(self.gateway, fingerprint, key, self.peer)
