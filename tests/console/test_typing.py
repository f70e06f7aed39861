"""A fast typist in a real terminal: keys sent to tmux in one burst (one `send-keys`), the
console read back from the screen. Each test waits for what the screen must show, never for a
fixed time; a console that put the keys elsewhere times out on that wait and fails.

The console runs on a store filled by hand (`tests/console/desk_app.py`): no backend, no
shared channel, so these run beside the rest of the suite.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.console.terminal import Tmux
from tests.servers import clean_env

# A real terminal (tmux) per test: `make test` runs these, the inner loop does not.
pytestmark = pytest.mark.slow

WITHIN = 30.0
"""Generous: the machine is shared; a wait ends as soon as the screen shows the answer."""


class Terminal(Tmux):
    """The console on its hand-filled store (`desk_app.py`) in tmux."""

    def __init__(self, tmp_path: Path, width: int, height: int) -> None:
        env = clean_env(tmp_path, TMPDIR=str(tmp_path), TERM="xterm-256color")
        env.pop("ESCDELAY", None)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        super().__init__(env, width, height)
        self.log = tmp_path / "console.log"

    def start(self) -> None:
        self.open(f"{sys.executable} -m tests.console.desk_app {self.log}; sleep 60")

    def shows(self, check: Callable[[str], object], what: str) -> str:
        """The screen, once `check(screen)` holds."""
        seen: list[str] = []
        self.wait_for(lambda: check(seen.append(self.text()) or seen[-1]), what, WITHIN)
        return seen[-1]


@pytest.fixture
def terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Terminal]:
    """The console in tmux at 120x40, or at `request.param` (width, height)."""
    width, height = getattr(request, "param", (120, 40))
    term = Terminal(tmp_path, width, height)
    term.start()
    try:
        term.shows(lambda s: ("Delivering" in s or "Deliv " in s) and "LIVE" in s, "the board")
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
    terminal.shows(lambda s: searched("Sun")(s) and "filtered" in s, "'Sun' searched for")


def test_slash_l_t_in_one_burst_is_a_search_not_late_only_and_an_action(
    terminal: Terminal,
) -> None:
    terminal.keys("/lt", "Enter")
    # Enter leaves the box: once the board has its focus back, every key has been read.
    screen = terminal.shows(searched("lt"), "'lt' in the search box")
    assert "Act on" not in screen
    terminal.keys("/")  # the same box again, still holding "lt", and nothing else moved
    screen = terminal.shows(searched("lt"), "the search box again")
    assert "Act on" not in screen


@SIZES
def test_a_fast_escape_then_2_backs_out_of_the_search_and_switches(terminal: Terminal) -> None:
    terminal.keys("/")
    terminal.shows(lambda s: search_line(s) is not None, "the search box")
    terminal.keys("Escape", "2")
    screen = terminal.shows(lambda s: "Alerts " in s, "the exception queue")
    assert "™" not in screen


def test_the_palette_what_to_find_and_enter_in_one_burst_open_what_was_typed(
    terminal: Terminal,
) -> None:
    terminal.keys("C-p", "Riders", "Enter")
    # The riders' list (its border title) is what the palette opened, nothing else.
    terminal.shows(lambda s: "╭─ Riders " in s, "the riders screen")
