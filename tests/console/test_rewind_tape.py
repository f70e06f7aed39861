"""The rewind tape: the store at any moment of the log equals a store fed the log up to then,
whatever the checkpoints, and a rewound picture never leaks into another (pure Python)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend_client.models import Event
from console.store import FrozenClock, Lane, Store
from console.store.rewind import Tape, blank_base, fork

START = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)


def event(seq: int, minute: float, kind: str, order_id: int, **fields: Any) -> Event:
    return Event(
        seq=seq,
        kind=kind,
        order_id=order_id,
        rider_id=fields.get("rider_id"),
        warehouse_id="WH-CY",
        from_state=fields.get("from_state"),
        to_state=fields.get("to_state"),
        actor="dispatcher",
        role="dispatcher",
        client_addr=None,
        at=START + timedelta(minutes=minute),
        reason=None,
        payload=fields.get("payload", {}),
    )


def created(seq: int, minute: float, order_id: int, promised_in: float = 45) -> Event:
    promised = START + timedelta(minutes=minute + promised_in)
    payload = {
        "version": 1,
        "channel": "app",
        "zone": "Chaoyang",
        "customer": f"Customer {order_id}",
        "phone_tail": "0000",
        "promised_at": promised.isoformat(),
        "cold_chain": False,
        "lat": 39.9,
        "lng": 116.4,
        "external_id": f"APP-{order_id}",
    }
    return event(seq, minute, "order.created", order_id, to_state="CREATED", payload=payload)


def alerted(seq: int, minute: float, order_id: int, state: str, version: int) -> Event:
    at = (START + timedelta(minutes=minute)).isoformat()
    alert = {
        "id": order_id,
        "rule": "delivery_overdue",
        "subject": f"order:{order_id}",
        "severity": "warning",
        "state": state,
        "title": f"order {order_id} overdue",
        "details": {},
        "order_id": order_id,
        "rider_id": None,
        "request_id": None,
        "warehouse_id": "WH-CY",
        "zone": "Chaoyang",
        "parent_id": None,
        "opened_at": at,
        "updated_at": at,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "note": None,
        "snoozed_until": None,
        "escalated_at": None,
        "resolved_at": at if state == "resolved" else None,
        "resolution": None,
        "version": version,
    }
    return event(seq, minute, f"alert.{state}", order_id, to_state=state, payload=alert)


STEPS = [
    ("CREATED", "PAID"),
    ("PAID", "PICKING"),
    ("PICKING", "DELIVERING"),
    ("DELIVERING", "SIGNED"),
]


def log(orders: int = 8) -> list[Event]:
    """Orders created a few minutes apart, each moving on every few minutes, some late."""
    happenings: list[tuple[float, int, str, dict[str, Any]]] = []
    for order_id in range(1, orders + 1):
        start = order_id * 3.0
        happenings.append((start, order_id, "created", {"promised_in": 45 if order_id % 3 else 10}))
        for version, (was, to) in enumerate(STEPS, start=2):
            fields = {"from_state": was, "to_state": to, "payload": {"version": version}}
            if to in ("DELIVERING", "SIGNED"):
                fields["rider_id"] = order_id % 2 + 1
            happenings.append((start + version * 4.5, order_id, "transition", fields))
    happenings += [(20.0, 3, "alert", {"state": "open", "version": 1})]
    happenings += [(40.0, 3, "alert", {"state": "resolved", "version": 2})]
    happenings.sort(key=lambda h: (h[0], h[1]))
    events = []
    for seq, (minute, order_id, what, fields) in enumerate(happenings, start=1):
        if what == "created":
            events.append(created(seq, minute, order_id, fields["promised_in"]))
        elif what == "alert":
            events.append(alerted(seq, minute, order_id, **fields))
        else:
            events.append(event(seq, minute, "order.transition", order_id, **fields))
    return events


def picture(store: Store) -> dict[str, Any]:
    now = store.clock.now()
    return {
        lane: [(i, store.orders[i].version, store.urgency(store.orders[i], now)) for i in ids]
        for lane in Lane
        if (ids := store.lane_ids(lane))
    } | {"alerts": store.alerts.queue()}


def fed(events: list[Event], moment: datetime) -> Store:
    """A store given the log up to `moment` one event at a time, looked at then."""
    store = Store(FrozenClock(moment))
    for e in events:
        if e.at <= moment:
            store.apply(e)
    store.drain()
    return store


@pytest.mark.parametrize("every", [1, 3, 7, 1000])
def test_the_store_at_any_minute_is_the_store_fed_the_log_up_to_it(every: int) -> None:
    events = log()
    tape = Tape(Store(FrozenClock(START)), every=every)
    assert tape.extend(events) == len(events)
    minute = 0.0
    while minute <= 70:
        moment = START + timedelta(minutes=minute)
        assert picture(tape.at(moment)) == picture(fed(events, moment)), f"at minute {minute}"
        minute += 0.75
    # Some moments show orders late, signed ones leave after their hour.
    assert any(Lane.SIGNED in picture(tape.at(START + timedelta(minutes=m))) for m in range(20, 60))
    assert picture(tape.at(START + timedelta(hours=3))) == {"alerts": []}
    assert picture(tape.at(START + timedelta(minutes=30)))["alerts"] == [3]


def test_a_seq_gives_the_store_just_after_that_event() -> None:
    events = log(3)
    tape = Tape(Store(FrozenClock(START)), every=4)
    tape.extend(events)
    for e in events:
        rebuilt = tape.at_seq(e.seq)
        assert rebuilt.last_seq == e.seq
        assert picture(rebuilt) == picture(fed(events[: e.seq], e.at))
    assert tape.seq_at(START) is None
    assert tape.seq_at(events[-1].at + timedelta(hours=1)) == events[-1].seq


def test_a_rewound_store_is_its_own_a_change_to_it_reaches_no_checkpoint() -> None:
    events = log()
    tape = Tape(Store(FrozenClock(START)), every=5)
    tape.extend(events[:30])
    moment = events[14].at
    before = picture(tape.at(moment))
    rewound = tape.at(moment)
    for e in events[30:]:
        rewound.apply(e)  # the rewound store taking more: a checkpoint must not see them
    rewound.orders.clear()
    assert picture(tape.at(moment)) == before
    tape.extend(events[30:])  # and the tape goes on from where it was
    assert picture(tape.at(events[-1].at)) == picture(fed(events, events[-1].at))


def test_the_tape_skips_what_it_holds_and_keeps_time_moving_forward() -> None:
    events = log(2)
    tape = Tape(Store(FrozenClock(START)), every=2)
    assert tape.extend(events[:5]) == 5
    assert tape.extend(events) == len(events) - 5
    assert len(tape) == len(events)
    # A later seq with an earlier time (commits racing on PostgreSQL): it counts from the
    # latest time before it, never moving the tape back in time.
    late = created(len(events) + 1, -30, 99)
    tape.extend([late])
    span = tape.span
    assert span is not None and span[1] == events[-1].at
    assert 99 in tape.at(events[-1].at).orders
    assert 99 not in tape.at(events[-2].at).orders
    with pytest.raises(ValueError):
        Tape(Store(), every=0)


def test_the_base_keeps_who_the_riders_are_and_forgets_where_they_were() -> None:
    from console.store import RiderCard

    live = Store(FrozenClock(START))
    live.riders[1] = RiderCard(1, "Li Fang", "WH-CY", status="online", lat=39.9, lng=116.4)
    live.stages = frozenset({"PAID"})
    base = blank_base(live)
    assert base.riders[1].name == "Li Fang"
    assert base.riders[1].status == "offline" and base.riders[1].lat is None
    assert live.riders[1].status == "online"  # the live one untouched
    assert base.stages == live.stages
    twin = fork(live)
    twin.riders[1].status = "offline"
    assert live.riders[1].status == "online"
