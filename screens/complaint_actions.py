"""Resolving a complaint from the exception queue, by keyboard: `o` on a complaint's alert asks
how (apology, voucher, refund), then the amount for a voucher or refund and an optional note,
then confirms (naming the outcome and the money), and sends it through REST with the request's
own version. The alert leaves the queue when the stream says the complaint is resolved."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label

from backend_client.models import Alert, AlertRule, ComplaintOutcome
from console.host import client_of
from screens.acting import each, report
from screens.dialogs import CANNOT_UNDO, ChoiceDialog, ConfirmDialog, Dialog, NoteDialog

OUTCOMES = [
    (str(ComplaintOutcome.APOLOGY), "Apology (nothing paid)"),
    (str(ComplaintOutcome.VOUCHER), "Voucher for a later order"),
    (str(ComplaintOutcome.REFUND), "Refund (no more than the order)"),
]


def is_complaint(alert: Alert | None) -> bool:
    return (
        alert is not None
        and alert.rule == AlertRule.COMPLAINT_OPENED
        and alert.request_id is not None
    )


def complaint_words(alert: Alert) -> str:
    """E.g. "the late complaint about order 43"."""
    category = str(alert.details.get("category") or "").replace("_", " ")
    return f"the {category} complaint about order {alert.order_id}".replace("the  ", "the ")


def cents_of(text: str) -> int | None:
    """Yuan as typed (`5`, `12.5`, `12.50`) in cents; None unless a positive amount."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > 100_000:
        return None
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class AmountDialog(Dialog):
    """A voucher's or refund's amount in yuan, and an optional note: enter on the amount
    moves to the note, enter on the note sends both."""

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt, classes="title")
            yield Input(placeholder="amount in yuan, e.g. 5.00", max_length=12, id="amount")
            yield Input(placeholder="note (optional)", max_length=500, id="note")
            yield Label("enter goes on · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#amount", Input).focus()

    @on(Input.Submitted, "#amount")
    def _amount(self, event: Input.Submitted) -> None:
        if cents_of(event.value) is None:
            self.notify("An amount above 0 in yuan, like 5 or 12.50.", severity="warning")
            return
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def _note(self, event: Input.Submitted) -> None:
        cents = cents_of(self.query_one("#amount", Input).value)
        if cents is None:
            self.query_one("#amount", Input).focus()
            self.notify("An amount above 0 in yuan, like 5 or 12.50.", severity="warning")
            return
        self.dismiss((cents, event.value.strip()))


Send = Callable[[ComplaintOutcome, int, str | None], None]
"""Sends the resolution (in a worker of the screen's)."""


def ask(screen: Screen[Any], alert: Alert, send: Send) -> None:
    """The questions, each dialog pushed as soon as the last one answers; nothing is sent
    before `y` on the last."""
    app = screen.app
    words = complaint_words(alert)

    def confirm(outcome: ComplaintOutcome, cents: int, note: str | None) -> None:
        money = f" of {cents / 100:.2f}" if cents else ""
        items = [f"note: {note}"] if note else []
        question = ConfirmDialog(
            f"Resolve {words} with {'an' if outcome == 'apology' else 'a'} {outcome}{money}?",
            items=items,
            consequence=f"The complaint is closed. {CANNOT_UNDO}",
            yes="resolve it",
        )
        app.push_screen(question, lambda yes: send(outcome, cents, note) if yes else None)

    def chosen(value: str | None) -> None:
        if value is None:
            return
        outcome = ComplaintOutcome(value)
        if outcome == ComplaintOutcome.APOLOGY:
            app.push_screen(
                NoteDialog(f"Apologise for {words}: a note?"),
                lambda note: confirm(outcome, 0, note or None) if note is not None else None,
            )
            return

        def amounted(answer: tuple[int, str] | None) -> None:
            if answer is not None:
                confirm(outcome, answer[0], answer[1] or None)

        app.push_screen(AmountDialog(f"{outcome.capitalize()} for {words}: how much?"), amounted)

    app.push_screen(ChoiceDialog(f"Resolve {words}", OUTCOMES), chosen)


async def resolve(
    screen: Screen[Any],
    alert: Alert,
    outcome: ComplaintOutcome,
    cents: int,
    note: str | None,
) -> None:
    """Resolve the complaint behind `alert` (asked and confirmed already: `ask`)."""
    assert alert.request_id is not None
    client = client_of(screen.app)

    async def one(request_id: int) -> None:
        request = await client.requests.get(request_id)  # its own version, not the alert's
        await client.requests.resolve(
            request_id, request.version, outcome, amount_cents=cents, note=note
        )

    results = await each([alert.request_id], one)
    report(screen.app, "Resolve", f"complaint {alert.request_id}", results)
