"""The exception queue: every standing alert, most severe and longest waiting first, and the
desk's verbs on it: acknowledge, next unhandled, open the order, reassign, approve or reject a
return or claim, resolve a complaint, snooze; on the alert under the cursor or on every marked
one. Above the detail, the handovers the backend proposed after an accident or a silent rider
(accept with h, keep the orders with k) and the newest one carried out (U undoes it).

Redraws on the app's bounded tick, only when the queue or the alert under the cursor changed
(and once a second for the ages).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from backend_client import FreshlineError
from backend_client.models import (
    Alert,
    AlertRule,
    AlertState,
    ComplaintOutcome,
    OrderState,
    TakeoverProposal,
)
from console import takeover_words
from console.alert_book import RULE_WORDS, AlertFilter
from console.alert_words import figure_words
from console.looked import Kind
from console.store import Changes, Store
from screens import alert_actions, complaint_actions, reassign, takeover_actions
from screens.copying import CopyingScreen
from screens.dialogs import ReasonDialog
from widgets.alert_filter_bar import AlertFilterBar
from widgets.alert_list import AlertList
from widgets.alert_row import GLYPH, state_text, subject_text
from widgets.top_bar import TopBar

AlertVerb = Callable[[Screen[Any], list[Alert]], Awaitable[None]]
"""What a key does to the chosen alerts (`screens.alert_actions`)."""


def figure(value: object, zone: tzinfo | None) -> str:
    """A detail as a person reads it: times as the clock shows them, the rest as it is."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return f"{datetime.fromisoformat(value).astimezone(zone):%H:%M}"
    return "-" if value is None else str(value)


def next_step(alert: Alert, store: Store) -> str:
    """What ends this incident, and the key that does it."""
    card = store.orders.get(alert.order_id) if alert.order_id is not None else None
    if complaint_actions.is_complaint(alert):
        return "o resolves the complaint: an apology, a voucher or a refund"
    if alert.request_id is not None:
        words = alert_actions.request_words(store, alert)
        return f"p approves {words}, x rejects it (with a reason)"
    if alert.rule == AlertRule.DELIVERY_EXCEPTION or (card and card.status == OrderState.EXCEPTION):
        return (
            "r gives the order to another rider and resumes the delivery in one step "
            "(enter opens the order: t to resume with the same rider)"
        )
    if alert.order_id is None and alert.rider_id is not None:
        return "r hands every order the rider carries to one rider with room"
    if (
        alert.rule in (AlertRule.DELIVERY_OVERDUE, AlertRule.PREDICTED_LATE)
        and card
        and card.rider_id
    ):
        return "r gives the order to a rider who can still make it; a acknowledges"
    return "a acknowledges (with a note); enter opens the order" if card else "a acknowledges"


