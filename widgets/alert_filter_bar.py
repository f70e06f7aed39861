"""The exception queue's filter line: faults only, and narrowing by severity, rule and zone."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Select

from backend_client.models import AlertRule, AlertSeverity
from console.alert_book import RULE_WORDS, AlertFilter
from widgets.toggle_box import ToggleBox

ANY = Select.NULL


class AlertFilterBar(Horizontal):
    """Always on screen (one line); tells its screen the filter on every change."""

    DEFAULT_CSS = """
    AlertFilterBar { height: 1; background: $panel; }
    AlertFilterBar > Select { width: 1fr; min-width: 14; }
    AlertFilterBar > Checkbox { width: auto; }
    """

    class Changed(Message):
        def __init__(self, alert_filter: AlertFilter) -> None:
            super().__init__()
            self.alert_filter = alert_filter

    def __init__(self) -> None:
        super().__init__()
        self._zones: list[str] = []
        self.acknowledged_by: str | None = None
        """`:alerts mine`: kept here, so changing a select keeps it (no widget shows it)."""

    def compose(self) -> ComposeResult:
        yield ToggleBox("faults only", id="faults", compact=True)
        yield Select[str](
            [(str(s), str(s)) for s in AlertSeverity],
            prompt="any severity",
            id="severity",
            compact=True,
        )
        yield Select[str](
            [(RULE_WORDS[r], str(r)) for r in AlertRule],
            prompt="any rule",
            id="rule",
            compact=True,
        )
        yield Select[str]([], prompt="any zone", id="zone", compact=True)

    def offer_zones(self, zones: list[str]) -> None:
        select = self.query_one("#zone", Select)
        held = select.value
        options = sorted(set(zones) | ({str(held)} if held != ANY else set()))
        if options != self._zones:
            select.set_options((z, z) for z in options)
            self._zones = options
            if held != ANY:
                select.value = held

    @property
    def alert_filter(self) -> AlertFilter:
        def chosen(select_id: str) -> str | None:
            value = self.query_one(f"#{select_id}", Select).value
            return None if value == ANY else str(value)

        severity, rule = chosen("severity"), chosen("rule")
        return AlertFilter(
            faults_only=self.query_one("#faults", Checkbox).value,
            severity=AlertSeverity(severity) if severity else None,
            rule=AlertRule(rule) if rule else None,
            zone=chosen("zone"),
            acknowledged_by=self.acknowledged_by,
        )

    def set_filter(self, alert_filter: AlertFilter) -> None:
        """Show exactly `alert_filter` (the `:alerts` command)."""
        self.acknowledged_by = alert_filter.acknowledged_by
        self.query_one("#faults", Checkbox).value = alert_filter.faults_only
        for select_id, value in (
            ("severity", alert_filter.severity),
            ("rule", alert_filter.rule),
            ("zone", alert_filter.zone),
        ):
            select = self.query_one(f"#{select_id}", Select)
            if value is None:
                select.clear()
                continue
            if select_id == "zone":
                self.offer_zones([*self._zones, str(value)])
            select.value = str(value)

    def toggle_faults(self) -> None:
        box = self.query_one("#faults", Checkbox)
        box.value = not box.value

    def clear(self) -> None:
        self.acknowledged_by = None
        for select_id in ("severity", "rule", "zone"):
            self.query_one(f"#{select_id}", Select).clear()
        self.query_one("#faults", Checkbox).value = False

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.post_message(self.Changed(self.alert_filter))
