"""The board rewound: the lanes as they stood at a past minute of the event log, read-only.

Pushed over the live board by `R`; the live board keeps following the stream underneath, so
`esc` (or `R`) is back to live at once. The picture comes from the rewind tape
(`console/store/rewind.py`), filled from the log by `console/rewind_log.py` and brought up to
date on every step. Acting, marking, opening and reloading are refused with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from backend_client import FreshlineError
from backend_client.models import KpiSummary, Topic
from console.host import client_of
from console.live import desk
from console.rewind_log import read_log
from console.store import Changes, FrozenClock, Store
from console.store.rewind import Tape
from screens.board import BoardScreen
from screens.dialogs import Dialog
from widgets.filter_bar import FilterBar
from widgets.lane import LaneView
from widgets.live_text import LiveText

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
KPI_HOUR = timedelta(hours=1)
READ_ONLY = "The board is rewound: read-only. esc returns to the live board."


def moment_of(text: str, shown: datetime, zone: tzinfo | None) -> datetime:
    """A typed time: `12:14`, `12:14:30` (on the day shown) or `2026-12-05 12:14`, in `zone`
    (None: the terminal's own); ValueError says what is wrong."""
    text = " ".join(text.split())
    local = shown.astimezone(zone)
    for form in ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f"):
        try:
            clock = datetime.strptime(text, form).time()
        except ValueError:
            continue
        return datetime.combine(local.date(), clock, local.tzinfo)
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=local.tzinfo)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a time: give 12:14, 12:14:30 or 2026-12-05 12:14")


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def figures_line(store: Store, kpis: KpiSummary | None) -> str:
    """The queue and the KPI tiles at the rewound moment, in one line."""
    book = store.alerts
    queue = (
        f"queue: {len(book.queue())} standing, {book.unhandled()} unhandled, "
        f"{book.critical()} critical"
    )
    if kpis is None:
        return queue
    hour = kpis.current
    return (
        f"{queue} · the hour before: {hour.orders} orders, on time {rate(hour.on_time_rate)}, "
        f"fulfilment {rate(hour.fulfilment_rate)}, {hour.out_of_stock} out of stock"
    )


class TimeDialog(Dialog):
    """The time to rewind to, typed; a wrong one is refused with the reason, the dialog stays."""

    def __init__(self, shown: datetime, zone: tzinfo | None) -> None:
        super().__init__()
        self.shown, self.zone = shown, zone

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Rewind the board to", classes="title")
            yield Input(placeholder="12:14", max_length=40, id="when")
            yield Label("HH:MM[:SS] or YYYY-MM-DD HH:MM · enter goes · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#when", Input))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            moment = moment_of(event.value, self.shown, self.zone)
        except ValueError as refusal:
            self.notify(str(refusal), title="Not a time", severity="warning")
            return
        self.dismiss(moment)


