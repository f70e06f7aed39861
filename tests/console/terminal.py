"""A sample console (`tests/console/sample_apps.py`) in a real terminal: tmux at a given size,
with the environment a user has (NO_COLOR, a 16-colour TERM), read back with its attributes.

No network and a frozen clock, so nothing here depends on another worktree or on the machine's
speed: every read waits for a condition on the screen.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def tmux_or_fail() -> str:
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is needed for the terminal tests")
        pytest.skip("tmux is not installed")
    return found


@dataclass(frozen=True)
class Cell:
    """One character on the screen and the attributes it was drawn with."""

    char: str
    bold: bool
    reverse: bool
    dim: bool
    underline: bool
    fg: str
    bg: str


class Tmux:
    """One tmux server of our own (its own socket, so tests never meet) with one session of
    `width` x `height` running one command."""

    session = "t"

    def __init__(self, env: dict[str, str], width: int, height: int) -> None:
        self.tmux, self.socket = tmux_or_fail(), f"freshline-{uuid.uuid4().hex[:8]}"
        # Rich and Textual take COLUMNS and LINES over the terminal's own size (pytest-xdist's
        # workers have them at 80x24): the program must see the size of the tmux window.
        size = {"COLUMNS": str(width), "LINES": str(height)}
        self.env, self.width, self.height = env | size, width, height

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

    def open(self, command: str) -> None:
        size = ("-x", str(self.width), "-y", str(self.height))
        self.run("new-session", "-d", "-s", self.session, *size, command)

    def screen(self) -> list[str]:
        return self.run("capture-pane", "-p", "-t", self.session).splitlines()

    def text(self) -> str:
        return "\n".join(self.screen())

    def keys(self, *keys: str) -> None:
        """Every key in one `send-keys`: tmux writes them to the program at once."""
        self.run("send-keys", "-t", self.session, *keys)

    def wait_for(self, predicate: Callable[[], object], what: str, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.text()}")
            time.sleep(0.05)  # polling the terminal

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)


class Terminal(Tmux):
    """A sample app in tmux, with the environment a user has, read back with attributes."""

    def __init__(self, tmp_path: Path, width: int, height: int, **env: str) -> None:
        dropped = ("FRESHLINE_", "NO_COLOR", "COLUMNS", "LINES")
        base = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        super().__init__(
            base | {"TMPDIR": str(tmp_path), "TERM": "xterm-256color"} | env, width, height
        )

    def start(self, app: str) -> None:
        exports = " ".join(
            f"{k}={self.env[k]}"
            for k in ("TERM", "NO_COLOR", "COLORTERM", "COLUMNS", "LINES")
            if k in self.env
        )
        self.open(f"cd {ROOT} && env {exports} {sys.executable} -m tests.console.sample_apps {app}")

    def cells(self) -> list[list[Cell]]:
        """Every line as cells with their attributes (`capture-pane -e`)."""
        lines = []
        for raw in self.run("capture-pane", "-p", "-e", "-t", "t").splitlines():
            lines.append(parse_line(raw))
        return lines


def parse_line(raw: str) -> list[Cell]:
    """Characters with the SGR attributes in force where each was drawn."""
    cells: list[Cell] = []
    bold = reverse = dim = underline = False
    fg = bg = ""
    position = 0
    for match in SGR.finditer(raw + "\x1b[m"):
        for char in raw[position : match.start()]:
            cells.append(Cell(char, bold, reverse, dim, underline, fg, bg))
        position = match.end()
        codes = [int(c) if c else 0 for c in match.group(1).split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                bold = reverse = dim = underline = False
                fg = bg = ""
            elif code == 1:
                bold = True
            elif code == 2:
                dim = True
            elif code == 22:
                bold = dim = False
            elif code == 4:
                underline = True
            elif code == 24:
                underline = False
            elif code == 7:
                reverse = True
            elif code == 27:
                reverse = False
            elif code in (38, 48):
                if codes[i + 1] == 5:
                    value, i = f"5;{codes[i + 2]}", i + 2
                else:
                    value, i = ";".join(map(str, codes[i + 2 : i + 5])), i + 4
                fg, bg = (value, bg) if code == 38 else (fg, value)
            elif code == 39:
                fg = ""
            elif code == 49:
                bg = ""
            elif 30 <= code <= 37 or 90 <= code <= 97:
                fg = str(code)
            elif 40 <= code <= 47 or 100 <= code <= 107:
                bg = str(code)
            i += 1
    return cells


def find(lines: list[list[Cell]], text: str) -> list[Cell]:
    """The cells of the first place `text` is on the screen."""
    for line in lines:
        joined = "".join(c.char for c in line)
        at = joined.find(text)
        if at >= 0:
            return line[at : at + len(text)]
    raise AssertionError(f"{text!r} is not on the screen")


@contextmanager
def sample_console(
    tmp_path: Path, app: str, width: int, height: int, **env: str
) -> Iterator[Terminal]:
    terminal = Terminal(tmp_path, width, height, **env)
    terminal.start(app)
    try:
        terminal.wait_for(lambda: "● LIVE" in terminal.text(), "the sample console")
        yield terminal
    finally:
        terminal.close()
