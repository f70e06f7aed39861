"""The permission table: which roles may call which endpoints.

Scope narrows it further (`scope.py`): a merchant acts only in their warehouse, a rider only on
their own orders and position, a channel only on its own orders. Lifecycle actions are checked
again per action by `orders/lifecycle.py`.

This module imports no domain: every router depends on it, so it sits under all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from backend_client.models import OrderState, Role

R = Role
S = OrderState


class Permission(StrEnum):
    ORDERS_READ = "orders:read"
    ORDERS_CREATE = "orders:create"
    ORDERS_TRANSITION = "orders:transition"
    ORDERS_ASSIGN = "orders:assign"
    RIDERS_READ = "riders:read"
    RIDERS_STATUS = "riders:status"
    RIDERS_POSITIONS = "riders:positions"
    RIDERS_RELAY = "riders:relay"
    RIDERS_REGISTER = "riders:register"
    DISPATCH_CONFIGURE = "dispatch:configure"
    WAREHOUSES_READ = "warehouses:read"
    STOCK_READ = "stock:read"
    STOCK_ADJUST = "stock:adjust"
    USERS_MANAGE = "users:manage"
    ALERTS_READ = "alerts:read"
    ALERTS_HANDLE = "alerts:handle"
    RETURNS_REQUEST = "returns:request"
    RETURNS_READ = "returns:read"
    RETURNS_DECIDE = "returns:decide"
    SENSORS_REPORT = "sensors:report"
    CHANNELS_READ = "channels:read"
    CHANNELS_RECONCILE = "channels:reconcile"
    KPI_READ = "kpi:read"
    PHONES_READ = "phones:read"
    CUSTOMERS_ERASE = "customers:erase"
    NOTIFICATIONS_READ = "notifications:read"
    TRACKING_READ = "tracking:read"
    PROOFS_RECORD = "proofs:record"
    PROOFS_READ = "proofs:read"
    PROOFS_EXPORT = "proofs:export"
    RETURNS_AFTER_SALE = "returns:aftersale"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    RESTOCK_READ = "restock:read"
    RESTOCK_DECIDE = "restock:decide"
    HANDOVER_READ = "handover:read"
    REPORTS_READ = "reports:read"
    SHIFTS_READ = "shifts:read"
    SHIFTS_MANAGE = "shifts:manage"
    RIDERS_MOVE = "riders:move"
    STAFFING_READ = "staffing:read"
    COMPLAINTS_OPEN = "complaints:open"
    COMPLAINTS_RESOLVE = "complaints:resolve"
    VIEWS_KEEP = "views:keep"


EVERYONE = frozenset(Role)
DESK = frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT, R.VIEWER})

PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.ORDERS_READ: EVERYONE,
    Permission.ORDERS_CREATE: frozenset({R.ADMIN, R.CHANNEL}),
    # Whoever takes some lifecycle action (orders/lifecycle.py, which checks each action again;
    # test_permissions holds the two to the same roles).
    Permission.ORDERS_TRANSITION: EVERYONE - {R.VIEWER},
    Permission.ORDERS_ASSIGN: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER}),
    Permission.RIDERS_READ: DESK | {R.MERCHANT, R.RIDER},
    Permission.RIDERS_STATUS: frozenset({R.ADMIN, R.DISPATCHER, R.RIDER}),
    Permission.RIDERS_POSITIONS: frozenset({R.ADMIN, R.RIDER}),
    # A location gateway relaying many phones' fixes runs as an admin account.
    Permission.RIDERS_RELAY: frozenset({R.ADMIN}),
    Permission.RIDERS_REGISTER: frozenset({R.ADMIN, R.SUPERVISOR}),
    Permission.DISPATCH_CONFIGURE: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER}),
    Permission.WAREHOUSES_READ: EVERYONE,
    Permission.STOCK_READ: DESK | {R.MERCHANT, R.CHANNEL},
    Permission.STOCK_ADJUST: frozenset({R.ADMIN, R.MERCHANT}),
    Permission.USERS_MANAGE: frozenset({R.ADMIN}),
    Permission.ALERTS_READ: DESK | {R.MERCHANT},
    Permission.ALERTS_HANDLE: frozenset(
        {R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT, R.MERCHANT}
    ),
    # The rider at the door, the desk, or the customer through their channel.
    Permission.RETURNS_REQUEST: frozenset(
        {R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT, R.RIDER, R.CHANNEL}
    ),
    Permission.RETURNS_READ: DESK | {R.MERCHANT},
    Permission.RETURNS_DECIDE: frozenset({R.ADMIN, R.SUPERVISOR, R.SUPPORT}),
    # A box or vehicle sensor reports through its rider's phone, the store, or a gateway.
    Permission.SENSORS_REPORT: frozenset({R.ADMIN, R.RIDER, R.MERCHANT}),
    # The gateway's refused payloads, for whoever answers the platforms' complaints.
    Permission.CHANNELS_READ: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT}),
    Permission.CHANNELS_RECONCILE: frozenset({R.ADMIN, R.SUPERVISOR}),
    # KPIs cover every warehouse and channel: the desk's, not a scoped account's.
    Permission.KPI_READ: DESK,
    # Whole phone numbers, for the desk that calls customers and riders when something goes
    # wrong; every other account gets them masked (`fields.py` applies it to every answer).
    Permission.PHONES_READ: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT}),
    # The customer asks their platform, or us; a channel erases only customers all of whose
    # orders came through it (privacy/erasure.py).
    Permission.CUSTOMERS_ERASE: frozenset({R.ADMIN, R.CHANNEL}),
    # What the customers were told and what failed to reach them: the desk that answers them.
    Permission.NOTIFICATIONS_READ: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT}),
    # An order's tracking link (`tracking_url`): the desk that talks to customers, and the
    # channel that sends it to them; not the store, the rider or a viewer.
    Permission.TRACKING_READ: frozenset(
        {R.ADMIN, R.SUPERVISOR, R.DISPATCHER, R.SUPPORT, R.CHANNEL}
    ),
    # Proof of delivery is taken at the door by the rider, or the dispatcher on their word;
    # read by the desk, the store and the rider (each in the scope of their order reads); a
    # day of it exported by the desk and the warehouse's own staff (backend/proof/).
    Permission.PROOFS_RECORD: frozenset({R.ADMIN, R.DISPATCHER, R.RIDER}),
    Permission.PROOFS_READ: DESK | {R.MERCHANT, R.RIDER},
    Permission.PROOFS_EXPORT: DESK | {R.MERCHANT},
    # After sale (the order signed), the customer asks through their channel or the desk:
    # not the rider, whose part ended at the door (returns/service.py).
    Permission.RETURNS_AFTER_SALE: frozenset({R.ADMIN, R.SUPERVISOR, R.SUPPORT, R.CHANNEL}),
    # Subscriptions carry the whole event stream out of the building: admins set them up;
    # supervisors watch their lag and failures on the console's Webhooks screen.
    Permission.WEBHOOKS_READ: frozenset({R.ADMIN, R.SUPERVISOR}),
    Permission.WEBHOOKS_MANAGE: frozenset({R.ADMIN}),
    # Restock suggestions read like stock (the desk and the store; a merchant their own
    # warehouse's), but not by channels, who sell what is on the shelf and order none of it;
    # ordering goods is for whoever may change stock (backend/restock/).
    Permission.RESTOCK_READ: DESK | {R.MERCHANT},
    Permission.RESTOCK_DECIDE: frozenset({R.ADMIN, R.MERCHANT}),
    # The shift handover digest: the desk's shift, with the whole fleet's riders, KPIs and
    # alerts; a store's staff follow their own warehouse on its screens (docs/handover.md).
    Permission.HANDOVER_READ: DESK,
    # The day report: the desk's covers every warehouse; a merchant's only their own, without
    # the channels' reconciliation, which spans warehouses (backend/reports/).
    Permission.REPORTS_READ: DESK | {R.MERCHANT},
    # Rosters (backend/staffing/): the desk plans them; the store sees its riders' (in the scope
    # of its rider reads), a rider their own.
    Permission.SHIFTS_READ: DESK | {R.MERCHANT, R.RIDER},
    Permission.SHIFTS_MANAGE: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER}),
    # Moving a rider to another zone (and so another warehouse): the dispatcher's call.
    Permission.RIDERS_MOVE: frozenset({R.ADMIN, R.SUPERVISOR, R.DISPATCHER}),
    # Planned against needed per zone covers every zone: the desk's view.
    Permission.STAFFING_READ: DESK,
    # The customer complains to support or through their channel (a refund's reason may be a
    # complaint, too: channels/callbacks.py); support answers it, within its claim limit for
    # vouchers and refunds (returns/complaints.py). Read with the other requests.
    Permission.COMPLAINTS_OPEN: frozenset({R.ADMIN, R.SUPERVISOR, R.SUPPORT, R.CHANNEL}),
    Permission.COMPLAINTS_RESOLVE: frozenset({R.ADMIN, R.SUPERVISOR, R.SUPPORT}),
    # Saved views are the board's, which is the desk's screen (a store opens its warehouse);
    # each account keeps and sees only its own (backend/views/).
    Permission.VIEWS_KEEP: DESK,
}

CLAIM_LIMIT_CENTS: dict[Role, int | None] = {
    R.SUPPORT: 20_000,
    R.SUPERVISOR: 200_000,
    R.ADMIN: None,
}
"""The largest claim each deciding role may approve (None: any amount)."""


STAGES: dict[Role, frozenset[OrderState]] = {
    # Store staff: their warehouse's orders from payment until a rider takes them out (the
    # dispatch itself shows, as it leaves picking), the returns coming back to the shelf, and
    # their stock; not what happens on the road, nor how an order ended.
    R.MERCHANT: frozenset({S.PAID, S.PICKING, S.OUT_OF_STOCK, S.RETURNING}),
}
"""The order states each role sees, on top of its warehouse, rider or channel scope (the
default of setting `stage_scope`); a role not named sees every state."""


def stages_of(
    role: Role | str, table: Mapping[Role, frozenset[OrderState]]
) -> frozenset[str] | None:
    """The states `role` sees by `table` as plain strings, or None for every state."""
    try:
        stages = table.get(Role(role))
    except ValueError:  # the system's own role
        return None
    return None if stages is None else frozenset(str(s) for s in stages)


def claim_limit_cents(role: Role | str) -> int | None:
    return CLAIM_LIMIT_CENTS.get(Role(role), 0)


def allowed(role: str, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]


def permissions_of(role: Role | str) -> list[Permission]:
    """Everything `role` may do, in the table's order: what `GET /auth/me` tells a console."""
    return [permission for permission, roles in PERMISSIONS.items() if Role(role) in roles]
