"""Every table, imported in one place so the metadata is complete (Alembic reads it here)."""

from backend.auth.models import TokenRow, UserRow
from backend.channels.models import (
    ChannelCallbackRow,
    ChannelOrderRow,
    ChannelRejectionRow,
    ChannelStatementRow,
)
from backend.db import Base
from backend.dispatch.models import DeliveryItemRow, DeliveryRow
from backend.idempotency import IdempotencyRow
from backend.inventory.models import SkuRow, StockRow, WarehouseRow
from backend.orders.models import CustomerRow, OrderItemRow, OrderRow
from backend.realtime.models import EventRow
from backend.riders.models import RiderPositionRow, RiderRow

__all__ = [
    "Base",
    "ChannelCallbackRow",
    "ChannelOrderRow",
    "ChannelRejectionRow",
    "ChannelStatementRow",
    "CustomerRow",
    "DeliveryItemRow",
    "DeliveryRow",
    "EventRow",
    "IdempotencyRow",
    "OrderItemRow",
    "OrderRow",
    "RiderPositionRow",
    "RiderRow",
    "SkuRow",
    "StockRow",
    "TokenRow",
    "UserRow",
    "WarehouseRow",
]
