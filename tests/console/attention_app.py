"""The sample desk for a real terminal (`python -m tests.console.attention_app LOG_FILE`), with a
key of its own: `!` opens (or bumps) one critical alert, as the stream would bring it, so a test
in tmux can read the bytes the console writes for it. Desktop notifications are OSC 777 here
(the settings naming the sequence, as over SSH). Nothing prints: it logs to LOG_FILE."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.binding import Binding

from backend_client.models import AlertSeverity
from console.app import FreshlineApp
from console.attention import AttentionSettings, Desktop
from console.launch import log_to
from tests.console.test_since_looked import alert_event
from tests.console.test_snapshots import queue_app


class AlertingDesk(FreshlineApp):
    BINDINGS = [Binding("exclamation_mark", "crash", "Crash", id="test.crash")]

    def action_crash(self) -> None:
        store = self.store
        held = store.alerts.alerts.get(7) or store.alerts.alerts[3]
        alert = held.model_copy(
            update={
                "id": 7,
                "severity": AlertSeverity.CRITICAL,
                "title": "Order 1012: scooter crash",
                "order_id": 1012,
                "subject": "order:1012",
                "version": held.version + 1 if held.id == 7 else 1,
            }
        )
        store.apply(alert_event((store.last_seq or 0) + 1, alert))


def main() -> None:
    log_to(Path(sys.argv[1]))
    sample = queue_app()
    AlertingDesk(
        store=sample.store,
        zone=sample.zone,
        live=False,
        me=sample.me,
        attention=AttentionSettings(desktop=Desktop.OSC777),
    ).run()


if __name__ == "__main__":
    main()
