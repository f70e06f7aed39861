"""What accounts outside the desk (merchants, riders, channels) may not learn from events.

They see what happened to their orders, but not which staff member did it nor from where:
the actor is shown as its role, and the client address is dropped.
"""

from __future__ import annotations

from typing import Any

from backend.auth.principal import Principal
from backend_client.models import Role

OUTSIDE_ROLES = frozenset({Role.MERCHANT, Role.RIDER, Role.CHANNEL})


def sees_staff_details(principal: Principal) -> bool:
    return principal.role not in OUTSIDE_ROLES


def redact_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event (wire dict) as an outside account may see it."""
    return {**event, "actor": event["role"], "client_addr": None}
