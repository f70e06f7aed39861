"""Desktop attention: an alert of a chosen severity rings the terminal's bell and raises a
desktop notification where the terminal can show one, once per alert.

Pure Python (no Textual): the app hands `Attention.check` the standing alerts on its redraw tick
and writes what it answers to the terminal.

- The bell is `BEL` (0x07): every terminal has one (a sound, a flash, an urgent tab or
  window, as its user set it up), except `TERM=dumb` ones, where nothing is written.
- A desktop notification has no standard sequence. Two are common: OSC 9 (`ESC ] 9 ; text
  BEL`: iTerm2, WezTerm, Ghostty, ...) and OSC 777 (`ESC ] 777 ; notify ; title ; body BEL`:
  rxvt-unicode, foot, VTE terminals with the notify patch, Ghostty). A terminal that knows
  neither may print the text on the screen, so nothing is sent unless the terminal says who
  it is (`TERM_PROGRAM`, `LC_TERMINAL`, `TERM`) or the settings name the sequence
  (`attention_desktop = "osc9"`, for a terminal reached over SSH, which does not pass
  `TERM_PROGRAM` on). Inside tmux the sequence is wrapped for tmux to pass through to the
  terminal outside (tmux needs `set -g allow-passthrough on`).
- Once: each alert is announced once for each severity it reaches (a warning that becomes
  critical rings again), whatever redraws, reloads or reconnects happen; alerts that come in
  one tick share one bell and one notification.
- Switchable: the severities that ring and notify are settings (`attention_bell`,
  `attention_notify`), and `ctrl+g` turns all of it off and on for the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from backend_client.models import Alert, AlertSeverity, AlertState

BEL = "\a"
ST = "\x1b\\"
"""String terminator: ends the OSC text (BEL would ring a second time on some terminals)."""


class Desktop(StrEnum):
    """How a desktop notification is asked of the terminal."""

    AUTO = "auto"
    """The sequence the terminal is known to take, or none."""
    OSC9 = "osc9"
    OSC777 = "osc777"
    OFF = "off"


OSC9_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "ghostty"})
"""`TERM_PROGRAM` values of terminals that show OSC 9 as a desktop notification."""
OSC777_TERMS = ("rxvt", "foot")
"""`TERM` prefixes of terminals that take OSC 777 notify."""


def terminal_desktop(environ: Mapping[str, str] = os.environ) -> Desktop:
    """The notification sequence this terminal is known to show, or OFF when unknown."""
    term = environ.get("TERM", "")
    if term in ("", "dumb"):
        return Desktop.OFF
    program = environ.get("TERM_PROGRAM", "")
    if program in OSC9_PROGRAMS or environ.get("LC_TERMINAL") == "iTerm2":
        return Desktop.OSC9
    if term.startswith(OSC777_TERMS) or environ.get("VTE_VERSION"):
        return Desktop.OSC777
    return Desktop.OFF


def clean(text: str) -> str:
    """Text safe inside an OSC string: no control characters (ESC or BEL would end it early,
    and let an alert's title write escape sequences of its own), no `;` (OSC 777 splits on
    it)."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 or c == ";" else c for c in text).strip()


def notification(kind: Desktop, title: str, body: str, *, tmux: bool = False) -> str:
    """The escape sequence asking the terminal for a desktop notification ("" for none)."""
    match kind:
        case Desktop.OSC9:
            sequence = f"\x1b]9;{clean(title)}: {clean(body)}{ST}"
        case Desktop.OSC777:
            sequence = f"\x1b]777;notify;{clean(title)};{clean(body)}{ST}"
        case _:
            return ""
    if tmux:
        # tmux passes a DCS `tmux;` string through to the terminal outside, ESCs doubled.
        return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + ST
    return sequence


@dataclass(frozen=True)
class AttentionSettings:
    """Which severities ring and notify, and how (`console.config`)."""

    bell: frozenset[AlertSeverity] = frozenset({AlertSeverity.CRITICAL})
    notify: frozenset[AlertSeverity] = frozenset({AlertSeverity.CRITICAL})
    desktop: Desktop = Desktop.AUTO
    enabled: bool = True


@dataclass
class Attention:
    """Decides what to announce, once per alert and severity."""

    settings: AttentionSettings = field(default_factory=AttentionSettings)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    announced: set[tuple[int, AlertSeverity]] = field(default_factory=set)
    enabled: bool = True

    def __post_init__(self) -> None:
        self.enabled = self.settings.enabled

    @property
    def dumb(self) -> bool:
        return self.environ.get("TERM", "") in ("", "dumb")

    @property
    def desktop(self) -> Desktop:
        """The sequence used for desktop notifications here (OFF: none)."""
        if self.dumb or self.settings.desktop == Desktop.OFF:
            return Desktop.OFF
        if self.settings.desktop == Desktop.AUTO:
            return terminal_desktop(self.environ)
        return self.settings.desktop

    def check(self, alerts: Iterable[Alert]) -> str:
        """What to write to the terminal for the open alerts not announced yet ("" for
        nothing). Alerts seen while switched off count as announced: turning attention back
        on does not ring for what came in meanwhile (the queue shows it)."""
        standing = list(alerts)
        fresh = [
            a
            for a in standing
            if a.state == AlertState.OPEN and (a.id, a.severity) not in self.announced
        ]
        if len(self.announced) > 2 * len(standing) + 100:
            # Resolved alerts never come back (a new incident is a new alert): forget them.
            ids = {a.id for a in standing}
            self.announced = {key for key in self.announced if key[0] in ids}
        if not fresh:
            return ""
        self.announced.update((a.id, a.severity) for a in fresh)
        if not self.enabled or self.dumb:
            return ""
        out = ""
        settings = self.settings
        if any(a.severity in settings.bell for a in fresh):
            out += BEL
        loud = [a for a in fresh if a.severity in settings.notify]
        if loud:
            title = f"Freshline: {len(loud)} {loud[0].severity} alert" + (
                "s" if len(loud) > 1 else ""
            )
            body = loud[0].title + (f" (and {len(loud) - 1} more)" if len(loud) > 1 else "")
            out += notification(self.desktop, title, body, tmux=bool(self.environ.get("TMUX")))
        return out

    def know(self, alerts: Iterable[Alert]) -> None:
        """Alerts standing before this console came (its first snapshot): the queue shows
        them; ringing for each one at start-up would only teach people to turn it off."""
        self.announced.update((a.id, a.severity) for a in alerts)
