"""`freshline demo` and bare `freshline`: a backend and the simulator that start together and
stop together, leaving no process, no bound port and no temporary data behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import FRESHLINE, clean_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.long(30),
]  # whole demos: a backend, the simulator and the console

BANNER = re.compile(r"backend on http://127\.0\.0\.1:(\d+)")
STATUS = re.compile(r"\| orders \d+: new \d+ picking \d+")
WAIT_S = 60.0


class Demo:
    """A `freshline` process whose stdout is collected line by line as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for line in self.lines:
                if match := pattern.search(line):
                    return match
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                pytest.fail(f"freshline exited with {self.process.returncode}:\n{self.output}")
            time.sleep(0.1)  # polling the demo's output for the line
        pytest.fail(f"no line matching {pattern.pattern} within {WAIT_S} s:\n{self.output}")

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def port(self) -> int:
        return int(self.wait_for(BANNER).group(1))


@contextmanager
def demo(tmp_path: Path, *args: str) -> Iterator[Demo]:
    """`freshline *args` with its temporary folder under `tmp_path`; killed on exit."""
    env = clean_env(tmp_path, TMPDIR=str(scratch(tmp_path)))
    process = subprocess.Popen(
        [FRESHLINE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        yield Demo(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def scratch(tmp_path: Path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def serving_on(port: int) -> list[int]:
    """Pids of processes started with `--port <port>` (the demo's backend)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and b"--port" in argv and str(port).encode() in argv:
            pids.append(int(entry.name))
    return pids


def port_is_free(port: int) -> bool:
    """Nothing listens there: a new server could bind it (as servers do, past TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def assert_all_gone(port: int, tmp_path: Path, *, data: bool = True) -> None:
    deadline = time.monotonic() + 15
    while serving_on(port) and time.monotonic() < deadline:
        time.sleep(0.2)  # polling: the backend may take a moment to go
    assert serving_on(port) == [], "the demo's backend outlived it"
    assert port_is_free(port), f"port {port} is still bound"
    if data:
        assert list(scratch(tmp_path).glob("freshline-demo-*")) == []


def test_headless_demo_runs_the_city_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with demo(tmp_path, "demo", "--headless", "--speed", "60", "--duration", "12") as run:
        port = run.port
        run.wait_for(STATUS)
        assert run.process.wait(timeout=WAIT_S) == 0, run.output
        run._reader.join(timeout=5)
    summary = run.output.splitlines()[-1]
    orders = int(re.search(r"(\d+) orders", summary).group(1))
    fixes = int(re.search(r"(\d+) position fixes", summary).group(1))
    assert orders > 0 and fixes > 0, run.output
    assert "0 errors" in summary, run.output
    assert_all_gone(port, tmp_path)


def test_ctrl_c_stops_bare_freshline_and_everything_it_started(tmp_path: Path) -> None:
    # No command, no server configured: the demo.
    with demo(tmp_path) as run:
        port = run.port
        run.wait_for(STATUS)
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=WAIT_S) == 0, run.output
    assert_all_gone(port, tmp_path)


def test_a_killed_demo_takes_its_backend_with_it(tmp_path: Path) -> None:
    with demo(tmp_path, "demo", "--speed", "10") as run:
        port = run.port
        assert serving_on(port), f"the backend should be running; the demo said:\n{run.output}"
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=10)
    # Nobody cleaned up, but the backend noticed its parent's pipe close and stopped itself.
    assert_all_gone(port, tmp_path, data=False)


def test_keep_leaves_the_database_for_a_look_afterwards(tmp_path: Path) -> None:
    with demo(tmp_path, "demo", "--keep", "--duration", "3") as run:
        assert run.process.wait(timeout=WAIT_S) == 0
        run._reader.join(timeout=5)
    kept = re.search(r"kept the demo's data in (\S+)", run.output)
    assert kept, run.output
    assert (Path(kept.group(1)) / "freshline.db").is_file()


def test_a_configured_server_is_not_silently_replaced_by_the_demo(tmp_path: Path) -> None:
    """With a server configured, `freshline` is the console for it; without a terminal to draw
    on it says so and starts nothing (no demo in its place)."""
    env = clean_env(tmp_path, FRESHLINE_SERVER="http://127.0.0.1:9")
    done = subprocess.run(
        [FRESHLINE], env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2
    assert "http://127.0.0.1:9" in done.stderr and "terminal" in done.stderr
    assert "demo" not in done.stdout + done.stderr.replace("not the demo", "")
    assert "Traceback" not in done.stderr
