"""Sample data for console tests and benchmarks: orders and riders as the backend would send
them, and events that move an order on, around a fixed moment (no network, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.auth.permissions import permissions_of
from backend_client.models import Event, Me, Order, OrderItem, OrderState, Rider, Role
from console.store import Store

NOW = datetime(2026, 11, 22, 4, 30, tzinfo=UTC)  # 12:30 in Beijing
BEIJING = ZoneInfo("Asia/Shanghai")
NAMES = ["Wang Fang", "Li Na", "Zhang Wei", "Liu Yang", "Chen Jing", "Yang Min", "Zhao Lei"]
CHANNELS = ["app", "mini_program", "meituan", "eleme", "store", "group_buy"]
ZONES = ["Chaoyang", "Haidian", "Dongcheng", "Xicheng", "Fengtai", "Wangjing"]


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


def moved(store: Store, seq: int, order_id: int, to: OrderState) -> Event:
    """The event of a rider moving a held order on to `to`, with its next version."""
    card = store.orders[order_id]
    return Event(
        seq=seq,
        kind="order.transition",
        order_id=order_id,
        rider_id=card.rider_id,
        warehouse_id=card.warehouse_id,
        from_state=card.status,
        to_state=to,
        actor="rider-1",
        role="rider",
        client_addr=None,
        at=NOW + timedelta(seconds=seq),
        reason=None,
        payload={"version": card.version + 1},
    )


def me_as(role: Role, username: str = "", user_id: int = 1) -> Me:
    """The account the server would describe: `role` with the permissions its table gives it."""
    return Me(
        id=user_id,
        username=username or str(role),
        role=role,
        permissions=list(permissions_of(role)),
    )
