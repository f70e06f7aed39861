"""The exception queue's verbs on one alert or all marked ones: acknowledge (with a note),
snooze, approve or reject the return or claim behind it. Each goes through REST with the
version the console holds and an idempotency key; success shows up through the stream;
refusals (403, 409) become one notification.

Runs inside a worker (it waits on dialogs).
"""

from __future__ import annotations

from textual.screen import Screen

from backend_client import FreshlineClient
from backend_client.models import Alert
from console.store import Store
from screens.acting import each, report
from screens.dialogs import ChoiceDialog, NoteDialog, ReasonDialog

SNOOZES = [("15", "15 minutes"), ("30", "30 minutes"), ("60", "1 hour"), ("240", "4 hours")]


def _subject(alerts: list[Alert]) -> str:
    return f"alert {alerts[0].id}" if len(alerts) == 1 else f"{len(alerts)} alerts"


def _parts(screen: Screen) -> tuple[FreshlineClient, Store]:
    return screen.app.client, screen.app.store  # type: ignore[attr-defined]


def _version(store: Store, alert: Alert) -> int:
    """The newest version the console holds (the stream may have moved it on)."""
    held = store.alerts.alerts.get(alert.id)
    return held.version if held else alert.version


async def acknowledge(screen: Screen, alerts: list[Alert]) -> None:
    app = screen.app
    note = await app.push_screen_wait(NoteDialog(f"Acknowledge {_subject(alerts)}: a note?"))
    if note is None:
        return
    client, store = _parts(screen)
    by_id = {a.id: a for a in alerts}
    results = await each(
        list(by_id),
        lambda i: client.acknowledge_alert(i, _version(store, by_id[i]), note=note or None),
    )
    report(app, "Acknowledge", _subject(alerts), results)


async def snooze(screen: Screen, alerts: list[Alert]) -> None:
    app = screen.app
    chosen = await app.push_screen_wait(ChoiceDialog(f"Snooze {_subject(alerts)} for", SNOOZES))
    if chosen is None:
        return
    client, store = _parts(screen)
    by_id = {a.id: a for a in alerts}
    minutes = int(chosen)
    results = await each(
        list(by_id), lambda i: client.snooze_alert(i, _version(store, by_id[i]), minutes)
    )
    report(app, f"Snooze {minutes} min", _subject(alerts), results)


async def decide(screen: Screen, alerts: list[Alert], *, approve: bool) -> None:
    """Approve or reject the returns and claims behind these alerts."""
    app = screen.app
    requests = [a.request_id for a in alerts if a.request_id is not None]
    verb = "Approve" if approve else "Reject"
    if not requests:
        app.notify(f"{verb}: no return or claim waits behind this.", severity="warning")
        return
    subject = f"request {requests[0]}" if len(requests) == 1 else f"{len(requests)} requests"
    reason = None
    if not approve:
        reason = await app.push_screen_wait(ReasonDialog(f"Reject {subject}: why?"))
        if reason is None:
            return
    client, _store = _parts(screen)

    async def one(request_id: int) -> None:
        request = await client.request(request_id)  # its own version, not the alert's
        await client.decide_request(request_id, request.version, approve=approve, reason=reason)

    report(app, verb, subject, await each(requests, one))
