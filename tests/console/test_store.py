"""The console's store: lanes, dedupe by seq and version, staleness, urgency, ETA and filters.

Pure Python: real wire models (`Order`, `Event`, `Rider`, `PositionMessage`) go in, and what a
dispatcher would see on the board (lanes, their order, late counts, the badge) comes out. Time
stands still at `NOW` on a `FrozenClock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from geopy.distance import great_circle
from hypothesis import given, settings
from hypothesis import strategies as st

from backend_client import StreamState, StreamStatus
from backend_client.models import (
    Channel,
    CustomerOut,
    Event,
    Order,
    OrderItem,
    OrderState,
    PositionMessage,
    Rider,
    RiderStatus,
)
from console.store import (
    LANE_OF_STATE,
    RIDER_ORDER_LANES,
    FrozenClock,
    Lane,
    OrderFilter,
    RiderState,
    Store,
    Urgency,
)

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
HOME = (39.9042, 116.4074)
"""Where the orders go (central Beijing)."""
WAREHOUSE = "WH-CY"
ZONE = "Chaoyang"


# --- factories ----------------------------------------------------------------------------------


def make_order(
    order_id: int,
    status: OrderState = OrderState.PAID,
    *,
    version: int = 1,
    promised_in: timedelta = timedelta(minutes=40),
    channel: Channel = Channel.APP,
    zone: str = ZONE,
    warehouse_id: str = WAREHOUSE,
    customer: str = "Wang Fang",
    phone: str = "13800138000",
    rider_id: int | None = None,
    external_id: str | None = None,
    signed_ago: timedelta | None = None,
    lat: float = HOME[0],
    lng: float = HOME[1],
) -> Order:
    """A complete `Order` as the backend serves it; only what a test cares about is a knob."""
    signed_at = NOW - signed_ago if signed_ago is not None else None
    if status == OrderState.SIGNED and signed_at is None:
        signed_at = NOW - timedelta(minutes=5)
    return Order(
        id=order_id,
        channel=channel,
        external_id=external_id or f"APP-{order_id:06d}",
        status=status,
        version=version,
        customer=CustomerOut(id=order_id, name=customer, phone=phone),
        address="Sanlitun Rd 19, Chaoyang",
        lat=lat,
        lng=lng,
        zone=zone,
        warehouse_id=warehouse_id,
        rider_id=rider_id,
        items=[
            OrderItem(
                sku="VEG-BOKCHOY",
                name="Bok choy",
                quantity=2,
                unit="bunch",
                weight_g=500,
                cold_chain=False,
                unit_price_cents=450,
            )
        ],
        weight_g=1000,
        cold_chain=False,
        amount_cents=900,
        note=None,
        promised_at=NOW + promised_in,
        late=False,
        created_at=NOW - timedelta(minutes=20),
        paid_at=None,
        picking_at=None,
        out_of_stock_at=None,
        delivering_at=None,
        signed_at=signed_at,
        exception_at=None,
        returning_at=None,
        returned_at=None,
        claiming_at=None,
        claim_settled_at=None,
        cancelled_at=None,
        updated_at=NOW - timedelta(minutes=1),
    )


def make_rider(
    rider_id: int,
    name: str = "Li Lei",
    *,
    at: tuple[float, float] | None = None,
    fix_ago: timedelta = timedelta(seconds=30),
    status: RiderStatus = RiderStatus.ONLINE,
) -> Rider:
    """A rider, with a last fix at `at` (none when `at` is None)."""
    return Rider(
        id=rider_id,
        name=name,
        phone="13900139000",
        status=status,
        warehouse_id=WAREHOUSE,
        capacity=3,
        active_orders=0,
        cold_chain=False,
        last_lat=at[0] if at else None,
        last_lng=at[1] if at else None,
        last_fix_at=NOW - fix_ago if at else None,
    )


def make_event(
    seq: int,
    kind: str,
    *,
    order_id: int | None = None,
    rider_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime = NOW,
) -> Event:
    """One row of the event log."""
    return Event(
        seq=seq,
        kind=kind,
        order_id=order_id,
        rider_id=rider_id,
        warehouse_id=WAREHOUSE,
        from_state=from_state,
        to_state=to_state,
        actor="dispatcher1",
        role="dispatcher",
        client_addr=None,
        at=at,
        reason=None,
        payload=payload or {},
    )


def created_payload(
    *,
    version: int = 1,
    customer: str = "Zhang Wei",
    promised_in: timedelta = timedelta(minutes=45),
    external_id: str = "MT-20261122-0001",
) -> dict[str, Any]:
    """What the backend puts in `order.created` (the board's line, no fetch needed)."""
    return {
        "version": version,
        "channel": "meituan",
        "zone": ZONE,
        "external_id": external_id,
        "customer": customer,
        "phone_tail": "8000",
        "promised_at": (NOW + promised_in).isoformat(),
        "cold_chain": True,
        "lat": HOME[0],
        "lng": HOME[1],
    }


def created(seq: int, order_id: int, **payload: Any) -> Event:
    return make_event(
        seq,
        "order.created",
        order_id=order_id,
        to_state=OrderState.CREATED,
        payload=created_payload(**payload),
    )


def transition(
    seq: int,
    order_id: int,
    to_state: OrderState,
    version: int,
    *,
    rider_id: int | None = None,
    at: datetime = NOW,
) -> Event:
    return make_event(
        seq,
        "order.transition",
        order_id=order_id,
        rider_id=rider_id,
        to_state=to_state,
        payload={"version": version, "channel": "app", "zone": ZONE},
        at=at,
    )


def assigned(seq: int, order_id: int, rider_id: int, version: int) -> Event:
    return make_event(
        seq,
        "order.assigned",
        order_id=order_id,
        rider_id=rider_id,
        payload={"version": version, "from_rider": None, "to_rider": rider_id},
    )


def position(rider_id: int, at: tuple[float, float], when: datetime) -> PositionMessage:
    return PositionMessage(rider_id=rider_id, warehouse_id=WAREHOUSE, lat=at[0], lng=at[1], at=when)


def new_store(
    orders: list[Order] | None = None, riders: list[Rider] | None = None, last_seq: int = 100
) -> Store:
    """A store loaded with a snapshot at `last_seq`, its load already drained."""
    store = Store(FrozenClock(NOW))
    store.load(orders or [], riders or [], last_seq)
    store.drain()
    return store


def north(km: float) -> tuple[float, float]:
    """A point `km` north of HOME (1 degree of latitude is about 111.2 km)."""
    return (HOME[0] + km / 111.195, HOME[1])


# --- load ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "lane"),
    [
        (OrderState.CREATED, Lane.NEW),
        (OrderState.PAID, Lane.NEW),
        (OrderState.PICKING, Lane.PICKING),
        (OrderState.OUT_OF_STOCK, Lane.SHORT),
        (OrderState.DELIVERING, Lane.DELIVERING),
        (OrderState.EXCEPTION, Lane.EXCEPTION),
        (OrderState.RETURNING, Lane.EXCEPTION),
        (OrderState.CLAIMING, Lane.EXCEPTION),
        (OrderState.SIGNED, Lane.SIGNED),
    ],
)
def test_load_puts_each_state_in_its_lane(state: OrderState, lane: Lane) -> None:
    """A snapshot order shows in its state's lane and in no other."""
    store = new_store([make_order(1, state, rider_id=7)])
    assert store.lane_ids(lane) == [1]
    assert all(store.lane_ids(other) == [] for other in Lane if other != lane)


