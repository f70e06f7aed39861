"""Which riders a rider or merchant may see (the rule of `auth/scope.py`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from backend.auth.principal import Principal
from backend.riders.models import RiderRow
from backend_client.models import Role


def rider_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause limiting riders: a rider sees themselves, a merchant their warehouse's."""
    match principal.role:
        case Role.RIDER:
            return RiderRow.id == principal.rider_id if principal.rider_id else false()
        case Role.MERCHANT:
            return RiderRow.warehouse_id == principal.warehouse_id
    return true()
