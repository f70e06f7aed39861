"""The real console (`freshline --server ...`) in tmux at 80x24, signed in on its form as a
merchant: it opens the store's screen on that warehouse, keys typed in bursts, every read a wait
for what the screen must show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.console.terminal import Tmux
from tests.servers import FRESHLINE, clean_env
from tests.stream_support import Actors, LiveServer

pytestmark = pytest.mark.slow  # a real terminal and a real backend

WITHIN = 30.0
"""Generous: the machine is shared; a wait ends as soon as the screen shows the answer."""


class Terminal(Tmux):
    """`freshline --server URL` in tmux, with a home of its own and no keyring."""

    def __init__(self, tmp_path: Path, width: int, height: int) -> None:
        home = tmp_path / "home"
        home.mkdir()
        env = clean_env(
            tmp_path,
            TMPDIR=str(tmp_path),
            TERM="xterm-256color",
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_STATE_HOME=str(home / ".local/state"),
            XDG_CACHE_HOME=str(home / ".cache"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        super().__init__(env, width, height)

    def shows(self, check: Callable[[str], object], what: str) -> str:
        """The screen, once `check(screen)` holds."""
        seen: list[str] = []
        self.wait_for(lambda: check(seen.append(self.text()) or seen[-1]), what, WITHIN)
        return seen[-1]


def top_line(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


async def test_a_merchant_signs_in_and_works_their_warehouse_at_80x24(
    tmp_path: Path, backend: LiveServer, actors: Actors
) -> None:
    paid = await actors.paid()
    picking = await actors.picking()
    await actors.paid("WH-HD")  # another store's: never on this screen
    terminal = Terminal(tmp_path, 80, 24)
    # (The waits below block this loop: the backend is a process of its own.)
    terminal.open(f"{FRESHLINE} --server {backend.base_url}; sleep 60")
    try:
        terminal.shows(lambda s: "No keyring here" in s, "the sign-in form")
        terminal.keys("merchant-wh-cy", "Enter")
        terminal.shows(lambda s: "merchant-wh-cy" in s, "the user name typed")
        terminal.keys("demo-merchant-wh-cy", "Enter")
        screen = terminal.shows(
            lambda s: "Paid 1" in s and "Pick 1" in s and "Stock" in s and str(paid.id) in s,
            "the store's screen with its paid order",
        )
        # The store's own screen: no desk tabs; WH-HD's order is not here.
        assert "Board" not in top_line(screen) and "Riders" not in top_line(screen)
        # WH-HD's paid order would make it two (an id alone is a digit the stock and restock
        # panes also show).
        assert "Paid 1" in screen and "Paid 2" not in screen
        # A burst: the desk's keys do nothing, then four panes on to the stock.
        terminal.keys("2", "3", "4", "1", "Right", "Right", "Right", "Right")
        screen = terminal.shows(
            lambda s: "▸Stock" in s and "VEG-BOKCHOY" in s, "the stock pane in focus"
        )
        assert "Exceptions" not in screen and "Riders" not in top_line(screen)
        # On to the picking lane and back: its order is there.
        terminal.keys("Left", "Left", "Left")
        terminal.shows(lambda s: "▸Pick 1" in s and str(picking.id) in s, "the picking lane")
        terminal.keys("q")
        terminal.shows(lambda s: "Paid 1" not in s, "the console closed")
    finally:
        terminal.close()