@pytest.mark.parametrize(
    "state", [OrderState.RETURNED, OrderState.CLAIM_SETTLED, OrderState.CANCELLED]
)
def test_load_does_not_hold_finished_orders(state: OrderState) -> None:
    """Returned, settled and cancelled orders are done: not held, in no lane."""
    store = new_store([make_order(1, state), make_order(2)])
    assert set(store.orders) == {2}
    assert sum(len(store.lane_ids(lane)) for lane in Lane) == 1


def test_load_sorts_open_lanes_most_urgent_first() -> None:
    """Earliest promise first, whatever order the snapshot came in; ties by order id."""
    store = new_store(
        [
            make_order(1, OrderState.PICKING, promised_in=timedelta(minutes=30)),
            make_order(2, OrderState.PICKING, promised_in=timedelta(minutes=-5)),
            make_order(3, OrderState.PICKING, promised_in=timedelta(minutes=50)),
            make_order(5, OrderState.PICKING, promised_in=timedelta(minutes=10)),
            make_order(4, OrderState.PICKING, promised_in=timedelta(minutes=10)),
        ]
    )
    assert store.lane_ids(Lane.PICKING) == [2, 4, 5, 1, 3]


def test_load_sorts_signed_lane_most_recent_first() -> None:
    """The signed lane shows what was just delivered at the top."""
    store = new_store(
        [
            make_order(1, OrderState.SIGNED, signed_ago=timedelta(minutes=40)),
            make_order(2, OrderState.SIGNED, signed_ago=timedelta(minutes=2)),
            make_order(3, OrderState.SIGNED, signed_ago=timedelta(minutes=15)),
        ]
    )
    assert store.lane_ids(Lane.SIGNED) == [2, 3, 1]


def test_load_drops_orders_signed_longer_ago_than_the_window() -> None:
    """Signed more than an hour ago: off the board (and not held)."""
    store = new_store(
        [
            make_order(1, OrderState.SIGNED, signed_ago=timedelta(minutes=59)),
            make_order(2, OrderState.SIGNED, signed_ago=timedelta(minutes=61)),
            make_order(3, OrderState.SIGNED, signed_ago=timedelta(hours=5)),
        ]
    )
    assert store.lane_ids(Lane.SIGNED) == [1]
    assert set(store.orders) == {1}


@pytest.mark.parametrize("newer_first", [False, True], ids=["open-then-signed", "signed-first"])
def test_load_given_the_same_order_twice_shows_it_once(newer_first: bool) -> None:
    """One card per order, the newer copy, even when a snapshot's two fetches overlap."""
    copies = [
        make_order(1, OrderState.DELIVERING, version=4, rider_id=7),
        make_order(1, OrderState.SIGNED, version=5, rider_id=7),
    ]
    store = new_store(copies[::-1] if newer_first else copies)
    assert store.lane_ids(Lane.SIGNED) == [1]
    assert store.lane_ids(Lane.DELIVERING) == []
    assert store.orders[1].version == 5


def test_load_restarts_dedupe_from_the_snapshot_seq() -> None:
    """Events up to the snapshot's seq are already in it; later ones apply."""
    store = new_store([make_order(1, OrderState.PAID, version=2)], last_seq=50)
    assert store.apply(transition(50, 1, OrderState.PICKING, 3)) is False
    assert store.apply(transition(51, 1, OrderState.PICKING, 3)) is True
    assert store.lane_ids(Lane.PICKING) == [1]


# --- apply: orders ------------------------------------------------------------------------------


def test_created_event_with_full_payload_adds_a_card_to_new() -> None:
    """A new order shows at once, with its line, without asking the backend."""
    store = new_store()
    assert store.apply(created(101, 42, version=1, customer="Zhang Wei")) is True
    assert store.lane_ids(Lane.NEW) == [42]
    card = store.orders[42]
    assert (card.customer, card.phone_tail, card.channel, card.zone) == (
        "Zhang Wei",
        "8000",
        "meituan",
        ZONE,
    )
    assert card.external_id == "MT-20261122-0001"
    assert card.promised_at == NOW + timedelta(minutes=45)
    assert card.version == 1
    assert card.cold_chain is True
    assert card.warehouse_id == WAREHOUSE
    assert 42 not in store.stale


