"""Who may call what: the role x endpoint matrix, row-level scope, authentication, lifecycle roles.

The docs' permission, REST and lifecycle tables (docs/permissions.md, docs/api.md,
docs/orders.md; README_* below, named for where they lived first) are copied here by hand and
checked against the code and against the pages, so a change to either side is a deliberate one. The
database-backed tests each run once per database and loop over their matrix inside, so the
whole file stays fast.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.routing import APIRoute

from backend.app import create_app
from backend.auth.deps import Gate
from backend.auth.permissions import PERMISSIONS, Permission, claim_limit_cents
from backend.orders.lifecycle import RULES, RULES_BY_ACTION, roles_taking_any_action
from backend_client.models import OrderAction
from tests import support
from tests.backend import proof_support, takeover_support
from tests.backend.ssh_support import ssh_public_key
from tests.support import Api, customer

API = "/api/v1"
DOCS = Path(__file__).resolve().parents[2] / "docs"
PERMISSION_PAGE = DOCS / "permissions.md"  # the permission table
REST_PAGE = DOCS / "api.md"  # the REST table
LIFECYCLE_PAGE = DOCS / "orders.md"  # the lifecycle table

# One representative account per role.
ACCOUNTS: dict[str, str] = {
    "admin": "admin",
    "supervisor": "supervisor",
    "dispatcher": "dispatcher",
    "support": "support",
    "viewer": "viewer",
    "merchant": "merchant-wh-cy",
    "rider": "rider-1",
    "channel": "channel-app",
}
ROLES = tuple(ACCOUNTS)
EVERYONE = frozenset(ROLES)

# --- The README tables, copied by hand --------------------------------------------------------

README_PERMISSIONS: dict[str, frozenset[str]] = {
    "orders:read": EVERYONE,
    "orders:create": frozenset({"admin", "channel"}),
    "orders:transition": EVERYONE - {"viewer"},
    "orders:assign": frozenset({"admin", "supervisor", "dispatcher"}),
    "riders:read": EVERYONE - {"channel"},
    "riders:status": frozenset({"admin", "dispatcher", "rider"}),
    "riders:positions": frozenset({"admin", "rider"}),
    "riders:relay": frozenset({"admin"}),
    "riders:register": frozenset({"admin", "supervisor"}),
    "dispatch:configure": frozenset({"admin", "supervisor", "dispatcher"}),
    "warehouses:read": EVERYONE,
    "stock:read": EVERYONE - {"rider"},
    "stock:adjust": frozenset({"admin", "merchant"}),
    "users:manage": frozenset({"admin"}),
    "alerts:read": EVERYONE - {"rider", "channel"},
    "alerts:handle": frozenset({"admin", "supervisor", "dispatcher", "support", "merchant"}),
    "returns:request": EVERYONE - {"viewer", "merchant"},
    "returns:read": EVERYONE - {"rider", "channel"},
    "returns:decide": frozenset({"admin", "supervisor", "support"}),
    "sensors:report": frozenset({"admin", "merchant", "rider"}),
    "channels:read": frozenset({"admin", "supervisor", "dispatcher", "support"}),
    "channels:reconcile": frozenset({"admin", "supervisor"}),
    "kpi:read": frozenset({"admin", "supervisor", "dispatcher", "support", "viewer"}),
    "phones:read": frozenset({"admin", "supervisor", "dispatcher", "support"}),
    "customers:erase": frozenset({"admin", "channel"}),
    "notifications:read": frozenset({"admin", "supervisor", "dispatcher", "support"}),
    "tracking:read": frozenset({"admin", "supervisor", "dispatcher", "support", "channel"}),
    "proofs:record": frozenset({"admin", "dispatcher", "rider"}),
    "proofs:read": EVERYONE - {"channel"},
    "proofs:export": EVERYONE - {"rider", "channel"},
    "returns:aftersale": frozenset({"admin", "supervisor", "support", "channel"}),
    "webhooks:read": frozenset({"admin", "supervisor"}),
    "webhooks:manage": frozenset({"admin"}),
    "restock:read": EVERYONE - {"rider", "channel"},
    "restock:decide": frozenset({"admin", "merchant"}),
    "handover:read": frozenset({"admin", "supervisor", "dispatcher", "support", "viewer"}),
    "reports:read": EVERYONE - {"rider", "channel"},
    "shifts:read": EVERYONE - {"channel"},
    "shifts:manage": frozenset({"admin", "supervisor", "dispatcher"}),
    "riders:move": frozenset({"admin", "supervisor", "dispatcher"}),
    "staffing:read": frozenset({"admin", "supervisor", "dispatcher", "support", "viewer"}),
    "complaints:open": frozenset({"admin", "supervisor", "support", "channel"}),
    "complaints:resolve": frozenset({"admin", "supervisor", "support"}),
    "views:keep": frozenset({"admin", "supervisor", "dispatcher", "support", "viewer"}),
}

PUBLIC = "none"
FP = "SHA256:" + "A" * 43  # a fingerprint of nobody's key
ANY_ACCOUNT = "any account"

# (method, path as the app declares it, permission) for every row of the README's REST table.
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/health", PUBLIC),
    ("GET", "/health/ready", PUBLIC),
    ("POST", "/auth/token", PUBLIC),
    ("POST", "/auth/logout", ANY_ACCOUNT),
    ("GET", "/auth/me", ANY_ACCOUNT),
    ("GET", "/users", "users:manage"),
    ("POST", "/users", "users:manage"),
    ("PATCH", "/users/{user_id}", "users:manage"),
    ("GET", "/orders", "orders:read"),
    ("POST", "/orders", "orders:create"),
    ("GET", "/orders/{order_id}", "orders:read"),
    ("GET", "/orders/{order_id}/timeline", "orders:read"),
    ("GET", "/orders/{order_id}/actions", "orders:read"),
    ("POST", "/orders/{order_id}/transitions", "orders:transition"),
    ("POST", "/orders/transitions", "orders:transition"),
    ("POST", "/orders/{order_id}/assign", "orders:assign"),
    ("GET", "/orders/{order_id}/rider-suggestions", "orders:assign"),
    ("GET", "/riders", "riders:read"),
    ("GET", "/riders/{rider_id}", "riders:read"),
    ("POST", "/riders/{rider_id}/status", "riders:status"),
    ("POST", "/riders", "riders:register"),
    ("POST", "/riders/{rider_id}/positions", "riders:positions"),
    ("POST", "/positions", "riders:relay"),
    ("GET", "/riders/{rider_id}/track", "riders:read"),
    ("GET", "/riders/{rider_id}/route", "riders:read"),
    ("GET", "/riders/{rider_id}/plan", "riders:read"),
    ("PUT", "/riders/{rider_id}/plan", "orders:assign"),
    ("GET", "/orders/{order_id}/track", "orders:read"),
    ("GET", "/zones", "warehouses:read"),
    ("GET", "/warehouses", "warehouses:read"),
    ("GET", "/warehouses/{warehouse_id}", "warehouses:read"),
    ("GET", "/warehouses/{warehouse_id}/stock", "stock:read"),
    ("POST", "/warehouses/{warehouse_id}/stock/{sku}/adjust", "stock:adjust"),
    ("GET", "/warehouses/{warehouse_id}/losses", "returns:read"),
    ("PUT", "/warehouses/{warehouse_id}/dispatch", "dispatch:configure"),
    ("POST", "/riders/{rider_id}/handover", "orders:assign"),
    ("GET", "/alerts", "alerts:read"),
    ("GET", "/alerts/{alert_id}", "alerts:read"),
    ("GET", "/alerts/rules", "alerts:read"),
    ("POST", "/alerts/{alert_id}/acknowledge", "alerts:handle"),
    ("POST", "/alerts/{alert_id}/snooze", "alerts:handle"),
    ("POST", "/orders/{order_id}/returns", "returns:request"),
    ("POST", "/orders/{order_id}/claims", "returns:request"),
    ("POST", "/orders/{order_id}/exchanges", "returns:aftersale"),
    ("GET", "/requests", "returns:read"),
    ("GET", "/requests/{request_id}", "returns:read"),
    ("POST", "/requests/{request_id}/approve", "returns:decide"),
    ("POST", "/requests/{request_id}/reject", "returns:decide"),
    ("POST", "/requests/{request_id}/reopen", "returns:decide"),
    ("POST", "/orders/{order_id}/complaints", "complaints:open"),
    ("POST", "/requests/{request_id}/resolve", "complaints:resolve"),
    ("POST", "/sensors/readings", "sensors:report"),
    ("GET", "/orders/{order_id}/sensors", "orders:read"),
    ("GET", "/events", ANY_ACCOUNT),
    ("GET", "/orders/{order_id}/deliveries", "orders:read"),
    # Signed by the channel's secret instead of a token (backend/channels/gate.py).
    ("POST", "/channels/{channel}/orders", PUBLIC),
    ("POST", "/channels/{channel}/callbacks", PUBLIC),
    ("GET", "/channels", "channels:read"),
    ("GET", "/channels/rejections", "channels:read"),
    ("GET", "/channels/reconciliation", "channels:reconcile"),
    ("GET", "/channels/reconciliation.csv", "channels:reconcile"),
    ("GET", "/kpi/summary", "kpi:read"),
    ("GET", "/kpi/series", "kpi:read"),
    ("GET", "/kpi/exceptions", "kpi:read"),
    ("GET", "/kpi/reconciliation", "kpi:read"),
    ("POST", "/orders/{order_id}/proof", "proofs:record"),
    ("GET", "/orders/{order_id}/proofs", "proofs:read"),
    ("GET", "/orders/{order_id}/proofs/{sha256}", "proofs:read"),
    ("GET", "/warehouses/{warehouse_id}/proofs.zip", "proofs:export"),
    ("DELETE", "/customers/{customer_id}", "customers:erase"),
    ("GET", "/notifications", "notifications:read"),
    ("GET", "/webhooks", "webhooks:read"),
    ("GET", "/webhooks/{webhook_id}", "webhooks:read"),
    ("POST", "/webhooks", "webhooks:manage"),
    ("DELETE", "/webhooks/{webhook_id}", "webhooks:manage"),
    ("POST", "/webhooks/{webhook_id}/replay", "webhooks:manage"),
    ("POST", "/webhooks/{webhook_id}/resume", "webhooks:manage"),
    ("GET", "/handover", "handover:read"),
    ("GET", "/takeovers", "orders:assign"),
    ("GET", "/takeovers/{takeover_id}", "orders:assign"),
    ("POST", "/takeovers/{takeover_id}/accept", "orders:assign"),
    ("POST", "/takeovers/{takeover_id}/dismiss", "orders:assign"),
    ("POST", "/takeovers/{takeover_id}/undo", "orders:assign"),
    # The tracking link's token is the credential (backend/tracking/router.py).
    ("GET", "/track/{token}", PUBLIC),
    ("GET", "/track/{token}/map", PUBLIC),
    ("POST", "/track/{token}/signature", PUBLIC),
    ("POST", "/orders/{order_id}/signature-request", "orders:transition"),
    ("GET", "/warehouses/{warehouse_id}/restock", "restock:read"),
    ("POST", "/warehouses/{warehouse_id}/restock/{sku}/decision", "restock:decide"),
    (
        "POST",
        "/warehouses/{warehouse_id}/restock/decisions/{decision_id}/receive",
        "restock:decide",
    ),
    ("GET", "/reports/day", "reports:read"),
    ("GET", "/riders/{rider_id}/shifts", "shifts:read"),
    ("POST", "/riders/{rider_id}/shifts", "shifts:manage"),
    ("PATCH", "/riders/{rider_id}/shifts/{shift_id}", "shifts:manage"),
    ("DELETE", "/riders/{rider_id}/shifts/{shift_id}", "shifts:manage"),
    ("POST", "/riders/{rider_id}/zone", "riders:move"),
    ("GET", "/staffing", "staffing:read"),
    ("GET", "/views", "views:keep"),
    ("GET", "/views/{view_id}", "views:keep"),
    ("POST", "/views", "views:keep"),
    ("PATCH", "/views/{view_id}", "views:keep"),
    ("DELETE", "/views/{view_id}", "views:keep"),
    ("GET", "/ssh-keys", "users:manage"),
    ("POST", "/ssh-keys", "users:manage"),
    ("DELETE", "/ssh-keys/{key_id}", "users:manage"),
    # The SSH gateway's own secret instead of a token (backend/ssh/router.py).
    ("POST", "/ssh/gateway/lookup", PUBLIC),
    ("POST", "/ssh/gateway/sessions", PUBLIC),
    ("POST", "/ssh/gateway/live", PUBLIC),
)
PROTECTED = tuple(e for e in ENDPOINTS if e[2] != PUBLIC)

# action -> (from states, to state, roles besides admin), as in the README's lifecycle table.
README_LIFECYCLE: dict[str, tuple[frozenset[str], str, frozenset[str]]] = {
    "pay": (frozenset({"CREATED"}), "PAID", frozenset({"channel"})),
    "start_picking": (frozenset({"PAID"}), "PICKING", frozenset({"dispatcher", "merchant"})),
    "report_out_of_stock": (
        frozenset({"PAID", "PICKING"}),
        "OUT_OF_STOCK",
        frozenset({"dispatcher", "merchant", "system"}),
    ),
    "restock": (frozenset({"OUT_OF_STOCK"}), "PICKING", frozenset({"dispatcher", "merchant"})),
    "dispatch": (
        frozenset({"PICKING"}),
        "DELIVERING",
        frozenset({"dispatcher", "merchant", "rider"}),
    ),
    "sign": (frozenset({"DELIVERING"}), "SIGNED", frozenset({"dispatcher", "rider"})),
    "report_exception": (
        frozenset({"DELIVERING"}),
        "EXCEPTION",
        frozenset({"dispatcher", "rider", "supervisor", "support"}),
    ),
    "resume": (
        frozenset({"EXCEPTION"}),
        "DELIVERING",
        frozenset({"dispatcher", "supervisor", "system"}),
    ),
    "start_return": (
        frozenset({"EXCEPTION", "SIGNED"}),
        "RETURNING",
        frozenset({"supervisor", "support"}),
    ),
    "complete_return": (
        frozenset({"RETURNING"}),
        "RETURNED",
        frozenset({"merchant", "supervisor", "support"}),
    ),
    "start_claim": (
        frozenset({"EXCEPTION", "SIGNED"}),
        "CLAIMING",
        frozenset({"supervisor", "support"}),
    ),
    "settle_claim": (
        frozenset({"CLAIMING"}),
        "CLAIM_SETTLED",
        frozenset({"supervisor", "support"}),
    ),
    "cancel": (
        frozenset({"CREATED", "PAID", "OUT_OF_STOCK"}),
        "CANCELLED",
        frozenset({"channel", "dispatcher", "supervisor", "support"}),
    ),
}


# Taken by deciding a return or claim request, never as a transition of its own.
BY_REQUEST = frozenset({"start_return", "start_claim"})


def may_act(role: str, action: str) -> bool:
    """Whether the role may take the action as a transition."""
    if action in BY_REQUEST:
        return False
    return role == "admin" or role in README_LIFECYCLE[action][2]


def allowed_actions(state: str, role: str) -> set[str]:
    return {a for a, (sources, _, _) in README_LIFECYCLE.items() if state in sources} & {
        a for a in README_LIFECYCLE if may_act(role, a)
    }


# --- Helpers ----------------------------------------------------------------------------------

MISSING_ORDER = 2**31 - 1
REASON = "permission test"
_serial = itertools.count(1)


async def login(api: Api, username: str) -> dict[str, Any]:
    """A fresh token (not the cached one of `Api`), as the token endpoint answers it."""
    response = await api.client.post(
        f"{API}/auth/token", data={"username": username, "password": f"demo-{username}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The steps that walk a new order to a state: (account, action); "pay" is the channel's.
WALKS: dict[str, tuple[tuple[str, str], ...]] = {
    "CREATED": (),
    "PAID": (("channel", "pay"),),
    "PICKING": (("channel", "pay"), ("dispatcher", "start_picking")),
    "OUT_OF_STOCK": (("channel", "pay"), ("dispatcher", "report_out_of_stock")),
    "DELIVERING": (
        ("channel", "pay"),
        ("dispatcher", "start_picking"),
        ("dispatcher", "dispatch"),
    ),
    "EXCEPTION": (
        ("channel", "pay"),
        ("dispatcher", "start_picking"),
        ("dispatcher", "dispatch"),
        ("dispatcher", "report_exception"),
    ),
    "RETURNING": (
        ("channel", "pay"),
        ("dispatcher", "start_picking"),
        ("dispatcher", "dispatch"),
        ("dispatcher", "returns"),
        ("support", "approve"),
    ),
    "SIGNED": (
        ("channel", "pay"),
        ("dispatcher", "start_picking"),
        ("dispatcher", "dispatch"),
        ("dispatcher", "sign"),
    ),
    "CLAIMING": (
        ("channel", "pay"),
        ("dispatcher", "start_picking"),
        ("dispatcher", "dispatch"),
        ("dispatcher", "claims"),
        ("supervisor", "approve"),
    ),
}


async def open_request(api: Api, account: str, order: dict[str, Any], kind: str) -> dict[str, Any]:
    """A return or a claim (one bok choy, 1.00) for the order, as `account` opens it."""
    body: dict[str, Any] = {"version": order["version"], "reason": REASON}
    if kind == "claims":
        body |= {"items": [{"sku": "VEG-BOKCHOY", "quantity": 1}], "amount_cents": 100}
    response = await api.post(account, f"/orders/{order['id']}/{kind}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def approve(api: Api, account: str, request: dict[str, Any]) -> None:
    body = {"version": request["version"], "reason": REASON}
    response = await api.post(account, f"/requests/{request['id']}/approve", json=body)
    assert response.status_code == 200, response.text


async def order_in(
    api: Api,
    state: str,
    *,
    rider: int | None = None,
    channel_user: str = "channel-app",
    warehouse_id: str = "WH-CY",
    **fields: Any,
) -> dict[str, Any]:
    """A new non-cold-chain order walked to `state`, given to `rider` right after payment."""
    order = await api.create_order(channel_user=channel_user, warehouse_id=warehouse_id, **fields)
    request: dict[str, Any] = {}
    for who, action in WALKS[state]:
        account = channel_user if who == "channel" else who
        if action in ("returns", "claims"):
            request = await open_request(api, account, order, action)
        elif action == "approve":
            await approve(api, account, request)
            order = await admin_view(api, order)
        else:
            order = await api.act(account, order, action, reason=REASON)
        if action == "pay" and rider is not None:
            order = await api.assign(order, rider)
    assert order["status"] == state, order
    assert order["rider_id"] == rider, order
    return order


async def photo_of(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    """A photo proving `order`'s delivery, as the dispatcher uploads it."""
    response = await api.post(
        "dispatcher",
        f"/orders/{order['id']}/proof",
        data={"kind": "photo"},
        files={"file": ("door.png", proof_support.png())},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def admin_view(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    response = await api.get("admin", f"/orders/{order['id']}")
    assert response.status_code == 200, response.text
    return response.json()


async def assert_unchanged(api: Api, order: dict[str, Any], events_before: int) -> None:
    now = await admin_view(api, order)
    assert (now["version"], now["status"], now["rider_id"]) == (
        order["version"],
        order["status"],
        order["rider_id"],
    ), f"order {order['id']} changed: {now}"
    assert await api.event_count() == events_before, "a refused call wrote an event"


def assert_error(response: httpx.Response, status: int, where: str = "") -> dict[str, Any]:
    assert response.status_code == status, f"{where}: {response.status_code} {response.text}"
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], f"{where}: {response.text}"
    return body


def assert_hidden(
    response: httpx.Response, twin: httpx.Response, order: dict[str, Any], where: str
) -> None:
    """404 exactly like a missing order (`twin`), and nothing of the order in the answer."""
    body = assert_error(response, 404, where)
    missing = assert_error(twin, 404, f"{where} (missing twin)")
    assert set(body) == set(missing), where
    assert body["detail"].replace(str(order["id"]), "<id>") == missing["detail"].replace(
        str(MISSING_ORDER), "<id>"
    ), where
    for secret in (
        order["external_id"],
        order["customer"]["name"],
        order["customer"]["phone"],
        order["warehouse_id"],
        order["address"],
    ):
        assert secret not in response.text, f"{where} leaks {secret!r}: {response.text}"


async def list_ids(api: Api, username: str, **params: Any) -> list[int]:
    response = await api.get(username, "/orders", params={"limit": 500, **params})
    assert response.status_code == 200, f"{username} {params}: {response.text}"
    page = response.json()
    assert page["next_cursor"] is None
    return [o["id"] for o in page["items"]]


async def paged_ids(api: Api, username: str) -> list[int]:
    """Every order the account can list, walking pages of one."""
    ids: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        response = await api.get(username, "/orders", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        assert len(ids) < 100, "paging does not end"


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


# --- The tables agree: README copy, README itself, code, routes -------------------------------


def test_permission_table_matches_readme_copy_and_code():
    code = {str(p): frozenset(str(r) for r in roles) for p, roles in PERMISSIONS.items()}
    assert code == README_PERMISSIONS
    assert set(README_PERMISSIONS) == {str(p) for p in Permission}

    # The copy above is faithful to the page itself.
    lines = PERMISSION_PAGE.read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| permission |"))
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    assert columns == list(ROLES)
    parsed: dict[str, frozenset[str]] = {}
    for line in lines:
        match = re.match(r"^\| `([a-z]+:[a-z]+)` \|(.*)\|$", line)
        if match:
            cells = [c.strip() for c in match.group(2).split("|")]
            parsed[match.group(1)] = frozenset(
                role for role, cell in zip(columns, cells, strict=True) if "✓" in cell
            )
    assert parsed == README_PERMISSIONS


def test_whoever_takes_a_lifecycle_action_may_call_the_transition_routes():
    # permissions.py names the roles itself (it imports no domain); the lifecycle table decides.
    transitioning = {str(r) for r in PERMISSIONS[Permission.ORDERS_TRANSITION]}
    assert transitioning == set(roles_taking_any_action())


def test_rest_table_matches_readme_copy_and_routes():
    # The REST table of docs/api.md, row by row.
    documented: set[tuple[str, str, str]] = set()
    for line in REST_PAGE.read_text(encoding="utf-8").splitlines():
        if not re.match(r"^\| `(GET|POST|PUT|PATCH|DELETE) /", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        permission_cell = cells[-1]
        named = re.search(r"`([a-z]+:[a-z]+)`", permission_cell)
        if named:
            permission = named.group(1)
        elif permission_cell.startswith("none"):
            permission = PUBLIC
        else:
            assert permission_cell == ANY_ACCOUNT, line
            permission = ANY_ACCOUNT
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", cells[0]):
            documented.add((method, normalise(path), permission))
    copy = {(m, normalise(p), perm) for m, p, perm in ENDPOINTS}
    assert documented == copy

    # Every /api/v1 operation the app publishes is in the table, and nothing in it is missing.
    app = create_app(support.settings_for("sqlite+aiosqlite:///:memory:"))
    served = {
        (method.upper(), path.removeprefix(API))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(API + "/")
        for method in operations
    }
    assert served == {(m, p) for m, p, _ in ENDPOINTS}


def test_each_route_checks_the_permission_its_row_names():
    # The matrix below expects of each endpoint what its row says; here the row is held to the
    # gate its route really passes (backend/auth/deps.py), so neither can change alone.
    app = create_app(support.settings_for("sqlite+aiosqlite:///:memory:"))
    checked: dict[tuple[str, str], str] = {}
    for included in app.routes:
        router = getattr(included, "original_router", None)
        for route in getattr(router, "routes", []):
            if not isinstance(route, APIRoute) or route.path.startswith("/t/"):
                continue  # (the customer's tracking page, /t/..., is not the API)
            gates = [d.call for d in route.dependant.dependencies if isinstance(d.call, Gate)]
            permission = (
                PUBLIC
                if not gates
                else ANY_ACCOUNT
                if gates[0].permission is None
                else str(gates[0].permission)
            )
            for method in route.methods:
                checked[method, route.path.removeprefix(API)] = permission
    rows = {(m, p): perm for m, p, perm in ENDPOINTS if p != "/health"}
    assert checked == rows


def test_lifecycle_table_matches_readme_copy_and_code():
    code = {
        str(rule.action): (
            frozenset(str(s) for s in rule.sources),
            str(rule.target),
            frozenset(rule.roles) - {"admin"},
        )
        for rule in RULES
    }
    assert code == README_LIFECYCLE
    assert all("admin" in rule.roles for rule in RULES), "admin always may act"
    assert {str(rule.action) for rule in RULES if rule.by_request} == BY_REQUEST

    parsed = {}
    for line in LIFECYCLE_PAGE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| ([A-Z_, ]+) \| ([A-Z_]+)[^|]* \|([^|]*)\|", line)
        if match:
            action, sources, target, roles = match.groups()
            parsed[action] = (
                frozenset(s.strip() for s in sources.split(",")),
                target,
                frozenset(r.strip() for r in roles.split(",") if r.strip()),
            )
    assert parsed == README_LIFECYCLE
    by_approval = {
        action
        for action in README_LIFECYCLE
        for line in LIFECYCLE_PAGE.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{action}` |") and "by approving a" in line
    }
    assert by_approval == BY_REQUEST


# --- 1. The role x endpoint matrix ------------------------------------------------------------


@dataclass
class Call:
    """One request of the matrix, valid enough to succeed where the role may make it."""

    path: str
    json: Any = None
    data: dict[str, str] | None = None
    token: str | None = None
    ok: int = 200


class Matrix:
    """Objects every role can reach within its scope, one per role where a call changes things."""

    def __init__(self, api: Api) -> None:
        self.api = api

    async def prepare(self) -> None:
        api = self.api
        await api.rider_online(1)
        await api.rider_online(2)
        # WH-CY, channel app, carried by rider 1: inside every scoped account's scope.
        self.shared = await order_in(api, "PICKING", rider=1)
        users = (await api.get("admin", "/users")).json()
        self.viewer_id = next(u["id"] for u in users if u["username"] == "viewer")
        self.transitions: dict[str, tuple[dict[str, Any], str]] = {
            "admin": (await order_in(api, "CREATED"), "pay"),
            "supervisor": (await order_in(api, "CREATED"), "cancel"),
            "dispatcher": (await order_in(api, "PAID"), "start_picking"),
            "support": (await order_in(api, "CREATED"), "cancel"),
            "viewer": (await order_in(api, "CREATED"), "cancel"),
            "merchant": (await order_in(api, "PAID"), "start_picking"),
            "rider": (await order_in(api, "PICKING", rider=1), "dispatch"),
            "channel": (await order_in(api, "CREATED"), "pay"),
        }
        # Each assigner gets an order of its own; the refused ones share one that must stay put.
        untouched = await order_in(api, "PAID")
        self.assignable = {
            role: await order_in(api, "PAID") if holds(role, "orders:assign") else untouched
            for role in ROLES
        }
        # Handovers pass one order between riders 3 and 4, a role at a time.
        for rider in range(3, 13):
            await api.rider_online(rider)
        self.handed = await order_in(api, "PICKING", rider=3)
        # Orders out for delivery to open returns and claims on (rider 1's for the rider).
        spare = itertools.cycle(range(5, 13))

        async def out_for(role: str) -> dict[str, Any]:
            return await order_in(api, "DELIVERING", rider=1 if role == "rider" else next(spare))

        self.out = {
            kind: {role: await out_for(role) for role in ROLES if holds(role, "returns:request")}
            for kind in ("returns", "claims")
        }
        # Requests waiting for a decision: one to approve and one to reject per decider.
        self.waiting = {
            (verdict, role): await open_request(
                api, "dispatcher", await out_for("dispatcher"), "returns"
            )
            for verdict in ("approve", "reject")
            for role in ROLES
            if holds(role, "returns:decide")
        }
        # Proofs: a PIN to prove per recorder (rider 1, who has no room for more, on the order
        # its claim will stop in EXCEPTION); a photo of an order each reader sees: returning to
        # WH-CY for the store (taken on the road before), rider 1's own for the rider.
        self.provable = {
            role: self.out["claims"]["rider"] if role == "rider" else await out_for(role)
            for role in ROLES
            if holds(role, "proofs:record")
        }
        # Signed orders to open exchanges on, after sale.
        self.signed = {
            role: await order_in(api, "SIGNED", rider=next(spare))
            for role in ROLES
            if holds(role, "returns:aftersale")
        }
        # Complaints waiting for support, one per resolver, about a signed order.
        about = self.signed["admin"]["id"]
        categories = iter(("late", "quality", "other", "damaged"))
        self.complaints = {
            role: (
                await api.post(
                    "support",
                    f"/orders/{about}/complaints",
                    json={"category": next(categories), "reason": REASON},
                )
            ).json()
            for role in ROLES
            if holds(role, "complaints:resolve")
        }
        returning = await order_in(api, "DELIVERING", rider=next(spare))
        self.photos = {
            "rider": await photo_of(api, self.out["claims"]["rider"]),
            "merchant": await photo_of(api, returning),
        }
        await approve(api, "support", await open_request(api, "dispatcher", returning, "returns"))
        # A return on its way back to WH-CY: the request every reader sees, store staff too
        # (they see an order's returns while it is RETURNING, not while it waits on the road).
        back = await order_in(api, "RETURNING", rider=4)
        requests = (await api.get("admin", "/requests", params={"order_id": back["id"]})).json()
        self.returning_request = requests[0]
        # Alerts in WH-CY: one to read, one per handler to acknowledge and to snooze.
        handlers = [role for role in ROLES if holds(role, "alerts:handle")]
        short = [await order_in(api, "OUT_OF_STOCK") for _ in range(1 + 2 * len(handlers))]
        await api.app.state.runtime.alerts.evaluate()
        alerts = {a["order_id"]: a for a in (await api.get("admin", "/alerts")).json()}
        self.alert = alerts[short[0]["id"]]
        self.to_handle = {
            (verb, role): alerts[short[1 + 2 * i + j]["id"]]
            for i, role in enumerate(handlers)
            for j, verb in enumerate(("acknowledge", "snooze"))
        }

    async def takeover(self, *, carried_out: bool) -> tuple[int, int]:
        """A handover proposal of the order riders 3 and 4 pass around (any standing one
        dismissed first: one per rider): from its rider to the other, or, carried out, from
        the other to its rider. Its id and version."""
        order = await admin_view(self.api, self.handed)
        holder = order["rider_id"]
        return await takeover_support.seed(
            self.api, order, giver=7 - holder if carried_out else holder,
            taker=holder if carried_out else 7 - holder, carried_out=carried_out,
        )  # fmt: skip

    async def webhook(self) -> int:
        """A fresh subscription (to a port nobody listens on), for one call to act on."""
        body = {"url": "http://127.0.0.1:9/hook", "kinds": ["order.*"]}
        response = await self.api.post("admin", "/webhooks", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    async def call(self, method: str, template: str, role: str) -> Call:
        api = self.api
        account = ACCOUNTS[role]
        n = next(_serial)
        shared = self.shared["id"]
        match method, template:
            case "GET", "/health":
                return Call("/health")
            case "GET", "/health/ready":
                return Call("/health/ready")
            case "POST", "/auth/token":
                return Call(
                    "/auth/token", data={"username": account, "password": f"demo-{account}"}
                )
            case "POST", "/auth/logout":
                token = (await login(api, account))["access_token"]
                return Call("/auth/logout", token=token, ok=204)
            case "GET", "/auth/me":
                return Call("/auth/me")
            case "GET", "/events":
                return Call("/events?since=0&topics=orders")
            case "GET", "/users":
                return Call("/users")
            case "PATCH", "/users/{user_id}":
                # Enabling an enabled account: allowed, and it changes nothing.
                return Call(f"/users/{self.viewer_id}", json={"active": True})
            case "POST", "/users":
                body = {
                    "username": f"made-by-{role}",
                    "password": "long-password",
                    "role": "viewer",
                }
                return Call("/users", json=body, ok=201)
            case "DELETE", "/customers/{customer_id}":
                # A customer of the channel's alone, with nothing open: erasable by who may.
                mine = await api.create_order(customer=customer(phone=f"1390000{n:04d}"))
                await api.act("channel-app", mine, "cancel", reason=REASON)
                return Call(f"/customers/{mine['customer']['id']}")
            case "GET", "/webhooks":
                return Call("/webhooks")
            case "POST", "/webhooks":
                body = {"url": f"http://127.0.0.1:9/{role}", "kinds": ["order.*"]}
                return Call("/webhooks", json=body, ok=201)
            case _, "/webhooks/{webhook_id}" | "/webhooks/{webhook_id}/resume":
                hook = await self.webhook()
                return Call(template.replace("{webhook_id}", str(hook)), ok=_ok(method))
            case "POST", "/webhooks/{webhook_id}/replay":
                hook = await self.webhook()
                return Call(f"/webhooks/{hook}/replay", json={"from_seq": 1})
            case "GET", "/orders":
                return Call("/orders")
            case "GET", "/notifications":
                return Call("/notifications")
            case "GET", "/handover":
                return Call("/handover")
            case "GET", "/takeovers":
                return Call("/takeovers")
            case "GET", "/takeovers/{takeover_id}":
                takeover_id, _ = await self.takeover(carried_out=False)
                return Call(f"/takeovers/{takeover_id}")
            case "POST", "/takeovers/{takeover_id}/accept" | "/takeovers/{takeover_id}/dismiss":
                takeover_id, version = await self.takeover(carried_out=False)
                verb = template.rsplit("/", 1)[1]
                return Call(f"/takeovers/{takeover_id}/{verb}", json={"version": version})
            case "POST", "/takeovers/{takeover_id}/undo":
                takeover_id, version = await self.takeover(carried_out=True)
                return Call(f"/takeovers/{takeover_id}/undo", json={"version": version})
            case "POST", "/orders":
                body: dict[str, Any] = {
                    "external_id": f"MATRIX-{role}-{n}",
                    "customer": customer(),
                    "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
                    "warehouse_id": "WH-CY",
                }
                if role != "channel":
                    body["channel"] = "app"
                return Call("/orders", json=body, ok=201)
            case "GET", "/orders/{order_id}":
                return Call(f"/orders/{shared}")
            case "GET", "/orders/{order_id}/timeline":
                return Call(f"/orders/{shared}/timeline")
            case "GET", "/orders/{order_id}/actions":
                return Call(f"/orders/{shared}/actions")
            case "POST", "/orders/{order_id}/transitions":
                order, action = self.transitions[role]
                body = {"action": action, "version": order["version"], "reason": REASON}
                return Call(f"/orders/{order['id']}/transitions", json=body)
            case "POST", "/orders/transitions":
                # A stale version: answered for every role that may transition, and refused
                # inside without changing anything.
                item = {"order_id": shared, "action": "cancel", "version": 999, "reason": REASON}
                return Call("/orders/transitions", json={"transitions": [item]})
            case "POST", "/orders/{order_id}/assign":
                order = self.assignable[role]
                body = {"rider_id": 2, "version": order["version"]}
                return Call(f"/orders/{order['id']}/assign", json=body)
            case "GET", "/orders/{order_id}/rider-suggestions":
                return Call(f"/orders/{shared}/rider-suggestions")
            case "GET", "/riders":
                return Call("/riders")
            case "POST", "/riders":
                recruit = {
                    "name": f"Recruit {role}",
                    "phone": f"1370000{n:04d}",
                    "warehouse_id": "WH-CY",
                    "capacity": 3,
                }
                return Call("/riders", json={"riders": [recruit]}, ok=201)
            case "POST", "/positions":
                at = api.clock.now() - timedelta(seconds=n)
                fix = {"rider_id": 2, "lat": 39.93, "lng": 116.45, "at": at.isoformat()}
                return Call("/positions", json={"fixes": [fix]})
            case "GET", "/riders/{rider_id}":
                return Call("/riders/1")
            case "GET", "/riders/{rider_id}/track" | "/riders/{rider_id}/route" | (
                "/riders/{rider_id}/plan"
            ):
                return Call(template.replace("{rider_id}", "1"))
            case "GET", "/orders/{order_id}/track":
                return Call(f"/orders/{shared}/track")
            case "GET", "/zones":
                return Call("/zones")
            case "PUT", "/riders/{rider_id}/plan":
                # Rider 1's stops as they are now, in the order read, at the version read.
                plan = (await api.get("admin", "/riders/1/plan")).json()
                stops = [
                    {"order_id": v["order_id"], "locked": True}
                    for v in plan["visits"]
                    if v["kind"] == "drop"
                ]
                return Call("/riders/1/plan", json={"version": plan["version"], "stops": stops})
            case "POST", "/riders/{rider_id}/status":
                return Call("/riders/1/status", json={"status": "online"})
            case "POST", "/riders/{rider_id}/positions":
                at = api.clock.now() - timedelta(seconds=n)
                point = {"lat": 39.93, "lng": 116.45, "at": at.isoformat()}
                return Call("/riders/1/positions", json={"points": [point]})
            case "GET", "/warehouses":
                return Call("/warehouses")
            case "GET", "/warehouses/{warehouse_id}":
                return Call("/warehouses/WH-CY")
            case "GET", "/warehouses/{warehouse_id}/stock":
                return Call("/warehouses/WH-CY/stock")
            case "POST", "/warehouses/{warehouse_id}/stock/{sku}/adjust":
                body = {"delta": 1, "reason": REASON}
                return Call("/warehouses/WH-CY/stock/VEG-TOMATO/adjust", json=body)
            case "GET", "/warehouses/{warehouse_id}/restock":
                return Call("/warehouses/WH-CY/restock?lead_hours=12")
            case "POST", "/warehouses/{warehouse_id}/restock/{sku}/decision":
                plan = (await api.get("admin", "/warehouses/WH-CY/restock")).json()
                tomato = next(s for s in plan["suggestions"] if s["sku"] == "VEG-TOMATO")
                body = {"action": "adjust", "version": tomato["version"], "suggested": 0}
                body["quantity"] = 2
                return Call("/warehouses/WH-CY/restock/VEG-TOMATO/decision", json=body, ok=201)
            case "POST", "/warehouses/{warehouse_id}/restock/decisions/{decision_id}/receive":
                plan = (await api.get("admin", "/warehouses/WH-CY/restock")).json()
                milk = next(s for s in plan["suggestions"] if s["sku"] == "DAI-MILK")
                body = {"action": "adjust", "version": milk["version"], "suggested": 0}
                body["quantity"] = 1
                made = await api.post(
                    "admin", "/warehouses/WH-CY/restock/DAI-MILK/decision", json=body
                )
                assert made.status_code == 201, made.text
                return Call(f"/warehouses/WH-CY/restock/decisions/{made.json()['id']}/receive")
            case "PUT", "/warehouses/{warehouse_id}/dispatch":
                return Call("/warehouses/WH-CY/dispatch", json={"auto_dispatch": True})
            case "POST", "/riders/{rider_id}/handover":
                order = await admin_view(api, self.handed)
                giver = order["rider_id"]
                body = {
                    "to_rider_id": 7 - giver,
                    "orders": [{"id": order["id"], "version": order["version"]}],
                }
                return Call(f"/riders/{giver}/handover", json=body)
            case "GET", "/alerts":
                return Call("/alerts")
            case "GET", "/alerts/{alert_id}":
                return Call(f"/alerts/{self.alert['id']}")
            case "GET", "/alerts/rules":
                return Call("/alerts/rules")
            case "POST", "/alerts/{alert_id}/acknowledge" | "/alerts/{alert_id}/snooze":
                verb = template.rsplit("/", 1)[1]
                alert = self.to_handle.get((verb, role), self.alert)
                body = {"version": alert["version"], "note": REASON}
                if verb == "snooze":
                    body["minutes"] = 15
                return Call(f"/alerts/{alert['id']}/{verb}", json=body)
            case "POST", "/orders/{order_id}/returns" | "/orders/{order_id}/claims":
                kind = template.rsplit("/", 1)[1]
                order = self.out[kind].get(role, self.shared)
                body = {"version": order["version"], "reason": REASON}
                if kind == "claims":
                    body |= {"items": [{"sku": "VEG-BOKCHOY", "quantity": 1}], "amount_cents": 100}
                return Call(f"/orders/{order['id']}/{kind}", json=body, ok=201)
            case "POST", "/orders/{order_id}/exchanges":
                order = self.signed.get(role, self.shared)
                body = {
                    "version": order["version"],
                    "reason": REASON,
                    "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
                }
                return Call(f"/orders/{order['id']}/exchanges", json=body, ok=201)
            case "POST", "/orders/{order_id}/complaints":
                order = self.signed.get(role, self.shared)
                body = {"category": "rider_conduct", "reason": REASON}
                return Call(f"/orders/{order['id']}/complaints", json=body, ok=201)
            case "POST", "/requests/{request_id}/resolve":
                complaint = self.complaints.get(role, self.complaints["admin"])
                body = {"version": complaint["version"], "outcome": "apology"}
                return Call(f"/requests/{complaint['id']}/resolve", json=body)
            case "GET", "/requests":
                return Call("/requests")
            case "GET", "/requests/{request_id}":
                return Call(f"/requests/{self.returning_request['id']}")
            case "POST", "/requests/{request_id}/approve" | "/requests/{request_id}/reject":
                verdict = template.rsplit("/", 1)[1]
                request = self.waiting.get((verdict, role), self.waiting["approve", "admin"])
                body = {"version": request["version"], "reason": REASON}
                return Call(f"/requests/{request['id']}/{verdict}", json=body)
            case "POST", "/requests/{request_id}/reopen":
                # Rejected a moment ago by this role (every role's reject comes first).
                request = self.waiting.get(("reject", role), self.waiting["reject", "admin"])
                body = {"version": request["version"] + 1, "reason": REASON}
                return Call(f"/requests/{request['id']}/reopen", json=body)
            case "POST", "/sensors/readings":
                at = api.clock.now() - timedelta(seconds=n)
                reading = {"rider_id": 1, "celsius": 4.5, "at": at.isoformat()}
                return Call("/sensors/readings", json={"readings": [reading]})
            case "GET", "/orders/{order_id}/deliveries":
                return Call(f"/orders/{shared}/deliveries")
            case "GET", "/orders/{order_id}/sensors":
                return Call(f"/orders/{shared}/sensors")
            case "POST", "/channels/{channel}/orders" | "/channels/{channel}/callbacks":
                # Taken on the channel's signature alone: a token, whoever's, is none.
                return Call(template.replace("{channel}", "app"), json={}, ok=401)
            case "GET", "/channels" | "/channels/rejections":
                return Call(template)
            case "GET", "/channels/reconciliation" | "/channels/reconciliation.csv":
                return Call(f"{template}?day=2026-11-22")
            case "GET", "/kpi/summary" | "/kpi/series" | "/kpi/exceptions":
                return Call(template)
            case "GET", "/kpi/reconciliation":
                return Call("/kpi/reconciliation?tz=Asia/Shanghai")
            case "GET", "/track/{token}" | "/track/{token}/map":
                # Open to anyone with a link; an account's token is no link.
                return Call(template.replace("{token}", "Q" * 32), ok=404)
            case "POST", "/track/{token}/signature":
                body = {"signature_png": "data:image/png;base64,AAAA"}
                return Call(f"/track/{'Q' * 32}/signature", json=body, ok=404)
            case "POST", "/orders/{order_id}/signature-request":
                # Whoever may sign the order off asks (the lifecycle's `sign` roles); the shared
                # order is still being picked.
                ok = 409 if role in ("admin", "dispatcher", "rider") else 403
                return Call(f"/orders/{shared}/signature-request", ok=ok)
            case "POST", "/orders/{order_id}/proof":
                order = self.provable.get(role, self.shared)
                pin = await proof_support.pin_of(api, order["id"])
                return Call(f"/orders/{order['id']}/proof", json={"pin": pin}, ok=201)
            case "GET", "/orders/{order_id}/proofs":
                return Call(f"/orders/{shared}/proofs")
            case "GET", "/orders/{order_id}/proofs/{sha256}":
                photo = self.photos.get(role, self.photos["merchant"])
                return Call(f"/orders/{photo['order_id']}/proofs/{photo['sha256']}")
            case "GET", "/warehouses/{warehouse_id}/proofs.zip":
                return Call("/warehouses/WH-CY/proofs.zip?day=2026-11-22")
            case "GET", "/reports/day":
                return Call("/reports/day?day=2026-11-22")
            case "GET", "/riders/{rider_id}/shifts":
                return Call("/riders/1/shifts")
            case "POST", "/riders/{rider_id}/shifts":
                # A day of its own for each call, weeks past the demo's roster.
                start = api.clock.now() + timedelta(days=30 + n)
                body = {
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=4)).isoformat(),
                    "zone": "Chaoyang",
                }
                return Call("/riders/1/shifts", json=body, ok=201)
            case _, "/riders/{rider_id}/shifts/{shift_id}":
                start = api.clock.now() + timedelta(days=30 + n)
                body = {
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=4)).isoformat(),
                    "zone": "Chaoyang",
                }
                planned = await api.post("admin", "/riders/1/shifts", json=body)
                assert planned.status_code == 201, planned.text
                path = f"/riders/1/shifts/{planned.json()['id']}"
                if method == "PATCH":
                    return Call(path, json={"version": 1, "zone": "Wangjing"})
                return Call(path, ok=204)
            case "POST", "/riders/{rider_id}/zone":
                # Where rider 1 is already: allowed, and it changes nothing.
                return Call("/riders/1/zone", json={"zone": "Chaoyang"})
            case "GET", "/staffing":
                return Call("/staffing")
            case "GET", "/views":
                return Call("/views")
            case "POST", "/views":
                # A name of its own for each call (names are unique per account).
                return Call("/views", json={"name": f"v{n}", "settings": {}}, ok=201)
            case _, "/views/{view_id}":
                # Each role's own view (the admin's for roles that may keep none: they are
                # refused before it is looked up); another account's is 404, tested in
                # tests/backend/test_views.py.
                owner = ACCOUNTS[role] if holds(role, "views:keep") else "admin"
                body = {"name": f"w{n}", "settings": {}}
                made = await api.post(owner, "/views", json=body)
                assert made.status_code == 201, made.text
                path = f"/views/{made.json()['id']}"
                if method == "PATCH":
                    return Call(path, json={"version": 1, "default": True})
                return Call(path, ok=204 if method == "DELETE" else 200)
            case "GET", "/ssh-keys":
                return Call("/ssh-keys")
            case "POST", "/ssh-keys":
                body = {"user_id": self.viewer_id, "public_key": ssh_public_key()}
                return Call("/ssh-keys", json=body, ok=201)
            case "DELETE", "/ssh-keys/{key_id}":
                body = {"user_id": self.viewer_id, "public_key": ssh_public_key()}
                added = await api.post("admin", "/ssh-keys", json=body)
                assert added.status_code == 201, added.text
                return Call(f"/ssh-keys/{added.json()['id']}", ok=204)
            case "POST", "/ssh/gateway/lookup" | "/ssh/gateway/sessions" | "/ssh/gateway/live":
                # Taken on the gateway's secret alone: an account's token, whoever's, is none.
                body = {"key_ids": [1]} if template.endswith("live") else {"fingerprint": FP}
                return Call(template, json=body, ok=401)
            case "GET", "/warehouses/{warehouse_id}/losses":
                return Call("/warehouses/WH-CY/losses")
        raise AssertionError(f"no request built for {method} {template}")


def _ok(method: str) -> int:
    return 204 if method == "DELETE" else 200


def holds(role: str, permission: str) -> bool:
    """What the code's table says (the README copy is checked against it above)."""
    if permission in (PUBLIC, ANY_ACCOUNT):
        return True
    return role in PERMISSIONS[Permission(permission)]


async def test_role_endpoint_matrix(api: Api):
    matrix = Matrix(api)
    await matrix.prepare()
    failures: list[str] = []
    for (method, template, permission), role in itertools.product(ENDPOINTS, ROLES):
        account = ACCOUNTS[role]
        call = await matrix.call(method, template, role)
        token = call.token or await api.token(account)
        before = await api.event_count() if method in ("POST", "PATCH") else 0
        response = await api.client.request(
            method, API + call.path, headers=bearer(token), json=call.json, data=call.data
        )
        where = f"{role} ({account}) {method} {template} [{permission}]"
        if holds(role, permission):
            if response.status_code != call.ok:
                failures.append(
                    f"{where}: expected {call.ok}, got {response.status_code} {response.text}"
                )
        elif response.status_code != 403:
            failures.append(f"{where}: expected 403, got {response.status_code} {response.text}")
        else:
            assert_error(response, 403, where)
            if method in ("POST", "PATCH") and await api.event_count() != before:
                failures.append(f"{where}: answered 403 but wrote an event")
    assert not failures, "\n".join(failures)

    # The successes did what they say, the refusals did nothing.
    for role, (order, _) in matrix.transitions.items():
        changed = (await admin_view(api, order))["version"] != order["version"]
        assert changed == holds(role, "orders:transition"), role
    for role, order in matrix.assignable.items():
        rider = (await admin_view(api, order))["rider_id"]
        assert rider == (2 if holds(role, "orders:assign") else None), role
    me = {role: (await api.get(account, "/auth/me")).json() for role, account in ACCOUNTS.items()}
    assert {role: m["role"] for role, m in me.items()} == {r: r for r in ROLES}
    # Each account is told what its role may do: the table the console dims its keys by.
    assert {role: m["permissions"] for role, m in me.items()} == {
        role: [p.value for p in Permission if holds(role, p)] for role in me
    }
    # ...and the largest claim it may approve (the simulator routes claims by it).
    assert {role: m["claim_limit_cents"] for role, m in me.items()} == {
        role: claim_limit_cents(role) for role in me
    }
    assert me["support"]["claim_limit_cents"] == 20_000 and me["admin"]["claim_limit_cents"] is None


# --- 2. Scope: ids that belong to someone else ------------------------------------------------


async def test_merchant_sees_and_touches_only_its_warehouse(api: Api):
    merchant = "merchant-wh-cy"
    hd = await order_in(
        api, "PAID", warehouse_id="WH-HD", customer=customer(name="Hidden Hu", phone="13911110001")
    )
    own = await order_in(api, "PAID")
    assert (await api.get(merchant, f"/orders/{own['id']}")).status_code == 200

    for suffix in ("", "/timeline", "/actions", "/track"):
        assert_hidden(
            await api.get(merchant, f"/orders/{hd['id']}{suffix}"),
            await api.get(merchant, f"/orders/{MISSING_ORDER}{suffix}"),
            hd,
            f"merchant GET /orders/{{id}}{suffix}",
        )
    events = await api.event_count()
    for action in ("start_picking", "report_out_of_stock"):
        body = {"action": action, "version": hd["version"], "reason": REASON}
        twin = await api.post(merchant, f"/orders/{MISSING_ORDER}/transitions", json=body)
        response = await api.post(merchant, f"/orders/{hd['id']}/transitions", json=body)
        assert_hidden(response, twin, hd, f"merchant {action} on another warehouse's order")
    await assert_unchanged(api, hd, events)

    # Its list and its filters stay inside WH-CY.
    assert await list_ids(api, merchant) == [own["id"]]
    assert await list_ids(api, merchant, warehouse_id="WH-HD") == []
    assert await list_ids(api, merchant, q=str(hd["id"])) == []

    # Stock: another warehouse's answers like a warehouse that does not exist.
    own_stock = await api.get(merchant, "/warehouses/WH-CY/stock")
    assert own_stock.status_code == 200
    assert {s["warehouse_id"] for s in own_stock.json()} == {"WH-CY"}
    other = assert_error(await api.get(merchant, "/warehouses/WH-HD/stock"), 404, "stock WH-HD")
    missing = assert_error(await api.get(merchant, "/warehouses/WH-NONE/stock"), 404, "WH-NONE")
    assert other["detail"].replace("WH-HD", "X") == missing["detail"].replace("WH-NONE", "X")
    level = await api.stock("WH-HD", "VEG-TOMATO")
    events = await api.event_count()
    for delta in (5, -5):
        response = await api.post(
            merchant,
            "/warehouses/WH-HD/stock/VEG-TOMATO/adjust",
            json={"delta": delta, "reason": REASON},
        )
        assert_error(response, 404, f"merchant adjusts WH-HD by {delta}")
    assert await api.stock("WH-HD", "VEG-TOMATO") == level
    assert await api.event_count() == events

    # Riders: its own warehouse's only.
    riders = (await api.get(merchant, "/riders")).json()
    assert [r["id"] for r in riders] == [1, 2, 3, 4]
    assert (await api.get(merchant, "/riders", params={"warehouse_id": "WH-HD"})).json() == []
    assert (await api.get(merchant, "/riders/1")).status_code == 200
    assert_error(await api.get(merchant, "/riders/9"), 404, "merchant GET another's rider")
    for suffix in ("/track", "/route"):
        assert (await api.get(merchant, f"/riders/1{suffix}")).status_code == 200
        assert_error(await api.get(merchant, f"/riders/9{suffix}"), 404, f"merchant {suffix}")

    # The 404 was scope, not state: WH-HD's own merchant may act on the same order.
    await api.act("merchant-wh-hd", hd, "start_picking")


async def test_rider_sees_only_own_orders_and_self(api: Api):
    await api.rider_online(1)
    await api.rider_online(2)
    mine = await order_in(api, "PICKING", rider=1)
    theirs = await order_in(api, "PICKING", rider=2, customer=customer(phone="13911110002"))
    unassigned = await order_in(api, "PICKING", customer=customer(phone="13911110003"))
    assert (await api.get("rider-1", f"/orders/{mine['id']}")).status_code == 200

    events = await api.event_count()
    for order in (theirs, unassigned):
        for suffix in ("", "/timeline", "/actions", "/track"):
            assert_hidden(
                await api.get("rider-1", f"/orders/{order['id']}{suffix}"),
                await api.get("rider-1", f"/orders/{MISSING_ORDER}{suffix}"),
                order,
                f"rider-1 GET /orders/{{id}}{suffix} of rider {order['rider_id']}",
            )
        body = {"action": "dispatch", "version": order["version"]}
        assert_hidden(
            await api.post("rider-1", f"/orders/{order['id']}/transitions", json=body),
            await api.post("rider-1", f"/orders/{MISSING_ORDER}/transitions", json=body),
            order,
            f"rider-1 dispatches the order of rider {order['rider_id']}",
        )
        await assert_unchanged(api, order, events)

    assert await list_ids(api, "rider-1") == [mine["id"]]
    assert await list_ids(api, "rider-1", rider_id=2) == []
    assert await list_ids(api, "rider-1", q=str(theirs["id"])) == []

    # Rider 2's shift and track are not rider 1's to change.
    point = {"lat": 39.93, "lng": 116.45, "at": api.clock.now().isoformat()}
    for path, body in (
        ("/riders/2/status", {"status": "break"}),
        ("/riders/2/status", {"status": "online"}),
        ("/riders/2/positions", {"points": [point]}),
    ):
        assert_error(await api.post("rider-1", path, json=body), 404, f"rider-1 POST {path}")
    rider_2 = (await api.get("admin", "/riders/2")).json()
    assert (rider_2["status"], rider_2["last_fix_at"]) == ("online", None)
    assert await api.event_count() == events

    # ... but their own are.
    own = await api.post("rider-1", "/riders/1/positions", json={"points": [point]})
    assert own.status_code == 200 and own.json()["accepted"] == 1

    assert [r["id"] for r in (await api.get("rider-1", "/riders")).json()] == [1]
    assert (await api.get("rider-1", "/riders", params={"warehouse_id": "WH-WJ"})).json() == []
    assert (await api.get("rider-1", "/riders/1")).status_code == 200
    assert_error(await api.get("rider-1", "/riders/2"), 404, "rider-1 GET /riders/2")
    for suffix in ("/track", "/route"):
        assert_error(await api.get("rider-1", f"/riders/2{suffix}"), 404, f"rider-1 {suffix}")


async def test_channel_sees_only_own_channel(api: Api):
    meituan = await order_in(
        api,
        "CREATED",
        channel_user="channel-meituan",
        customer=customer(name="Mei Tuan", phone="13911110004"),
    )
    own = await order_in(api, "CREATED")
    assert (await api.get("channel-app", f"/orders/{own['id']}")).status_code == 200

    events = await api.event_count()
    for suffix in ("", "/timeline", "/actions", "/track"):
        assert_hidden(
            await api.get("channel-app", f"/orders/{meituan['id']}{suffix}"),
            await api.get("channel-app", f"/orders/{MISSING_ORDER}{suffix}"),
            meituan,
            f"channel-app GET /orders/{{id}}{suffix} of meituan",
        )
    for action in ("pay", "cancel"):
        body = {"action": action, "version": meituan["version"], "reason": REASON}
        assert_hidden(
            await api.post("channel-app", f"/orders/{meituan['id']}/transitions", json=body),
            await api.post("channel-app", f"/orders/{MISSING_ORDER}/transitions", json=body),
            meituan,
            f"channel-app {action}s a meituan order",
        )
    await assert_unchanged(api, meituan, events)

    assert await list_ids(api, "channel-app") == [own["id"]]
    assert await list_ids(api, "channel-app", channel="meituan") == []
    assert await list_ids(api, "channel-app", q=meituan["external_id"]) == []

    # It cannot sell for another channel, not even by probing one of its order ids.
    all_orders = await list_ids(api, "admin")
    for external_id in ("APP-SELLS-AS-MEITUAN", meituan["external_id"]):
        body = {
            "external_id": external_id,
            "channel": "meituan",
            "customer": customer(),
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        }
        assert_error(await api.post("channel-app", "/orders", json=body), 403, external_id)
    assert await list_ids(api, "admin") == all_orders
    assert await api.event_count() == events
    # Admins create for any channel, but must name it.
    body = {
        "external_id": "ADMIN-NO-CHANNEL",
        "customer": customer(),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
    }
    assert_error(await api.post("admin", "/orders", json=body), 422, "admin without channel")
    assert await api.event_count() == events
    made = await api.post("admin", "/orders", json={**body, "channel": "meituan"})
    assert made.status_code == 201 and made.json()["channel"] == "meituan", made.text
    # External ids are per channel: reusing meituan's id for an app order is no conflict.
    again = await api.create_order(external_id=meituan["external_id"], channel="app")
    assert again["channel"] == "app"


async def test_order_list_and_search_never_leave_scope(api: Api):
    await api.rider_online(1)
    await api.rider_online(2)
    people = iter(
        [
            ("Alice Anders", "13700000011"),
            ("Bob Brandt", "13700000022"),
            ("Carol Chen", "13700000033"),
            ("Dave Deng", "13700000044"),
            ("Erin Eng", "13700000055"),
            ("Frank Fu", "13700000066"),
        ]
    )

    def who() -> dict[str, Any]:
        name, phone = next(people)
        return customer(name=name, phone=phone)

    orders = [
        await order_in(api, "CREATED", customer=who()),
        await order_in(api, "PAID", warehouse_id="WH-HD", customer=who()),
        await order_in(api, "CREATED", channel_user="channel-meituan", customer=who()),
        await order_in(
            api, "PAID", channel_user="channel-meituan", warehouse_id="WH-HD", customer=who()
        ),
        await order_in(api, "PICKING", rider=1, customer=who()),
        await order_in(api, "PAID", rider=2, channel_user="channel-meituan", customer=who()),
    ]
    everyone = {o["id"] for o in orders}
    assert set(await list_ids(api, "admin")) == everyone
    assert set(await list_ids(api, "viewer")) == everyone

    # Store staff see their warehouse's orders from payment on (STAGES): not CREATED ones.
    scopes = {
        "merchant-wh-cy": lambda o: o["warehouse_id"] == "WH-CY" and o["status"] != "CREATED",
        "merchant-wh-hd": lambda o: o["warehouse_id"] == "WH-HD" and o["status"] != "CREATED",
        "rider-1": lambda o: o["rider_id"] == 1,
        "rider-2": lambda o: o["rider_id"] == 2,
        "channel-app": lambda o: o["channel"] == "app",
        "channel-meituan": lambda o: o["channel"] == "meituan",
    }
    for account, in_scope in scopes.items():
        expected = {o["id"] for o in orders if in_scope(o)}
        listed = await list_ids(api, account)
        assert set(listed) == expected, account
        paged = await paged_ids(api, account)
        assert sorted(paged) == sorted(expected), f"{account} paging"
        for q in ("%", "_", "1"):  # wildcards and a digit matching ids and phone suffixes
            found = set(await list_ids(api, account, q=q))
            assert found <= expected, f"{account} q={q!r} leaks {found - expected}"
        for order in orders:
            c = order["customer"]
            first_name = c["name"].split()[0].lower()
            terms = [str(order["id"]), order["external_id"], first_name, c["phone"][-4:]]
            if in_scope(order):
                terms = terms[:1]  # search itself works; the leaks are what this test is after
            for q in terms:
                found = set(await list_ids(api, account, q=q))
                assert found <= expected, f"{account} q={q!r} leaks {found - expected}"
                assert (order["id"] in found) == in_scope(order), f"{account} q={q!r}"


# --- 3. Authentication ------------------------------------------------------------------------


def simple_call(method: str, template: str, order: dict[str, Any], now: datetime) -> Call:
    """A request to `template` that would succeed for an admin, for unauthenticated probes."""
    path = template.format(
        order_id=order["id"],
        rider_id=1,
        warehouse_id="WH-CY",
        sku="VEG-TOMATO",
        alert_id=1,
        request_id=1,
        user_id=1,
        customer_id=1,
        sha256="0" * 64,
        webhook_id=1,
        decision_id=1,
        shift_id=1,
        view_id=1,
        takeover_id=1,
        key_id=1,
    )
    bodies: dict[str, Any] = {
        "/users": {"username": "never-made", "password": "long-password", "role": "viewer"},
        "/users/{user_id}": {"active": False},
        "/orders": {
            "external_id": "NEVER-MADE",
            "channel": "app",
            "customer": customer(),
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        },
        "/orders/{order_id}/transitions": {"action": "cancel", "version": 1, "reason": REASON},
        "/orders/{order_id}/assign": {"rider_id": 1, "version": 1},
        "/orders/transitions": {
            "transitions": [{"order_id": order["id"], "action": "cancel", "version": 1}]
        },
        "/riders/{rider_id}/status": {"status": "break"},
        "/riders/{rider_id}/positions": {
            "points": [{"lat": 39.93, "lng": 116.45, "at": now.isoformat()}]
        },
        "/warehouses/{warehouse_id}/stock/{sku}/adjust": {"delta": 1, "reason": REASON},
        "/warehouses/{warehouse_id}/restock/{sku}/decision": {
            "action": "accept",
            "version": "d0",
            "suggested": 1,
        },
        "/webhooks": {"url": "http://127.0.0.1:9/hook", "kinds": ["order.*"]},
        "/webhooks/{webhook_id}/replay": {"from_seq": 1},
        "/riders/{rider_id}/shifts": {
            "starts_at": (now + timedelta(days=30)).isoformat(),
            "ends_at": (now + timedelta(days=30, hours=4)).isoformat(),
            "zone": "Chaoyang",
        },
        "/riders/{rider_id}/shifts/{shift_id}": {"version": 1, "zone": "Wangjing"},
        "/riders/{rider_id}/zone": {"zone": "Wangjing"},
        "/views": {"name": "never-made", "settings": {}},
        "/views/{view_id}": {"version": 1, "default": True},
        "/ssh-keys": {"user_id": 1, "public_key": ssh_public_key()},
    }
    return Call(path, json=bodies.get(template) if method in ("POST", "PATCH") else None)


async def probe_all(
    api: Api, order: dict[str, Any], headers: dict[str, str], label: str, **params: str
) -> list[str]:
    """Every protected endpoint with these headers; the ones not answering a JSON 401."""
    wrong: list[str] = []
    for method, template, _ in PROTECTED:
        call = simple_call(method, template, order, api.clock.now())
        response = await api.client.request(
            method, API + call.path, headers=headers, json=call.json, params=params or None
        )
        where = f"{label}: {method} {template}"
        if response.status_code != 401:
            wrong.append(f"{where} answered {response.status_code} {response.text}")
            continue
        detail = response.json().get("detail")
        if not isinstance(detail, str) or not detail:
            wrong.append(f"{where} has no JSON detail: {response.text}")
        if "bearer" not in response.headers.get("www-authenticate", "").lower():
            wrong.append(f"{where} has no WWW-Authenticate: Bearer")
    return wrong


async def test_unauthenticated_calls_answer_401_and_change_nothing(api: Api):
    order = await order_in(api, "CREATED")
    good = await api.token("admin")
    events = await api.event_count()
    variants: Iterable[tuple[str, dict[str, str]]] = (
        ("no header", {}),
        ("empty header", {"Authorization": ""}),
        ("scheme only", {"Authorization": "Bearer"}),
        ("blank token", {"Authorization": "Bearer    "}),
        ("unknown token", bearer("not-a-token-we-issued")),
        ("token of another shape", bearer(good[:-1])),
        ("valid token, no scheme", {"Authorization": good}),
        ("valid token, wrong scheme", {"Authorization": f"Token {good}"}),
        ("basic credentials", {"Authorization": "Basic YWRtaW46ZGVtby1hZG1pbg=="}),
    )
    wrong: list[str] = []
    for label, headers in variants:
        wrong += await probe_all(api, order, headers, label)
    # A token is never taken from the query string.
    wrong += await probe_all(api, order, {}, "token in query", access_token=good, token=good)
    assert not wrong, "\n".join(wrong)
    await assert_unchanged(api, order, events)

    # The scheme is case-insensitive; the right token in the right header works.
    for scheme in ("Bearer", "bearer", "BEARER"):
        me = await api.client.get(f"{API}/auth/me", headers={"Authorization": f"{scheme} {good}"})
        assert me.status_code == 200, scheme
    # The public ones need nothing.
    assert (await api.client.get(f"{API}/health")).json()["status"] == "ok"
    assert (await login(api, "viewer"))["role"] == "viewer"


async def test_revoked_and_expired_tokens_answer_401(api: Api):
    order = await order_in(api, "CREATED")
    other = (await login(api, "dispatcher"))["access_token"]

    # Logout revokes the token it carries, and only that one.
    token = (await login(api, "dispatcher"))["access_token"]
    assert (await api.client.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200
    assert (await api.client.post(f"{API}/auth/logout", headers=bearer(token))).status_code == 204
    wrong = await probe_all(api, order, bearer(token), "revoked token")
    assert not wrong, "\n".join(wrong)
    assert (await api.client.get(f"{API}/auth/me", headers=bearer(other))).status_code == 200

    # Tokens live 12 hours.
    issued = await login(api, "admin")
    expires_at = datetime.fromisoformat(issued["expires_at"])
    assert expires_at == api.clock.now() + timedelta(hours=12)
    fresh = bearer(issued["access_token"])
    api.clock.advance(hours=11, minutes=59)
    assert (await api.client.get(f"{API}/auth/me", headers=fresh)).status_code == 200
    api.clock.advance(hours=1, minutes=1)
    wrong = await probe_all(api, order, fresh, "expired token")
    wrong += await probe_all(api, order, bearer(other), "expired older token")
    assert not wrong, "\n".join(wrong)
    # Signing in again works.
    again = bearer((await login(api, "admin"))["access_token"])
    assert (await api.client.get(f"{API}/auth/me", headers=again)).status_code == 200


# --- 4. Lifecycle actions per role ------------------------------------------------------------


MERCHANT_STAGES = frozenset({"PAID", "PICKING", "OUT_OF_STOCK", "RETURNING"})
"""What store staff see of their warehouse's orders by default (README "Views scoped by
stage"), copied by hand."""


def account_for(role: str, order: dict[str, Any]) -> tuple[str, bool]:
    """The role's account that could see `order`, and whether it can (riders: only if theirs;
    store staff: only in the states they see)."""
    if role == "rider":
        rider = order["rider_id"]
        return (f"rider-{rider}", True) if rider else ("rider-1", False)
    if role == "merchant":
        return ACCOUNTS[role], order["status"] in MERCHANT_STAGES
    return ACCOUNTS[role], True


async def test_roles_outside_the_lifecycle_table_are_refused(api: Api):
    await api.rider_online(1)
    await api.rider_online(2)
    # One order per non-final state, all in WH-CY for channel app, with a rider once paid.
    carriers = {"PAID": 1, "PICKING": 1, "RETURNING": 1, "OUT_OF_STOCK": 2}
    carriers |= {"DELIVERING": 2, "EXCEPTION": 2, "CLAIMING": 2, "SIGNED": 2}
    orders = {
        state: await order_in(api, state, rider=carriers.get(state))
        for state in ("CREATED", *carriers)
    }

    events = await api.event_count()
    checked: set[str] = set()
    for action, (sources, _, _) in README_LIFECYCLE.items():
        for state in sorted(sources):
            order = orders[state]
            for role in ROLES:
                if may_act(role, action):
                    continue
                account, visible = account_for(role, order)
                body = {"action": action, "version": order["version"], "reason": REASON}
                response = await api.post(account, f"/orders/{order['id']}/transitions", json=body)
                where = f"{role} ({account}) {action} from {state}"
                assert_error(response, 403 if visible else 404, where)
                checked.add(action)
    assert checked >= {"pay", "start_picking", "dispatch", "sign", "cancel"}
    assert checked == set(README_LIFECYCLE)
    # Nothing moved: same versions, states and riders, and not one event more.
    for order in orders.values():
        await assert_unchanged(api, order, events)

    # What each role is offered now is exactly what the table allows it.
    for state, order in orders.items():
        for role in ROLES:
            account, visible = account_for(role, order)
            response = await api.get(account, f"/orders/{order['id']}/actions")
            if not visible:
                assert_error(response, 404, f"{account} actions of {state}")
                continue
            assert response.status_code == 200, response.text
            assert set(response.json()) == allowed_actions(state, role), f"{role} in {state}"


def test_whoever_may_reassign_may_resume_in_the_same_step() -> None:
    """`POST /orders/{id}/assign` with `resume` is guarded by `orders:assign` and then by the
    lifecycle's `resume` rule: every role the permission lets in must pass the rule too, or a
    dispatcher's one step would be refused half way."""
    assigners = {str(role) for role in PERMISSIONS[Permission.ORDERS_ASSIGN]}
    assert assigners <= RULES_BY_ACTION[OrderAction.RESUME].roles
