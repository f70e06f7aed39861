"""`?`: the keys of the screen underneath, by task, read from its bindings.

Nothing here is a list of keys kept by hand: the rows come from the bindings in force on that
screen (the focused widget, its parents, the screen and the app: `active_bindings`, so a remapped
key shows as remapped), then from the console's other widgets on it that have keys of their own
(the map beside the riders' list). Textual's own bindings (focus next, copy, the quit guard) are
left out: they are the framework's, not Freshline's. The task a key belongs to follows from what
it does (its action). Keys the footer had no room for at this width are named at the top, so a
dispatcher at 80x24 learns what the footer could not say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from backend_client.models import Me
from console.host import host
from console.roles import denial

ANYWHERE = "Anywhere"
TASKS: dict[str, frozenset[str]] = {
    "Move": frozenset(
        {"cursor", "page", "jump", "lane", "pan", "zoom", "centre", "step", "next_unhandled"}
        | {"focus_next", "focus_previous", "next_new"}
    ),
    "Find and filter": frozenset({"search", "filters", "late_only", "faults_only", "narrow"}),
    "Back out, reload": frozenset({"back", "reload", "cancel", "dismiss"}),
}
"""Tasks by what a key does; every other key of a screen is one of its actions ("Act")."""
ACT = "Act"
ORDER = ("Find and filter", "Move", ACT, "Back out, reload", ANYWHERE)


def action_name(binding: Binding) -> str:
    """`screen.zoom(1)` -> `zoom`."""
    return binding.action.split("(")[0].rsplit(".", 1)[-1]


def task_of(binding: Binding, node: DOMNode) -> str:
    name = action_name(binding)
    for task, actions in TASKS.items():
        if name in actions:
            return task
    return ANYWHERE if node is node.app else ACT


def is_ours(node: DOMNode, binding: Binding) -> bool:
    """A Freshline binding: declared by a class of ours, described, and not a system key."""
    if binding.system or not binding.description:
        return False
    for cls in type(node).__mro__:
        for declared in _declared(cls):
            # The same binding, possibly with a key remapped by the user's keymap.
            same = declared.id == binding.id if binding.id else declared == binding
            if same:
                return not cls.__module__.startswith("textual.")
    return False


def _declared(cls: type) -> list[Binding]:
    """The bindings `cls` itself declares (one per key, as Textual splits them)."""
    found: list[Binding] = []
    for item in vars(cls).get("BINDINGS", []):
        if isinstance(item, Binding):
            found.extend(Binding.make_bindings([item]))
    return found


@dataclass
class Part:
    """One action (with its arguments) and the keys bound to it."""

    action: str
    keys: list[str]
    short: str
    long: str


@dataclass
class Row:
    """One thing to do, with every key that does it; the same action with other arguments
    (up and down, zoom in and out, 1 to 4) shares the row."""

    parts: list[Part]
    enabled: bool = True
    why_off: str = ""
    where: str = ""

    @property
    def keys(self) -> str:
        return " / ".join(" ".join(part.keys) for part in self.parts)

    @property
    def what(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0].long
        shorts = [part.short for part in self.parts]
        if len(set(shorts)) < len(shorts):  # "Lane / Lane": the tooltips tell them apart
            shorts = [part.long or part.short for part in self.parts]
        return " / ".join(shorts)


@dataclass
class KeySheet:
    """The screen's keys by task, and what its footer left out."""

    title: str
    tasks: dict[str, list[Row]] = field(default_factory=dict)
    not_in_footer: list[str] = field(default_factory=list)

    def render(self) -> Group:
        parts: list[Text | Table] = [Text(f"Keys · {self.title}", style="bold")]
        if self.not_in_footer:
            line = Text("Not in the footer at this width: ", style="italic")
            line.append(" · ".join(self.not_in_footer))
            parts.append(line)
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column(no_wrap=True, style="bold")
        table.add_column(ratio=1)
        for task in ORDER:
            rows = self.tasks.get(task)
            if not rows:
                continue
            table.add_row(Text(task, style="reverse bold"), "")
            for row in rows:
                what = Text(row.what + (f" ({row.where})" if row.where else ""))
                if not row.enabled:
                    what = Text(f"{row.what} (off: {row.why_off})", style="dim")
                table.add_row(row.keys, what)
        parts.append(table)
        return Group(*parts)

    def rows(self) -> Iterator[tuple[str, Row]]:
        for task in ORDER:
            for row in self.tasks.get(task, []):
                yield task, row