def test_created_event_without_board_fields_marks_order_stale() -> None:
    """An older backend's bare `order.created`: nothing shown yet, the order is fetched."""
    store = new_store()
    event = make_event(
        101, "order.created", order_id=42, to_state=OrderState.CREATED, payload={"version": 1}
    )
    assert store.apply(event) is False
    assert 42 not in store.orders
    assert store.stale == {42}
    assert store.lane_ids(Lane.NEW) == []


def test_created_event_for_a_held_order_changes_nothing() -> None:
    """A creation seen after the snapshot already had the order leaves the held card."""
    store = new_store([make_order(42, OrderState.PICKING, version=3)])
    assert store.apply(created(101, 42)) is False
    assert store.orders[42].status == OrderState.PICKING
    assert store.lane_ids(Lane.NEW) == []


def test_transition_moves_the_order_between_lanes_and_updates_version_and_rider() -> None:
    """Dispatching moves the card from Picking to Delivering, with its rider."""
    store = new_store([make_order(1, OrderState.PICKING, version=3)], [make_rider(7)])
    assert store.apply(transition(101, 1, OrderState.DELIVERING, 4, rider_id=7)) is True
    assert store.lane_ids(Lane.PICKING) == []
    assert store.lane_ids(Lane.DELIVERING) == [1]
    card = store.orders[1]
    assert (card.status, card.version, card.rider_id) == (OrderState.DELIVERING, 4, 7)
    assert store.stale == set()


def test_transition_to_signed_records_when_it_was_signed() -> None:
    """Signing moves the card to Signed with the event's time as its signed time."""
    store = new_store([make_order(1, OrderState.DELIVERING, version=4, rider_id=7)])
    signed = NOW - timedelta(minutes=3)
    store.apply(transition(101, 1, OrderState.SIGNED, 5, rider_id=7, at=signed))
    assert store.lane_ids(Lane.SIGNED) == [1]
    assert store.orders[1].signed_at == signed


def test_transition_keeps_the_new_card_in_promise_order() -> None:
    """A card moved into a lane lands at its place by promise, not at the end."""
    store = new_store(
        [
            make_order(1, OrderState.PICKING, promised_in=timedelta(minutes=10)),
            make_order(2, OrderState.PICKING, promised_in=timedelta(minutes=30)),
            make_order(3, OrderState.PAID, version=2, promised_in=timedelta(minutes=20)),
        ]
    )
    store.apply(transition(101, 3, OrderState.PICKING, 3))
    assert store.lane_ids(Lane.PICKING) == [1, 3, 2]


def test_assigned_event_sets_the_rider_from_the_payload() -> None:
    """Reassigning shows the new rider on the card, in the same lane."""
    store = new_store([make_order(1, OrderState.DELIVERING, version=4, rider_id=7)])
    event = make_event(
        101,
        "order.assigned",
        order_id=1,
        rider_id=7,
        from_state=OrderState.DELIVERING,
        to_state=OrderState.DELIVERING,
        payload={"version": 5, "from_rider": 7, "to_rider": 9},
    )
    assert store.apply(event) is True
    card = store.orders[1]
    assert (card.rider_id, card.version, card.status) == (9, 5, OrderState.DELIVERING)
    assert store.lane_ids(Lane.DELIVERING) == [1]


def test_duplicate_seq_is_ignored_and_counted() -> None:
    """A re-sent event (seq at or below the last applied) is dropped and counted."""
    store = new_store([make_order(1, OrderState.PAID, version=2)])
    assert store.apply(transition(101, 1, OrderState.PICKING, 3)) is True
    assert store.apply(transition(101, 1, OrderState.PICKING, 3)) is False
    assert store.apply(transition(99, 1, OrderState.CANCELLED, 9)) is False
    assert (store.applied, store.duplicates, store.last_seq) == (1, 2, 101)
    assert store.lane_ids(Lane.PICKING) == [1]
    assert store.orders[1].version == 3


def test_event_not_newer_than_the_held_version_changes_nothing() -> None:
    """After a REST fetch brought version 5, events up to version 5 move nothing back."""
    store = new_store([make_order(1, OrderState.PAID, version=2)])
    store.put_order(make_order(1, OrderState.DELIVERING, version=5, rider_id=7))
    store.drain()
    assert store.apply(transition(101, 1, OrderState.PICKING, 3)) is False
    assert store.apply(transition(102, 1, OrderState.DELIVERING, 5, rider_id=8)) is False
    card = store.orders[1]
    assert (card.status, card.version, card.rider_id) == (OrderState.DELIVERING, 5, 7)
    assert store.lane_ids(Lane.DELIVERING) == [1]
    assert not store.drain()


def test_event_without_a_version_changes_nothing() -> None:
    """An order event with no version cannot be ordered against what is held: dropped."""
    store = new_store([make_order(1, OrderState.PAID, version=2)])
    event = make_event(101, "order.transition", order_id=1, to_state=OrderState.PICKING)
    assert store.apply(event) is False
    assert store.lane_ids(Lane.NEW) == [1]


def test_version_jump_applies_but_marks_the_order_stale() -> None:
    """Held version 2, event version 4: version 3 was missed, so shown but fetched again."""
    store = new_store([make_order(1, OrderState.PAID, version=2)])
    assert store.apply(transition(101, 1, OrderState.PICKING, 4)) is True
    assert store.lane_ids(Lane.PICKING) == [1]
    assert store.orders[1].version == 4
    assert store.stale == {1}


def test_event_for_an_unknown_order_on_the_board_marks_it_stale() -> None:
    """An order never seen that is now on the board is fetched."""
    store = new_store()
    assert store.apply(transition(101, 77, OrderState.PICKING, 3)) is False
    assert store.stale == {77}
    assert 77 not in store.orders


def test_event_for_an_unknown_order_that_is_cancelled_is_not_fetched() -> None:
    """An order never seen that is now off the board is not worth a request."""
    store = new_store()
    assert store.apply(transition(101, 77, OrderState.CANCELLED, 3)) is False
    assert store.stale == set()


