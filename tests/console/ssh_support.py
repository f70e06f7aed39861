"""`freshline ssh-serve` for the tests: the real command beside a real backend, and an SSH client
(asyncssh) whose terminal is a VT100 screen in memory (pyte), read as a person would."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pyte
import pytest

from tests.backend.ssh_support import ssh_key_pair
from tests.servers import FRESHLINE, START_TIMEOUT_S, Server, clean_env, free_port, serving
from tests.support import eventually

SECRET = secrets.token_hex(32)
"""The gateway secret the backend and ssh-serve share in these tests."""
API = "/api/v1"
OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class SshServe:
    """`freshline ssh-serve` in a subprocess on a free loopback port, its output in a file."""

    def __init__(self, folder: Path, backend: Server, *args: str) -> None:
        self.folder, self.backend = folder, backend
        self.port = free_port()
        self.stderr = folder / "ssh-serve.stderr"
        assert FRESHLINE is not None
        env = clean_env(folder, FRESHLINE_SSH_GATEWAY_SECRET=SECRET, TMPDIR=str(folder))
        command = [
            FRESHLINE,
            "ssh-serve",
            "--server",
            backend.base_url,
            "--port",
            str(self.port),
            "--host-key",
            str(folder / "host_key"),
            "--log-dir",
            str(folder / "logs"),
            "--check-seconds",
            "0.5",
            *args,
        ]
        with self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env, cwd=folder
            )

    def output(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr.exists() else ""

    def wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "listening on" not in self.output():
            if self.process.poll() is not None:
                pytest.fail(f"ssh-serve exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"ssh-serve did not listen within {START_TIMEOUT_S} s:\n{self.output()}"
                )
            time.sleep(0.05)  # polling the log: not listening yet

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def backend_with_gateway(folder: Path) -> Iterator[Server]:
    """The demo backend (its accounts and city), with the gateway secret set."""
    with serving(folder, "--demo", name="ssh", env={"FRESHLINE_SSH_GATEWAY_SECRET": SECRET}) as s:
        yield s


@contextmanager
def ssh_serving(folder: Path, backend: Server, *args: str) -> Iterator[SshServe]:
    serve = SshServe(folder, backend, *args)
    try:
        serve.wait_listening()
        yield serve
    finally:
        serve.stop()


def admin_token(backend: Server) -> str:
    with backend.client() as client:
        answer = client.post(
            f"{API}/auth/token", data={"username": "admin", "password": "demo-admin"}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


def register_key(
    backend: Server, username: str, *, read_only: bool = False
) -> tuple[str, dict[str, Any]]:
    """A new key registered to `username` by the admin: (private key, the key as listed)."""
    private, public = ssh_key_pair()
    headers = {"Authorization": f"Bearer {admin_token(backend)}"}
    with backend.client() as client:
        users = client.get(f"{API}/users", headers=headers).json()
        user_id = next(u["id"] for u in users if u["username"] == username)
        body = {"user_id": user_id, "public_key": public, "read_only": read_only}
        added = client.post(f"{API}/ssh-keys", headers=headers, json=body)
        assert added.status_code == 201, added.text
        return private, added.json()


def revoke_key(backend: Server, key_id: int) -> None:
    headers = {"Authorization": f"Bearer {admin_token(backend)}"}
    with backend.client() as client:
        answer = client.delete(f"{API}/ssh-keys/{key_id}", headers=headers)
        assert answer.status_code == 204, answer.text


class Screen:
    """What the client's terminal shows: every byte the server sent, fed to a VT100 screen."""

    def __init__(self, columns: int, rows: int) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.closed = False
        self._carry = b""

    def feed(self, data: bytes) -> None:
        self.raw += data
        # pyte's parser loses its way in OSC sequences (Textual's `ESC ] 22;default BEL`, the
        # pointer shape): they draw nothing, so they are dropped, one split over reads too.
        data = self._carry + data
        start = data.rfind(b"\x1b]")
        if start != -1 and not OSC.search(data, start):
            data, self._carry = data[:start], data[start:]
        else:
            self._carry = b""
        self.stream.feed(OSC.sub(b"", data))

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def resize(self, columns: int, rows: int) -> None:
        self.screen.resize(rows, columns)


class SshConsole:
    """One SSH client session with a terminal."""

    def __init__(self, conn: asyncssh.SSHClientConnection, process: Any, screen: Screen) -> None:
        self.conn, self.process, self.screen = conn, process, screen
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self.process.stdout.read(65536)
                if not data:
                    break
                self.screen.feed(data)
        finally:
            self.screen.closed = True

    async def shows(self, text: str, within: float = 60.0) -> None:
        await eventually(
            lambda: text in self.screen.text(),
            f"{text!r} on the screen; it shows:\n{self.screen.text()}",
            within,
        )

    async def ends(self, within: float = 30.0) -> None:
        await eventually(lambda: self.screen.closed, "the session to end", within)

    def resize(self, columns: int, rows: int) -> None:
        self.screen.resize(columns, rows)
        self.process.change_terminal_size(columns, rows)

    async def type(self, keys: str) -> None:
        self.process.stdin.write(keys.encode())

    async def close(self) -> None:
        self.conn.close()
        with contextlib.suppress(Exception):
            await self.conn.wait_closed()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


async def connect(port: int, private_key: str) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        port,
        username="desk",
        client_keys=[asyncssh.import_private_key(private_key)],
        known_hosts=None,
        agent_path=None,
        preferred_auth="publickey",
    )


@asynccontextmanager
async def ssh_console(
    port: int,
    private_key: str,
    *,
    columns: int = 120,
    rows: int = 40,
    term: str = "xterm-256color",
    env: dict[str, str] | None = None,
) -> AsyncIterator[SshConsole]:
    conn = await connect(port, private_key)
    process = await conn.create_process(
        term_type=term, term_size=(columns, rows), encoding=None, env=env or {}
    )
    console = SshConsole(conn, process, Screen(columns, rows))
    try:
        yield console
    finally:
        await console.close()


def httpx_client(backend: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=backend.base_url, timeout=10)
