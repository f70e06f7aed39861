"""Copy and attention in a real terminal (tmux): the bytes the console writes, read back from
the terminal's side. `y i` puts the order id on the clipboard through OSC 52 (tmux keeps what
it is sent in a paste buffer), and a critical alert writes one bell and one desktop
notification (OSC 777, wrapped for tmux to pass on), and nothing the second time."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.console.terminal import ROOT, Terminal

# A real terminal per test: `make test` runs these, the inner loop does not.
pytestmark = pytest.mark.slow

NOTIFY = "\x1bPtmux;\x1b\x1b]777;notify;Freshline: 1 critical alert;Order 1012: scooter crash"


def test_y_copies_through_osc_52_and_a_critical_alert_rings_once(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path, 160, 48)
    written = tmp_path / "written"
    log = tmp_path / "console.log"
    exports = " ".join(f"{k}={terminal.env[k]}" for k in ("TERM", "COLUMNS", "LINES"))
    terminal.open(
        f"cd {ROOT} && env {exports} {sys.executable} -m tests.console.attention_app {log}"
    )
    try:
        # Everything the program writes to the terminal, as bytes, from here on.
        terminal.run("pipe-pane", "-o", "-t", terminal.session, f"cat >> {written}")
        terminal.run("set-option", "-g", "set-clipboard", "on")
        terminal.wait_for(lambda: "● LIVE" in terminal.text(), "the sample console")

        def buffer() -> str:
            try:
                return terminal.run("show-buffer")
            except Exception:  # no buffer yet
                return ""

        terminal.keys("y", "i")
        terminal.wait_for(lambda: buffer() == "1003", "the order id on the clipboard")

        def sent() -> bytes:
            return written.read_bytes() if written.exists() else b""

        assert b"\x1b]52;c;MTAwMw==\x07" in sent()  # base64 of "1003"
        terminal.keys("!")
        terminal.wait_for(lambda: NOTIFY.encode() in sent(), "the notification")
        terminal.keys("!", "2")  # the same alert again (a newer version), then the queue
        terminal.wait_for(lambda: "Alerts  " in terminal.text(), "the queue")
        terminal.wait_for(lambda: "scooter crash" in terminal.text(), "the alert on the queue")
        terminal.keys("n", "y", "y")  # to the new alert, and copy its order's id
        terminal.wait_for(lambda: buffer() == "1012", "the alert's order id copied")
        out = sent()
        assert out.count(NOTIFY.encode()) == 1
        # One bell, just before it: the only BEL outside an OSC string (OSC 52 and Textual's
        # pointer shape, OSC 22, end with one).
        assert re.sub(rb"\x1b\][^\x07\x1b]*\x07", b"", out).count(b"\x07") == 1
        assert b"\x07" + NOTIFY.encode() in out
    finally:
        terminal.close()
