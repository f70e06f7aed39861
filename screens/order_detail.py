"""One order's whole story: state, promise against ETA, items, customer, rider, its proofs of
delivery, and the timeline of every event, refreshed when the stream says the order changed."""

from __future__ import annotations

from datetime import tzinfo

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from backend_client import ConnectionFailed, FreshlineError, NotFound, PermissionDenied
from backend_client.models import (
    AlertRule,
    Delivery,
    Event,
    Order,
    OrderSensors,
    OrderState,
    Proof,
)
from backend_client.phones import mask_phone
from console.alert_book import RULE_WORDS
from console.proof_words import KIND_WORDS, proofs_summary
from console.sensor_words import order_sensor_rows
from console.store import LANE_OF_STATE, Changes, OrderCard, Store, Urgency
from screens.acting import act_on_orders
from screens.copying import CopyingScreen
from screens.proof_viewer import ProofViewer
from widgets.order_row import CHANNEL_SHORT, time_cell
from widgets.top_bar import TopBar

URGENCY_WORD = {Urgency.LATE: "!! LATE", Urgency.WARNING: "! at risk", Urgency.OK: "on track"}
DELIVERY_WORDS = {
    "merged": "merged into a shared delivery",
    "joined": "another order joined its delivery",
    "split": "split into deliveries",
    "detached": "left its shared delivery",
    "assigned": "a part given to a rider",
}


def rule_words(name: str) -> str:
    """An alert rule in words; a rule this console does not know yet, as the server named it."""
    try:
        return RULE_WORDS.get(AlertRule(name), name)
    except ValueError:
        return name


def event_words(event: Event, store: Store) -> str:
    """What happened, in a dispatcher's words."""
    if event.kind == "order.assigned":
        before = event.payload.get("from_rider")
        after = event.payload.get("to_rider", event.rider_id)
        if before:
            return f"rider {store.rider_name(before)} -> {store.rider_name(after)}"
        return f"rider {store.rider_name(after)} assigned"
    if event.kind == "order.created":
        return f"created ({event.payload.get('channel', '')})"
    if event.kind.startswith("alert."):
        rule = rule_words(str(event.payload.get("rule", "alert")))
        return f"alert {rule}: {event.kind.removeprefix('alert.')}"
    if event.kind.startswith("request."):
        kind = event.payload.get("kind", "request")
        return f"{kind} {event.kind.removeprefix('request.')}"
    if event.kind == "order.delivery":
        return DELIVERY_WORDS.get(str(event.payload.get("action")), "delivery changed")
    if event.kind == "order.eta":
        p = event.payload
        late = " · predicted LATE" if p.get("predicted_late") else ""
        distance = p.get("distance_m")
        away = f"{distance / 1000:.1f} km away, " if isinstance(distance, int | float) else ""
        return f"ETA updated: {away}stop {p.get('sequence', '?')}{late}"
    if event.kind == "order.arrived":
        return "rider arrived at the customer"
    if event.kind == "order.collected":
        return f"rider {store.rider_name(event.rider_id)} collected the goods where they were left"
    if event.kind in ("rider.left_warehouse", "rider.returned_warehouse"):
        return "rider left the warehouse" if "left" in event.kind else "rider back at the warehouse"
    if event.kind == "order.proof":
        kind = str((event.payload.get("proof") or {}).get("kind", "proof"))
        words = {str(k): w for k, w in KIND_WORDS.items()}
        return f"proof of delivery: {words.get(kind, kind)}"
    if event.kind == "order.channel":
        return f"{event.payload.get('channel', 'channel')} says: {event.payload.get('callback')}"
    if event.from_state and event.to_state and event.from_state != event.to_state:
        return f"{event.from_state} -> {event.to_state}"
    return event.kind


def timeline_rows(events: list[Event], store: Store, zone: tzinfo | None) -> list[tuple[str, ...]]:
    """The timeline's rows: every event in a dispatcher's words, a run of ETA updates in a row
    folded into its last one ("ETA updated 12 times since 12:31: ..."), so a long delivery's minute
    by minute estimates do not push the story off the screen. A run breaks where the prediction
    turns late or on time again: that is news."""
    rows: list[tuple[str, ...]] = []
    run: list[Event] = []

    def flush() -> None:
        if not run:
            return
        last = run[-1]
        words = event_words(last, store)
        if len(run) > 1:
            since = f"{run[0].at.astimezone(zone):%H:%M}"
            words = words.replace("ETA updated", f"ETA updated {len(run)} times since {since}", 1)
        rows.append(row(last, words))
        run.clear()

    def row(event: Event, words: str) -> tuple[str, ...]:
        at = f"{event.at.astimezone(zone):%H:%M:%S}"
        return (at, words, event.actor, event.role, event.reason or "")

    for event in events:
        if event.kind == "order.eta":
            late = bool(event.payload.get("predicted_late"))
            if run and bool(run[-1].payload.get("predicted_late")) != late:
                flush()
            run.append(event)
            continue
        flush()
        rows.append(row(event, event_words(event, store)))
    flush()
    return rows


