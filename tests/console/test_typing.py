"""A fast typist in a real terminal: keys sent to tmux in one burst (one `send-keys`), the
console read back from the screen. Each test waits for what the screen must show, never for a
fixed time; a console that put the keys elsewhere times out on that wait and fails.

The console runs on a store filled by hand (`tests/console/desk_app.py`): no backend, no
shared channel, so these run beside the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import clean_env

WITHIN = 30.0
"""Generous: the machine is shared; a wait ends as soon as the screen shows the answer."""


class Terminal:
    """One tmux server of our own (its own socket) running the console in one window."""

    def __init__(self, tmux: str, tmp_path: Path, width: int, height: int) -> None:
        self.tmux, self.socket = tmux, f"freshline-keys-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        self.log = tmp_path / "console.log"
        self.env = clean_env(tmp_path, TMPDIR=str(tmp_path), TERM="xterm-256color")
        self.env.pop("ESCDELAY", None)
        self.env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def start(self) -> None:
        command = f"{sys.executable} -m tests.console.desk_app {self.log}; sleep 60"
        size = ("-x", str(self.width), "-y", str(self.height))
        self.run("new-session", "-d", "-s", "desk", *size, command)

    def text(self) -> str:
        return self.run("capture-pane", "-p", "-t", "desk")

    def keys(self, *keys: str) -> None:
        """Every key in one `send-keys`: tmux writes them to the console at once."""
        self.run("send-keys", "-t", "desk", *keys)

    def wait_for(self, check: Callable[[str], object], what: str) -> str:
        deadline = time.monotonic() + WITHIN
        while True:
            screen = self.text()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Terminal]:
    """The console in tmux at 120x40, or at `request.param` (width, height)."""
    width, height = getattr(request, "param", (120, 40))
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is needed to type at the console")
        pytest.skip("tmux is not installed")
    term = Terminal(tmux, tmp_path, width, height)
    term.start()
    try:
        term.wait_for(lambda s: ("Delivering" in s or "Deliv " in s) and "LIVE" in s, "the board")
        yield term
    finally:
        term.close()


def search_line(screen: str) -> str | None:
    """The filter bar's line (it ends with the "late only" box), or None while it is hidden."""
    return next((line for line in screen.splitlines() if "late only" in line), None)


def searched(text: str) -> Callable[[str], bool]:
    def check(screen: str) -> bool:
        line = search_line(screen)
        return line is not None and line.strip().startswith(text)

    return check


SIZES = pytest.mark.parametrize("terminal", [(120, 40), (80, 24)], indirect=True, ids=str)


@SIZES
def test_slash_and_a_name_in_one_burst_search_for_the_name(terminal: Terminal) -> None:
    terminal.keys("/Sun")
    # In the box, and the board narrowed to it (Sun Li's orders).
    terminal.wait_for(lambda s: searched("Sun")(s) and "filtered" in s, "'Sun' searched for")


def test_slash_l_t_in_one_burst_is_a_search_not_late_only_and_an_action(
    terminal: Terminal,
) -> None:
    terminal.keys("/lt", "Enter")
    # Enter leaves the box: once the board has its focus back, every key has been read.
    screen = terminal.wait_for(searched("lt"), "'lt' in the search box")
    assert "Act on" not in screen
    terminal.keys("/")  # the same box again, still holding "lt", and nothing else moved
    screen = terminal.wait_for(searched("lt"), "the search box again")
    assert "Act on" not in screen


@SIZES
def test_a_fast_escape_then_2_backs_out_of_the_search_and_switches(terminal: Terminal) -> None:
    terminal.keys("/")
    terminal.wait_for(lambda s: search_line(s) is not None, "the search box")
    terminal.keys("Escape", "2")
    screen = terminal.wait_for(lambda s: "Alerts " in s, "the exception queue")
    assert "™" not in screen


def test_the_palette_what_to_find_and_enter_in_one_burst_open_what_was_typed(
    terminal: Terminal,
) -> None:
    terminal.keys("C-p", "Riders", "Enter")
    # The riders' list (its border title) is what the palette opened, nothing else.
    terminal.wait_for(lambda s: "╭─ Riders " in s, "the riders screen")
