"""The command palette (ctrl+p): every command of the registry (`console.command_line`), by
name: the same set the `:` line takes. A command that needs words (`assign 8 li-fang`) opens
the `:` line with its name typed.

Actions the role may not take are listed with the reason, and choosing one says it again.
Typing an order id offers to open that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from console.command_line import REGISTRY, Command
from console.host import host
from console.roles import denial, screen_denial


@dataclass(frozen=True)
class PaletteEntry:
    """One command of the registry as the palette offers it."""

    title: str
    help: str
    action: str
    """An action of the screen the palette was opened from ("screen.x") or of the app."""
    screens: tuple[str, ...] = ()
    """Screen classes it applies to; empty: everywhere."""
    guard: str | None = None
    """The console action whose permission it needs (`console.roles.GUARDS`)."""


def _entry(command: Command) -> PaletteEntry:
    """A screen opens; a key's action runs; anything that needs words opens the `:` line."""
    if command.opens is not None:
        action = f"app.switch_mode('{command.opens}')"
        return PaletteEntry(command.label, command.summary, action, guard=command.guard)
    if command.action is not None:
        return PaletteEntry(
            command.label, command.summary, command.action, command.screens, command.guard
        )
    typed = f"{command.name} "
    return PaletteEntry(
        command.label,
        f"{command.summary} — :{command.usage}",
        f"app.command_line({typed!r})",
        guard=command.guard,
    )


def entries() -> tuple[PaletteEntry, ...]:
    """The palette's entries: the command registry's as it is now, in its order."""
    return tuple(_entry(command) for command in REGISTRY)


COMMANDS = entries()
"""The entries of the console's own commands (`console.command_line.builtin`)."""


class FreshlineCommands(Provider):
    """Freshline's own entries in the palette (Textual adds theme and the like)."""

    def _commands(self) -> Iterator[tuple[PaletteEntry, str | None]]:
        screen = self.screen
        me = host(self.app).me
        for command in entries():  # a command registered later is offered too
            if command.screens and type(screen).__name__ not in command.screens:
                continue
            name = command.action.split("(")[0].split(".")[-1]
            if name == "switch_mode":
                mode = command.action.split("'")[1]
                if screen_denial(me, mode):
                    continue  # not a screen this account opens: not offered at all
            yield command, denial(me, command.guard) if command.guard else denial(me, name)

    def _run(self, command: PaletteEntry, why: str | None) -> None:
        if why:
            self.app.notify(why, title=f"{command.title}: not allowed", severity="warning")
            return
        self.app.call_later(self.app.run_action, command.action, self.screen)

    def _help(self, command: PaletteEntry, why: str | None) -> str:
        # The palette reads help as markup: a usage's `[--late]` is words.
        return escape(f"{command.help} (not allowed: {why})" if why else command.help)

    async def discover(self) -> Hits:
        for command, why in self._commands():
            yield DiscoveryHit(
                command.title, partial(self._run, command, why), help=self._help(command, why)
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        if query.strip().isdigit():
            order_id = int(query.strip())
            yield Hit(
                100.0,
                f"Open order {order_id}",
                partial(host(self.app).open_order, order_id),
                help="Its detail and timeline",
            )
            yield Hit(
                90.0,
                f"Replay order {order_id}'s track",
                partial(host(self.app).open_track, order_id),
                help="Its rider's path on the map, with its timeline beside it",
            )
        for command, why in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    partial(self._run, command, why),
                    help=self._help(command, why),
                )