def test_transition_to_cancelled_removes_the_card() -> None:
    """A cancelled order leaves the board at once."""
    store = new_store([make_order(1, OrderState.PICKING, version=3), make_order(2)])
    assert store.apply(transition(101, 1, OrderState.CANCELLED, 4)) is True
    assert 1 not in store.orders
    assert all(1 not in store.lane_ids(lane) for lane in Lane)
    changes = store.drain()
    assert Lane.PICKING in changes.lanes
    assert 1 in changes.orders


def test_an_order_moving_out_of_the_accounts_stages_leaves_the_board() -> None:
    """Store staff see picking, not delivering (`Me.stages`): the dispatch takes the card off
    their board, and a move they cannot follow is not fetched (the server would answer 404)."""
    store = new_store([make_order(1, OrderState.PICKING, version=3)], [make_rider(7)])
    store.stages = frozenset({"PAID", "PICKING", "OUT_OF_STOCK", "RETURNING"})
    assert store.apply(transition(101, 1, OrderState.DELIVERING, 4, rider_id=7)) is True
    assert 1 not in store.orders
    assert all(1 not in store.lane_ids(lane) for lane in Lane)
    assert store.apply(transition(102, 9, OrderState.DELIVERING, 5, rider_id=7)) is False
    assert store.stale == set()
    assert store.apply(transition(103, 8, OrderState.PICKING, 3)) is False
    assert store.stale == {8}  # came into view: fetched


# --- apply: riders ------------------------------------------------------------------------------


def test_rider_registered_event_adds_a_rider_with_the_payload_name() -> None:
    """A new rider is known by name at once (for the card's rider column and search)."""
    store = new_store()
    event = make_event(
        101,
        "rider.registered",
        rider_id=12,
        to_state=RiderStatus.OFFLINE,
        payload={"name": "Han Meimei", "cold_chain": True},
    )
    assert store.apply(event) is True
    rider = store.riders[12]
    assert (rider.name, rider.status, rider.warehouse_id) == ("Han Meimei", "offline", WAREHOUSE)
    assert rider.cold_chain is True
    assert store.rider_name(12) == "Han Meimei"
    changes = store.drain()
    assert changes.riders and changes.rider_names


def test_rider_status_event_updates_the_status() -> None:
    """A rider going online shows as online."""
    store = new_store(riders=[make_rider(7, status=RiderStatus.OFFLINE)])
    event = make_event(
        101,
        "rider.status",
        rider_id=7,
        from_state=RiderStatus.OFFLINE,
        to_state=RiderStatus.ONLINE,
    )
    assert store.apply(event) is True
    assert store.riders[7].status == "online"
    changes = store.drain()
    assert changes.riders and not changes.rider_names


def test_rider_status_event_for_an_unknown_rider_is_ignored() -> None:
    store = new_store()
    event = make_event(101, "rider.status", rider_id=7, to_state=RiderStatus.ONLINE)
    assert store.apply(event) is False
    assert store.riders == {}


# --- put_order ----------------------------------------------------------------------------------


def test_put_order_takes_a_newer_version_and_clears_stale() -> None:
    """The fetched truth replaces a card that had a hole in its history."""
    store = new_store([make_order(1, OrderState.PAID, version=2)])
    store.apply(transition(101, 1, OrderState.PICKING, 4))
    assert store.stale == {1}
    store.put_order(make_order(1, OrderState.DELIVERING, version=6, rider_id=7))
    assert store.stale == set()
    assert store.lane_ids(Lane.DELIVERING) == [1]
    assert store.lane_ids(Lane.PICKING) == []
    assert (store.orders[1].version, store.orders[1].rider_id) == (6, 7)


def test_put_order_ignores_an_older_version_and_clears_stale() -> None:
    """A REST answer older than what events already showed moves nothing back."""
    store = new_store([make_order(1, OrderState.PAID, version=2)])
    store.apply(transition(101, 1, OrderState.PICKING, 4))
    store.put_order(make_order(1, OrderState.PAID, version=3))
    assert store.stale == set()
    assert store.lane_ids(Lane.PICKING) == [1]
    assert store.lane_ids(Lane.NEW) == []
    assert store.orders[1].version == 4


def test_put_order_adds_an_unknown_order_marked_stale() -> None:
    """An order first heard of by event shows once fetched."""
    store = new_store()
    store.apply(transition(101, 77, OrderState.PICKING, 3))
    store.put_order(make_order(77, OrderState.PICKING, version=3))
    assert store.stale == set()
    assert store.lane_ids(Lane.PICKING) == [77]


def test_put_order_of_a_finished_order_removes_it() -> None:
    """Fetched and found cancelled: off the board."""
    store = new_store([make_order(1, OrderState.PICKING, version=3)])
    store.put_order(make_order(1, OrderState.CANCELLED, version=4))
    assert 1 not in store.orders
    assert store.lane_ids(Lane.PICKING) == []


# --- drain --------------------------------------------------------------------------------------


def test_load_is_reported_as_a_reload_of_everything() -> None:
    store = Store(FrozenClock(NOW))
    store.load([make_order(1)], [make_rider(7)], 10)
    changes = store.drain()
    assert changes.reloaded
    assert changes.riders
    assert changes.lanes == set(Lane)


def test_drain_reports_changed_lanes_and_orders_once() -> None:
    """The board redraws what changed, once; then there is nothing to redraw."""
    store = new_store(
        [make_order(1, OrderState.PAID, version=2), make_order(2, OrderState.DELIVERING)]
    )
    store.apply(transition(101, 1, OrderState.PICKING, 3))
    changes = store.drain()
    assert changes.lanes == {Lane.NEW, Lane.PICKING}
    assert changes.orders == {1}
    assert not changes.reloaded
    assert not changes.riders
    again = store.drain()
    assert not again
    assert again.lanes == set()
    assert again.orders == set()


