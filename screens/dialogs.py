"""Small modal dialogs: pick an order action, give a reason, confirm what is hard to undo."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from backend_client.models import OrderAction
from console.order_words import ACTION_WORDS as ACTION_WORDS  # the one table, re-exported
from console.order_words import FINAL_ACTIONS as FINAL_ACTIONS
from console.order_words import NEEDS_REASON as NEEDS_REASON


class Dialog(ModalScreen[Any]):
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    Dialog Label.title { text-style: bold; margin-bottom: 1; }
    Dialog Label.hint { color: $text-muted; margin-top: 1; }
    Dialog OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class ActionPicker(Dialog):
    """Which lifecycle action to take (only those the server offers for these orders)."""

    def __init__(self, actions: list[OrderAction], subject: str) -> None:
        super().__init__()
        self.actions, self.subject = actions, subject

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Act on {self.subject}", classes="title")
            yield OptionList(
                *(Option(ACTION_WORDS.get(a, a), id=str(a)) for a in self.actions),
                id="actions",
            )
            yield Label("enter chooses · esc cancels", classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(OrderAction(event.option.id or ""))


class ReasonDialog(Dialog):
    """A reason, required: an empty one is not accepted."""

    REQUIRED = True

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        word = "reason (required)" if self.REQUIRED else "note (optional)"
        with Vertical():
            yield Label(self.prompt, classes="title")
            yield Input(placeholder=word, max_length=500, id="reason")
            yield Label("enter confirms · esc cancels", classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.REQUIRED and not text:
            self.notify("A reason is required.", severity="warning")
            return
        self.dismiss(text)


class NoteDialog(ReasonDialog):
    """A note, optional: enter with nothing written is fine."""

    REQUIRED = False


class ChoiceDialog(Dialog):
    """One of a few labelled choices."""

    def __init__(self, title: str, choices: list[tuple[str, str]], hint: str = "") -> None:
        super().__init__()
        self.title_text, self.choices, self.hint = title, choices, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield OptionList(*(Option(label, id=value) for value, label in self.choices))
            yield Label(self.hint or "enter chooses · esc cancels", classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


CANNOT_UNDO = "This cannot be undone."


class ConfirmDialog(Dialog):
    """The console's one way of asking before something that moves money, many things at once,
    or an order to a final state: the question names what and how much, `consequence` says
    what follows and whether it can be undone, and only `y` says yes. Enter does not: a key
    meant for the screen below must never be the yes."""

    DEFAULT_CSS = """
    ConfirmDialog Label.consequence { color: $warning; margin-top: 1; }
    ConfirmDialog Label.item { color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "yes", "Yes", id="confirm.yes"),
        Binding("n,escape", "cancel", "No", id="confirm.no"),
        Binding("enter", "enter", "", show=False, id="confirm.enter"),
    ]

    def __init__(
        self,
        question: str,
        *,
        consequence: str = "",
        items: list[str] | None = None,
        yes: str = "yes",
    ) -> None:
        super().__init__()
        self.question, self.consequence, self.yes = question, consequence, yes
        self.items = items or []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title")
            shown = self.items[:8]
            for item in shown:
                yield Label(f"  {item}", classes="item")
            if len(self.items) > len(shown):
                yield Label(f"  and {len(self.items) - len(shown)} more", classes="item")
            if self.consequence:
                yield Label(self.consequence, classes="consequence")
            yield Label(f"y: {self.yes} · n or esc: no", classes="hint")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_enter(self) -> None:
        self.notify(f"Press y to {self.yes}, n or esc to leave it.", severity="warning")
