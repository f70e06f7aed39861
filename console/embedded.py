"""The embedded demo's backend: `python -m backend serve --demo` in a child process on a free
loopback port, with a temporary SQLite database and the demo's simulated clock.

Leaving the context stops the child and removes its folder (unless `keep`). The child also
stops by itself when this process dies, however it dies: it watches its stdin, which is a pipe
from us, and shuts down when the pipe closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from backend_client import within

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG = "backend.log"


class BackendFailed(Exception):
    """The embedded backend did not start; the message ends with its log."""


class PortInUse(BackendFailed):
    """The port asked for is taken: by another demo, or another program."""


PROGRESS_EVERY_S = 2.0
DEMO_ZONE = timezone(timedelta(hours=8), "CST")
"""Beijing time, the demo city's: what `freshline demo --start HH:MM` means. (Consoles show
the backend's own business zone, which `GET /health` tells.)"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (as uvicorn binds: address reuse
    on, so a port in TIME_WAIT counts as free)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds the listening socket on 127.0.0.1:`port` (Linux's /proc);
    True where that cannot be told."""
    if not Path("/proc/self/fd").is_dir():
        return True  # no /proc: cannot tell
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # closed while we looked
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link.removeprefix("socket:[").removesuffix("]"))
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False  # the process is gone
    for line in table:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port and inode in inodes:
            return True
    return False


class EmbeddedBackend:
    """One demo backend, alive inside `async with`."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: datetime | None = None,
        port: int | None = None,
        keep: bool = False,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.speed, self.start, self.keep = speed, start, keep
        self.port_asked = port
        self.port = port or free_port()
        self.on_progress = on_progress
        """Told each step of the start-up, and every couple of seconds while it waits."""
        self.folder = Path(tempfile.mkdtemp(prefix="freshline-demo-"))
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.folder / 'freshline.db'}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def __aenter__(self) -> EmbeddedBackend:
        # Checked before anything starts: a child that cannot bind exits, but meanwhile
        # whatever holds the port (another demo) answers the health check, and this console
        # would sign in to someone else's city.
        if self.port_asked is not None and not port_is_free(self.port_asked):
            shutil.rmtree(self.folder, ignore_errors=True)
            raise PortInUse(
                f"port {self.port_asked} is in use (another demo, or another program): "
                "give another --port, or none for a free one"
            )
        try:
            self._say(f"starting the backend on {self.url} (a new database, the demo city)")
            await self._spawn()
            await self._wait_healthy()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._stop()
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    async def _spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
        env |= {
            "FRESHLINE_LOG_FILE": str(self.folder / LOG),
            # Read by a person (its tail is shown when the backend fails): text, not JSON.
            "FRESHLINE_LOG_FORMAT": "plain",
            "FRESHLINE_CLOCK_SPEED": repr(self.speed),
            "FRESHLINE_CLOCK_EPOCH": repr(time.time()),
            # A sign-in lasts twelve real hours whatever the speed.
            "FRESHLINE_TOKEN_TTL_MINUTES": str(int(12 * 60 * self.speed)),
        }
        if self.start is not None:
            env["FRESHLINE_CLOCK_START"] = self.start.isoformat()
        # Own session: a Ctrl-C in the terminal reaches us, and we stop the child in order.
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--demo",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--exit-with-stdin",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    def _say(self, step: str) -> None:
        if self.on_progress is not None:
            self.on_progress(step)

    async def _wait_healthy(self) -> None:
        started = time.monotonic()
        deadline = started + START_TIMEOUT_S
        said = started
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.returncode is not None:
                    raise BackendFailed(f"the backend exited early:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    answered = (await client.get("/api/v1/health")).status_code == 200
                    # Ours, not a stranger that took the free port between our choosing it
                    # and the child binding it (the child then exits: "exited early").
                    if answered and listens_on(self._process.pid, self.port):
                        self._say(f"backend ready in {time.monotonic() - started:.1f} s")
                        return
                if time.monotonic() - said >= PROGRESS_EVERY_S:
                    said = time.monotonic()
                    self._say(f"backend still starting ({said - started:.0f} s) …")
                await asyncio.sleep(0.1)
        raise BackendFailed(
            f"the backend did not answer within {START_TIMEOUT_S:g} s:\n{self.log_tail()}"
        )

    async def _stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await within(STOP_TIMEOUT_S, process.wait())
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.folder / LOG).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