def test_drain_expires_signed_orders_as_time_passes() -> None:
    """An order signed 50 minutes ago leaves the Signed lane when the clock passes the hour."""
    store = new_store([make_order(1, OrderState.SIGNED, signed_ago=timedelta(minutes=50))])
    store.clock.anchor(NOW + timedelta(minutes=11))
    changes = store.drain()
    assert store.lane_ids(Lane.SIGNED) == []
    assert changes.lanes == {Lane.SIGNED}
    assert changes.orders == {1}


def test_set_connection_change_shows_in_drain() -> None:
    """The badge redraws when the connection state changes, not when it is re-reported."""
    store = new_store()
    store.set_connection(StreamStatus(StreamState.LIVE, last_seq=100))
    changes = store.drain()
    assert changes.connection
    assert store.connection.state == StreamState.LIVE
    store.set_connection(StreamStatus(StreamState.LIVE, last_seq=100))
    assert not store.drain()
    store.set_connection(StreamStatus(StreamState.RECONNECTING, attempt=1))
    assert store.drain().connection


# --- urgency and ETA ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("promised_in", "urgency"),
    [
        (timedelta(minutes=-1), Urgency.LATE),
        (timedelta(seconds=-1), Urgency.LATE),
        (timedelta(0), Urgency.WARNING),
        (timedelta(minutes=5), Urgency.WARNING),
        (timedelta(minutes=10), Urgency.WARNING),
        (timedelta(minutes=11), Urgency.OK),
        (timedelta(minutes=40), Urgency.OK),
    ],
)
def test_urgency_of_an_open_order_follows_its_promise(
    promised_in: timedelta, urgency: Urgency
) -> None:
    """Late past the promise, a warning within 10 minutes of it, fine otherwise."""
    store = new_store([make_order(1, OrderState.PICKING, promised_in=promised_in)])
    assert store.urgency(store.orders[1]) == urgency


def test_delivering_order_whose_eta_is_past_the_promise_is_a_warning() -> None:
    """A rider 30 km out at 20 km/h arrives in 92 min: a 60-min promise is at risk."""
    store = new_store(
        [
            make_order(1, OrderState.DELIVERING, rider_id=7, promised_in=timedelta(minutes=60)),
            make_order(2, OrderState.DELIVERING, rider_id=8, promised_in=timedelta(minutes=60)),
        ],
        [make_rider(7, at=north(30)), make_rider(8, at=north(1))],
    )
    assert store.urgency(store.orders[1]) == Urgency.WARNING
    assert store.urgency(store.orders[2]) == Urgency.OK


@pytest.mark.parametrize(
    ("signed_before_promise", "urgency"),
    [(timedelta(minutes=5), Urgency.OK), (timedelta(minutes=-5), Urgency.LATE)],
)
def test_signed_order_is_late_only_if_signed_after_its_promise(
    signed_before_promise: timedelta, urgency: Urgency
) -> None:
    """A signed order's lateness is history: signed after the promise or not."""
    promised_in = timedelta(minutes=-20)
    signed_ago = -(promised_in - signed_before_promise)
    store = new_store(
        [make_order(1, OrderState.SIGNED, promised_in=promised_in, signed_ago=signed_ago)]
    )
    assert store.urgency(store.orders[1]) == urgency


def test_eta_of_a_rider_ten_km_away() -> None:
    """Straight line at 20 km/h plus a 2-minute handover."""
    rider_at = north(10)
    store = new_store(
        [make_order(1, OrderState.DELIVERING, rider_id=7)], [make_rider(7, at=rider_at)]
    )
    km = great_circle(rider_at, HOME).km
    assert km == pytest.approx(10, abs=0.05)
    expected = NOW + timedelta(hours=km / 20) + timedelta(minutes=2)
    eta = store.eta(store.orders[1])
    assert eta is not None
    assert abs(eta - expected) < timedelta(seconds=1)


@pytest.mark.parametrize(
    ("order", "riders"),
    [
        (make_order(1, OrderState.PICKING, rider_id=7), [make_rider(7, at=north(1))]),
        (make_order(1, OrderState.DELIVERING, rider_id=None), [make_rider(7, at=north(1))]),
        (make_order(1, OrderState.DELIVERING, rider_id=7), [make_rider(7, at=None)]),
        (make_order(1, OrderState.DELIVERING, rider_id=7), []),
    ],
    ids=["not-delivering", "no-rider", "rider-without-fix", "unknown-rider"],
)
def test_eta_is_none_without_a_delivering_rider_with_a_fix(
    order: Order, riders: list[Rider]
) -> None:
    store = new_store([order], riders)
    assert store.eta(store.orders[1]) is None


# --- lane counts and filters --------------------------------------------------------------------


def test_lane_counts_counts_orders_and_late_ones() -> None:
    """The lane header: how many, how many late; also for the filtered cards only."""
    store = new_store(
        [
            make_order(1, OrderState.PICKING, promised_in=timedelta(minutes=-30)),
            make_order(2, OrderState.PICKING, promised_in=timedelta(minutes=-1), zone="Haidian"),
            make_order(3, OrderState.PICKING, promised_in=timedelta(minutes=5)),
            make_order(4, OrderState.PICKING, promised_in=timedelta(minutes=40), zone="Haidian"),
            make_order(5, OrderState.PAID, promised_in=timedelta(minutes=-3)),
        ]
    )
    assert store.lane_counts(Lane.PICKING) == (4, 2)
    assert store.lane_counts(Lane.NEW) == (1, 1)
    assert store.lane_counts(Lane.DELIVERING) == (0, 0)
    haidian = store.lane_ids(Lane.PICKING, OrderFilter(zone="Haidian"))
    assert haidian == [2, 4]
    assert store.lane_counts(Lane.PICKING, haidian) == (2, 1)


def test_lane_counts_of_signed_counts_those_signed_late() -> None:
    store = new_store(
        [
            make_order(
                1,
                OrderState.SIGNED,
                promised_in=timedelta(minutes=-30),
                signed_ago=timedelta(minutes=10),
            ),
            make_order(
                2,
                OrderState.SIGNED,
                promised_in=timedelta(minutes=-30),
                signed_ago=timedelta(minutes=40),
            ),
        ]
    )
    assert store.lane_counts(Lane.SIGNED) == (2, 1)
    assert store.lane_counts(Lane.SIGNED, [2]) == (1, 0)


