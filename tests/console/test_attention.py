"""Desktop attention alone: the bytes written for an alert, once per alert and severity, per
the settings, only the sequences this terminal is known to take, never on a dumb terminal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend_client.models import Alert, AlertSeverity
from console.attention import (
    BEL,
    Attention,
    AttentionSettings,
    Desktop,
    notification,
    terminal_desktop,
)
from console.config import ConsoleConfig
from tests.console.samples import NOW
from tests.test_layering import imported_by, offenders

ITERM = {"TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"}


def alert(n: int, severity: str = "critical", **extra: object) -> Alert:
    fields: dict[str, object] = {
        "id": n,
        "rule": "delivery_exception",
        "subject": f"order:{1000 + n}",
        "severity": severity,
        "state": "open",
        "title": f"Order {1000 + n}: scooter crash",
        "details": {},
        "order_id": 1000 + n,
        "rider_id": None,
        "request_id": None,
        "warehouse_id": "WH-CY",
        "zone": "Chaoyang",
        "parent_id": None,
        "opened_at": NOW - timedelta(minutes=n),
        "updated_at": NOW,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "note": None,
        "snoozed_until": None,
        "escalated_at": None,
        "resolved_at": None,
        "resolution": None,
        "version": 1,
    }
    return Alert.model_validate(fields | extra)


def test_a_critical_alert_rings_and_notifies_once_whatever_comes_after() -> None:
    attention = Attention(environ=ITERM)
    attention.know([alert(1)])  # standing before the console came: the queue shows it
    assert attention.check([alert(1)]) == ""
    out = attention.check([alert(1), alert(2)])
    assert out == BEL + "\x1b]9;Freshline: 1 critical alert: Order 1002: scooter crash\x1b\\"
    assert attention.check([alert(1), alert(2)]) == ""  # redraws, reloads: never again
    assert attention.check([alert(2, version=2, state="acknowledged")]) == ""
    # Two in one tick: one bell, one notification naming the first and counting the rest.
    out = attention.check([alert(3), alert(4)])
    assert out.count(BEL) == 1 and "2 critical alerts" in out and "(and 1 more)" in out


def test_severities_follow_the_settings_and_a_warning_turned_critical_rings_again() -> None:
    settings = AttentionSettings(
        bell=frozenset({AlertSeverity.CRITICAL, AlertSeverity.WARNING}),
        notify=frozenset({AlertSeverity.CRITICAL}),
    )
    attention = Attention(settings, environ=ITERM)
    assert attention.check([alert(5, "info")]) == ""
    assert attention.check([alert(6, "warning")]) == BEL  # rings, no notification
    out = attention.check([alert(6, "critical", version=2)])
    assert out.startswith(BEL) and "\x1b]9;" in out
    quiet = Attention(AttentionSettings(bell=frozenset(), notify=frozenset()), environ=ITERM)
    assert quiet.check([alert(7)]) == ""


def test_switched_off_nothing_is_written_and_back_on_it_does_not_ring_for_the_past() -> None:
    attention = Attention(environ=ITERM)
    attention.enabled = False
    assert attention.check([alert(1)]) == ""
    attention.enabled = True
    assert attention.check([alert(1)]) == ""  # came in while off: the queue shows it
    assert attention.check([alert(1), alert(2)]).startswith(BEL)
    assert Attention(AttentionSettings(enabled=False), environ=ITERM).check([alert(3)]) == ""


def test_only_terminals_known_to_show_notifications_get_the_sequence() -> None:
    assert terminal_desktop(ITERM) == Desktop.OSC9
    assert terminal_desktop({"TERM": "xterm-256color", "LC_TERMINAL": "iTerm2"}) == Desktop.OSC9
    assert terminal_desktop({"TERM": "foot"}) == Desktop.OSC777
    assert terminal_desktop({"TERM": "rxvt-unicode-256color"}) == Desktop.OSC777
    assert terminal_desktop({"TERM": "xterm-256color", "VTE_VERSION": "7600"}) == Desktop.OSC777
    assert terminal_desktop({"TERM": "xterm-256color"}) == Desktop.OFF  # unknown: nothing
    assert terminal_desktop({"TERM": "dumb", "TERM_PROGRAM": "iTerm.app"}) == Desktop.OFF
    # An unknown terminal rings the bell only; NO_COLOR is about colour, the bell still rings.
    plain = Attention(environ={"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert plain.check([alert(1)]) == BEL
    # A dumb terminal gets nothing at all; the settings can name the sequence (over SSH).
    assert Attention(environ={"TERM": "dumb"}).check([alert(1)]) == ""
    told = Attention(AttentionSettings(desktop=Desktop.OSC777), environ={"TERM": "xterm"})
    assert told.check([alert(1)]) == (
        BEL + "\x1b]777;notify;Freshline: 1 critical alert;Order 1001: scooter crash\x1b\\"
    )
    off = Attention(AttentionSettings(desktop=Desktop.OFF), environ=ITERM)
    assert off.check([alert(1)]) == BEL


def test_an_alert_title_cannot_write_escape_sequences_and_tmux_passes_it_through() -> None:
    sequence = notification(Desktop.OSC777, "t;x", "evil\x1b]52;c;AAAA\x07 title")
    assert sequence == "\x1b]777;notify;t x;evil ]52 c AAAA  title\x1b\\"
    wrapped = notification(Desktop.OSC9, "Freshline", "hi", tmux=True)
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;Freshline: hi\x1b\x1b\\\x1b\\"
    assert notification(Desktop.OFF, "a", "b") == ""


def test_the_settings_file_and_the_environment_choose_severities_and_the_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'attention_bell = ["critical", "warning"]\nattention_desktop = "osc777"\n'
        f'looked_dir = "{tmp_path / "looked"}"\n'
    )
    monkeypatch.setenv("FRESHLINE_CONFIG", str(config))
    monkeypatch.setenv("FRESHLINE_ATTENTION_NOTIFY", '["warning"]')
    settings = ConsoleConfig().attention_settings
    assert settings.bell == {AlertSeverity.CRITICAL, AlertSeverity.WARNING}
    assert settings.notify == {AlertSeverity.WARNING}
    assert settings.desktop == Desktop.OSC777 and settings.enabled
    assert ConsoleConfig().looked_dir == tmp_path / "looked"
    monkeypatch.setenv("FRESHLINE_ATTENTION", "false")
    assert not ConsoleConfig().attention_settings.enabled
    monkeypatch.setenv("FRESHLINE_ATTENTION_DESKTOP", "osc8")
    with pytest.raises(ValidationError):
        ConsoleConfig()


def test_the_desks_bookkeeping_is_pure_python() -> None:
    """What is new, what rings and what may be copied import no Textual (as the store)."""
    pure = ("console.looked", "console.attention", "console.copying", "console.noticing")
    loaded = imported_by(*pure, blocked=("textual", "rich"))
    assert offenders(loaded, ("textual", "rich")) == []
