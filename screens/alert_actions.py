"""The exception queue's verbs on one alert or all marked ones: acknowledge (with a note),
snooze, approve or reject the return or claim behind it. Many alerts at once, and every
decision on money, ask first (`ConfirmDialog`), naming what and how much. Each goes through
REST with the version the console holds and an idempotency key; success shows up through the
stream; refusals (403, 409) become one notification.

Runs inside a worker (it waits on dialogs).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from backend_client import FreshlineClient
from backend_client.models import Alert, AlertRule
from console import alert_words
from console.alert_book import RULE_WORDS
from console.host import client_of, host
from console.store import Store
from screens.acting import each, report
from screens.dialogs import CANNOT_UNDO, ChoiceDialog, ConfirmDialog, NoteDialog

SNOOZES = [("15", "15 minutes"), ("30", "30 minutes"), ("60", "1 hour"), ("240", "4 hours")]


def _subject(alerts: list[Alert]) -> str:
    return f"alert {alerts[0].id}" if len(alerts) == 1 else f"{len(alerts)} alerts"


def _parts(screen: Screen[Any]) -> tuple[FreshlineClient, Store]:
    return client_of(screen.app), host(screen.app).store


def _version(store: Store, alert: Alert) -> int:
    """The newest version the console holds (the stream may have moved it on)."""
    held = store.alerts.alerts.get(alert.id)
    return held.version if held else alert.version


def _alert_line(store: Store, alert: Alert) -> str:
    return f"{RULE_WORDS.get(alert.rule, alert.rule)}: {alert.title}"


BULK_AFTER = {
    "Acknowledge": "They stay in the queue as taken; there is no undo.",
    "Snooze": "They leave the queue for a while, and come back if still true.",
}


def bulk_question(store: Store, verb: str, alerts: list[Alert]) -> ConfirmDialog:
    """The question before acting on many marked alerts at once, listing them."""
    return ConfirmDialog(
        f"{verb} all {len(alerts)} marked alerts?",
        items=[_alert_line(store, a) for a in alerts],
        consequence=BULK_AFTER.get(verb, ""),
        yes=f"{verb.lower()} all {len(alerts)}",
    )


async def acknowledge(screen: Screen[Any], alerts: list[Alert]) -> None:
    app = screen.app
    note = await app.push_screen_wait(NoteDialog(f"Acknowledge {_subject(alerts)}: a note?"))
    if note is None:
        return
    client, store = _parts(screen)
    by_id = {a.id: a for a in alerts}
    results = await each(
        list(by_id),
        lambda i: client.alerts.acknowledge(i, _version(store, by_id[i]), note=note or None),
    )
    report(app, "Acknowledge", _subject(alerts), results)


async def snooze(screen: Screen[Any], alerts: list[Alert]) -> None:
    app = screen.app
    chosen = await app.push_screen_wait(ChoiceDialog(f"Snooze {_subject(alerts)} for", SNOOZES))
    if chosen is None:
        return
    client, store = _parts(screen)
    by_id = {a.id: a for a in alerts}
    minutes = int(chosen)
    results = await each(
        list(by_id), lambda i: client.alerts.snooze(i, _version(store, by_id[i]), minutes)
    )
    report(app, f"Snooze {minutes} min", _subject(alerts), results)


def money(cents: object) -> str:
    return alert_words.money(cents) if isinstance(cents, int) else "an unknown amount"


def request_words(store: Store, alert: Alert) -> str:
    """E.g. "the claim of 18.90 for order 43, Li Ting" or "the return of order 44, Wang Wei"."""
    card = store.orders.get(alert.order_id) if alert.order_id is not None else None
    who = f", {card.customer}" if card else ""
    if alert.rule == AlertRule.CLAIM_REQUESTED:
        amount = money(alert.details.get("amount_cents"))
        return f"the claim of {amount} for order {alert.order_id}{who}"
    return f"the return of order {alert.order_id}{who}"


AFTER = {
    (True, AlertRule.RETURN_REQUESTED): "The goods go back to the warehouse.",
    (True, AlertRule.CLAIM_REQUESTED): "The money is granted and the goods written off.",
    (False, AlertRule.RETURN_REQUESTED): "The order stays stopped for the desk to settle.",
    (False, AlertRule.CLAIM_REQUESTED): "Nothing is paid; the order stays stopped.",
}
TAKE_BACK = "z takes a rejection back for a couple of minutes."


def _decided(alert: Alert) -> bool:
    """A return, claim or exchange waits behind it (a complaint is resolved instead: `o`)."""
    return alert.request_id is not None and alert.rule != AlertRule.COMPLAINT_OPENED


def decided_words(store: Store, alerts: list[Alert]) -> str:
    """What a decision on `alerts` is about, in a few words."""
    deciding = [a for a in alerts if _decided(a)]
    if len(deciding) == 1:
        return request_words(store, deciding[0])
    return f"{len(deciding)} requests"


def decision(
    store: Store, alerts: list[Alert], *, approve: bool, reason: str | None = None
) -> ConfirmDialog | None:
    """The question before approving or rejecting the returns and claims behind `alerts`, or
    None when no request waits behind them."""
    deciding = [a for a in alerts if _decided(a)]
    if not deciding:
        return None
    because = [f"reason: {reason}"] if reason else []
    verb = "Approve" if approve else "Reject"
    kinds = {a.rule for a in deciding}
    after = AFTER.get((approve, next(iter(kinds))), "") if len(kinds) == 1 else ""
    consequence = f"{after} {CANNOT_UNDO if approve else TAKE_BACK}".strip()
    if len(deciding) == 1:
        words = request_words(store, deciding[0])
        return ConfirmDialog(
            f"{verb} {words}?", items=because, consequence=consequence, yes=f"{verb.lower()} it"
        )
    claims = [a for a in deciding if a.rule == AlertRule.CLAIM_REQUESTED]
    total = sum(a.details.get("amount_cents") or 0 for a in claims)
    money_line = f" ({len(claims)} claims, {money(total)} in all)" if claims else ""
    return ConfirmDialog(
        f"{verb} all {len(deciding)} marked requests{money_line}?",
        items=[request_words(store, a) for a in deciding] + because,
        consequence=consequence,
        yes=f"{verb.lower()} all {len(deciding)}",
    )


async def decide(
    screen: Screen[Any], alerts: list[Alert], *, approve: bool, reason: str | None = None
) -> list[int]:
    """Approve or reject the returns and claims behind these alerts (asked and confirmed
    already: `decision`)."""
    app = screen.app
    requests = [a.request_id for a in alerts if a.request_id is not None and _decided(a)]
    verb = "Approve" if approve else "Reject"
    subject = f"request {requests[0]}" if len(requests) == 1 else f"{len(requests)} requests"
    client, _store = _parts(screen)

    async def one(request_id: int) -> None:
        request = await client.requests.get(request_id)  # its own version, not the alert's
        await client.requests.decide(request_id, request.version, approve=approve, reason=reason)

    results = await each(requests, one)
    report(app, verb, subject, results)
    return [request_id for request_id, outcome, _ in results if outcome == "done"]


def take_back_question(store: Store, rejected: list[Alert]) -> ConfirmDialog:
    """The question before taking the last rejection back."""
    words = [request_words(store, a) for a in rejected]
    if len(words) == 1:
        question = f"Take back the rejection of {words[0]}?"
    else:
        question = f"Take back the rejection of all {len(words)} requests?"
    return ConfirmDialog(
        question,
        items=words if len(words) > 1 else [],
        consequence="It waits for a decision again.",
        yes="take it back",
    )


async def take_back(screen: Screen[Any], rejected: list[Alert]) -> None:
    """Reopen the requests behind these (rejected) alerts: they wait for a decision again."""
    client, _store = _parts(screen)
    ids = [a.request_id for a in rejected if a.request_id is not None]

    async def one(request_id: int) -> None:
        request = await client.requests.get(request_id)
        await client.requests.reopen(request_id, request.version)

    subject = f"request {ids[0]}" if len(ids) == 1 else f"{len(ids)} requests"
    report(screen.app, "Take back the rejection", subject, await each(ids, one))
