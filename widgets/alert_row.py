"""One alert as one line of the exception queue: the cells, fitted to the width there is.

Pure formatting (no widget). Severity reads without colour: a glyph leads the line ("!!"
critical, "! " warning, "· " info) and an escalated alert says so in its state column.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from backend_client.models import Alert, AlertSeverity, AlertState
from console.alert_book import RULE_WORDS
from console.store import Store
from widgets.order_row import fit

GLYPH = {AlertSeverity.CRITICAL: "!!", AlertSeverity.WARNING: "! ", AlertSeverity.INFO: "· "}
WIDTHS = {"age": 5, "rule": 14, "subject": 22, "state": 18}


def subject_text(alert: Alert, store: Store) -> str:
    """What it is about, in words: the order and its customer, or the rider."""
    if alert.order_id is not None:
        card = store.orders.get(alert.order_id)
        who = f" {card.customer}" if card else ""
        return f"#{alert.order_id}{who}"
    if alert.rider_id is not None:
        return f"rider {store.rider_name(alert.rider_id)}"
    return alert.subject.replace(":", " ", 1)  # e.g. `warehouse WH-CY`


def state_text(alert: Alert, zone: tzinfo | None) -> str:
    match alert.state:
        case AlertState.ACKNOWLEDGED:
            text = f"ack {alert.acknowledged_by or ''}"
        case AlertState.SNOOZED if alert.snoozed_until is not None:
            text = f"zz {alert.snoozed_until.astimezone(zone):%H:%M}"
        case _:
            text = str(alert.state)
    if alert.escalated_at is not None:
        text = "⇑ESCALATED " + text
    return text


def alert_cells(
    alert: Alert,
    store: Store,
    now: datetime,
    width: int,
    grouped: int,
    zone: tzinfo | None = None,
) -> list[str]:
    """The text of each column; the title takes what is left of `width`."""
    subject = subject_text(alert, store) + (f" +{grouped}" if grouped else "")
    cells = [
        fit(store.alerts.open_for(alert, now), WIDTHS["age"], right=True),
        fit(RULE_WORDS.get(alert.rule, str(alert.rule)), WIDTHS["rule"]),
        fit(subject, WIDTHS["subject"]),
        fit(state_text(alert, zone), WIDTHS["state"]),
    ]
    used = 4 + sum(WIDTHS.values()) + len(cells)
    if width - used >= 10:
        cells.append(fit(alert.title, width - used - 1))
    return cells
