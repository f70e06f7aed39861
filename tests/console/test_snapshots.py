"""Snapshots of the board at 80x24 and 160x48: a store filled by hand, a frozen clock, no network.

Update after an intended change of looks with `pytest tests/console/test_snapshots.py
--snapshot-update`, and look at the new SVGs before committing them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend_client.models import Alert, Me, Order, OrderItem, OrderState, Rider, Role
from backend_client.stream import StreamState, StreamStatus
from console.app import FreshlineApp
from console.store import FrozenClock, Store

NOW = datetime(2026, 11, 22, 4, 30, tzinfo=UTC)  # 12:30 in Beijing
BEIJING = ZoneInfo("Asia/Shanghai")
NAMES = ["Wang Fang", "Li Na", "Zhang Wei", "Liu Yang", "Chen Jing", "Yang Min", "Zhao Lei"]
CHANNELS = ["app", "mini_program", "meituan", "eleme", "store", "group_buy"]
ZONES = ["Chaoyang", "Haidian", "Dongcheng", "Xicheng", "Fengtai", "Wangjing"]
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


def order(number: int, state: OrderState, minutes: int, rider_id: int | None) -> Order:
    created = NOW - timedelta(minutes=30)
    signed = NOW - timedelta(minutes=10 + number) if state == OrderState.SIGNED else None
    return Order(
        id=1000 + number,
        channel=CHANNELS[number % len(CHANNELS)],
        external_id=f"EXT-{number:04d}",
        status=state,
        version=3,
        customer={
            "id": number,
            "name": NAMES[number % len(NAMES)],
            "phone": f"1380013{number:04d}",
        },
        address=f"Road {number}",
        lat=39.90 + number * 0.01,
        lng=116.40 + number * 0.01,
        zone=ZONES[number % len(ZONES)],
        warehouse_id="WH-CY",
        rider_id=rider_id,
        items=[
            OrderItem(
                sku="VEG-BOKCHOY",
                name="Bok choy",
                quantity=1,
                unit="bunch",
                weight_g=500,
                cold_chain=number % 3 == 0,
                unit_price_cents=450,
            )
        ],
        weight_g=500,
        cold_chain=number % 3 == 0,
        amount_cents=450,
        note=None,
        promised_at=NOW + timedelta(minutes=minutes),
        late=minutes < 0,
        created_at=created,
        paid_at=None,
        picking_at=None,
        out_of_stock_at=None,
        delivering_at=None,
        signed_at=signed,
        exception_at=None,
        returning_at=None,
        returned_at=None,
        claiming_at=None,
        claim_settled_at=None,
        cancelled_at=None,
        updated_at=signed or created,
    )


def rider(rider_id: int) -> Rider:
    return Rider(
        id=rider_id,
        name=["Zhou Tao", "Wu Gang", "Sun Li", "Ma Jun", "Hu Bin", "Guo Hua"][rider_id - 1],
        phone=f"1390000000{rider_id}",
        status="online",
        warehouse_id="WH-CY",
        capacity=3,
        active_orders=1,
        cold_chain=rider_id % 2 == 0,
        last_lat=39.95,
        last_lng=116.45,
        last_fix_at=NOW - timedelta(seconds=20),
    )


def board_app() -> FreshlineApp:
    store = Store(FrozenClock(NOW))
    store.load(
        [order(n, *plan) for n, plan in enumerate(PLAN)],
        [rider(i) for i in range(1, 7)],
        last_seq=500,
    )
    store.set_connection(StreamStatus(StreamState.LIVE))
    store.fresh_at = None  # the badge's age would depend on when the test runs
    me = Me(id=1, username="dispatcher", role=Role.DISPATCHER)
    return FreshlineApp(store=store, zone=BEIJING, live=False, me=me)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_board(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(board_app(), terminal_size=size)


def test_board_late_only_at_160x48(snap_compare) -> None:
    assert snap_compare(board_app(), terminal_size=(160, 48), press=["l"])


def test_board_compact_on_the_delivering_lane_with_marks(snap_compare) -> None:
    keys = ["right", "right", "right", "space", "space"]
    assert snap_compare(board_app(), terminal_size=(80, 24), press=keys)


def test_keys_at_80x24(snap_compare) -> None:
    assert snap_compare(board_app(), terminal_size=(80, 24), press=["question_mark"])


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
                title="Rider Wu Gang: no GPS fix, carrying 2 order(s)",
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


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_exception_queue(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(queue_app(), terminal_size=size, press=["2"])
