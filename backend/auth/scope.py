"""Row-level scope: what a merchant, rider or channel may see of orders, riders and stock.

Objects outside the caller's scope answer 404, exactly as if they did not exist, so ids
belonging to someone else leak nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from backend.auth.principal import Principal
from backend.orders.models import OrderRow
from backend.riders.models import RiderRow
from backend_client.models import Role


def order_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause limiting orders to the caller's scope."""
    match principal.role:
        case Role.MERCHANT:
            return OrderRow.warehouse_id == principal.warehouse_id
        case Role.RIDER:
            return OrderRow.rider_id == principal.rider_id if principal.rider_id else false()
        case Role.CHANNEL:
            return OrderRow.channel == principal.channel if principal.channel else false()
    return true()


def order_in_scope(principal: Principal, order: OrderRow) -> bool:
    """The same rule as `order_scope`, for an order already loaded."""
    match principal.role:
        case Role.MERCHANT:
            return order.warehouse_id == principal.warehouse_id
        case Role.RIDER:
            return principal.rider_id is not None and order.rider_id == principal.rider_id
        case Role.CHANNEL:
            return principal.channel is not None and order.channel == principal.channel
    return True


def rider_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause limiting riders: a rider sees themselves, a merchant their warehouse's."""
    match principal.role:
        case Role.RIDER:
            return RiderRow.id == principal.rider_id if principal.rider_id else false()
        case Role.MERCHANT:
            return RiderRow.warehouse_id == principal.warehouse_id
    return true()


def warehouse_in_scope(principal: Principal, warehouse_id: str) -> bool:
    """Merchants work in their own warehouse only."""
    if principal.role == Role.MERCHANT:
        return principal.warehouse_id == warehouse_id
    return True
