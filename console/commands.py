"""The command palette (ctrl+p): every screen and every action, by name.

Actions the role may not take are listed with the reason, and choosing one says it again.
Typing an order id offers to open that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.host import host
from console.roles import denial, screen_denial


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    action: str
    """An action of the screen the palette was opened from ("screen.x") or of the app."""
    screens: tuple[str, ...] = ()
    """Screen classes it applies to; empty: everywhere."""


COMMANDS = (
    Command("Board", "The swimlanes of every open order (key 1)", "app.switch_mode('board')"),
    Command(
        "KPIs",
        "Fulfilment, on time, delivery minutes, loss, per channel, and the day in charts (key 4)",
        "app.switch_mode('kpi')",
    ),
    Command(
        "Board summary",
        "Every lane's count, lateness and most urgent orders (the wall's board)",
        "app.switch_mode('summary')",
    ),
    Command(
        "Search orders", "Filter the board as you type (key /)", "screen.search", ("BoardScreen",)
    ),
    Command(
        "Filter by channel, warehouse, zone",
        "The filter bar (key f)",
        "screen.filters",
        ("BoardScreen",),
    ),
    Command(
        "Late only",
        "Show only late orders, or all again (key l)",
        "screen.late_only",
        ("BoardScreen",),
    ),
    Command(
        "Act on orders",
        "A lifecycle action on the order or the marked ones (key t)",
        "screen.act",
        ("BoardScreen", "OrderDetailScreen"),
    ),
    Command("Unmark all", "Clear the marks (key u)", "screen.unmark", ("BoardScreen",)),
    Command(
        "Reload",
        "Fetch a fresh snapshot (ctrl+r)",
        "screen.reload",
        ("BoardScreen", "OrderDetailScreen", "ExceptionsScreen", "KpiScreen", "RidersScreen"),
    ),
    Command("Exceptions", "The exception queue (key 2)", "app.switch_mode('exceptions')"),
    Command(
        "Riders",
        "The map of the city with every rider, and the riders beside it (key 3)",
        "app.switch_mode('riders')",
    ),
    *(
        Command(title, help, f"screen.{action}", ("RidersScreen",))
        for title, help, action in (
            ("Find a rider", "Filter the riders by name (key /)", "search"),
            ("Fit the map", "The whole city on the map (key 0)", "zoom(0)"),
            ("Zoom in", "Closer (key +)", "zoom(1)"),
            ("Zoom out", "Further (key -)", "zoom(-1)"),
            ("Centre on the rider", "The map around the selected rider (key c)", "centre"),
        )
    ),
    Command(
        "Replay the order's track",
        "Its rider's path from pick-up to sign-off, step by step or played (key m)",
        "screen.replay",
        ("OrderDetailScreen",),
    ),
    *(
        Command(title, help, f"screen.{action}", ("ExceptionsScreen",))
        for title, help, action in (
            (
                "Acknowledge alerts",
                "The alert or the marked ones, with a note (key a)",
                "acknowledge",
            ),
            (
                "Next unhandled alert",
                "Down the queue to the next open alert (key n)",
                "next_unhandled",
            ),
            (
                "Reassign",
                "Another rider for the order, or a handover of the rider's (key r)",
                "reassign",
            ),
            ("Approve return or claim", "The request behind the alert (key p)", "approve"),
            ("Reject return or claim", "With a reason (key x)", "reject"),
            ("Snooze alerts", "Hide them for a while (key s)", "snooze"),
            (
                "Faults only",
                "Only open warnings and criticals, or all again (key f)",
                "faults_only",
            ),
            ("Filter alerts", "By severity, rule, zone (key /)", "filters"),
        )
    ),
    Command(
        "Webhooks",
        "Outbound webhook subscriptions: lag, state, failing endpoints (admins, supervisors)",
        "app.switch_mode('webhooks')",
    ),
    Command(
        "Resume webhook",
        "Deliver the parked subscription again from where it stopped (key p)",
        "screen.resume",
        ("WebhooksScreen",),
    ),
    Command(
        "Shift handover",
        "What the next shift must know: open criticals, who took what, claims waiting, "
        "riders out, late orders, KPIs against the shift before (key 5)",
        "app.switch_mode('handover')",
    ),
    Command(
        "Read the handover again",
        "The digest as it stands now (key r)",
        "screen.reload",
        ("HandoverScreen",),
    ),
    *(
        Command(title, help, f"screen.{action}", ("MerchantScreen",))
        for title, help, action in (
            ("Act on orders", "A lifecycle action on the order or the marked ones (key t)", "act"),
            (
                "Adjust stock",
                "Add or write off units of the SKU under the cursor (key a)",
                "adjust_stock",
            ),
            ("Loss window", "The loss rate over 24 h, 7 or 30 days (key w)", "window"),
            ("Reload", "Orders, stock and losses read again (ctrl+r)", "reload"),
        )
    ),
    Command("Keys", "Every key on this screen (key ?)", "app.help"),
    Command("Sign out", "Forget this console's token and sign in again", "app.sign_out"),
    Command("Quit", "Leave the console (key q)", "app.quit"),
)


class FreshlineCommands(Provider):
    """Freshline's own entries in the palette (Textual adds theme and the like)."""

    def _commands(self) -> Iterator[tuple[Command, str | None]]:
        screen = self.screen
        me = host(self.app).me
        for command in COMMANDS:
            if command.screens and type(screen).__name__ not in command.screens:
                continue
            name = command.action.split("(")[0].split(".")[-1]
            if name == "switch_mode":
                mode = command.action.split("'")[1]
                if screen_denial(me, mode):
                    continue  # not a screen this account opens: not offered at all
            yield command, denial(me, name)

    def _run(self, command: Command, why: str | None) -> None:
        if why:
            self.app.notify(why, title=f"{command.title}: not allowed", severity="warning")
            return
        self.app.call_later(self.app.run_action, command.action, self.screen)

    def _help(self, command: Command, why: str | None) -> str:
        return f"{command.help} (not allowed: {why})" if why else command.help

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