class ExceptionsScreen(CopyingScreen):
    """Support's and dispatch's queue of what went wrong."""

    DEFAULT_CSS = """
    ExceptionsScreen #detail {
        height: 7; padding: 0 1; background: $surface; border-top: solid $panel-lighten-2;
    }
    ExceptionsScreen #takeovers {
        height: auto; max-height: 3; padding: 0 1; display: none; text-style: bold;
    }
    """
    BINDINGS = [
        Binding("a", "acknowledge", "Ack", tooltip="Acknowledge, with a note", id="queue.ack"),
        Binding(
            "n",
            "next_new(1)",
            "Next",
            tooltip="The next alert that changed since you looked, else the next open one",
            id="queue.next",
        ),
        Binding(
            "N",
            "next_new(-1)",
            "Previous new",
            show=False,
            tooltip="The previous alert that changed since you looked",
            id="queue.prev_new",
        ),
        Binding(
            "c",
            "caught_up",
            "Caught up",
            show=False,
            tooltip="Count every alert in the queue as looked at",
            id="queue.caught_up",
        ),
        Binding(
            "r",
            "reassign",
            "Reassign",
            tooltip="Another rider for the order, or a handover of the rider's orders",
            id="queue.reassign",
        ),
        Binding(
            "p", "approve", "Approve", tooltip="Approve the return or claim", id="queue.approve"
        ),
        Binding(
            "x",
            "reject",
            "Reject",
            tooltip="Reject the return or claim (with a reason)",
            id="queue.reject",
        ),
        Binding(
            "o",
            "resolve",
            "Resolve",
            tooltip="Resolve the complaint: an apology, a voucher or a refund",
            show=False,  # named by the alert's "next" line; the footer is full at 80 columns
            id="queue.resolve",
        ),
        Binding("s", "snooze", "Snooze", tooltip="Hide it for a while", id="queue.snooze"),
        Binding(
            "z",
            "take_back",
            "Undo",
            tooltip="Take back the last rejection (a couple of minutes after it)",
            id="queue.take_back",
        ),
        Binding(
            "f",
            "faults_only",
            "Faults",
            tooltip="Only open warnings and criticals",
            id="queue.faults",
        ),
        Binding("slash", "filters", "Filter", tooltip="Severity, rule, zone", id="queue.filters"),
        Binding(
            "h",
            "accept_handover",
            "Hand over",
            tooltip="Carry out the proposed handover now (r changes it, K keeps the orders)",
            show=False,  # named on the handover line; the footer is full at 80 columns
            id="queue.accept_handover",
        ),
        Binding(
            "K",
            "keep_handover",
            "Keep",
            tooltip="Dismiss the proposed handover: the orders stay with their rider",
            show=False,
            id="queue.keep_handover",
        ),
        Binding(
            "U",
            "undo_handover",
            "Undo handover",
            tooltip="Give the orders of the newest handover back to their rider",
            show=False,
            id="queue.undo_handover",
        ),
        Binding("u", "unmark", "Unmark all", show=False, id="queue.unmark"),
        Binding("escape", "back", "Back", show=False, id="queue.back"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="queue.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.alert_filter = AlertFilter()
        self.marks: set[int] = set()
        self.rejected: list[Alert] = []
        """The alerts of the requests last rejected here: what `z` takes back."""
        self._ticked = 0.0
        self._detail_key: tuple[object, ...] = ()
        self._looked_at = -1
        """The looked book's revision the queue last drew (marks and the count follow it)."""
        self.takeovers: list[TakeoverProposal] = []
        """The handover proposals of the last half hour, as last read (newest first)."""
        self.takeovers_read = False
        """Read once since mounting: until then, h, k and U wait (a fast `2 h` is kept)."""
        self._waiting_keys: list[Callable[[], None]] = []
        self._strip = ""

    def compose(self) -> ComposeResult:
        yield TopBar("exceptions")
        yield AlertFilterBar()
        yield AlertList(self.store, self.marks, id="queue")
        yield Static("", id="takeovers")
        yield Static("", id="detail")
        yield Footer()

    @property
    def queue(self) -> AlertList:
        return self.query_one(AlertList)

    def on_mount(self) -> None:
        self.queue.zone = self.zone
        self.queue.focus()
        self.show_changes(Changes(reloaded=True))
        self.ready = True
        if self.host.client is not None:
            self.set_interval(takeover_actions.POLL_SECONDS, self.read_takeovers)
            self.read_takeovers()

    def on_screen_resume(self) -> None:
        self.show_changes(Changes(reloaded=True))
        if self.host.client is not None:
            self.read_takeovers()

    # --- drawing from the store ---------------------------------------------------------------

    def show_changes(self, changes: Changes) -> None:
        now = self.store.clock.now()
        queue = self.queue
        queue.looked = looked = self.host.looked
        looked_moved = looked.revision != self._looked_at
        self._looked_at = looked.revision
        if changes.alerts or changes.reloaded or changes.rider_names or looked_moved:
            queue.show(self.store.alerts.queue(self.alert_filter), now)
            self._title()
            self.query_one(AlertFilterBar).offer_zones(self.store.alerts.zones())
        if time.monotonic() - self._ticked >= 1.0:
            self._ticked = time.monotonic()
            queue.tick(now)
        if changes.alerts and self.host.client is not None:
            self.read_takeovers()  # an accident's alert: its proposal is made at once
        self._draw_strip()
        self._draw_detail()

    # --- handovers ----------------------------------------------------------------------------

    @work(group="takeovers-read", exclusive=True, exit_on_error=False)
    async def read_takeovers(self) -> None:
        """The last half hour's handover proposals, from the server."""
        try:
            self.takeovers = await takeover_actions.recent(self)
        except FreshlineError:
            return  # the connection badge says what is wrong; the next read tries again
        self.takeovers_read = True
        self._draw_strip()
        self._draw_detail()
        waiting, self._waiting_keys = self._waiting_keys, []
        for action in waiting:
            action()

    def _before_read(self, action: Callable[[], None]) -> bool:
        """Whether `action` must wait for the first read of the proposals (and now does)."""
        if self.takeovers_read or self.host.client is None:
            return False
        self._waiting_keys.append(action)
        return True

    def _draw_strip(self) -> None:
        text = takeover_words.strip(self.takeovers, self.store.clock.now(), self.zone)
        if text == self._strip:
            return
        self._strip = text
        strip = self.query_one("#takeovers", Static)
        strip.update(text)
        strip.display = bool(text)

    def _title(self) -> None:
        book = self.store.alerts
        shown, everything = len(self.queue.ids), len(book.queue())
        count = f"{shown} of {everything}" if self.alert_filter.active else f"{everything}"
        marks = f" · {len(self.marks)} marked" if self.marks else ""
        new = len(self.queue.new_ids())
        fresh = f" · {new} new" if new else ""
        critical = book.critical()
        self.queue.set_header(
            f"Alerts  {count}{fresh}{marks}", f"{critical} critical open" if critical else ""
        )

    def current(self) -> Alert | None:
        alert_id = self.queue.current
        return self.store.alerts.alerts.get(alert_id) if alert_id is not None else None

    def _draw_detail(self) -> None:
        alert = self.current()
        children = self.store.alerts.children(alert.id) if alert else []
        proposal = takeover_words.for_alert(self.takeovers, alert)
        key = (alert, tuple(children), proposal, int(self.store.clock.now().timestamp() // 60))
        if key == self._detail_key:
            return
        self._detail_key = key
        self.query_one("#detail", Static).update(self._detail(alert, children))

    def _detail(self, alert: Alert | None, children: list[Alert]) -> Table | str:
        if alert is None:
            return "Nothing under the cursor."
        store, zone = self.store, self.zone
        now = store.clock.now()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        head = Text(f"{GLYPH[alert.severity]} {alert.severity} · {RULE_WORDS[alert.rule]} · ")
        head.append(subject_text(alert, store))
        head.append(f" · open {store.alerts.open_for(alert, now)} · {state_text(alert, zone)}")
        grid.add_row("alert", head)
        grid.add_row("what", alert.title)
        if alert.details:
            grid.add_row("figures", figure_words(alert.details, zone, store.zones, alert.zone))
        if children:
            grouped = ", ".join(
                f"{subject_text(c, store)} {RULE_WORDS[c.rule]}" for c in children[:6]
            )
            more = f" and {len(children) - 6} more" if len(children) > 6 else ""
            grid.add_row("grouped", grouped + more)
        if alert.acknowledged_by:
            at = alert.acknowledged_at.astimezone(zone) if alert.acknowledged_at else None
            when = f" at {at:%H:%M}" if at else ""
            grid.add_row("taken", f"{alert.acknowledged_by}{when}: {alert.note or 'no note'}")
        proposal = takeover_words.for_alert(self.takeovers, alert)
        if proposal is not None:
            due = f"{proposal.due_at.astimezone(zone):%H:%M}"
            grid.add_row(
                "handover",
                f"{takeover_words.moves_text(proposal, zone)} · by itself at {due}; "
                "h hands them over now, K keeps them",
            )
        grid.add_row("next", next_step(alert, store))
        return grid

    # --- chosen alerts ------------------------------------------------------------------------

    def chosen(self) -> list[Alert]:
        """The marked alerts, or the one under the cursor."""
        held = self.store.alerts.alerts
        marked = [held[i] for i in sorted(self.marks) if i in held]
        if marked:
            return marked
        alert = self.current()
        return [alert] if alert else []

    def _act(self, verb: AlertVerb, *, asking: str = "") -> None:
        """`verb` on the chosen alerts; on many at once, `asking` first (at once, with the key)."""
        alerts = self.chosen()
        if not alerts:
            self.notify("No alert under the cursor and none marked.", severity="warning")
            return
        if asking and len(alerts) > 1:
            question = alert_actions.bulk_question(self.store, asking, alerts)

            def answered(yes: bool | None) -> None:
                if yes:
                    self._run(verb, alerts)

            self.app.push_screen(question, answered)
            return
        self._run(verb, alerts)

    @work(group="alert-act", exit_on_error=False)  # not exclusive: never cancel one in flight
    async def _run(self, verb: AlertVerb, alerts: list[Alert]) -> None:
        await verb(self, alerts)
        self.marks.clear()
        self.show_changes(Changes(alerts=True))

    # --- keys ---------------------------------------------------------------------------------

    def action_acknowledge(self) -> None:
        self._act(alert_actions.acknowledge, asking="Acknowledge")

    def action_snooze(self) -> None:
        self._act(alert_actions.snooze, asking="Snooze")

    def action_approve(self) -> None:
        self._decide(approve=True)

    def action_reject(self) -> None:
        self._decide(approve=False)

    def _decide(self, *, approve: bool) -> None:
        """Money: the question comes up at once (from what the console holds), naming what and
        how much; nothing is sent before `y`. A rejection asks for its reason first."""
        alerts = self.chosen()
        verb = "Approve" if approve else "Reject"
        if not alerts:
            self.notify("No alert under the cursor and none marked.", severity="warning")
            return
        if alert_actions.decision(self.store, alerts, approve=approve) is None:
            self.notify(f"{verb}: no return or claim waits behind this.", severity="warning")
            return

        async def decide(screen: Screen[Any], chosen: list[Alert]) -> None:
            done = await alert_actions.decide(screen, chosen, approve=approve, reason=reason_of[0])
            if not approve:  # what `z` takes back: the last rejection, and only that
                self.rejected = [a for a in chosen if a.request_id in done]

        reason_of: list[str | None] = [None]

        def send(reason: str | None) -> None:
            reason_of[0] = reason
            self._run(decide, alerts)

        def confirm(reason: str | None) -> None:
            dialog = alert_actions.decision(self.store, alerts, approve=approve, reason=reason)
            if dialog is not None:
                self.app.push_screen(dialog, lambda yes: send(reason) if yes else None)

        if approve:
            confirm(None)
        else:
            words = alert_actions.decided_words(self.store, alerts)
            self.app.push_screen(
                ReasonDialog(f"Reject {words}: why?"),
                lambda reason: confirm(reason) if reason else None,
            )

    def action_resolve(self) -> None:
        """o: the complaint under the cursor, resolved; its first question comes up at once."""
        alert = self.current()
        if alert is None or not complaint_actions.is_complaint(alert):
            self.notify("Resolve: no complaint under the cursor.", severity="warning")
            return

        async def send(screen: Screen[Any], chosen: list[Alert]) -> None:
            outcome, cents, note = answer[0]
            await complaint_actions.resolve(screen, chosen[0], outcome, cents, note)

        answer: list[Any] = [None]

        def answered(outcome: ComplaintOutcome, cents: int, note: str | None) -> None:
            answer[0] = (outcome, cents, note)
            self._run(send, [alert])

        complaint_actions.ask(self, alert, answered)

    def action_take_back(self) -> None:
        """z: the last rejection made here back to waiting, if the server still allows it."""
        rejected = self.rejected
        if not rejected:
            self.notify(
                "Nothing to take back: a rejection can be, for a couple of minutes after it; "
                "an approval cannot.",
                severity="warning",
            )
            return
        question = alert_actions.take_back_question(self.store, rejected)

        def answered(yes: bool | None) -> None:
            if yes:
                self.rejected = []
                self._run(alert_actions.take_back, rejected)

        self.app.push_screen(question, answered)

    def action_reassign(self) -> None:
        alert = self.current()
        if alert is None:
            self.notify("No alert under the cursor.", severity="warning")
        elif alert.order_id is not None:
            reassign.reassign_order(self, alert.order_id)  # its dialog comes up at once
        elif alert.rider_id is not None:
            reassign.hand_over(self, alert.rider_id)  # its dialog comes up at once
        else:
            self.notify("This alert is about no order or rider.", severity="warning")

    def action_next_new(self, step: int) -> None:
        """n / N: the next (previous) alert that changed since the desk looked, round the
        queue; with none new, `n` goes on to the next open alert as it always did."""
        queue = self.queue
        count = len(queue.ids)
        for k in range(1, count + 1):
            index = (queue.cursor + step * k) % count
            if queue.is_new(queue.ids[index]):
                queue.move_to(index)
                self.show_changes(Changes(alerts=True))
                return
        if step > 0:
            self.action_next_unhandled()
        else:
            self.notify("Nothing changed since you looked.")

    def action_caught_up(self) -> None:
        """c: every alert in the queue (as filtered) counts as looked at."""
        held = self.store.alerts.alerts
        rows = [(i, held[i].version) for i in self.queue.ids if i in held]
        count = self.host.looked.look_all(Kind.ALERT, rows)
        self.show_changes(Changes(alerts=True))
        self.notify(
            f"{count} changed alert{'s' if count != 1 else ''} marked looked."
            if count
            else "Nothing new in the queue."
        )

    def copy_subject(self) -> int | None:
        alert = self.current()
        return alert.order_id if alert is not None else None

    def action_accept_handover(self) -> None:
        """h: the proposal of the alert under the cursor (or the only one) carried out now."""
        if self._before_read(self.action_accept_handover):
            return
        proposal = self._standing_proposal("Hand over")
        if proposal is not None:
            self.run_worker(
                takeover_actions.accept(self, proposal),
                group="takeover-act",
                exit_on_error=False,
            )

    def action_keep_handover(self) -> None:
        """K: the orders stay with their rider; the system will not carry it out."""
        if self._before_read(self.action_keep_handover):
            return
        proposal = self._standing_proposal("Keep")
        if proposal is not None:
            self.run_worker(
                takeover_actions.keep(self, proposal), group="takeover-act", exit_on_error=False
            )

    def action_undo_handover(self) -> None:
        """U: the newest carried-out handover undone, in one key (it can be done again)."""
        if self._before_read(self.action_undo_handover):
            return
        done = takeover_words.undoable(self.takeovers)
        if done is None:
            self.notify("No handover to undo in the last half hour.", severity="warning")
            return
        self.run_worker(
            takeover_actions.undo(self, done), group="takeover-act", exit_on_error=False
        )

    def _standing_proposal(self, verb: str) -> TakeoverProposal | None:
        proposal = takeover_words.for_alert(self.takeovers, self.current())
        waiting = takeover_words.standing(self.takeovers)
        if proposal is None and len(waiting) == 1:
            proposal = waiting[0]
        if proposal is None:
            self.notify(
                f"{verb}: no handover proposed"
                + (" for this alert (put the cursor on its alert)" if waiting else ""),
                severity="warning",
            )
        return proposal

    def action_next_unhandled(self) -> None:
        """Down the queue to the next alert nobody has taken on, round to the top."""
        queue, held = self.queue, self.store.alerts.alerts
        count = len(queue.ids)
        for step in range(1, count + 1):
            index = (queue.cursor + step) % count
            if held[queue.ids[index]].state == AlertState.OPEN:
                queue.move_to(index)
                return
        self.notify("Every alert in the queue is taken care of.")

    def action_faults_only(self) -> None:
        self.query_one(AlertFilterBar).toggle_faults()

    def action_filters(self) -> None:
        self.query_one("#severity").focus()

    def action_unmark(self) -> None:
        self.marks.clear()
        self.queue.refresh()
        self._title()

    def action_back(self) -> None:
        """esc: out of the filter line first, then clear marks, then clear the filters."""
        bar = self.query_one(AlertFilterBar)
        if bar.has_focus_within:
            self.queue.focus()
        elif self.marks:
            self.action_unmark()
        elif self.alert_filter.active:
            bar.clear()

    def action_reload(self) -> None:
        self.host.reload_feed()

    def show_filtered(self, alert_filter: AlertFilter) -> None:
        """Narrow the queue to `alert_filter` (the `:alerts` command)."""
        self.query_one(AlertFilterBar).set_filter(alert_filter)
        self.alert_filter = alert_filter
        self.show_changes(Changes(alerts=True))

    @on(AlertFilterBar.Changed)
    def _filter(self, event: AlertFilterBar.Changed) -> None:
        self.alert_filter = event.alert_filter
        self.show_changes(Changes(alerts=True))

    @on(AlertList.MarkToggled)
    def _mark(self, event: AlertList.MarkToggled) -> None:
        self.marks.symmetric_difference_update({event.item_id})
        # The list may have drawn its rows before this message came back: draw them again so
        # the mark shows now, not on the next change to the queue (as the board does).
        self.queue.refresh()
        self._title()

    @on(AlertList.Opened)
    def _open(self, event: AlertList.Opened) -> None:
        alert = self.store.alerts.alerts.get(event.item_id)
        if alert is None:
            return
        if alert.order_id is not None:
            self.host.open_order(alert.order_id)
        else:
            self.notify(f"{alert.title}: r hands the rider's orders to another rider.")