@pytest.fixture
def filter_store() -> Store:
    """Four picking orders that differ in everything the filter bar looks at."""
    return new_store(
        [
            make_order(
                1203,
                OrderState.PICKING,
                customer="Wang Fang",
                phone="13800135678",
                external_id="MT-20261122-0001",
                channel=Channel.MEITUAN,
                promised_in=timedelta(minutes=-5),
            ),
            make_order(
                1204,
                OrderState.PICKING,
                customer="Li Na",
                phone="13900131111",
                external_id="ELE-77",
                channel=Channel.ELEME,
                warehouse_id="WH-HD",
                zone="Haidian",
                rider_id=7,
            ),
            make_order(
                2203,
                OrderState.PICKING,
                customer="Zhao Lei",
                phone="13700132222",
                external_id="APP-5",
                rider_id=8,
                promised_in=timedelta(minutes=20),
            ),
            make_order(
                3301,
                OrderState.PICKING,
                customer="Fang Qing",
                phone="13600133333",
                external_id="POS-9",
                channel=Channel.STORE,
                zone="Haidian",
                promised_in=timedelta(minutes=50),
            ),
        ],
        [make_rider(7, "Chen Jie"), make_rider(8, "Sun Li")],
    )


@pytest.mark.parametrize(
    ("order_filter", "expected"),
    [
        (OrderFilter(), [1203, 2203, 1204, 3301]),
        (OrderFilter(text="120"), [1203, 1204]),
        (OrderFilter(text="2203"), [2203]),
        (OrderFilter(text="5678"), [1203]),
        (OrderFilter(text="13800135678"), [1203]),
        (OrderFilter(text="fang"), [1203, 3301]),
        (OrderFilter(text="  WANG "), [1203]),
        (OrderFilter(text="chen"), [1204]),
        (OrderFilter(text="Sun Li"), [2203]),
        (OrderFilter(text="ele-7"), [1204]),
        (OrderFilter(text="mt-2026"), [1203]),
        (OrderFilter(text="nobody"), []),
        (OrderFilter(text="Zhao Lie"), [2203]),
        (OrderFilter(text="fang qimg"), [3301]),
        (OrderFilter(text="Chen Jei"), [1204]),
        (OrderFilter(text="Fnag"), []),
        (OrderFilter(channel="meituan"), [1203]),
        (OrderFilter(warehouse_id="WH-HD"), [1204]),
        (OrderFilter(zone="Haidian"), [1204, 3301]),
        (OrderFilter(late_only=True), [1203]),
        (OrderFilter(zone="Haidian", text="fang"), [3301]),
        (OrderFilter(channel="app", late_only=True), []),
    ],
    ids=[
        "none",
        "id-prefix",
        "whole-id",
        "phone-tail",
        "whole-phone",
        "customer-substring",
        "customer-case-and-spaces",
        "rider-name",
        "rider-full-name",
        "external-id",
        "external-id-prefix",
        "no-match",
        "customer-typo",
        "customer-typo-any-case",
        "rider-typo",
        "too-far-from-any-name",
        "channel",
        "warehouse",
        "zone",
        "late-only",
        "zone-and-text",
        "channel-and-late",
    ],
)
def test_filter_narrows_a_lane(
    filter_store: Store, order_filter: OrderFilter, expected: list[int]
) -> None:
    """The filter bar keeps the lane's order and only the cards that match."""
    assert filter_store.lane_ids(Lane.PICKING, order_filter) == expected


def test_filter_does_not_match_a_phone_number_by_its_middle() -> None:
    """Digits match a phone by its tail, not anywhere in it."""
    store = new_store([make_order(1203, OrderState.PICKING, phone="13800135678")])
    assert store.lane_ids(Lane.PICKING, OrderFilter(text="3800")) == []


def test_filter_finds_an_all_digit_external_id() -> None:
    """Pasting a platform's numeric order number finds the order."""
    store = new_store(
        [make_order(1, OrderState.PICKING, external_id="20261122000042", phone="13800131111")]
    )
    assert store.lane_ids(Lane.PICKING, OrderFilter(text="20261122000042")) == [1]


# --- rider positions ----------------------------------------------------------------------------


def test_newer_fix_moves_the_rider() -> None:
    store = new_store(riders=[make_rider(7, at=HOME, fix_ago=timedelta(minutes=1))])
    store.move_rider(position(7, north(1), NOW))
    rider = store.riders[7]
    assert (rider.lat, rider.lng, rider.fix_at) == (*north(1), NOW)
    assert store.drain().riders


def test_older_fix_does_not_move_the_rider_back() -> None:
    """A late offline batch's fix is history: the rider stays where they were last seen."""
    store = new_store(riders=[make_rider(7, at=HOME, fix_ago=timedelta(minutes=1))])
    store.move_rider(position(7, north(1), NOW))
    store.drain()
    store.move_rider(position(7, north(5), NOW - timedelta(seconds=30)))
    store.move_rider(position(7, north(5), NOW))
    rider = store.riders[7]
    assert (rider.lat, rider.lng, rider.fix_at) == (*north(1), NOW)
    assert not store.drain()


def test_first_fix_of_a_rider_without_one_moves_them() -> None:
    store = new_store(riders=[make_rider(7, at=None)])
    store.move_rider(position(7, north(2), NOW - timedelta(hours=1)))
    assert (store.riders[7].lat, store.riders[7].lng) == north(2)


def test_fix_of_an_unknown_rider_is_ignored() -> None:
    store = new_store(riders=[make_rider(7, at=HOME)])
    store.move_rider(position(99, north(1), NOW))
    assert set(store.riders) == {7}
    assert not store.drain()


# --- the backend's ETA (order.eta) ---------------------------------------------------------------


