"""Which console actions an account may not take, and why (shown dimmed, with the reason).

The server says what the account may do (`Me.permissions`, computed from its permission table)
and decides in the end (a 403 becomes a notification); this only maps the console's guarded
actions to the permission each needs, and says in words why it is missing.
"""

from __future__ import annotations

from backend_client.models import Me, Role

ORDERS_TRANSITION = "orders:transition"
ORDERS_ASSIGN = "orders:assign"
ALERTS_READ = "alerts:read"
ALERTS_HANDLE = "alerts:handle"
RETURNS_DECIDE = "returns:decide"
KPI_READ = "kpi:read"
PROOFS_READ = "proofs:read"
WEBHOOKS_MANAGE = "webhooks:manage"
RIDERS_MOVE = "riders:move"
STAFFING_READ = "staffing:read"
STOCK_ADJUST = "stock:adjust"
COMPLAINTS_RESOLVE = "complaints:resolve"
VIEWS_KEEP = "views:keep"
"""The server's permission names the console reads (docs/permissions.md)."""

WATCHES = "a viewer account watches; it does not change anything"
DECIDED_AT_THE_DESK = "returns and claims are decided by support or a supervisor"
DISPATCHING = "reassigning riders is for dispatchers and supervisors"

GUARDS: dict[str, tuple[str, str]] = {
    "act": (ORDERS_TRANSITION, WATCHES),
    "acknowledge": (ALERTS_HANDLE, WATCHES),
    "snooze": (ALERTS_HANDLE, WATCHES),
    "approve": (RETURNS_DECIDE, DECIDED_AT_THE_DESK),
    "reject": (RETURNS_DECIDE, DECIDED_AT_THE_DESK),
    "take_back": (RETURNS_DECIDE, DECIDED_AT_THE_DESK),
    "reassign": (ORDERS_ASSIGN, DISPATCHING),
    "accept_handover": (ORDERS_ASSIGN, DISPATCHING),
    "keep_handover": (ORDERS_ASSIGN, DISPATCHING),
    "undo_handover": (ORDERS_ASSIGN, DISPATCHING),
    "proofs": (PROOFS_READ, "proofs of delivery are for the desk, the store and the rider"),
    "resume": (WEBHOOKS_MANAGE, "webhooks are managed by admins"),
    "move_zone": (RIDERS_MOVE, "moving riders between zones is for dispatchers and supervisors"),
    "adjust_stock": (STOCK_ADJUST, "stock is adjusted by the warehouse's own staff or an admin"),
    "resolve": (COMPLAINTS_RESOLVE, "complaints are resolved by support or a supervisor"),
    "views": (VIEWS_KEEP, "saved views are kept by the desk's accounts"),
    "lock_stop": (ORDERS_ASSIGN, "ordering riders' stops is for dispatchers and supervisors"),
    "move_stop": (ORDERS_ASSIGN, "ordering riders' stops is for dispatchers and supervisors"),
    "save_route": (ORDERS_ASSIGN, "ordering riders' stops is for dispatchers and supervisors"),
}
"""Guarded action name -> (the permission it needs, why not without it)."""


def may(me: Me | None, permission: str) -> bool:
    """Whether the server said `me` holds `permission`."""
    return me is not None and permission in me.permissions


def denial(me: Me | None, action: str) -> str | None:
    """Why `me` may not take `action`, or None when it may (or nobody is signed in yet)."""
    guard = GUARDS.get(action)
    if me is None or guard is None:
        return None
    permission, why = guard
    return None if permission in me.permissions else why


MERCHANT_HOME = "merchant"
"""The merchant's screen (`screens/merchant.py`): a store account's console opens there."""


def home_mode(me: Me | None) -> str:
    """The screen `me`'s console opens on: a store account its warehouse, anyone else the
    board."""
    return MERCHANT_HOME if me is not None and me.role == Role.MERCHANT else "board"


def screen_denial(me: Me | None, mode: str) -> str | None:
    """Why `me` may not open the screen `mode`, or None when it may (or nobody signed in yet).

    A store account works in its own warehouse: the desk's screens (board, exceptions, riders,
    KPIs, webhooks) are not its to open; the merchant screen has no warehouse for anyone else.
    """
    if me is None:
        return None
    if me.role == Role.MERCHANT:
        return None if mode == MERCHANT_HOME else "a store account sees its own warehouse only"
    if mode == MERCHANT_HOME:
        return "the store screen is for a warehouse's own staff"
    return None