def key_sheet(screen: Screen[Any], me: Me | None = None) -> KeySheet:
    """`screen`'s keys by task, read from its bindings (see the module's docstring)."""
    app = screen.app
    name = type(screen).__name__.removesuffix("Screen")
    sheet = KeySheet(re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower())
    rows: dict[tuple[str, str], Row] = {}
    in_chain: set[str] = set()
    """Binding ids in force: another lane's copy of the focused lane's keys is not news."""

    def add(node: DOMNode, binding: Binding, enabled: bool, where: str = "") -> None:
        if binding.id is not None:
            if where and binding.id in in_chain:
                return
            if not where:
                in_chain.add(binding.id)
        key = app.get_key_display(binding)
        row = rows.get((action_name(binding), where))
        if row is not None:
            part = next((p for p in row.parts if p.action == binding.action), None)
            if part is None:
                long = binding.tooltip or binding.description
                row.parts.append(Part(binding.action, [key], binding.description, long))
            elif key not in part.keys:
                part.keys.append(key)
            return
        why = ""
        if not enabled:
            why = denial(me, action_name(binding)) or "not available here"
        long = binding.tooltip or binding.description
        row = Row([Part(binding.action, [key], binding.description, long)], enabled, why, where)
        rows[(action_name(binding), where)] = row
        sheet.tasks.setdefault(task_of(binding, node), []).append(row)

    in_force = screen.active_bindings
    for active in in_force.values():
        if is_ours(active.node, active.binding):
            add(active.node, active.binding, active.enabled)
    chain = set(screen.focused.ancestors_with_self) if screen.focused else {screen, app}
    for widget in screen.query(Widget):
        if widget in chain or not widget.focusable:
            continue
        where = f"on the {_widget_name(widget)}"
        for cls in type(widget).__mro__:
            if cls.__module__.startswith("textual."):
                continue
            for binding in _declared(cls):
                if binding.description and not binding.system:
                    add(widget, binding, True, where)
    sheet.not_in_footer = footer_dropped(screen)
    return sheet


def _widget_name(widget: Widget) -> str:
    label = widget.id or type(widget).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", " ", label).replace("-", " ").replace("_", " ").lower()


def footer_dropped(screen: Screen[Any]) -> list[str]:
    """The footer's keys that do not show at the screen's width, as `key Description`: past
    its right edge, or under the palette's key docked there."""
    dropped: list[str] = []
    for footer in screen.query(Footer):
        items = list(footer.query("FooterKey"))
        docked = [i.region for i in items if i.has_class("-command-palette")]
        shown = {_label(i) for i in items if i.has_class("-command-palette")}
        for item in items:
            region = item.region
            visible = (
                region.area > 0
                and footer.region.contains_region(region)
                and not any(region.overlaps(d) for d in docked if d != region)
            )
            label = _label(item)
            if visible:
                shown.add(label)
            elif label not in shown and label not in dropped:
                dropped.append(label)
    return [label for label in dropped if label not in shown]


def footer_laid_out(screen: Screen[Any]) -> bool:
    """Every footer on `screen` has its keys in place (it rebuilds them a refresh after the
    bindings change, e.g. on the first key the console reads)."""
    for footer in screen.query(Footer):
        items = list(footer.query("FooterKey"))
        if not items or any(item.region.area == 0 for item in items):
            return False
    return True


def _label(item: Widget) -> str:
    key, description = getattr(item, "key_display", ""), getattr(item, "description", "")
    return f"{key} {description}".strip()


class HelpScreen(ModalScreen[None]):
    """Every key of the screen underneath (see the module's docstring)."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, sheet: KeySheet | None = None) -> None:
        super().__init__()
        self.sheet = sheet
        """Read from the screen underneath while it was on top (`HelpScreen.of`): once this
        one covers it, its footer is no longer laid out to be read."""

    @classmethod
    def of(cls, screen: Screen[Any]) -> HelpScreen:
        """The keys of `screen`, the one on top now."""
        return cls(key_sheet(screen, host(screen.app).me))

    def compose(self) -> ComposeResult:
        if self.sheet is None:
            below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
            self.sheet = key_sheet(below, host(self.app).me)
        with VerticalScroll():
            yield Static(self.sheet.render(), id="keys")
