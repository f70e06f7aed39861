"""Row-level scope: what a merchant, rider or channel may see of orders, riders and stock.

Objects outside the caller's scope answer 404, exactly as if they did not exist, so ids
belonging to someone else leak nothing. Each domain applies the rule to its own tables
(`orders/scope.py`, `riders/scope.py`); warehouses are here, where every domain can reach them.
"""

from __future__ import annotations

from backend.auth.principal import Principal
from backend_client.models import Role


def warehouse_in_scope(principal: Principal, warehouse_id: str) -> bool:
    """Merchants work in their own warehouse only."""
    if principal.role == Role.MERCHANT:
        return principal.warehouse_id == warehouse_id
    return True
