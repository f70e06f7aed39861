"""What a database row costs to turn into its wire model, three ways, in microseconds a row:

- by hand: the model's constructor with every field named (what the views did before);
- `from_attributes`: `Model.model_validate(row, from_attributes=True)`, the columns by name;
- `model_construct`: no validation at all (the order's view, `backend/orders/views.py`);

and what the field policy's masking adds to the views the API answers with
(`backend/auth/fields.py`): the order and the rider as the desk sees them (phones whole, the
baseline) against as a viewer sees them (phones masked), with the ratio.

    .venv/bin/python bench/row_views.py            # 20,000 rows a model, best of 5

The rows are built in memory (no database): the figure is the conversion alone, paid for every
row an answer or an event carries, on the read path and after every write.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from backend.auth.fields import FULL, FieldPolicy
from backend.orders.models import OrderItemRow, OrderRow
from backend.orders.views import order_view
from backend.realtime.models import EventRow
from backend.riders.models import RiderRow
from backend.riders.service import rider_view
from backend_client.models import CustomerOut, Event, Order, Rider

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)
MASKED = FieldPolicy(full_phones=False)
"""A viewer's, a merchant's or a channel's policy."""


def rider() -> RiderRow:
    return RiderRow(
        id=1, name="Li Wei", phone="13800138000", status="online", warehouse_id="WH-CY",
        capacity=3, active_orders=1, cold_chain=True, last_lat=39.93, last_lng=116.45,
        last_fix_at=NOW,
    )  # fmt: skip


def event() -> EventRow:
    return EventRow(
        seq=1, kind="transition", order_id=1, rider_id=None, warehouse_id="WH-CY",
        from_state="PAID", to_state="PICKING", actor="dispatcher", role="dispatcher",
        client_addr=None, at=NOW, reason=None, payload={"version": 3},
    )  # fmt: skip


def order() -> OrderRow:
    row = OrderRow(
        id=1, channel="app", external_id="A-1", status="PAID", version=2, customer_id=1,
        customer_name="Wang Fang", customer_phone="13800138000", address="Sanlitun Rd 19",
        lat=39.9361, lng=116.4551, zone="Chaoyang", warehouse_id="WH-CY", rider_id=None,
        weight_g=1500, cold_chain=False, amount_cents=3190, note=None, promised_at=NOW,
        open_rank=1, created_at=NOW, paid_at=NOW, updated_at=NOW,
    )  # fmt: skip
    row.items = [
        OrderItemRow(
            sku=f"VEG-{i}",
            name="bok choy",
            quantity=2,
            unit="500 g",
            weight_g=500,
            cold_chain=False,
            unit_price_cents=690,
        )
        for i in range(3)
    ]
    return row


def by_hand(model: type[BaseModel], row: Any) -> Callable[[], BaseModel]:
    names = list(model.model_fields)
    return lambda: model(**{name: getattr(row, name) for name in names})


class OrderAttributes:
    """An order row with the two fields its wire model computes, for `from_attributes`."""

    def __init__(self, row: OrderRow) -> None:
        self._row = row
        self.customer = CustomerOut(
            id=row.customer_id, name=row.customer_name, phone=row.customer_phone
        )
        self.late = row.open_rank == 0 and row.promised_at < NOW

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    a_rider, an_event, an_order = rider(), event(), order()
    cases: list[tuple[str, dict[str, Callable[[], object]]]] = [
        (
            "rider",
            {
                "by hand": by_hand(Rider, a_rider),
                "from_attributes": lambda: Rider.model_validate(a_rider, from_attributes=True),
            },
        ),
        (
            "event",
            {
                "by hand": by_hand(Event, an_event),
                "from_attributes": lambda: Event.model_validate(an_event, from_attributes=True),
            },
        ),
        (
            "order",
            {
                "from_attributes": lambda: Order.model_validate(
                    OrderAttributes(an_order), from_attributes=True
                ),
                "model_construct": lambda: order_view(an_order, NOW, FULL, None),
            },
        ),
        (
            "order",
            {
                "whole (desk)": lambda: order_view(an_order, NOW, FULL, None),
                "masked": lambda: order_view(an_order, NOW, MASKED, None),
            },
        ),
        (
            "rider",
            {
                "whole (desk)": lambda: rider_view(a_rider, FULL),
                "masked": lambda: rider_view(a_rider, MASKED),
            },
        ),
    ]
    print(f"{'model':8} {'way':16} {'us a row':>9} {'ratio':>6}")
    for model, ways in cases:
        baseline = None
        for way, convert in ways.items():
            seconds = min(timeit.repeat(convert, number=args.rows, repeat=5)) / args.rows
            baseline = baseline or seconds
            print(f"{model:8} {way:16} {seconds * 1e6:9.2f} {seconds / baseline:6.2f}")


if __name__ == "__main__":
    main()
