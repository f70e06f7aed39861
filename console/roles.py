"""Which console actions a role may not take, and why (shown dimmed, with the reason).

The server decides in the end (a 403 becomes a notification); this keeps the console from
offering what would only be refused.
"""

from __future__ import annotations

from backend_client.models import Role

DENIED: dict[str, dict[Role, str]] = {
    "act": {Role.VIEWER: "a viewer account watches; it does not change orders"},
}
"""Guarded action name -> role -> why not."""


def denial(role: Role | str | None, action: str) -> str | None:
    """Why `role` may not take `action`, or None when it may."""
    if role is None:
        return None
    return DENIED.get(action, {}).get(Role(role))
