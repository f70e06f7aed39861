"""Which orders a merchant, rider or channel may see (the rule of `auth/scope.py`), and in
which states (the account's `stages`, `auth/permissions.py` STAGES)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, and_, false, true

from backend.auth.principal import Principal
from backend.orders.models import OrderRow
from backend_client.models import Role


class ScopedOrder(Protocol):
    """What the scope looks at: a row or a record (`orders/records.py`)."""

    @property
    def warehouse_id(self) -> str: ...
    @property
    def rider_id(self) -> int | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def status(self) -> str: ...


def order_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause limiting orders to the caller's scope."""
    owned = _owned(principal)
    if principal.stages is None:
        return owned
    return and_(owned, OrderRow.status.in_(sorted(principal.stages)))


def _owned(principal: Principal) -> ColumnElement[bool]:
    match principal.role:
        case Role.MERCHANT:
            return OrderRow.warehouse_id == principal.warehouse_id
        case Role.RIDER:
            return OrderRow.rider_id == principal.rider_id if principal.rider_id else false()
        case Role.CHANNEL:
            return OrderRow.channel == principal.channel if principal.channel else false()
    return true()


def order_in_scope(principal: Principal, order: ScopedOrder) -> bool:
    """The same rule as `order_scope`, for an order already loaded."""
    if principal.stages is not None and order.status not in principal.stages:
        return False
    match principal.role:
        case Role.MERCHANT:
            return order.warehouse_id == principal.warehouse_id
        case Role.RIDER:
            return principal.rider_id is not None and order.rider_id == principal.rider_id
        case Role.CHANNEL:
            return principal.channel is not None and order.channel == principal.channel
    return True
