"""A real `freshline serve` for the tests: the installed script, real uvicorn, real sockets.

Each server is a subprocess on a free loopback port with its own run folder: the environment is
the inherited one without any `FRESHLINE_*` setting, plus cheap password hashing and a log file
in that folder, where stdout and stderr are captured too. Waiting for it to be healthy fails
with everything it wrote; `running` and `serving` kill it on exit whatever happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

FRESHLINE = shutil.which("freshline", path=str(Path(sys.executable).parent)) or shutil.which(
    "freshline"
)
START_TIMEOUT_S = 60.0
"""A bound for a loaded machine, not a wait (as `tests.support.STARTUP_S`): a server starts in
a second or two, but took over 20 s with four workers and two busy loops on two cores."""
STOP_TIMEOUT_S = 10.0
STDOUT, STDERR, LOG = "stdout.txt", "stderr.txt", "freshline.log"
"""What a server writes in its run folder."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(run_dir: Path, **extra: str) -> dict[str, str]:
    """The inherited environment without any FRESHLINE_* setting, plus fast hashing and a log
    file in `run_dir`, no auto-dispatch, no alert engine, and the test process's field keys
    (a database seeded here is read there); `extra` is added last (it may override those)."""
    from tests.support import TEST_FIELD_KEYS

    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
    env.update(
        {
            "FRESHLINE_AUTO_DISPATCH": "false",
            "FRESHLINE_ALERTS": "false",
            "FRESHLINE_NOTIFICATIONS": "false",
            "FRESHLINE_ARGON2_TIME_COST": "1",
            "FRESHLINE_ARGON2_MEMORY_COST_KIB": "64",
            "FRESHLINE_LOG_FILE": str(run_dir / LOG),
            "FRESHLINE_FIELD_KEYS": TEST_FIELD_KEYS,
            **extra,
        }
    )
    return env


def poll_health(
    process: subprocess.Popen[Any],
    label: str,
    output: Callable[[], str],
    base_url: str,
    verify: ssl.SSLContext | bool = True,
    *,
    until_ok: bool = False,
) -> httpx.Response:
    """Poll `base_url`'s /api/v1/health until it answers 200 (the answer is returned); fail,
    with `output()`, if `process` exits first or it takes longer than START_TIMEOUT_S. Any
    other answer fails at once, unless `until_ok` (a proxy's 502 while its backends start)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=base_url, verify=verify, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"{label} exited with {process.returncode} before it was healthy:\n{output()}"
                )
            try:
                response = client.get("/api/v1/health")
            except httpx.TransportError:
                response = None
            if response is not None and (response.status_code == 200 or not until_ok):
                assert response.status_code == 200, f"{response.text}\n{output()}"
                return response
            time.sleep(0.05)  # polling: not listening (or not through) yet
    pytest.fail(f"{label} was not healthy within {START_TIMEOUT_S} s:\n{output()}")


class Server:
    """`freshline serve` on one free loopback port, with its own run folder under `tmp_path`.

    `spawn` starts it (again, on the same port, once it has exited); stdout and stderr of every
    start are appended to files in the run folder, next to the service's log file.
    """

    def __init__(self, tmp_path: Path, name: str = "") -> None:
        self.name = name
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"{name or 'serve'}-", dir=tmp_path))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def label(self) -> str:
        """How failure messages name this server."""
        return f"freshline serve {self.name}" if self.name else "freshline serve"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/stream"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10)

    def spawn(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        """`freshline serve --port PORT *args` (on 127.0.0.1 unless `args` name a `--host`),
        with `env` added to the clean environment; does not wait for it."""
        assert FRESHLINE is not None, (
            "the freshline console script is not installed (pip install -e .)"
        )
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [FRESHLINE, "serve", "--port", str(self.port), *args]
        if "--host" not in args:
            command += ["--host", "127.0.0.1"]
        told = "--database-url" in args or {"FRESHLINE_DATABASE_URL", "FRESHLINE_CONFIG"} & set(
            env or {}
        )
        if not told:
            # Never the user's own database (the default one in their data folder).
            command += ["--database-url", f"sqlite+aiosqlite:///{self.run_dir / 'freshline.db'}"]
        with (
            (self.run_dir / STDOUT).open("ab") as stdout,
            (self.run_dir / STDERR).open("ab") as stderr,
        ):
            self.process = subprocess.Popen(
                command,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                env=clean_env(self.run_dir, **(env or {})),
                cwd=self.run_dir,
            )

    def wait_healthy(
        self, base_url: str | None = None, verify: ssl.SSLContext | bool = True
    ) -> httpx.Response:
        """Poll /api/v1/health until it answers 200 (the answer is returned); fail, with the
        server's output, if it exits first or takes longer than START_TIMEOUT_S. `base_url`
        and `verify` for a server over TLS (its https:// address, its CA).

        It blocks: async callers run it in a thread (`asyncio.to_thread`)."""
        assert self.process is not None, f"{self.label} was never started"
        return poll_health(self.process, self.label, self.output, base_url or self.base_url, verify)

    def stop(self) -> int:
        """SIGTERM, then its exit status; fails, with its output, if it is still running after
        STOP_TIMEOUT_S."""
        assert self.process is not None, f"{self.label} was never started"
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.label} ignored SIGTERM for {STOP_TIMEOUT_S} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL if it is running: no shutdown, no close frames; the sockets just die."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def read(self, name: str) -> str:
        """One file of the run folder (`STDOUT`, `STDERR`, `LOG`); empty if not written yet."""
        path = self.run_dir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def output(self) -> str:
        """Everything the process wrote: stdout, stderr and its log file, each under a heading."""
        return "\n".join(
            f"--- {self.label} {name}\n{self.read(name)}"
            for name in (STDOUT, STDERR, LOG)
            if (self.run_dir / name).exists()
        )


@contextmanager
def running(
    tmp_path: Path, *args: str, name: str = "", env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """`freshline serve --port FREE *args`, started (not yet healthy), killed on exit."""
    server = Server(tmp_path, name)
    try:
        server.spawn(*args, env=env)
        yield server
    finally:
        server.kill()


@contextmanager
def serving(
    tmp_path: Path, *args: str, name: str = "", env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """`freshline serve --port FREE *args`, healthy on entry, killed on exit whatever happened."""
    with running(tmp_path, *args, name=name, env=env) as server:
        server.wait_healthy()
        yield server
