"""Every table, imported in one place so the metadata is complete (Alembic reads it here)."""

from backend.alerts.models import AlertRow
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
from backend.notifications.models import NotificationRow
from backend.orders.models import CustomerRow, OrderItemRow, OrderRow
from backend.proof.models import OrderPinRow, ProofRow
from backend.realtime.models import EventRow
from backend.restock.models import RestockDecisionRow
from backend.returns.models import ReturnRequestRow
from backend.riders.models import (
    DeliveryProgressRow,
    RiderPositionRow,
    RiderRow,
    StreetRow,
    ZoneRow,
)
from backend.routes.models import RiderRouteRow, RouteStopRow
from backend.sensors.models import TemperatureReadingRow
from backend.ssh.models import SshKeyRow, SshSessionRow
from backend.staffing.models import ShiftRow
from backend.takeover.models import TakeoverRow
from backend.tiers.models import ArchiveDayRow, ArchiveErasureRow
from backend.tracking.models import TrackingLinkRow
from backend.views.models import SavedViewRow
from backend.webhooks.models import WebhookRow

__all__ = [
    "AlertRow",
    "ArchiveDayRow",
    "ArchiveErasureRow",
    "Base",
    "ChannelCallbackRow",
    "ChannelOrderRow",
    "ChannelRejectionRow",
    "ChannelStatementRow",
    "CustomerRow",
    "DeliveryItemRow",
    "DeliveryProgressRow",
    "DeliveryRow",
    "EventRow",
    "IdempotencyRow",
    "NotificationRow",
    "OrderItemRow",
    "OrderPinRow",
    "OrderRow",
    "ProofRow",
    "RestockDecisionRow",
    "ReturnRequestRow",
    "RiderPositionRow",
    "RiderRouteRow",
    "RiderRow",
    "RouteStopRow",
    "SavedViewRow",
    "ShiftRow",
    "SkuRow",
    "SshKeyRow",
    "SshSessionRow",
    "StockRow",
    "StreetRow",
    "TakeoverRow",
    "TemperatureReadingRow",
    "TokenRow",
    "TrackingLinkRow",
    "UserRow",
    "WarehouseRow",
    "WebhookRow",
    "ZoneRow",
]