def eta_event(seq: int, order_id: int, version: int, eta: datetime, *, late: bool = False) -> Event:
    """What the backend publishes when an order's ETA moves: the order's current version,
    not a new one."""
    return make_event(
        seq,
        "order.eta",
        order_id=order_id,
        rider_id=7,
        payload={
            "version": version,
            "eta": eta.isoformat(),
            "predicted_late": late,
            "distance_m": 1800.0,
            "sequence": 1,
        },
    )


def delivering_store() -> Store:
    return new_store(
        [make_order(1, OrderState.DELIVERING, version=4, rider_id=7)],
        [make_rider(7, at=north(10))],
    )


def test_eta_event_replaces_the_nominal_estimate_without_bumping_the_version() -> None:
    store = delivering_store()
    nominal = store.eta(store.orders[1])
    backend_eta = NOW + timedelta(minutes=12)
    assert nominal is not None and nominal != backend_eta
    assert store.apply(eta_event(101, 1, 4, backend_eta)) is True
    card = store.orders[1]
    assert card.version == 4
    assert store.eta(card) == backend_eta
    assert card.eta_distance_m == 1800.0
    changes = store.drain()
    assert 1 in changes.orders and Lane.DELIVERING in changes.lanes
    # The next real change of the order (version 5) still applies: no version was used up.
    assert store.apply(transition(102, 1, OrderState.SIGNED, 5, rider_id=7)) is True
    assert store.orders[1].status == OrderState.SIGNED


def test_eta_events_are_deduplicated_by_seq() -> None:
    store = delivering_store()
    first = eta_event(101, 1, 4, NOW + timedelta(minutes=12))
    assert store.apply(first) is True
    assert store.apply(eta_event(102, 1, 4, NOW + timedelta(minutes=9))) is True
    assert store.apply(first) is False  # replayed after a reconnect: seen seq
    assert store.duplicates == 1
    assert store.orders[1].eta == NOW + timedelta(minutes=9)


def test_eta_for_an_older_version_is_ignored_and_a_newer_one_marks_the_order_stale() -> None:
    store = delivering_store()
    assert store.apply(eta_event(101, 1, 3, NOW + timedelta(minutes=12))) is False
    assert store.orders[1].eta is None
    assert store.apply(eta_event(102, 1, 6, NOW + timedelta(minutes=7))) is True
    assert store.orders[1].eta == NOW + timedelta(minutes=7)
    assert 1 in store.stale  # versions 5 and 6 never reached us: fetch the order


def test_eta_for_an_unknown_order_changes_nothing() -> None:
    store = delivering_store()
    assert store.apply(eta_event(101, 99, 1, NOW)) is False
    assert 99 not in store.orders and 99 not in store.stale


def test_predicted_late_makes_the_order_a_warning_and_its_rider_late() -> None:
    store = delivering_store()
    rider = store.riders[7]
    assert store.rider_state(rider) == RiderState.DELIVERING
    store.apply(eta_event(101, 1, 4, NOW + timedelta(minutes=50), late=True))
    assert store.urgency(store.orders[1]) == Urgency.WARNING
    assert store.rider_state(rider) == RiderState.LATE
    assert store.drain().riders


def test_reassigning_drops_the_old_riders_eta() -> None:
    store = delivering_store()
    store.apply(eta_event(101, 1, 4, NOW + timedelta(minutes=50), late=True))
    store.apply(assigned(102, 1, 9, 5))
    card = store.orders[1]
    assert (card.eta, card.predicted_late, card.rider_id) == (None, False, 9)
    assert store.rider_orders == {9: {1}}


# --- riders' states, loads and speeds -----------------------------------------------------------


def test_rider_states_follow_shift_orders_and_fix_age() -> None:
    store = new_store(
        [
            make_order(1, OrderState.DELIVERING, rider_id=1),
            make_order(2, OrderState.DELIVERING, rider_id=2, promised_in=timedelta(minutes=-5)),
            make_order(3, OrderState.PICKING, rider_id=1, promised_in=timedelta(minutes=20)),
        ],
        [
            make_rider(1, at=HOME),
            make_rider(2, at=HOME),
            make_rider(3, at=HOME),
            make_rider(4, at=HOME, fix_ago=timedelta(minutes=3)),
            make_rider(5, at=HOME, status=RiderStatus.OFFLINE),
        ],
    )
    states = {i: store.rider_state(r) for i, r in store.riders.items()}
    assert states == {
        1: RiderState.DELIVERING,
        2: RiderState.LATE,
        3: RiderState.IDLE,
        4: RiderState.SILENT,
        5: RiderState.OFFLINE,
    }
    assert store.orders_of(1) == [3, 1]  # the first promised first
    store.apply(transition(101, 1, OrderState.SIGNED, 2, rider_id=1))
    assert store.orders_of(1) == [3]


def test_speed_comes_from_the_last_two_fixes() -> None:
    store = new_store(riders=[make_rider(7, at=HOME, fix_ago=timedelta(minutes=1))])
    store.move_rider(position(7, north(0.5), NOW))  # 500 m in 60 s: 30 km/h
    speed = store.riders[7].speed_kmh
    assert speed is not None and speed == pytest.approx(30, rel=0.01)
    store.move_rider(position(7, north(0.5), NOW + timedelta(minutes=30)))
    assert store.riders[7].speed_kmh is None  # half an hour apart: says nothing about now
    # Standing at a door, the phone wanders 10 m between fixes 15 s apart: stopped, not 2 km/h.
    store.move_rider(position(7, north(0.51), NOW + timedelta(minutes=30, seconds=15)))
    assert store.riders[7].speed_kmh == 0.0
    store.move_rider(position(7, north(0.59), NOW + timedelta(minutes=30, seconds=30)))
    speed = store.riders[7].speed_kmh  # 80 m in 15 s: riding again, 19 km/h
    assert speed is not None and speed == pytest.approx(19.2, rel=0.02)