class RewindScreen(BoardScreen):
    """The board at a past minute: `[` `]` a minute, `{` `}` ten, `g` a time, `esc` live."""

    live_board = False

    DEFAULT_CSS = """
    RewindScreen #rewind-banner {
        height: 1; padding: 0 1; background: $warning; color: $background; text-style: bold;
    }
    RewindScreen #rewind-figures { height: 1; padding: 0 1; background: $surface; }
    """
    BINDINGS = [
        Binding(
            "left_square_bracket",
            "step(-1)",
            "-1 min",
            key_display="[",
            tooltip="One minute back",
            id="rewind.back",
        ),
        Binding(
            "right_square_bracket",
            "step(1)",
            "+1 min",
            key_display="]",
            tooltip="One minute forward",
            id="rewind.forward",
        ),
        Binding(
            "left_curly_bracket",
            "step(-10)",
            "-10 min",
            key_display="{",
            tooltip="Ten minutes back",
            id="rewind.back_ten",
        ),
        Binding(
            "right_curly_bracket",
            "step(10)",
            "+10 min",
            key_display="}",
            tooltip="Ten minutes forward",
            id="rewind.forward_ten",
        ),
        Binding("g", "go_to", "Go to", tooltip="Rewind to a time you type", id="rewind.go_to"),
        Binding("R", "live", "Live", tooltip="Back to the live board", id="rewind.live"),
    ]

    def __init__(self, tape: Tape, topics: list[Topic], live: Store) -> None:
        super().__init__()
        self.source, self.topics, self.live = tape, topics, live
        self.moment = live.clock.now() - MINUTE
        """The moment shown (asked for; the picture follows once the log is read)."""
        self.rewound = Store(FrozenClock(self.moment))
        self.shown_seq: int | None = None
        self.loaded = False
        self.banner = ""
        """The banner's words as shown."""
        self.figures = ""
        """The queue and KPI line as shown."""

    @property
    def store(self) -> Store:
        return self.rewound

    @property
    def taking_changes(self) -> bool:
        return False  # the live store's changes are the live board's; this one stands still

    def compose(self) -> ComposeResult:
        yield LiveText(id="rewind-banner")
        yield LiveText(id="rewind-figures")
        yield from super().compose()

    def on_mount(self) -> None:
        super().on_mount()
        self._banner("reading the event log…")
        self._show()

    # --- moving in time -----------------------------------------------------------------------

    def action_step(self, minutes: int) -> None:
        self._go(self.moment + timedelta(minutes=minutes))

    def action_go_to(self) -> None:
        self.app.push_screen(TimeDialog(self.moment, self.zone), self._typed)

    def _typed(self, moment: datetime | None) -> None:
        if moment is not None:
            self._go(moment)

    def _go(self, moment: datetime) -> None:
        now = self.live.clock.now()
        span = self.source.span
        if moment > now:
            self.notify("That is now: esc shows the live board.", severity="information")
            moment = now
        elif span is not None and moment < span[0]:
            self.notify(f"The log read starts at {self._time(span[0])}.", severity="information")
            moment = span[0]
        self.moment = moment
        self._show()

    @work(group="rewind", exclusive=True, exit_on_error=False)
    async def _show(self) -> None:
        """Bring the tape up to the log's head, then draw the board at `moment`."""
        try:
            taken = await read_log(client_of(self.app), self.source, self.topics)
        except (FreshlineError, RuntimeError) as exc:
            log.warning("could not read the event log: %r", exc)
            self.notify(f"Could not read the event log: {exc}", severity="error")
            if not self.loaded:
                self._banner("the event log could not be read: esc returns to the live board")
                return
            taken = 0
        log.info("rewind: %d events read, %d on the tape", taken, len(self.source))
        self.loaded = True
        self.rewound = self.source.at(self.moment)
        self.shown_seq = self.source.seq_at(self.moment)
        for view in self.views.values():
            view.store = self.rewound
        self.show_changes(Changes(reloaded=True))
        self._banner()
        kpis = await self._kpis(self.moment)
        self.figures = figures_line(self.rewound, kpis)
        self.query_one("#rewind-figures", LiveText).show(self.figures)

    async def _kpis(self, moment: datetime) -> KpiSummary | None:
        """The KPI tiles' hour up to `moment`, as the backend counts it (not in the log); None
        for an account without KPIs, or when the backend does not answer."""
        me = self.host.me
        if me is None or not desk(me):
            return None
        try:
            return await client_of(self.app).kpi.summary(start=moment - KPI_HOUR, end=moment)
        except FreshlineError as exc:
            log.info("no KPIs for the rewound hour: %r", exc)
            return None

    # --- what it says -------------------------------------------------------------------------

    def _time(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def _banner(self, note: str = "") -> None:
        text = Text()
        text.append(" REWOUND ", style="reverse")
        text.append(f" {self._time(self.moment)} ")
        if note:
            text.append(f"· {note}")
        else:
            seq = f"seq {self.shown_seq}" if self.shown_seq is not None else "before the log"
            text.append(f"· {seq} · read-only")
            if self.source.first_seq:
                text.append(f" · log from seq {self.source.first_seq}")
        text.append("  [ ] min · { } 10 min · g time · esc live")
        self.banner = text.plain
        self.query_one("#rewind-banner", LiveText).show(text)

    # --- read-only ----------------------------------------------------------------------------

    def _refuse(self) -> None:
        self.notify(READ_ONLY, title="Rewound", severity="warning")

    def action_act(self) -> None:
        self._refuse()

    def action_reload(self) -> None:
        self._refuse()

    def action_unmark(self) -> None:
        self._refuse()

    def action_caught_up(self) -> None:
        self._refuse()

    def action_views(self) -> None:
        self.notify(
            "Views keep the live board: esc goes back to it.", title="Rewound", severity="warning"
        )

    def on_cursor_list_opened(self, event: LaneView.Opened) -> None:
        event.prevent_default()  # the live board's handler (open the order) is not run
        event.stop()
        self._refuse()

    def on_cursor_list_mark_toggled(self, event: LaneView.MarkToggled) -> None:
        event.prevent_default()
        event.stop()
        self._refuse()

    def action_back(self) -> None:
        """esc: out of the filter bar or the filter first (as on the board), then live."""
        bar = self.query_one(FilterBar)
        if bar.has_focus_within or self.order_filter.active:
            super().action_back()
        else:
            self.action_live()

    def action_live(self) -> None:
        self.dismiss()

    def action_rewind(self) -> None:
        self.action_live()
