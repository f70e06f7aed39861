"""What a command is: its name, its arguments with their types, the permission it needs, and
what it does, on the console (`show`), through the API (`send`), or as the screen's own key
(`action`).

Plain Python (no Textual): the console's `:` line, its palette and `freshline act` read the one
`REGISTRY` (filled by `console.command_line.builtin`). Adding a command is adding one
`Command` to it, e.g. saved views:

    REGISTRY.add(Command("view", "Open a saved view, or save this one",
                         args=(Arg("name", Kind.WORD, "the view's name"),
                               Arg("as", Kind.WORD, "save: the name", required=False)),
                         show=open_or_save_view))

where `open_or_save_view(desk, parsed)` reads `parsed.word("name")` and asks the `Desk`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from backend_client import FreshlineClient
    from backend_client.models import Me
    from console.alert_book import AlertFilter
    from console.store import OrderFilter


class Kind(StrEnum):
    """What an argument's words mean, how they are checked and completed."""

    ORDER = "order"
    """An order id (`8` or `#8`)."""
    ALERT = "alert"
    """An alert id."""
    RIDER = "rider"
    """A rider: their name as a slug (`li-fang`), a unique start of it, or `#id`."""
    ZONE = "zone"
    """A delivery zone by name, any case (`haidian`)."""
    NUMBER = "number"
    """A whole number within the argument's bounds."""
    CHOICE = "choice"
    """One of the argument's `choices`."""
    WORD = "word"
    """One word, anything."""
    TEXT = "text"
    """The rest of the line: a reason, a note, a search."""


@dataclass(frozen=True)
class Arg:
    """A positional argument (or, in `Command.options`, a `name=value` one)."""

    name: str
    kind: Kind
    help: str
    required: bool = True
    choices: tuple[str, ...] = ()
    low: int = 1
    high: int = 1_000_000_000


@dataclass(frozen=True)
class Flag:
    """A switch, typed bare (`late`) or as `--late`."""

    name: str
    help: str


class CommandRefused(Exception):
    """A command not taken, with the reason in plain words; nothing was done."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CommandDenied(CommandRefused):
    """Refused because the account may not: the command itself was fine."""


@dataclass(frozen=True)
class Parsed:
    """A command read and checked: its values by argument name, and the flags typed."""

    command: Command
    values: dict[str, int | str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()

    def has(self, name: str) -> bool:
        return name in self.values

    def number(self, name: str) -> int:
        value = self.values[name]
        assert isinstance(value, int), name
        return value

    def word(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return str(value)

    def flag(self, name: str) -> bool:
        return name in self.flags

    @property
    def bare(self) -> bool:
        """Nothing typed after the name: the screen's own action, where there is one."""
        return not self.values and not self.flags


@dataclass(frozen=True)
class Answer:
    """What a command did, in words (and as data for `--json`)."""

    text: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Session:
    """The signed-in user a command acts as, and what the console already holds."""

    client: FreshlineClient
    me: Me | None
    seen_order: Callable[[int], tuple[int, str] | None] = lambda order_id: None
    """(version, state) of an order as the console shows it, so a change since is a 409 and
    not overridden; None: read it from the server."""
    seen_alert: Callable[[int], int | None] = lambda alert_id: None
    """An alert's version as the console shows it; None: read it from the server."""
    via: str = "the console's command line"
    """Where the command was typed, in the reason the audit trail keeps."""


class Desk(Protocol):
    """The console's screens, as the `:` commands that only show things use them."""

    @property
    def me(self) -> Me | None: ...

    @property
    def screen_name(self) -> str:
        """The class name of the screen the command was typed on (e.g. "BoardScreen")."""
        ...

    async def switch_to(self, mode: str) -> None:
        """One of the app's screens (board, exceptions, riders, kpi, ...) at its root."""
        ...

    async def show_orders(self, order_filter: OrderFilter) -> None: ...

    async def show_riders(self, state: str | None, text: str) -> None: ...

    async def show_alerts(self, alert_filter: AlertFilter) -> None: ...

    def open_order(self, order_id: int) -> None: ...

    def open_track(self, order_id: int) -> None: ...

    async def run_action(self, action: str) -> None:
        """An action of the screen the command was typed on (`screen.x`) or the app's."""
        ...

    async def keep_view(self, verb: str, name: str) -> str:
        """A saved view of the board (`console/views.py`): `open`, `save`, `default` or
        `delete` the view `name`; what was done, in words."""
        ...


Send = Callable[[Session, Parsed], Awaitable[Answer]]
Show = Callable[[Desk, Parsed], Awaitable[str | None]]


@dataclass(frozen=True)
class Command:
    """One command of the console's `:` line, its palette and `freshline act`."""

    name: str
    summary: str
    """One line: the palette's help and the `:help` listing."""
    title: str = ""
    """The palette's title (default: the name)."""
    args: tuple[Arg, ...] = ()
    options: tuple[Arg, ...] = ()
    """`name=value` (or `--name value`) arguments, any order."""
    flags: tuple[Flag, ...] = ()
    guard: str | None = None
    """The console action whose permission it needs (`console.roles.GUARDS`)."""
    send: Send | None = None
    """Through the API as the signed-in user: the console and `freshline act`."""
    show: Show | None = None
    """On the console only: screens, filters, navigation."""
    action: str | None = None
    """The bare command (nothing typed after it) runs this action of the screen it was typed
    on (`screen.approve`: the alert under the cursor) or of the app."""
    screens: tuple[str, ...] = ()
    """Screen classes where `action` applies; empty: everywhere."""
    subject: str | None = None
    """"order", "alert" or "rider": `order 8 cancel` reads as `cancel 8`."""
    confirm: Callable[[Parsed], str | None] | None = None
    """The question to ask before sending (None: none): the console asks, `act` needs --yes."""
    check: Callable[[Parsed], None] | None = None
    """More checks of the words, after each argument's own (`CommandRefused`): e.g. "a rider
    or --best"."""
    opens: str | None = None
    """The screen (app mode) it opens: the palette runs that, and does not offer it to an
    account that cannot open it."""

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def usage(self) -> str:
        """E.g. `assign ORDER RIDER [--resume]`."""
        parts = [self.name]
        for arg in self.args:
            shown = "|".join(arg.choices) if arg.kind == Kind.CHOICE else arg.name.upper()
            if arg.kind == Kind.TEXT:
                shown += "..."
            parts.append(shown if arg.required else f"[{shown}]")
        parts += [f"[{o.name}=…]" for o in self.options]
        parts += [f"[--{f.name}]" for f in self.flags]
        return " ".join(parts)

    @property
    def wants_arguments(self) -> bool:
        """Typed without arguments it does nothing but say what it needs."""
        return self.action is None and any(a.required for a in self.args)


class Registry:
    """Every command by name, in the order they were added (the palette's order)."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> Command:
        if command.name in self._commands:
            raise ValueError(f"two commands named {command.name!r}")
        if command.send is None and command.show is None and command.action is None:
            raise ValueError(f"{command.name!r} does nothing")
        self._commands[command.name] = command
        return command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def names(self) -> list[str]:
        return list(self._commands)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def __len__(self) -> int:
        return len(self._commands)


REGISTRY = Registry()
"""The console's commands (`console.command_line.builtin` fills it on import)."""
