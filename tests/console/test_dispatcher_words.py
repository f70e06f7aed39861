"""What a dispatcher reads: the order's timeline without a wall of ETA updates, money as money,
places by name (Pilot, a store filled by hand, a stub backend)."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from textual.widgets import DataTable

from backend_client.models import AlertRule, Event, OrderSensors, OrderState, Role
from console.alert_book import RULE_WORDS
from console.alert_words import figure_words, plural
from console.app import FreshlineApp
from console.store import FrozenClock, Store
from screens.order_detail import OrderDetailScreen
from tests.console.conftest import until
from tests.console.sample_apps import queue_app
from tests.console.samples import BEIJING, NOW, me_as, order, rider
from tests.console.test_console_live import text_of
from widgets.alert_row import subject_text

COORDINATE = re.compile(r"\d{2,3}\.\d{3,}")


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
    """The five calls the order's detail makes, answered from memory."""

    def __init__(self, events: list[Event]) -> None:
        self.the_order = order(8, OrderState.DELIVERING, 25, 4)
        self.events = events
        self.token = "stub"
        self.orders = SimpleNamespace(
            get=self.order, timeline=self.timeline, deliveries=self.order_deliveries
        )
        self.sensors = SimpleNamespace(of_order=self.order_sensors)
        self.proofs = SimpleNamespace(of_order=self.order_proofs)

    async def order(self, order_id: int) -> Any:
        return self.the_order

    async def timeline(self, order_id: int) -> list[Event]:
        return self.events

    async def order_deliveries(self, order_id: int) -> list[Any]:
        return []

    async def order_sensors(self, order_id: int) -> OrderSensors:
        return OrderSensors(celsius=None, humidity=None, humidity_bands={}, celsius_band=None)

    async def order_proofs(self, order_id: int) -> list[Any]:
        return []

    async def aclose(self) -> None:
        return None


def detail_app(events: list[Event]) -> FreshlineApp:
    store = Store(FrozenClock(NOW))
    store.load([order(8, OrderState.DELIVERING, 25, 4)], [rider(4)], last_seq=500)
    me = me_as(Role.DISPATCHER, "dispatcher")
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


async def detail_of(pilot: Any, app: FreshlineApp, rule_words: str) -> str:
    """Down the queue until the alert in full below is a `rule_words` one; its text."""
    await until(pilot, lambda: app.screen.query("#detail"), "the exception queue")
    await pilot.press("home")
    shown = ""
    for _ in range(len(app.store.alerts.alerts) + 1):
        under = app.screen.current()  # type: ignore[attr-defined]
        words = f"· {RULE_WORDS[under.rule]} · {subject_text(under, app.store)}"

        def drawn(words: str = words) -> bool:
            nonlocal shown
            shown = text_of(app.screen.query_one("#detail"))
            return words in shown  # the detail follows the cursor on the app's next tick

        await until(pilot, drawn, f"the {words} alert in full")
        if f"· {rule_words} ·" in shown:
            return shown
        await pilot.press("down")
    raise AssertionError(f"no {rule_words} alert in the queue: {shown}")


async def test_the_queue_reads_money_places_and_counts_in_words() -> None:
    app = queue_app()
    held = list(app.store.alerts.alerts.values())
    standing = held[0].model_copy(
        update={
            "id": 40,
            "rule": AlertRule.RIDER_STATIONARY,
            "subject": "rider:3",
            "severity": "warning",
            "rider_id": 3,
            "parent_id": None,
            "escalated_at": None,
            "title": "Rider Zhang Wei is standing still with orders out",
            "details": {"since": "2026-11-22T04:18:00+00:00", "lat": 39.9312, "lng": 116.4577},
            "zone": "Wangjing",
        }
    )
    app.store.alerts.load([*held, standing])
    square = ((39.92, 116.44), (39.92, 116.47), (39.94, 116.47), (39.94, 116.44))
    app.store.set_geography([("Chaoyang", square)], [])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("2")
        claim = await detail_of(pilot, app, "claim")
        assert "amount 8.90 yuan" in claim and "cents" not in claim
        assert "p approves the claim of 8.90 yuan for order 1004, Chen Jing, x rejects" in claim
        assert "request 9" not in claim  # the request's id is the backend's business
        still = await detail_of(pilot, app, "standing still")
        assert "since 12:18" in still and "in Chaoyang" in still, still
        assert not COORDINATE.search(still), still
        silent = await detail_of(pilot, app, "GPS silent")
        assert "order(s)" not in silent


def test_figures_name_no_internal_keys_and_count_in_words() -> None:
    words = figure_words(
        {"carrying": 1, "distance_m": 1870, "metres_off": 640, "request_id": 9, "celsius": 9.5},
        BEIJING,
    )
    assert words == "carrying 1 order, 1.9 km to go, 640 m off the way, 9.5 °C"
    # A point outside every outline is named by the alert's own zone.
    assert figure_words({"lat": 40.5, "lng": 117.0}, BEIJING, (), "Haidian") == "in Haidian"
    assert plural(1, "order") == "1 order" and plural(3, "order") == "3 orders"
