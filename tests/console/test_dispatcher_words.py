"""What a dispatcher reads: the order's timeline without a wall of ETA updates, money as money,
places by name (Pilot, a store filled by hand, a stub backend)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from textual.widgets import DataTable

from backend_client.models import Event, Me, OrderState, Role
from console.app import FreshlineApp
from console.store import FrozenClock, Store
from screens.order_detail import OrderDetailScreen
from tests.console.conftest import until
from tests.console.samples import BEIJING, NOW, order, rider


def event(seq: int, kind: str, minutes: float, **payload: Any) -> Event:
    return Event(
        seq=seq,
        kind=kind,
        order_id=1008,
        rider_id=4,
        warehouse_id="WH-CY",
        from_state=payload.pop("from_state", None),
        to_state=payload.pop("to_state", None),
        actor="rider-4" if kind == "order.eta" else "dispatcher",
        role="rider" if kind == "order.eta" else "dispatcher",
        client_addr=None,
        at=NOW - timedelta(minutes=30 - minutes),
        reason=None,
        payload=payload,
    )


class StubClient:
    """The three calls the order's detail makes, answered from memory."""

    def __init__(self, events: list[Event]) -> None:
        self.the_order = order(8, OrderState.DELIVERING, 25, 4)
        self.events = events
        self.token = "stub"

    async def order(self, order_id: int) -> Any:
        return self.the_order

    async def timeline(self, order_id: int) -> list[Event]:
        return self.events

    async def order_deliveries(self, order_id: int) -> list[Any]:
        return []

    async def aclose(self) -> None:
        return None


def detail_app(events: list[Event]) -> FreshlineApp:
    store = Store(FrozenClock(NOW))
    store.load([order(8, OrderState.DELIVERING, 25, 4)], [rider(4)], last_seq=500)
    me = Me(id=1, username="dispatcher", role=Role.DISPATCHER)
    app = FreshlineApp(store=store, zone=BEIJING, live=False, me=me)
    app.client = StubClient(events)  # type: ignore[assignment]
    return app


def eta(seq: int, minutes: float, metres: int, *, late: bool = False) -> Event:
    return event(seq, "order.eta", minutes, distance_m=metres, sequence=1, predicted_late=late)


async def test_the_timeline_folds_a_run_of_eta_updates_into_one_line() -> None:
    events = [
        event(1, "order.status", 0, from_state="PICKING", to_state="DELIVERING"),
        *(eta(2 + n, 1 + n, 3000 - 100 * n) for n in range(12)),
        eta(20, 14, 1700, late=True),
        eta(21, 15, 1600, late=True),
        event(22, "order.arrived", 20),
    ]
    app = detail_app(events)
    async with app.run_test(size=(160, 48)) as pilot:
        app.push_screen(OrderDetailScreen(1008))
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        await until(pilot, lambda: detail.events, "the timeline")
        await pilot.pause()
        timeline = detail.query_one("#timeline", DataTable)
        words = [str(timeline.get_row_at(i)[1]) for i in range(timeline.row_count)]
        times = [str(timeline.get_row_at(i)[0]) for i in range(timeline.row_count)]
    assert words == [
        "PICKING -> DELIVERING",
        "ETA updated 12 times since 12:01: 1.9 km away, stop 1",
        "ETA updated 2 times since 12:14: 1.6 km away, stop 1 · predicted LATE",
        "rider arrived at the customer",
    ]
    assert times[1] == "12:12:00"  # the last of the run: what the estimate is now
