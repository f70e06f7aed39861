"""The store: the console's picture of the city, orders in lanes, riders, and how fresh it is.

Pure Python (no Textual; tests/test_layering.py checks it). The live feed applies snapshots,
events and positions here at whatever rate they come; screens `drain()` what changed a few
times a second and redraw only that. Events are applied at most once (by `seq`) and never
move an order backwards (by its `version`); an order whose history has a hole is marked stale
for the feed to fetch again.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from geopy.distance import great_circle

from backend_client import StreamState, StreamStatus
from backend_client.geo import flat_metres
from backend_client.models import (
    Alert,
    Event,
    KpiExceptions,
    KpiSeries,
    KpiSummary,
    Order,
    OrderState,
    PositionMessage,
    Rider,
)
from console.alert_book import AlertBook
from console.store.alike import alike, prepared
from console.store.cards import (
    GPS_JITTER_M,
    RIDER_ORDER_LANES,
    SILENT_AFTER,
    SPEED_WINDOW,
    MapPlace,
    MapZone,
    OrderCard,
    RiderCard,
    RiderState,
    aware,
    card_from_created,
)
from console.store.clocks import ServerClock
from console.store.kpi_board import KpiBoard, KpiScope
from console.store.lanes import LANE_OF_STATE, Lane, OrderFilter, Urgency

WARN_BEFORE = timedelta(minutes=10)
"""An open order this close to its promise is a warning."""
SIGNED_WINDOW = timedelta(hours=1)
RIDER_KMH = 20.0
"""Nominal speed for the console's ETA estimate (the backend's own ETA replaces it)."""
HANDOVER = timedelta(minutes=2)


@dataclass
class Changes:
    """What changed since the UI last looked."""

    lanes: set[Lane] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)
    riders: bool = False
    """A rider moved or changed status (ETAs follow)."""
    rider_names: bool = False
    """A rider joined (names are shown and searched)."""
    reloaded: bool = False
    connection: bool = False
    alerts: bool = False
    """An alert opened, changed or resolved."""
    kpi: bool = False
    """A new KPI summary, or a new day of series and trouble."""
    geography: bool = False
    """Zones and warehouses arrived (the map's static layer)."""

    def __bool__(self) -> bool:
        return bool(
            self.geography
            or self.lanes
            or self.orders
            or self.riders
            or self.rider_names
            or self.reloaded
            or self.connection
            or self.alerts
            or self.kpi
        )


class Store:
    """Orders by lane, riders, the connection state; applies anything, tells what changed."""

    def __init__(
        self,
        clock: ServerClock | None = None,
        *,
        signed_window: timedelta = SIGNED_WINDOW,
        warn_before: timedelta = WARN_BEFORE,
    ) -> None:
        self.clock = clock or ServerClock()
        self.signed_window, self.warn_before = signed_window, warn_before
        self.orders: dict[int, OrderCard] = {}
        self.riders: dict[int, RiderCard] = {}
        self.rider_orders: dict[int, set[int]] = {}
        """Each rider's current orders (in `RIDER_ORDER_LANES`), kept as orders move."""
        self.lanes: dict[Lane, list[tuple[float, int]]] = {lane: [] for lane in Lane}
        self.last_seq: int | None = None
        self.stale: set[int] = set()
        """Orders to fetch again: unknown to us, or their history has a hole."""
        self.connection = StreamStatus(StreamState.CONNECTING)
        self.last_event_at: float | None = None
        """`time.monotonic()` of the last event applied (for the badge's "event n s ago")."""
        self.fresh_at: float | None = None
        """`time.monotonic()` when the picture was last known to be current: a snapshot, an
        event, or the stream saying it is live (welcome, heartbeat)."""
        self.applied = 0
        self.loads = 0
        """Snapshots taken so far: the first one is where a desk starts looking from."""
        self.duplicates = 0
        self.alerts = AlertBook()
        self.kpi = KpiBoard()
        self.zones: tuple[MapZone, ...] = ()
        self.warehouses: tuple[MapPlace, ...] = ()
        self._changes = Changes()
        self.stages: frozenset[str] | None = None
        """The order states the account sees (`Me.stages`): an order moving to another leaves
        the board, as it leaves the account's scope on the server. None: every state."""
        self._alike_text: str | None = None
        self._alike_orders: dict[int, bool] = {}
        self._alike_riders: set[int] = set()

    # --- loading ------------------------------------------------------------------------------

    def load(
        self,
        orders: Iterable[Order],
        riders: Iterable[Rider],
        last_seq: int | None,
        alerts: Iterable[Alert] = (),
    ) -> None:
        """Replace everything with a snapshot taken at (or after) `last_seq`."""
        self.alerts.load(alerts)
        self.orders.clear()
        self.rider_orders.clear()
        self.lanes = {lane: [] for lane in Lane}
        self.riders = {r.id: RiderCard.of(r) for r in riders}
        # A snapshot read page by page can hold an order twice (it moved between two reads):
        # the newest version wins.
        newest: dict[int, Order] = {}
        for order in orders:
            if order.id not in newest or order.version > newest[order.id].version:
                newest[order.id] = order
        for order in newest.values():
            self._place(OrderCard.of(order))
        for lane in self.lanes.values():
            lane.sort()
        self.last_seq = last_seq
        self.fresh_at = time.monotonic()
        self.stale.clear()
        self.loads += 1
        self.expire_signed()
        self._changes = Changes(lanes=set(Lane), reloaded=True, riders=True, rider_names=True)

    def put_order(self, order: Order) -> None:
        """An order fetched over REST: taken unless we already hold a newer version."""
        held = self.orders.get(order.id)
        self.stale.discard(order.id)
        if held is not None and held.version > order.version:
            return
        self._replace(held, OrderCard.of(order))

    # --- the stream ---------------------------------------------------------------------------

    def apply(self, event: Event) -> bool:
        """Apply one event; False for a duplicate (seen `seq`) or one that changes nothing."""
        if self.last_seq is not None and event.seq <= self.last_seq:
            self.duplicates += 1
            return False
        self.last_seq = event.seq
        self.last_event_at = self.fresh_at = time.monotonic()
        self.applied += 1
        if event.kind.startswith("order.") and event.order_id is not None:
            return self._apply_order(event)
        if event.kind.startswith("rider.") and event.rider_id is not None:
            return self._apply_rider(event)
        if event.kind.startswith("alert."):
            return self.alerts.apply(event)
        return False

    def _apply_order(self, event: Event) -> bool:
        assert event.order_id is not None
        version = event.payload.get("version")
        held = self.orders.get(event.order_id)
        if event.kind == "order.created":
            if held is not None:
                return False
            card = card_from_created(event)
            if card is None:  # an older backend's event: ask for the order instead
                self.stale.add(event.order_id)
                return False
            self._replace(None, card)
            return True
        if event.kind == "order.eta":
            return self._apply_eta(event, held)
        if held is None:
            # An order we never saw (created before our snapshot's window, or out of scope
            # until now): worth fetching only if it is on the board now.
            if event.to_state in LANE_OF_STATE and self._seen(event.to_state):
                self.stale.add(event.order_id)
            return False
        if not isinstance(version, int) or version <= held.version:
            return False
        if version > held.version + 1:
            self.stale.add(held.id)  # we missed a change of this order: fetch the truth
        card = replace(held)
        card.version = version
        if event.kind == "order.transition" and event.to_state:
            card.status = OrderState(event.to_state)
            card.rider_id = event.rider_id
            if card.status != OrderState.DELIVERING:
                # Stopped, signed or turned back: no arrival to expect (the API's `eta` is null).
                card.eta, card.predicted_late, card.eta_distance_m = None, False, None
            if card.status == OrderState.SIGNED:
                card.signed_at = aware(event.at)
        elif event.kind == "order.assigned":
            card.rider_id = event.payload.get("to_rider", event.rider_id)
            # The backend's ETA was the old rider's: the nominal one stands in until a new one.
            card.eta, card.predicted_late, card.eta_distance_m = None, False, None
        self._replace(held, card)
        return True

    def _apply_eta(self, event: Event, held: OrderCard | None) -> bool:
        """The backend's new ETA for an order. It carries the order's current version without
        bumping it: an ETA for an older version is stale, a newer one says we missed a change."""
        p = event.payload
        version = p.get("version")
        if held is None or not isinstance(version, int) or version < held.version:
            return False
        try:
            eta = aware(datetime.fromisoformat(str(p["eta"])))
        except (KeyError, ValueError):
            return False
        if version > held.version:
            self.stale.add(held.id)
        distance = p.get("distance_m")
        card = replace(
            held,
            eta=eta,
            predicted_late=bool(p.get("predicted_late", False)),
            eta_distance_m=float(distance) if isinstance(distance, int | float) else None,
        )
        # Same lane, same place in it (sorted by promise): swap the card, keep the key.
        self.orders[card.id] = card
        self._changes.orders.add(card.id)
        if card.lane is not None:
            self._changes.lanes.add(card.lane)
        if card.rider_id is not None:
            self._changes.riders = True  # a predicted-late order makes its rider late
        return True

    def _apply_rider(self, event: Event) -> bool:
        assert event.rider_id is not None
        rider = self.riders.get(event.rider_id)
        if event.kind == "rider.registered":
            name = event.payload.get("name") or f"rider {event.rider_id}"
            rider = self.riders.setdefault(event.rider_id, RiderCard(event.rider_id, name))
            rider.warehouse_id = event.warehouse_id or rider.warehouse_id
            rider.cold_chain = bool(event.payload.get("cold_chain", rider.cold_chain))
            self._changes.rider_names = True
        if rider is None:
            return False
        if event.kind == "rider.moved" and event.warehouse_id:
            rider.warehouse_id = event.warehouse_id  # based at another zone's warehouse now
        if event.to_state:
            rider.status = event.to_state
        self._changes.riders = True
        return True

    def move_rider(self, position: PositionMessage) -> None:
        """A rider's newest fix; an older one (a late offline batch) never moves them back."""
        rider = self.riders.get(position.rider_id)
        if rider is None:
            return
        at = aware(position.at)
        if rider.fix_at is not None and at <= rider.fix_at:
            return
        rider.speed_kmh = None
        if rider.lat is not None and rider.lng is not None and rider.fix_at is not None:
            seconds = (at - rider.fix_at).total_seconds()
            if seconds <= SPEED_WINDOW.total_seconds():
                metres = flat_metres((rider.lat, rider.lng), (position.lat, position.lng))
                rider.speed_kmh = 0.0 if metres < GPS_JITTER_M else metres / seconds * 3.6
        rider.lat, rider.lng, rider.fix_at = position.lat, position.lng, at
        self._changes.riders = True

    def set_connection(self, status: StreamStatus) -> None:
        if status.state == StreamState.LIVE and self.last_seq is not None:
            self.fresh_at = time.monotonic()
        if status != self.connection:
            self.connection = status
            self._changes.connection = True

    # --- what the UI reads --------------------------------------------------------------------

    def drain(self) -> Changes:
        """What changed since the last call (and expire the signed lane's old orders)."""
        self.expire_signed()
        changes, self._changes = self._changes, Changes()
        changes.alerts, self.alerts.changed = self.alerts.changed, False
        return changes

    def expire_signed(self) -> None:
        """Orders signed longer ago than the window leave the board."""
        lane = self.lanes[Lane.SIGNED]
        cutoff = self.clock.now() - self.signed_window
        while lane:
            card = self.orders[lane[-1][1]]
            if card.signed_at is not None and card.signed_at >= cutoff:
                break
            self._remove(card)

    def lane_ids(self, lane: Lane, order_filter: OrderFilter | None = None) -> list[int]:
        """A lane's order ids, most urgent first (signed: most recent first), filtered."""
        ids = [order_id for _, order_id in self.lanes[lane]]
        if order_filter is None or not order_filter.active:
            return ids
        now = self.clock.now()
        return [i for i in ids if self.matches(self.orders[i], order_filter, now)]

    def matches(self, card: OrderCard, order_filter: OrderFilter, now: datetime) -> bool:
        f = order_filter
        if f.channel and card.channel != f.channel:
            return False
        if f.warehouse_id and card.warehouse_id != f.warehouse_id:
            return False
        if f.zone and card.zone != f.zone:
            return False
        if f.zones and card.zone not in f.zones:
            return False
        if f.late_only and self.urgency(card, now) != Urgency.LATE:
            return False
        return not f.text or self._matches_text(card, f.text)

    def _matches_text(self, card: OrderCard, text: str) -> bool:
        needle = text.strip().lower()
        if needle.isdigit():
            # Digits: an order id, a phone's last digits, or a channel's numeric order number.
            return (
                str(card.id).startswith(needle)
                or card.phone_tail.endswith(needle[-4:])
                or card.external_id.startswith(needle)
            )
        rider = self.riders.get(card.rider_id) if card.rider_id else None
        if (
            needle in card.customer.lower()
            or needle in card.external_id.lower()
            or (rider is not None and needle in rider.name.lower())
        ):
            return True
        # A wrong letter forgiven: names are compared once per search text (the lanes are
        # filtered again on every redraw), riders' names once per text too.
        if self._alike_text != needle:
            self._alike_text, self._alike_orders = needle, {}
            query = prepared(needle)
            self._alike_riders = {r.id for r in self.riders.values() if alike(query, r.name)}
        if card.rider_id in self._alike_riders:
            return True
        known = self._alike_orders.get(card.id)
        if known is None:
            known = self._alike_orders[card.id] = alike(prepared(needle), card.customer)
        return known

    def urgency(self, card: OrderCard, now: datetime | None = None) -> Urgency:
        """Late past the promise (signed: signed after it), a warning when close to it or when
        the estimated arrival is beyond it."""
        now = now or self.clock.now()
        if card.status == OrderState.SIGNED:
            late = card.signed_at is not None and card.signed_at > card.promised_at
            return Urgency.LATE if late else Urgency.OK
        if now > card.promised_at:
            return Urgency.LATE
        if card.promised_at - now <= self.warn_before:
            return Urgency.WARNING
        if card.predicted_late and card.status == OrderState.DELIVERING:
            return Urgency.WARNING
        eta = self.eta(card, now)
        if eta is not None and eta > card.promised_at:
            return Urgency.WARNING
        return Urgency.OK

    # --- riders -------------------------------------------------------------------------------

    def rider_state(self, rider: RiderCard, now: datetime | None = None) -> RiderState:
        """Late, silent, delivering, idle or offline (see `RiderState`)."""
        if rider.status != "online":
            return RiderState.OFFLINE
        now = now or self.clock.now()
        for order_id in self.rider_orders.get(rider.id, ()):
            card = self.orders[order_id]
            if now > card.promised_at or card.predicted_late:
                return RiderState.LATE
        if rider.fix_at is None or now - rider.fix_at > SILENT_AFTER:
            return RiderState.SILENT
        if self.rider_orders.get(rider.id):
            return RiderState.DELIVERING
        return RiderState.IDLE

    def orders_of(self, rider_id: int) -> list[int]:
        """A rider's current orders, the first promised first."""
        ids = self.rider_orders.get(rider_id, set())
        return sorted(ids, key=lambda i: (self.orders[i].promised_at, i))

    def eta(self, card: OrderCard, now: datetime | None = None) -> datetime | None:
        """Arrival estimate for a delivering order: the backend's (`order.eta`) when it sent
        one, else straight-line distance from the rider's last fix at a nominal speed, plus
        the handover."""
        if card.status != OrderState.DELIVERING or card.rider_id is None:
            return None
        if card.eta is not None:
            return card.eta
        rider = self.riders.get(card.rider_id)
        if rider is None or rider.lat is None or rider.lng is None:
            return None
        km = great_circle((rider.lat, rider.lng), (card.lat, card.lng)).km
        return (now or self.clock.now()) + timedelta(hours=km / RIDER_KMH) + HANDOVER

    def lane_counts(self, lane: Lane, ids: list[int] | None = None) -> tuple[int, int]:
        """(orders, late orders) in a lane, or among `ids` of it."""
        now = self.clock.now()
        if lane != Lane.SIGNED:
            # Open lanes are sorted by promise: the late ones are a prefix.
            if ids is None:
                keys = self.lanes[lane]
                return len(keys), bisect.bisect_left(keys, (now.timestamp(), -1))
            late = bisect.bisect_left(ids, now, key=lambda i: self.orders[i].promised_at)
            return len(ids), late
        if ids is None:
            ids = [order_id for _, order_id in self.lanes[lane]]
        late = sum(1 for i in ids if self.urgency(self.orders[i], now) == Urgency.LATE)
        return len(ids), late

    def rider_name(self, rider_id: int | None) -> str:
        if rider_id is None:
            return ""
        rider = self.riders.get(rider_id)
        return rider.name if rider else f"#{rider_id}"

    def values_of(self, attribute: str) -> list[str]:
        """Distinct channels, warehouses or zones among the held orders (for the filter bar)."""
        return sorted({getattr(card, attribute) for card in self.orders.values()})

    # --- the map ------------------------------------------------------------------------------

    def set_geography(
        self,
        zones: Iterable[tuple[str, Iterable[tuple[float, float]]]],
        warehouses: Iterable[MapPlace],
    ) -> None:
        """The city's zones (name, polygon of (lat, lng)) and warehouses (id, lat, lng)."""
        self.zones = tuple((name, tuple(polygon)) for name, polygon in zones)
        self.warehouses = tuple(warehouses)
        self._changes.geography = True

    # --- KPIs ---------------------------------------------------------------------------------

    def set_kpi(self, summary: KpiSummary, scope: KpiScope = KpiScope()) -> None:
        """A KPI summary (pushed on the stream, or fetched when pushes stop) of `scope`: the
        stream pushes the account's whole scope, which a narrowed board does not take."""
        if scope != self.kpi.scope:
            return
        self.kpi.summary, self.kpi.summary_at = summary, time.monotonic()
        self._changes.kpi = True

    def set_kpi_day(
        self, series: KpiSeries, exceptions: KpiExceptions, scope: KpiScope = KpiScope()
    ) -> None:
        """The day so far, bucket by bucket, and its trouble by reason (for the charts)."""
        if scope != self.kpi.scope:
            return
        self.kpi.series, self.kpi.exceptions = series, exceptions
        self.kpi.day_at = time.monotonic()
        self._changes.kpi = True

    def narrow_kpis(self, scope: KpiScope) -> None:
        """Show the KPIs of `scope` from now on; the numbers held were of another, so they go
        until the new ones arrive."""
        if scope != self.kpi.scope:
            self.kpi = KpiBoard(scope=scope)
            self._changes.kpi = True

    # --- keeping the lanes sorted -------------------------------------------------------------

    def _seen(self, state: str) -> bool:
        return self.stages is None or state in self.stages

    def _replace(self, held: OrderCard | None, card: OrderCard) -> None:
        if held is not None:
            self._remove(held)
        if card.lane is None or not self._seen(card.status):
            self._changes.orders.add(card.id)
            return
        self._place(card, insort=True)

    def _place(self, card: OrderCard, *, insort: bool = False) -> None:
        lane = card.lane
        if lane is None:
            return
        if lane == Lane.SIGNED:
            signed = card.signed_at or card.promised_at
            card.key = (-signed.timestamp(), card.id)
        else:
            card.key = (card.promised_at.timestamp(), card.id)
        self.orders[card.id] = card
        if card.rider_id is not None and lane in RIDER_ORDER_LANES:
            self.rider_orders.setdefault(card.rider_id, set()).add(card.id)
        if insort:
            bisect.insort(self.lanes[lane], card.key)
        else:
            self.lanes[lane].append(card.key)
        self._changes.lanes.add(lane)
        self._changes.orders.add(card.id)

    def _remove(self, card: OrderCard) -> None:
        lane = card.lane
        self.orders.pop(card.id, None)
        self._changes.orders.add(card.id)
        if card.rider_id is not None:
            carried = self.rider_orders.get(card.rider_id)
            if carried is not None:
                carried.discard(card.id)
                if not carried:
                    del self.rider_orders[card.rider_id]
        if lane is None:
            return
        keys = self.lanes[lane]
        index = bisect.bisect_left(keys, card.key)
        if index < len(keys) and keys[index] == card.key:
            del keys[index]
            self._changes.lanes.add(lane)
