"""The console's commands: its screens, its filters, every key's action, and the actions on
orders, alerts and riders that `freshline act` takes too. One entry each, in palette order."""

from __future__ import annotations

from collections.abc import Callable

from backend_client.models import AlertRule, AlertSeverity, OrderAction
from console.alert_book import AlertFilter
from console.command_line import sending
from console.command_line.registry import (
    REGISTRY,
    Arg,
    Command,
    CommandRefused,
    Desk,
    Flag,
    Kind,
    Parsed,
    Registry,
    Show,
)
from console.order_words import ACTION_WORDS, FINAL_ACTIONS, NEEDS_REASON
from console.store import OrderFilter

RIDER_STATES = ("late", "silent", "delivering", "idle", "offline")
"""`console.store.RiderState`'s values: `riders silent`."""


def _screen(mode: str) -> Show:
    async def show(desk: Desk, parsed: Parsed) -> str | None:
        await desk.switch_to(mode)
        return None

    return show


async def _orders(desk: Desk, parsed: Parsed) -> str | None:
    order_filter = OrderFilter(
        text=parsed.word("search"),
        channel=parsed.word("channel") or None,
        warehouse_id=parsed.word("warehouse") or None,
        zone=parsed.word("zone") or None,
        late_only=parsed.flag("late"),
    )
    await desk.show_orders(order_filter)
    return None


async def _riders(desk: Desk, parsed: Parsed) -> str | None:
    states = [s for s in RIDER_STATES if parsed.flag(s)]
    if len(states) > 1:
        raise CommandRefused(f"one state at a time: {' or '.join(states)}")
    await desk.show_riders(states[0] if states else None, parsed.word("name"))
    return None


async def _alerts(desk: Desk, parsed: Parsed) -> str | None:
    me = desk.me
    if parsed.flag("mine") and me is None:
        raise CommandRefused("`mine` needs someone signed in")
    severity, rule = parsed.word("severity"), parsed.word("rule")
    await desk.show_alerts(
        AlertFilter(
            faults_only=parsed.flag("faults"),
            severity=AlertSeverity(severity) if severity else None,
            rule=AlertRule(rule) if rule else None,
            zone=parsed.word("zone") or None,
            acknowledged_by=me.username if parsed.flag("mine") and me else None,
        )
    )
    return None


VIEW_VERBS = ("save", "default", "delete")
"""`view save NAME`, `view default NAME`, `view delete NAME`; any other first word is the name
of a view to open."""


def _view_words(parsed: Parsed) -> tuple[str, str]:
    first, second = parsed.word("name"), parsed.word("as")
    if first in VIEW_VERBS:
        if not second:
            raise CommandRefused(f"`view {first}` needs the view's name: view {first} my-zones")
        return first, second
    if second:
        raise CommandRefused(
            f"one view at a time: `view {first}` opens it, `view save {second}` saves one"
        )
    return "open", first


def _check_view(parsed: Parsed) -> None:
    _view_words(parsed)


async def _view(desk: Desk, parsed: Parsed) -> str | None:
    verb, name = _view_words(parsed)
    return await desk.keep_view(verb, name)


async def _order(desk: Desk, parsed: Parsed) -> str | None:
    desk.open_order(parsed.number("order"))
    return None


async def _track(desk: Desk, parsed: Parsed) -> str | None:
    desk.open_track(parsed.number("order"))
    return None


def _final(action: OrderAction) -> Command:
    name = str(action).replace("_", "-")
    words = ACTION_WORDS.get(action, name)

    def question(parsed: Parsed) -> str | None:
        if action not in FINAL_ACTIONS:
            return None
        return f"{words}: order {parsed.number('order')}? The order's story ends here."

    return Command(
        name,
        f"{words}: one step of the order's lifecycle"
        + (" (with a reason)" if action in NEEDS_REASON else ""),
        args=(
            Arg("order", Kind.ORDER, "the order"),
            Arg("reason", Kind.TEXT, "why", required=action in NEEDS_REASON),
        ),
        guard="act",
        send=sending.transition(action),
        subject="order",
        confirm=question,
    )