def parcel_lines(order_id: int, parcels: list[Delivery], store: Store) -> Text:
    """The order's deliveries, one line each: merged with which orders, or which part."""
    text = Text()
    for number, parcel in enumerate(parcels, start=1):
        others = [f"#{o}" for o in parcel.orders if o != order_id]
        if others:
            what = f"shared with {', '.join(others)} (merged)"
        elif len(parcels) > 1:
            what = f"part {number} of {len(parcels)} (split)"
        else:
            what = "its own"
        rider = store.rider_name(parcel.rider_id) if parcel.rider_id else "no rider yet"
        cold = " ❄" if parcel.cold_chain else ""
        text.append(f"delivery {parcel.id}", style="bold")
        text.append(f"  {what} · {parcel.weight_g / 1000:.1f} kg{cold} · {rider} · ")
        text.append(parcel.status, style="italic")
        text.append("\n")
    text.rstrip()
    return text


class OrderDetailScreen(CopyingScreen):
    DEFAULT_CSS = """
    OrderDetailScreen #header { padding: 0 1; background: $surface; height: auto; }
    OrderDetailScreen #middle { height: auto; max-height: 14; }
    OrderDetailScreen #items { width: 2fr; height: auto; max-height: 14; }
    OrderDetailScreen #people { width: 1fr; padding: 0 1; height: auto; }
    OrderDetailScreen #deliveries { padding: 0 1; height: auto; max-height: 4; }
    OrderDetailScreen #proofs { padding: 0 1; height: auto; max-height: 4; }
    OrderDetailScreen #timeline { height: 1fr; border-top: solid $panel-lighten-2; }
    OrderDetailScreen .late { color: $lane-late; }
    """
    BINDINGS = [
        Binding("escape,backspace", "back", "Back", id="detail.back"),
        Binding("t", "act", "Act", tooltip="Act on this order", id="detail.act"),
        Binding("m", "replay", "Track", tooltip="Replay its track on the map", id="detail.replay"),
        Binding(
            "p",
            "proofs",
            "Proofs",
            tooltip="Its proofs of delivery: photos and signatures drawn here",
            id="detail.proofs",
        ),
        Binding("ctrl+r", "reload", "Reload", show=False, id="detail.reload"),
    ]

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.order: Order | None = None
        self.events: list[Event] = []
        self.parcels: list[Delivery] = []
        self.sensors: OrderSensors | None = None
        self.proofs: list[Proof] | None = None
        """None until loaded (or where the account may not read them)."""

    def compose(self) -> ComposeResult:
        yield TopBar(f"order {self.order_id}")
        yield Static(f"Loading order {self.order_id}…", id="header")
        with Horizontal(id="middle"):
            yield DataTable(id="items", cursor_type="none", zebra_stripes=True)
            with VerticalScroll(id="people"):
                yield Static("", id="people-text")
        yield Static("", id="deliveries")
        yield Static("", id="proofs")
        yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        items = self.query_one("#items", DataTable)
        items.add_columns("item", "qty", "weight", "price")
        timeline = self.query_one("#timeline", DataTable)
        timeline.add_columns("time", "what", "who", "role", "reason")
        self.load()
        self.ready = True

    def on_screen_resume(self) -> None:
        self.load()

    def show_changes(self, changes: Changes) -> None:
        if self.order_id in changes.orders or changes.reloaded:
            self.load()
        elif self.order is not None:
            self._draw_header()  # the clock moved: time left, ETA

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        client = self.host.client
        if client is None:
            self.query_one("#header", Static).update("No server: nothing to load.")
            return
        try:
            order = await client.orders.get(self.order_id)
            events = await client.orders.timeline(self.order_id)
        except NotFound:
            self.query_one("#header", Static).update(f"Order {self.order_id} does not exist.")
            return
        except PermissionDenied as exc:
            self.notify(f"Not allowed: {exc.detail}", severity="error")
            return
        except (ConnectionFailed, FreshlineError) as exc:
            self.notify(f"Could not load order {self.order_id}: {exc}", severity="warning")
            return
        try:
            parcels = await client.orders.deliveries(self.order_id)
        except FreshlineError:
            parcels = []  # a backend without deliveries: the rest of the order still shows
        try:
            sensors: OrderSensors | None = await client.sensors.of_order(self.order_id)
        except FreshlineError:
            sensors = None  # a backend without it: the rest of the order still shows
        proofs: list[Proof] | None = None
        if self.denial("proofs") is None:
            try:
                proofs = await client.proofs.of_order(self.order_id)
            except FreshlineError:
                proofs = None  # a backend without proofs: the rest of the order still shows
        self.order, self.events, self.parcels, self.sensors = order, events, parcels, sensors
        self.proofs = proofs
        self._draw()

    # --- drawing ------------------------------------------------------------------------------

    def _draw(self) -> None:
        self._draw_header()
        self._draw_items()
        self._draw_people()
        self.query_one("#deliveries", Static).update(
            parcel_lines(self.order_id, self.parcels, self.store)
        )
        summary = "" if self.proofs is None else proofs_summary(self.proofs, self.zone)
        self.query_one("#proofs", Static).update(summary)
        self._draw_timeline()

    def _draw_header(self) -> None:
        order = self.order
        assert order is not None
        card = OrderCard.of(order)
        now = self.store.clock.now()
        urgency = self.store.urgency(card, now) if card.lane else None
        held = self.store.orders.get(order.id)
        eta = self.store.eta(held or card, now)
        lane = LANE_OF_STATE.get(order.status)
        text = Text()
        text.append(f"#{order.id}  ", style="bold")
        text.append(f"{order.status}", style="bold reverse")
        text.append(f"  {CHANNEL_SHORT.get(order.channel, order.channel)} {order.external_id}")
        text.append(f"  ·  {order.warehouse_id} / {order.zone}")
        if order.cold_chain:
            text.append("  ·  ❄ cold chain")
        text.append("\n")
        text.append(f"promised {order.promised_at.astimezone(self.zone):%H:%M}")
        if lane is not None:
            text.append(f" ({time_cell(card, now, self.zone)})")
        if eta is not None:
            how = "rider's route" if (held or card).eta is not None else "straight line, 20 km/h"
            text.append(f"  ·  ETA ~{eta.astimezone(self.zone):%H:%M} ({how})")
        if urgency is not None:
            style = {Urgency.LATE: "bold red", Urgency.WARNING: "bold yellow"}.get(urgency, "")
            text.append(f"  ·  {URGENCY_WORD[urgency]}", style=style)
        if lane is None:
            text.append("  ·  done: off the board")
        text.append(f"\n{order.amount_cents / 100:.2f} yuan · {order.weight_g / 1000:.1f} kg")
        text.append(f" · version {order.version}")
        if order.note:
            text.append(f" · note: {order.note}")
        self.query_one("#header", Static).update(text)

    def _draw_items(self) -> None:
        assert self.order is not None
        table = self.query_one("#items", DataTable)
        table.clear()
        for item in self.order.items:
            name = ("❄ " if item.cold_chain else "  ") + item.name
            table.add_row(
                name,
                f"{item.quantity} {item.unit}",
                f"{item.weight_g / 1000:.2f} kg",
                f"{item.unit_price_cents * item.quantity / 100:.2f}",
            )

    def _draw_people(self) -> None:
        order = self.order
        assert order is not None
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("customer", order.customer.name)
        grid.add_row("phone", mask_phone(order.customer.phone))
        grid.add_row("address", order.address)
        rider = self.store.riders.get(order.rider_id) if order.rider_id else None
        if order.rider_id is None:
            grid.add_row("rider", "none yet")
        else:
            grid.add_row("rider", rider.name if rider else f"#{order.rider_id}")
            if rider is not None and rider.fix_at is not None:
                seconds = (self.store.clock.now() - rider.fix_at).total_seconds()
                grid.add_row("last fix", f"{seconds / 60:.0f} min ago ({rider.status})")
        if self.sensors is not None:
            for label, words in order_sensor_rows(self.sensors, self.zone):
                grid.add_row(label, words)
        self.query_one("#people-text", Static).update(grid)

    def _draw_timeline(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.clear()
        rows = timeline_rows(self.events, self.store, self.zone)
        for row in rows:
            table.add_row(*row)
        if rows:
            table.move_cursor(row=len(rows) - 1)

    # --- keys ---------------------------------------------------------------------------------

    def copy_subject(self) -> int | None:
        return self.order_id

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_act(self) -> None:
        if self.order is not None and self.order.status not in (OrderState.CANCELLED,):
            self._act()

    @work(group="act", exclusive=True, exit_on_error=False)
    async def _act(self) -> None:
        await act_on_orders(self, [self.order_id])

    def action_proofs(self) -> None:
        if not self.proofs:
            self.notify("No proof of delivery for this order yet.")
            return
        self.app.push_screen(ProofViewer(self.order_id, self.proofs))

    def action_replay(self) -> None:
        self.host.open_track(self.order_id)

    def action_reload(self) -> None:
        self.load()
