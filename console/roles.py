"""Which console actions a role may not take, and why (shown dimmed, with the reason).

The server decides in the end (a 403 becomes a notification); this keeps the console from
offering what would only be refused.
"""

from __future__ import annotations

from backend_client.models import Role

WATCHES = "a viewer account watches; it does not change anything"
DECIDED_AT_THE_DESK = "returns and claims are decided by support or a supervisor"
DISPATCHING = "reassigning riders is for dispatchers and supervisors"

DENIED: dict[str, dict[Role, str]] = {
    "act": {Role.VIEWER: WATCHES},
    "acknowledge": {Role.VIEWER: WATCHES},
    "snooze": {Role.VIEWER: WATCHES},
    "approve": {r: DECIDED_AT_THE_DESK for r in (Role.DISPATCHER, Role.VIEWER, Role.MERCHANT)},
    "reject": {r: DECIDED_AT_THE_DESK for r in (Role.DISPATCHER, Role.VIEWER, Role.MERCHANT)},
    "take_back": {r: DECIDED_AT_THE_DESK for r in (Role.DISPATCHER, Role.VIEWER, Role.MERCHANT)},
    "reassign": {r: DISPATCHING for r in (Role.SUPPORT, Role.VIEWER, Role.MERCHANT)},
}
"""Guarded action name -> role -> why not."""


def denial(role: Role | str | None, action: str) -> str | None:
    """Why `role` may not take `action`, or None when it may."""
    if role is None:
        return None
    return DENIED.get(action, {}).get(Role(role))