def _money(verb: str) -> Callable[[Parsed], str | None]:
    def question(parsed: Parsed) -> str | None:
        return f"{verb} the return or claim behind alert {parsed.number('alert')}? Money moves."

    return question


def _bare(
    name: str, title: str, summary: str, action: str, *screens: str, guard: str = ""
) -> Command:
    """A key's action as a command: the same thing, on the same screen."""
    return Command(name, summary, title=title, action=action, screens=screens, guard=guard or None)


BOARD, DETAIL, QUEUE, RIDERS = (
    "BoardScreen",
    "OrderDetailScreen",
    "ExceptionsScreen",
    "RidersScreen",
)
MERCHANT, WEBHOOKS, HANDOVER, KPI = (
    "MerchantScreen",
    "WebhooksScreen",
    "HandoverScreen",
    "KpiScreen",
)

ZONE = Arg("zone", Kind.ZONE, "a delivery zone")
ORDER = Arg("order", Kind.ORDER, "the order")
ALERT = Arg("alert", Kind.ALERT, "the alert")
RIDER = Arg("rider", Kind.RIDER, "a rider (li-fang, or #3)")


def fill(registry: Registry) -> None:
    """Add the console's commands to `registry`."""
    for command in (
        Command(
            "board",
            "The swimlanes of every open order (key 1)",
            title="Board",
            show=_screen("board"),
            opens="board",
        ),
        Command(
            "orders",
            "The board narrowed: orders zone=Haidian late, orders channel=meituan wang",
            title="Orders, filtered",
            args=(Arg("search", Kind.TEXT, "a search (id, customer, rider…)", required=False),),
            options=(
                ZONE,
                Arg("channel", Kind.WORD, "a sales channel"),
                Arg("warehouse", Kind.WORD, "a warehouse id (WH-CY)"),
            ),
            flags=(Flag("late", "late orders only"),),
            show=_orders,
        ),
        Command(
            "order",
            "An order's detail and timeline: order 8 (order 8 cancel … acts on it)",
            title="Open an order",
            args=(ORDER,),
            show=_order,
        ),
        Command(
            "track",
            "An order's track replayed on the map: track 8 (key m on its detail)",
            title="Replay an order's track",
            args=(ORDER,),
            show=_track,
            action="screen.replay",
            screens=(DETAIL,),
        ),
        Command(
            "exceptions",
            "The exception queue (key 2)",
            title="Exceptions",
            show=_screen("exceptions"),
            opens="exceptions",
        ),
        Command(
            "alerts",
            "The queue narrowed: alerts mine, alerts faults severity=critical zone=Haidian",
            title="Alerts, filtered",
            options=(
                Arg("severity", Kind.CHOICE, "a severity", choices=tuple(map(str, AlertSeverity))),
                Arg("rule", Kind.CHOICE, "a rule", choices=tuple(map(str, AlertRule))),
                ZONE,
            ),
            flags=(
                Flag("mine", "the alerts I acknowledged"),
                Flag("faults", "only open warnings and criticals"),
            ),
            show=_alerts,
        ),
        Command(
            "riders",
            "The map and the riders (key 3); riders silent, riders late, riders li",
            title="Riders",
            args=(Arg("name", Kind.TEXT, "part of a name", required=False),),
            flags=tuple(Flag(s, f"{s} riders only") for s in RIDER_STATES),
            show=_riders,
            opens="riders",
        ),
        Command(
            "view",
            "Saved views of the board: view my-zones opens one; view save|default|delete NAME",
            title="Saved view",
            args=(
                Arg("name", Kind.WORD, "the view to open, or save / default / delete"),
                Arg(
                    "as", Kind.WORD, "the view's name after save / default / delete", required=False
                ),
            ),
            guard="views",
            check=_check_view,
            show=_view,
        ),
        Command(
            "kpi",
            "Fulfilment, on time, delivery minutes, loss (key 4)",
            title="KPIs",
            show=_screen("kpi"),
            opens="kpi",
        ),
        Command(
            "summary",
            "Every lane's count, lateness and most urgent orders",
            title="Board summary",
            show=_screen("summary"),
            opens="summary",
        ),
        Command(
            "handover",
            "What the next shift must know (key 5)",
            title="Shift handover",
            show=_screen("handover"),
            opens="handover",
        ),
        Command(
            "webhooks",
            "Outbound webhook subscriptions (admins, supervisors)",
            title="Webhooks",
            show=_screen("webhooks"),
            opens="webhooks",
        ),
        Command(
            "store",
            "The store's own orders and stock (store accounts)",
            title="Store",
            show=_screen("merchant"),
            opens="merchant",
        ),
        Command(
            "assign",
            "An order to a rider: assign 8 li-fang (stopped in EXCEPTION: resumed with them)",
            title="Assign an order",
            args=(ORDER, RIDER),
            guard="reassign",
            send=sending.assign,
            subject="order",
        ),
        Command(
            "reassign",
            "Another rider: reassign 8 --best, reassign 8 li-fang; alone: the alert's (key r)",
            title="Reassign",
            args=(ORDER, Arg("rider", Kind.RIDER, "a rider", required=False)),
            flags=(Flag("best", "the first of the server's suggestions"),),
            guard="reassign",
            send=sending.reassign,
            check=sending.one_rider,
            action="screen.reassign",
            screens=(QUEUE,),
            subject="order",
        ),
        *(_final(action) for action in OrderAction),
        Command(
            "ack",
            "Acknowledge an alert: ack 12 on my way; alone: the alert under the cursor (key a)",
            title="Acknowledge alerts",
            args=(ALERT, Arg("note", Kind.TEXT, "a note for the others", required=False)),
            guard="acknowledge",
            send=sending.acknowledge,
            action="screen.acknowledge",
            screens=(QUEUE,),
            subject="alert",
        ),
        Command(
            "snooze",
            "Hide an alert for a while: snooze 12 30; alone: the alert under the cursor (key s)",
            title="Snooze alerts",
            args=(
                ALERT,
                Arg("minutes", Kind.NUMBER, "minutes", low=1, high=1440),
                Arg("note", Kind.TEXT, "a note", required=False),
            ),
            guard="snooze",
            send=sending.snooze,
            action="screen.snooze",
            screens=(QUEUE,),
            subject="alert",
        ),
        Command(
            "move",
            "A rider to another zone: move li-fang Haidian; alone: the selected rider (key z)",
            title="Move a rider",
            args=(RIDER, ZONE, Arg("reason", Kind.TEXT, "why", required=False)),
            guard="move_zone",
            send=sending.move,
            action="screen.move_zone",
            screens=(RIDERS,),
            subject="rider",
        ),
        # --- a screen's keys, as commands (they act on its cursor) ------------------------------
        _bare(
            "search",
            "Search orders",
            "Filter the board as you type (key /)",
            "screen.search",
            BOARD,
        ),
        _bare("find", "Find a rider", "Filter the riders by name (key /)", "screen.search", RIDERS),
        _bare(
            "filter",
            "Filter by channel, warehouse, zone",
            "The filter bar (key f)",
            "screen.filters",
            BOARD,
        ),
        _bare(
            "filter-alerts",
            "Filter alerts",
            "By severity, rule, zone (key /)",
            "screen.filters",
            QUEUE,
        ),
        _bare(
            "late", "Late only", "Only late orders, or all again (key l)", "screen.late_only", BOARD
        ),
        _bare(
            "act",
            "Act on orders",
            "A lifecycle action on the order or the marked ones (key t)",
            "screen.act",
            BOARD,
            DETAIL,
            MERCHANT,
            guard="act",
        ),
        _bare("unmark", "Unmark all", "Clear the marks (key u)", "screen.unmark", BOARD, QUEUE),
        _bare(
            "reload",
            "Reload",
            "Fetch a fresh snapshot (ctrl+r)",
            "screen.reload",
            BOARD,
            DETAIL,
            QUEUE,
            KPI,
            RIDERS,
            HANDOVER,
            MERCHANT,
        ),
        _bare("zoom-in", "Zoom in", "Closer (key +)", "screen.zoom(1)", RIDERS),
        _bare("zoom-out", "Zoom out", "Further (key -)", "screen.zoom(-1)", RIDERS),
        _bare("fit", "Fit the map", "The whole city on the map (key 0)", "screen.zoom(0)", RIDERS),
        _bare(
            "centre",
            "Centre on the rider",
            "The map around the selected rider (key c)",
            "screen.centre",
            RIDERS,
        ),
        _bare(
            "next-new",
            "Next new",
            "The next row that changed since you looked (key n)",
            "screen.next_new(1)",
            BOARD,
            QUEUE,
        ),
        _bare(
            "previous-new",
            "Previous new",
            "The previous row that changed since you looked (key N)",
            "screen.next_new(-1)",
            BOARD,
            QUEUE,
        ),
        _bare(
            "caught-up",
            "Caught up",
            "Count every row of this lane or queue as looked at (key c)",
            "screen.caught_up",
            BOARD,
            QUEUE,
        ),
        *(
            _bare(
                f"copy-{what}",
                f"Copy the {what}",
                f"The {what} of the order under the cursor, to the clipboard (keys y {key})",
                f"screen.copy_what('{key}')",
                BOARD,
                QUEUE,
                DETAIL,
            )
            for what, key in (("id", "i"), ("phone", "p"), ("link", "l"))
        ),
        _bare(
            "bell",
            "Bell and notifications",
            "Critical alerts ring and notify, or stop (ctrl+g)",
            "app.attention",
        ),
        _bare(
            "next",
            "Next unhandled alert",
            "Down the queue to the next open alert (key n)",
            "screen.next_unhandled",
            QUEUE,
        ),
        Command(
            "approve",
            "The return or claim behind an alert: approve 12; alone: the alert under the cursor "
            "(key p)",
            title="Approve return or claim",
            args=(ALERT,),
            guard="approve",
            send=sending.decide(approve=True),
            action="screen.approve",
            screens=(QUEUE,),
            subject="alert",
            confirm=_money("Approve"),
        ),
        Command(
            "reject",
            "With a reason: reject 12 photos show no damage; alone: the alert under the cursor "
            "(key x)",
            title="Reject return or claim",
            args=(ALERT, Arg("reason", Kind.TEXT, "why")),
            guard="reject",
            send=sending.decide(approve=False),
            action="screen.reject",
            screens=(QUEUE,),
            subject="alert",
            confirm=_money("Reject"),
        ),
        _bare(
            "resolve",
            "Resolve the complaint",
            "An apology, a voucher or a refund (key o)",
            "screen.resolve",
            QUEUE,
            guard="resolve",
        ),
        _bare(
            "take-back",
            "Take back the rejection",
            "The last rejection, within minutes (key z)",
            "screen.take_back",
            QUEUE,
            guard="take_back",
        ),
        _bare(
            "faults",
            "Faults only",
            "Only open warnings and criticals, or all (key f)",
            "screen.faults_only",
            QUEUE,
        ),
        _bare(
            "resume-webhook",
            "Resume webhook",
            "Deliver the parked subscription again (key p)",
            "screen.resume",
            WEBHOOKS,
            guard="resume",
        ),
        _bare(
            "adjust-stock",
            "Adjust stock",
            "Add or write off units of the SKU (key a)",
            "screen.adjust_stock",
            MERCHANT,
            guard="adjust_stock",
        ),
        _bare(
            "window",
            "Loss window",
            "The loss rate over 24 h, 7 or 30 days (key w)",
            "screen.window",
            MERCHANT,
        ),
        _bare("help", "Keys", "Every key on this screen (key ?)", "app.help"),
        _bare(
            "sign-out", "Sign out", "Forget this console's token and sign in again", "app.sign_out"
        ),
        _bare("quit", "Quit", "Leave the console (key q)", "app.quit"),
    ):
        registry.add(command)


fill(REGISTRY)