def test_load_keeps_capacity_and_active_orders_from_the_snapshot() -> None:
    store = new_store(riders=[make_rider(7, at=HOME)])
    assert (store.riders[7].capacity, store.riders[7].active_orders) == (3, 0)


# --- property: lanes stay a sorted picture of the held orders ------------------------------------


OPEN_STATES = [s for s in OrderState if s in LANE_OF_STATE and s != OrderState.SIGNED]


@dataclass
class Step:
    """One thing the stream might send: a creation, a transition, an assignment or a repeat."""

    op: str
    order: int
    state: OrderState
    bump: int
    rider: int
    minutes: int


steps = st.builds(
    Step,
    op=st.sampled_from(["transition", "transition", "assign", "create", "resend"]),
    order=st.integers(0, 5),
    state=st.sampled_from(list(OrderState)),
    bump=st.sampled_from([0, 1, 1, 1, 2]),
    rider=st.integers(1, 3),
    minutes=st.integers(-30, 59),
)


def assert_lanes_are_the_held_orders(store: Store) -> None:
    """Each lane is exactly the held orders in its states, in its order, with no repeats."""
    for lane in Lane:
        keys = store.lanes[lane]
        ids = [order_id for _, order_id in keys]
        assert len(ids) == len(set(ids)), f"{lane} repeats an order"
        assert set(ids) == {i for i, card in store.orders.items() if card.lane == lane}
        assert keys == sorted(keys), f"{lane} is out of order"
        assert all(store.orders[i].key == key for key, i in zip(keys, ids, strict=True))
        cards = [store.orders[i] for i in ids]
        if lane == Lane.SIGNED:
            signed = [c.signed_at for c in cards]
            assert signed == sorted(signed, reverse=True)
        else:
            promises = [c.promised_at for c in cards]
            assert promises == sorted(promises)
    assert all(card.lane is not None for card in store.orders.values())
    carried: dict[int, set[int]] = {}
    for card in store.orders.values():
        if card.rider_id is not None and card.lane in RIDER_ORDER_LANES:
            carried.setdefault(card.rider_id, set()).add(card.id)
    assert store.rider_orders == carried, "the riders' current orders drifted from the lanes"


@settings(max_examples=60, deadline=None)
@given(
    initial=st.lists(
        st.tuples(st.sampled_from(OPEN_STATES), st.integers(-30, 60)), min_size=1, max_size=6
    ),
    script=st.lists(steps, max_size=40),
)
def test_any_event_sequence_leaves_every_lane_exactly_its_orders_and_sorted(
    initial: list[tuple[OrderState, int]], script: list[Step]
) -> None:
    """Transitions, assignments, creations and re-sent events in any mix keep the board true."""
    orders = [
        make_order(i + 1, state, version=2, promised_in=timedelta(minutes=m))
        for i, (state, m) in enumerate(initial)
    ]
    store = new_store(orders, [make_rider(r) for r in (1, 2, 3)], last_seq=100)
    expected: dict[int, OrderState] = {o.id: o.status for o in orders}
    versions: dict[int, int] = {o.id: o.version for o in orders}
    sent: list[Event] = []
    seq, next_id = 100, 100
    for step in script:
        if step.op == "resend":
            if not sent:
                continue
            event = sent[step.order % len(sent)]
            assert store.apply(event) is False
            assert_lanes_are_the_held_orders(store)
            continue
        seq += 1
        if step.op == "create":
            next_id += 1
            event = created(seq, next_id, promised_in=timedelta(minutes=step.minutes))
            expected[next_id], versions[next_id] = OrderState.CREATED, 1
        else:
            order_id = sorted(versions)[step.order % len(versions)]
            version = versions[order_id] + step.bump
            if step.op == "assign":
                event = assigned(seq, order_id, step.rider, version)
            else:
                at = NOW - timedelta(minutes=abs(step.minutes))
                event = transition(seq, order_id, step.state, version, rider_id=step.rider, at=at)
            if order_id in expected and step.bump > 0:
                versions[order_id] = version
                if step.op == "transition":
                    expected[order_id] = step.state
                if step.state not in LANE_OF_STATE and step.op == "transition":
                    del expected[order_id]
        store.apply(event)
        sent.append(event)
        assert_lanes_are_the_held_orders(store)
    assert {i: card.status for i, card in store.orders.items()} == expected
    assert {i: card.version for i, card in store.orders.items()} == {
        i: versions[i] for i in expected
    }


def test_a_lane_says_its_name_and_stays_a_string() -> None:
    # The board's words come from `label`; `str.title` is still the string's own.
    assert [lane.label for lane in Lane] == [
        "New",
        "Picking",
        "Out of stock",
        "Delivering",
        "Exception",
        "Signed (1 h)",
    ]
    assert Lane.SHORT.title() == "Out_Of_Stock"


def test_the_orders_own_eta_is_the_boards_until_an_eta_event_moves_it() -> None:
    """The snapshot's `eta` (the backend's, from the rider's route) stands in for the straight
    line from the first draw; the stream's `order.eta` replaces it; leaving DELIVERING drops it,
    as the API's `eta` turns null then."""
    served = make_order(1, OrderState.DELIVERING, version=4, rider_id=7)
    served = served.model_copy(update={"eta": NOW + timedelta(minutes=70)})  # promise: 40 min
    store = new_store([served], [make_rider(7, at=north(1))])
    card = store.orders[1]
    assert store.eta(card) == NOW + timedelta(minutes=70)
    assert card.predicted_late and store.urgency(card) == Urgency.WARNING
    assert store.apply(eta_event(101, 1, 4, NOW + timedelta(minutes=15))) is True
    assert store.eta(store.orders[1]) == NOW + timedelta(minutes=15)
    assert store.urgency(store.orders[1]) == Urgency.OK
    assert store.apply(transition(102, 1, OrderState.EXCEPTION, 5, rider_id=7)) is True
    stopped = store.orders[1]
    assert (stopped.eta, stopped.predicted_late) == (None, False)
