"""The board and the exception queue filled by hand (a frozen clock, no network): for the
snapshots, and for a real terminal (`python -m tests.console.sample_apps board`, see
`tests/console/terminal.py`)."""

from __future__ import annotations

import sys
from datetime import timedelta

from backend_client import StreamState, StreamStatus
from backend_client.models import Alert, OrderState, Role
from console.app import FreshlineApp
from console.store import FrozenClock, Store
from tests.console.samples import BEIJING, NOW, ZONES, me_as, order, rider

# (state, minutes from now to the promise, rider) for each order
PLAN = [
    (OrderState.CREATED, 40, None),
    (OrderState.PAID, 35, None),
    (OrderState.PAID, 8, None),
    (OrderState.PAID, -3, None),
    (OrderState.PICKING, 30, 1),
    (OrderState.PICKING, 12, 2),
    (OrderState.PICKING, -12, 3),
    (OrderState.OUT_OF_STOCK, 20, None),
    (OrderState.DELIVERING, 25, 4),
    (OrderState.DELIVERING, 6, 5),
    (OrderState.DELIVERING, -25, 6),
    (OrderState.DELIVERING, 45, 1),
    (OrderState.EXCEPTION, -5, 2),
    (OrderState.RETURNING, 10, 3),
    (OrderState.SIGNED, -20, 4),
    (OrderState.SIGNED, -50, 5),
]


def board_app() -> FreshlineApp:
    store = Store(FrozenClock(NOW))
    store.load(
        [order(n, *plan) for n, plan in enumerate(PLAN)],
        [rider(i) for i in range(1, 7)],
        last_seq=500,
    )
    store.set_connection(StreamStatus(StreamState.LIVE))
    store.fresh_at = None  # the badge's age would depend on when the test runs
    me = me_as(Role.DISPATCHER, "dispatcher")
    return FreshlineApp(store=store, zone=BEIJING, live=False, me=me)


def queue_app() -> FreshlineApp:
    """The board's store with alerts of every severity and state, one grouped under another."""
    app = board_app()
    opened = NOW - timedelta(minutes=7)

    def alert(n: int, rule: str, severity: str, **extra: object) -> Alert:
        fields: dict[str, object] = {
            "id": n,
            "rule": rule,
            "subject": f"order:{1000 + n}",
            "severity": severity,
            "state": "open",
            "title": f"Order {1000 + n}: {rule.replace('_', ' ')}",
            "details": {},
            "order_id": 1000 + n,
            "rider_id": None,
            "request_id": None,
            "warehouse_id": "WH-CY",
            "zone": ZONES[n % len(ZONES)],
            "parent_id": None,
            "opened_at": opened - timedelta(minutes=n),
            "updated_at": opened,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "note": None,
            "snoozed_until": None,
            "escalated_at": None,
            "resolved_at": None,
            "resolution": None,
            "version": 1,
        }
        return Alert.model_validate(fields | extra)

    app.store.alerts.load(
        [
            alert(
                1,
                "gps_silent",
                "critical",
                subject="rider:2",
                order_id=None,
                rider_id=2,
                title="Rider Wu Gang: no GPS fix, carrying 2 orders",
                escalated_at=opened,
            ),
            alert(2, "delivery_overdue", "warning", rider_id=2, parent_id=1),
            alert(3, "delivery_exception", "critical", title="Order 1003: scooter crash"),
            alert(4, "claim_requested", "warning", request_id=9, details={"amount_cents": 890}),
            alert(
                5,
                "out_of_stock",
                "warning",
                state="acknowledged",
                acknowledged_by="support",
                acknowledged_at=opened,
                note="van at 13:00",
            ),
            alert(
                6,
                "payment_pending",
                "info",
                state="snoozed",
                snoozed_until=NOW + timedelta(minutes=20),
            ),
        ]
    )
    return app


APPS = {"board": board_app, "queue": queue_app}

if __name__ == "__main__":
    APPS[sys.argv[1]]().run()
