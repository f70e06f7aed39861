"""One SSH session of `freshline ssh-serve`: its channel, the console behind it, and how it ends.

asyncssh calls in (PTY request, shell, keys typed, resize, window full or free, close); the
console on its PTY (`terminal.py`) writes out through `write`. A session ends when the console
quits, when the client leaves, or when the gateway ends it (key revoked, idle, time limit): the
console is hung up, the client's terminal reset and told why, the session's token revoked.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncssh

from backend_client import FreshlineClient, FreshlineError
from backend_client.models import SshGatewayKey, SshSessionGrant
from console.ssh.terminal import PtyConsole, TermSize

if TYPE_CHECKING:
    from console.ssh.gateway import Gateway

log = logging.getLogger(__name__)

RESET_TERMINAL = (
    b"\x1b[0m\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l"
    b"\x1b[?25h\x1b[?1049l\r\n"
)
"""What a console killed mid-draw leaves set: mouse modes, bracketed paste, hidden cursor, the
alternate screen. Sent before our last words, so the client's terminal is usable again."""


@dataclass(eq=False)
class Served:
    """One console served, as the check loop sees it."""

    channel: ConsoleSession
    key: SshGatewayKey
    grant: SshSessionGrant
    last_input: float
    ends_at: float
    """When its token runs out, on the gateway's clock."""


class ConsoleSession(asyncssh.SSHServerSession[bytes]):
    """One SSH channel with a console behind it."""

    def __init__(self, gateway: Gateway, fingerprint: str, key: SshGatewayKey, peer: str) -> None:
        self.gateway, self.fingerprint, self.key, self.peer = gateway, fingerprint, key, peer
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.term = ""
        self.size = TermSize(80, 24)
        self.console: PtyConsole | None = None
        self.served: Served | None = None
        self._ending = False
        self._start: asyncio.Task[None] | None = None

    # --- asyncssh's callbacks --------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan
        chan.set_write_buffer_limits(high=256 * 1024)

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        self.term = term_type
        width, height, pixel_width, pixel_height = term_size
        self.size = TermSize(width or 80, height or 24, pixel_width, pixel_height)
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return False  # no commands: a console or nothing

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        self._start = asyncio.create_task(self._open(), name="ssh-console-open")

    def data_received(self, data: bytes, datatype: Any) -> None:
        if self.served is not None:
            self.served.last_input = self.gateway.monotonic()
        if self.console is not None:
            self.console.write(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = TermSize(
            width or self.size.columns, height or self.size.rows, pixwidth, pixheight
        )
        if self.console is not None:
            self.console.resize(self.size)

    def pause_writing(self) -> None:
        if self.console is not None:
            self.console.pause_output()

    def resume_writing(self) -> None:
        if self.console is not None:
            self.console.resume_output()

    def eof_received(self) -> bool:
        return False  # close when the client is done sending

    def connection_lost(self, exc: Exception | None) -> None:
        self._ending = True  # nothing more is sent; the console is stopped next
        asyncio.get_running_loop().create_task(self._closed(), name="ssh-console-closed")

    # --- the Sink the console writes to ----------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.chan is None or self._ending:
            return
        try:
            self.chan.write(data)
        except (BrokenPipeError, OSError):  # the client went away between two reads
            self._ending = True

    def pause_input(self) -> None:
        if self.chan is not None:
            self.chan.pause_reading()

    def resume_input(self) -> None:
        if self.chan is not None:
            self.chan.resume_reading()

    # --- opening and ending ----------------------------------------------------------------

    async def _open(self) -> None:
        chan = self.chan
        assert chan is not None
        if not self.term:
            chan.write(b"Freshline serves a console: connect with a terminal (ssh -t).\r\n")
            chan.exit(2)
            return
        try:
            grant = await self.gateway.backend.ssh_gateway.open_session(
                self.fingerprint, peer=self.peer
            )
        except FreshlineError as exc:
            log.warning("no session for key %s: %r", self.fingerprint, exc)
            chan.write(b"Freshline: cannot open a session now; try again later.\r\n")
            chan.exit(1)
            return
        self.gateway.settings.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.gateway.environment(grant, self.term, chan.get_environment())
        arguments = ["wall"] if grant.read_only else []
        self.console = PtyConsole(arguments, env, self.size, self, on_exit=self._console_exited)
        now = self.gateway.monotonic()
        self.served = Served(self, self.key, grant, now, now + grant.lifetime_seconds)
        self.gateway.sessions.add(self.served)
        log.info(
            "session %s for %s (%s) from %s, %s",
            grant.key_id,
            grant.username,
            grant.role,
            self.peer,
            "wall" if grant.read_only else "console",
        )
        await self.console.start()

    def _console_exited(self, code: int) -> None:
        if self.chan is not None and not self._ending:
            self._ending = True
            self.chan.exit(code if code >= 0 else 1)

    async def end(self, reason: str, code: int) -> None:
        """End the session from our side: the console hung up, the client told why."""
        if self._ending:
            return
        self._ending = True
        log.info("ending the session of %s from %s: %s", self.key.username, self.peer, reason)
        if self.console is not None:
            await self.console.stop()
        if self.chan is not None:
            self.chan.write(RESET_TERMINAL + f"Freshline: {reason}.\r\n".encode())
            self.chan.exit(code)

    async def _closed(self) -> None:
        """The channel is gone (either side): stop the console, revoke its token."""
        if self._start is not None and not self._start.done():
            self._start.cancel()
        self._ending = True
        if self.console is not None:
            await self.console.stop()
        served, self.served = self.served, None
        if served is None:
            return
        self.gateway.sessions.discard(served)
        async with FreshlineClient(
            self.gateway.settings.server, token=served.grant.access_token
        ) as client:
            try:
                await client.logout()
            except FreshlineError as exc:  # revoked already (the key), or the backend is away
                log.info("revoking the session token of %s: %r", served.grant.username, exc)
