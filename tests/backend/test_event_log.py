"""The outbox contract: every change writes its event in the same transaction, and only then.

- each kind of change appends exactly one row (a payment found short appends two: PAID, then
  the system's OUT_OF_STOCK), with the right ids, states, actor, role, address, reason, time and
  the order's version after the change;
- a refused change (403, 404, 409, 422) writes no event and leaves no partial state;
- `seq` is 1..N with no gaps after many concurrent changes;
- seq commits in order: a reader polling `seq > last` while writers run never sees a later seq
  before an earlier one (the point of the advisory lock on PostgreSQL);
- an order's timeline is exactly its events, in seq order.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from datetime import datetime
from typing import Any, NoReturn

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.auth.models import UserRow
from backend.db import Database
from backend.idempotency import IdempotencyRow
from backend.inventory.models import StockRow
from backend.orders.models import CustomerRow, OrderItemRow, OrderRow
from backend.realtime.models import EventRow
from backend.riders.models import RiderRow
from tests.support import Api, customer, eventually, one_turn

WH = "WH-CY"
CLIENT = "127.0.0.1"  # what httpx's ASGITransport reports as the client address
CHANNEL_USERS = (
    "channel-app",
    "channel-mini-program",
    "channel-meituan",
    "channel-eleme",
    "channel-store",
    "channel-group-buy",
)
_ids = itertools.count(1)


# --- helpers ------------------------------------------------------------------------------------


def database(api: Api) -> Database:
    return api.app.state.runtime.db


async def warm_tokens(api: Api, *usernames: str) -> None:
    for username in usernames:
        await api.token(username)


async def last_seq(api: Api) -> int:
    async with database(api).read() as session:
        return await session.scalar(select(func.coalesce(func.max(EventRow.seq), 0)))


async def events_after(api: Api, seq: int) -> list[EventRow]:
    async with database(api).read() as session:
        rows = await session.scalars(
            select(EventRow).where(EventRow.seq > seq).order_by(EventRow.seq)
        )
        return list(rows.all())


async def all_seqs(api: Api) -> list[int]:
    async with database(api).read() as session:
        return list((await session.scalars(select(EventRow.seq).order_by(EventRow.seq))).all())


def check(event: EventRow, **expected: Any) -> None:
    """Each named column equals its expected value; `payload` is compared as a subset."""
    payload = expected.pop("payload", {})
    actual = {name: getattr(event, name) for name in expected}
    assert actual == expected, f"event {event.seq} ({event.kind})"
    for key, value in payload.items():
        assert event.payload.get(key) == value, f"event {event.seq} payload[{key!r}]"


class Log:
    """Takes the events written since the last call: `await log.new(n)` expects exactly n."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seen = 0

    async def start(self) -> Log:
        self.seen = await last_seq(self.api)
        return self

    async def new(self, count: int = 1) -> list[EventRow]:
        events = await events_after(self.api, self.seen)
        assert len(events) == count, [(e.seq, e.kind, e.to_state) for e in events]
        assert [e.seq for e in events] == list(range(self.seen + 1, self.seen + 1 + count))
        if events:
            self.seen = events[-1].seq
        return events


def order_body(**overrides: Any) -> dict[str, Any]:
    return {
        "external_id": f"EVT-{next(_ids)}",
        "customer": customer(),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        "warehouse_id": WH,
        **overrides,
    }


def transition(
    api: Api, username: str, order: dict[str, Any], action: str, *, reason: str | None = None
):
    body: dict[str, Any] = {"action": action, "version": order["version"]}
    if reason is not None:
        body["reason"] = reason
    return api.post(username, f"/orders/{order['id']}/transitions", json=body)


async def act(
    api: Api, username: str, order: dict[str, Any], action: str, *, reason: str | None = None
) -> dict[str, Any]:
    response = await transition(api, username, order, action, reason=reason)
    assert response.status_code == 200, response.text
    return response.json()


async def adjust(api: Api, sku: str, delta: int, *, user: str = "admin", **kwargs: Any):
    return await api.post(
        user,
        f"/warehouses/{WH}/stock/{sku}/adjust",
        json={"delta": delta, "reason": "count correction"},
        **kwargs,
    )


async def snapshot(api: Api) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a change could touch, as plain tuples."""
    tables = {
        "events": select(EventRow.seq, EventRow.kind, EventRow.order_id).order_by(EventRow.seq),
        "orders": select(
            OrderRow.id,
            OrderRow.status,
            OrderRow.version,
            OrderRow.rider_id,
            OrderRow.stock_state,
            OrderRow.updated_at,
        ).order_by(OrderRow.id),
        "order_items": select(OrderItemRow.order_id, OrderItemRow.line).order_by(
            OrderItemRow.order_id, OrderItemRow.line
        ),
        "customers": select(
            CustomerRow.id, CustomerRow.name, CustomerRow.phone, CustomerRow.address
        ).order_by(CustomerRow.id),
        "stock": select(
            StockRow.warehouse_id, StockRow.sku, StockRow.on_hand, StockRow.reserved
        ).order_by(StockRow.warehouse_id, StockRow.sku),
        "riders": select(RiderRow.id, RiderRow.status, RiderRow.active_orders).order_by(
            RiderRow.id
        ),
        "users": select(UserRow.id, UserRow.username, UserRow.role).order_by(UserRow.id),
        "idempotency": select(IdempotencyRow.id).order_by(IdempotencyRow.id),
    }
    async with database(api).read() as session:
        return {
            name: [tuple(row) for row in (await session.execute(query)).all()]
            for name, query in tables.items()
        }


def assert_same(before: dict[str, list[Any]], after: dict[str, list[Any]], label: str) -> None:
    changed = {
        name: {
            "gone": sorted(set(before[name]) - set(after[name]), key=repr),
            "new": sorted(set(after[name]) - set(before[name]), key=repr),
        }
        for name in before
        if before[name] != after[name]
    }
    assert not changed, f"{label} changed state: {changed}"


# --- one event per change, with every field -----------------------------------------------------


async def test_every_change_writes_exactly_one_event_with_its_facts(api: Api) -> None:
    clock = api.clock
    log = await Log(api).start()
    assert log.seen == 0, "the demo seed writes no events"

    def now() -> datetime:
        return clock.advance(minutes=1)

    def common(username: str, role: str) -> dict[str, Any]:
        return {"actor": username, "role": role, "client_addr": CLIENT, "at": clock.now()}

    # Order created.
    now()
    response = await api.post("channel-app", "/orders", json=order_body(external_id="APP-1"))
    assert response.status_code == 201, response.text
    order = response.json()
    (event,) = await log.new()
    check(
        event,
        kind="order.created",
        order_id=order["id"],
        rider_id=None,
        warehouse_id=WH,
        from_state=None,
        to_state="CREATED",
        reason=None,
        payload={"version": 1, "channel": "app", "external_id": "APP-1"},
        **common("channel-app", "channel"),
    )
    assert order["version"] == 1

    # Paid.
    now()
    order = await act(api, "channel-app", order, "pay")
    (event,) = await log.new()
    check(
        event,
        kind="order.transition",
        order_id=order["id"],
        rider_id=None,
        warehouse_id=WH,
        from_state="CREATED",
        to_state="PAID",
        reason=None,
        payload={"action": "pay", "version": order["version"]},
        **common("channel-app", "channel"),
    )
    assert order["version"] == 2

    # Rider status.
    rider_id = 1
    now()
    response = await api.post(
        f"rider-{rider_id}", f"/riders/{rider_id}/status", json={"status": "online"}
    )
    assert response.status_code == 200, response.text
    (event,) = await log.new()
    check(
        event,
        kind="rider.status",
        order_id=None,
        rider_id=rider_id,
        warehouse_id=WH,
        from_state="offline",
        to_state="online",
        reason=None,
        **common(f"rider-{rider_id}", "rider"),
    )
    # Setting the status a rider already has changes nothing and writes nothing.
    response = await api.post("dispatcher", f"/riders/{rider_id}/status", json={"status": "online"})
    assert response.status_code == 200, response.text
    await log.new(0)

    # Assigned.
    now()
    response = await api.post(
        "dispatcher",
        f"/orders/{order['id']}/assign",
        json={"rider_id": rider_id, "version": order["version"], "reason": "closest rider"},
    )
    assert response.status_code == 200, response.text
    order = response.json()
    (event,) = await log.new()
    check(
        event,
        kind="order.assigned",
        order_id=order["id"],
        rider_id=rider_id,
        warehouse_id=WH,
        from_state="PAID",
        to_state="PAID",
        reason="closest rider",
        payload={"version": order["version"], "from_rider": None, "to_rider": rider_id},
        **common("dispatcher", "dispatcher"),
    )
    assert order["version"] == 3

    # The rest of a delivery, each step by the role that usually takes it.
    steps = [
        ("merchant-wh-cy", "merchant", "start_picking", None, "PAID", "PICKING"),
        (f"rider-{rider_id}", "rider", "dispatch", None, "PICKING", "DELIVERING"),
        (f"rider-{rider_id}", "rider", "report_exception", "flat tyre", "DELIVERING", "EXCEPTION"),
        ("supervisor", "supervisor", "resume", None, "EXCEPTION", "DELIVERING"),
        (f"rider-{rider_id}", "rider", "sign", None, "DELIVERING", "SIGNED"),
    ]
    for username, role, action, reason, before, after in steps:
        now()
        version = order["version"]
        order = await act(api, username, order, action, reason=reason)
        assert order["version"] == version + 1
        (event,) = await log.new()
        check(
            event,
            kind="order.transition",
            order_id=order["id"],
            rider_id=rider_id,
            warehouse_id=WH,
            from_state=before,
            to_state=after,
            reason=reason,
            payload={"action": action, "version": order["version"]},
            **common(username, role),
        )

    # Stock adjusted.
    now()
    response = await adjust(api, "VEG-TOMATO", 5)
    assert response.status_code == 200, response.text
    level = response.json()
    (event,) = await log.new()
    check(
        event,
        kind="stock.adjusted",
        order_id=None,
        rider_id=None,
        warehouse_id=WH,
        from_state=None,
        to_state=None,
        reason="count correction",
        payload={"sku": "VEG-TOMATO", "delta": 5, "on_hand": level["on_hand"]},
        **common("admin", "admin"),
    )
    assert level["on_hand"] == 125

    # User created.
    now()
    response = await api.post(
        "admin",
        "/users",
        json={"username": "night-desk", "password": "a long password", "role": "dispatcher"},
    )
    assert response.status_code == 201, response.text
    user = response.json()
    (event,) = await log.new()
    check(
        event,
        kind="user.created",
        order_id=None,
        rider_id=None,
        warehouse_id=None,
        from_state=None,
        to_state=None,
        reason=None,
        payload={"user_id": user["id"], "username": "night-desk", "role": "dispatcher"},
        **common("admin", "admin"),
    )

    # A payment that finds stock short: PAID by the channel, then OUT_OF_STOCK by the system,
    # in the same transaction, each with the version it produced.
    empty = await api.stock(WH, "SEA-BASS")
    response = await adjust(api, "SEA-BASS", -empty["available"])
    assert response.status_code == 200, response.text
    await log.new()
    now()
    response = await api.post(
        "channel-meituan",
        "/orders",
        json=order_body(items=[{"sku": "SEA-BASS", "quantity": 1}]),
    )
    assert response.status_code == 201, response.text
    short = response.json()
    await log.new()
    short = await act(api, "channel-meituan", short, "pay")
    assert (short["status"], short["version"]) == ("OUT_OF_STOCK", 3)
    paid, out = await log.new(2)
    check(
        paid,
        kind="order.transition",
        order_id=short["id"],
        from_state="CREATED",
        to_state="PAID",
        payload={"action": "pay", "version": 2},
        **common("channel-meituan", "channel"),
    )
    check(
        out,
        kind="order.transition",
        order_id=short["id"],
        warehouse_id=WH,
        from_state="PAID",
        to_state="OUT_OF_STOCK",
        actor="system",
        role="system",
        client_addr=None,
        reason="short: SEA-BASS",
        at=clock.now(),
        payload={"action": "report_out_of_stock", "version": 3},
    )

    # Cancelled, with its reason.
    now()
    short = await act(api, "channel-meituan", short, "cancel", reason="customer gave up")
    (event,) = await log.new()
    check(
        event,
        kind="order.transition",
        order_id=short["id"],
        from_state="OUT_OF_STOCK",
        to_state="CANCELLED",
        reason="customer gave up",
        payload={"action": "cancel", "version": short["version"]},
        **common("channel-meituan", "channel"),
    )

    # A replayed request (same Idempotency-Key) acts once and logs once.
    key = {"Idempotency-Key": "adjust-tomato-once"}
    first = await adjust(api, "VEG-TOMATO", -2, headers=key)
    second = await adjust(api, "VEG-TOMATO", -2, headers=key)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    await log.new(1)
    assert (await api.stock(WH, "VEG-TOMATO"))["on_hand"] == 123


async def test_event_and_change_commit_together_or_not_at_all(api: Api, monkeypatch) -> None:
    """A failure after the event row reached the database, in the same request, undoes both."""
    import backend.orders.service as orders_service

    await warm_tokens(api, "channel-app")
    order = await api.create_order(warehouse_id=WH)
    before = await snapshot(api)
    real_append = orders_service.append_event

    async def append_then_fail(session, **fields: Any) -> NoReturn:
        await real_append(session, **fields)
        await session.flush()  # the event row and the order change are both in the database now
        raise RuntimeError("crash after the event was written")

    monkeypatch.setattr(orders_service, "append_event", append_then_fail)
    try:
        response = await transition(api, "channel-app", order, "pay")
    except RuntimeError:
        pass  # the ASGI transport hands the app's crash to the caller
    else:
        assert response.status_code == 500
    monkeypatch.undo()

    assert_same(before, await snapshot(api), "a pay that crashed after writing its event")
    # The number the crashed transaction took is free again: the log stays gap-free.
    log = await Log(api).start()
    paid = await act(api, "channel-app", order, "pay")
    assert paid["version"] == 2
    (event,) = await log.new()
    assert (event.kind, event.to_state, event.payload["version"]) == ("order.transition", "PAID", 2)


# --- refusals write nothing ---------------------------------------------------------------------


async def test_refused_changes_write_no_event_and_change_nothing(api: Api) -> None:
    users = (
        "admin",
        "dispatcher",
        "viewer",
        "merchant-wh-cy",
        "merchant-wh-wj",
        "channel-app",
        "channel-meituan",
        "rider-2",
        "rider-3",
    )
    await warm_tokens(api, *users)
    # Orders in each state the refusals need.
    created = await api.create_order(warehouse_id=WH)
    paid = await act(api, "channel-app", await api.create_order(warehouse_id=WH), "pay")
    picking = await act(
        api,
        "dispatcher",
        await act(api, "channel-app", await api.create_order(warehouse_id=WH), "pay"),
        "start_picking",
    )
    cold = await act(
        api,
        "channel-app",
        await api.create_order(warehouse_id=WH, items=[{"sku": "DAI-MILK", "quantity": 1}]),
        "pay",
    )
    # OUT_OF_STOCK for spinach, with apples that a failed restock must not keep reserved.
    spinach = await api.stock(WH, "VEG-SPINACH")
    assert (await adjust(api, "VEG-SPINACH", -spinach["available"])).status_code == 200
    short = await act(
        api,
        "channel-app",
        await api.create_order(
            warehouse_id=WH,
            items=[{"sku": "FRU-APPLE", "quantity": 2}, {"sku": "VEG-SPINACH", "quantity": 1}],
        ),
        "pay",
    )
    assert short["status"] == "OUT_OF_STOCK"
    # Rider 3 (capacity 3) online and full; rider 2 online without a cold-chain box.
    await api.rider_online(2)
    await api.rider_online(3)
    carried = []
    for _ in range(3):
        order = await act(api, "channel-app", await api.create_order(warehouse_id=WH), "pay")
        carried.append(await api.assign(order, 3))
    bokchoy = await api.stock(WH, "VEG-BOKCHOY")
    assert bokchoy["reserved"] > 0
    existing = await api.create_order(warehouse_id=WH)

    def order_post(username: str, order: dict[str, Any], what: str, body: dict[str, Any]):
        return lambda: api.post(username, f"/orders/{order['id']}/{what}", json=body)

    def post(username: str, path: str, body: dict[str, Any]):
        return lambda: api.post(username, path, json=body)

    stale = {"action": "start_picking", "version": 1}

    def keyed_stale():
        return api.post(
            "dispatcher",
            f"/orders/{paid['id']}/transitions",
            json=stale,
            headers={"Idempotency-Key": "refused-once"},
        )

    cases = [
        # Transitions.
        ("stale version", 409, order_post("dispatcher", paid, "transitions", stale)),
        ("stale version, with an Idempotency-Key (nothing stored)", 409, keyed_stale),
        (
            "illegal transition",
            409,
            order_post(
                "dispatcher", created, "transitions", {"action": "start_picking", "version": 1}
            ),
        ),
        (
            "role may not take the action",
            403,
            order_post(
                "merchant-wh-cy",
                paid,
                "transitions",
                {"action": "cancel", "version": 2, "reason": "x"},
            ),
        ),
        (
            "role may not transition at all",
            403,
            order_post(
                "viewer", paid, "transitions", {"action": "cancel", "version": 2, "reason": "x"}
            ),
        ),
        (
            "reason missing",
            422,
            order_post("channel-app", paid, "transitions", {"action": "cancel", "version": 2}),
        ),
        (
            "dispatch without a rider",
            409,
            order_post(
                "dispatcher",
                picking,
                "transitions",
                {"action": "dispatch", "version": picking["version"]},
            ),
        ),
        (
            "restock while still short",
            409,
            order_post(
                "dispatcher",
                short,
                "transitions",
                {"action": "restock", "version": short["version"]},
            ),
        ),
        (
            "order of another channel",
            404,
            order_post(
                "channel-meituan",
                paid,
                "transitions",
                {"action": "cancel", "version": 2, "reason": "x"},
            ),
        ),
        # Assignments.
        (
            "rider full",
            409,
            order_post("dispatcher", paid, "assign", {"rider_id": 3, "version": 2}),
        ),
        (
            "rider offline",
            409,
            order_post("dispatcher", paid, "assign", {"rider_id": 4, "version": 2}),
        ),
        (
            "no cold box",
            409,
            order_post("dispatcher", cold, "assign", {"rider_id": 2, "version": 2}),
        ),
        (
            "no such rider",
            422,
            order_post("dispatcher", paid, "assign", {"rider_id": 999, "version": 2}),
        ),
        (
            "assign stale",
            409,
            order_post("dispatcher", paid, "assign", {"rider_id": 2, "version": 1}),
        ),
        (
            "same rider again",
            409,
            order_post(
                "dispatcher",
                carried[0],
                "assign",
                {"rider_id": 3, "version": carried[0]["version"]},
            ),
        ),
        (
            "assign a CREATED order",
            409,
            order_post("dispatcher", created, "assign", {"rider_id": 2, "version": 1}),
        ),
        # Rider status.
        ("offline while carrying", 409, post("rider-3", "/riders/3/status", {"status": "offline"})),
        ("another rider's status", 404, post("rider-2", "/riders/3/status", {"status": "break"})),
        # Stock.
        (
            "below reserved",
            409,
            post(
                "admin",
                f"/warehouses/{WH}/stock/VEG-BOKCHOY/adjust",
                {"delta": -bokchoy["available"] - 1, "reason": "write-off"},
            ),
        ),
        (
            "zero delta",
            422,
            post(
                "admin", f"/warehouses/{WH}/stock/VEG-BOKCHOY/adjust", {"delta": 0, "reason": "x"}
            ),
        ),
        (
            "merchant of another warehouse",
            404,
            post(
                "merchant-wh-wj",
                f"/warehouses/{WH}/stock/VEG-BOKCHOY/adjust",
                {"delta": 1, "reason": "x"},
            ),
        ),
        (
            "unknown SKU",
            404,
            post("admin", f"/warehouses/{WH}/stock/NOPE/adjust", {"delta": 1, "reason": "x"}),
        ),
        # Orders.
        (
            "duplicate channel order",
            409,
            post("channel-app", "/orders", order_body(external_id=existing["external_id"])),
        ),
        (
            "unknown SKU in an order",
            422,
            post(
                "channel-app",
                "/orders",
                order_body(
                    customer=customer(phone="13911112222", name="New Person"),
                    items=[
                        {"sku": "VEG-BOKCHOY", "quantity": 1},
                        {"sku": "NO-SUCH", "quantity": 1},
                    ],
                ),
            ),
        ),
        (
            "unknown warehouse",
            422,
            post("channel-app", "/orders", order_body(warehouse_id="WH-NOPE")),
        ),
        (
            "selling for another channel",
            403,
            post("channel-app", "/orders", order_body(channel="meituan")),
        ),
        ("not a creator", 403, post("dispatcher", "/orders", order_body(channel="app"))),
        # Users.
        (
            "duplicate user",
            409,
            post(
                "admin",
                "/users",
                {"username": "dispatcher", "password": "long enough", "role": "viewer"},
            ),
        ),
        (
            "merchant without a warehouse",
            422,
            post(
                "admin",
                "/users",
                {"username": "shopkeeper", "password": "long enough", "role": "merchant"},
            ),
        ),
        (
            "not an admin",
            403,
            post(
                "dispatcher",
                "/users",
                {"username": "sneaky", "password": "long enough", "role": "admin"},
            ),
        ),
    ]

    problems = []
    for label, status, send in cases:
        before = await snapshot(api)
        response: httpx.Response = await send()
        after = await snapshot(api)
        if response.status_code != status:
            problems.append(
                f"{label}: expected {status}, got {response.status_code} {response.text}"
            )
        try:
            assert_same(before, after, label)
        except AssertionError as exc:
            problems.append(str(exc))
    assert problems == [], "\n".join(problems)


async def test_racing_duplicates_create_once_and_log_once(api: Api) -> None:
    """The same channel order delivered eight times at once, and one username taken twice."""
    await warm_tokens(api, "channel-app", "admin")
    body = order_body(external_id="APP-DUP-1")
    responses = await asyncio.gather(
        *(api.post("channel-app", "/orders", json=body) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [
        r.text for r in responses
    ]
    created = next(r.json() for r in responses if r.status_code == 201)
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json().get("order_id", created["id"]) == created["id"]

    user = {"username": "twin", "password": "long enough", "role": "viewer"}
    responses = await asyncio.gather(*(api.post("admin", "/users", json=user) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]

    events = await events_after(api, 0)
    assert [(e.seq, e.kind) for e in events] == [(1, "order.created"), (2, "user.created")]
    assert events[0].order_id == created["id"]
    state = await snapshot(api)
    assert len(state["orders"]) == 1
    assert [u for u in state["users"] if u[1] == "twin"] != []


# --- seq: gap-free, and committed in order ------------------------------------------------------


def pay_requests(api: Api, orders: list[dict[str, Any]], users: list[str]):
    return [transition(api, user, order, "pay") for order, user in zip(orders, users, strict=True)]


async def test_seq_is_gap_free_after_many_concurrent_changes(api: Api) -> None:
    riders = (1, 2, 3, 4)
    await warm_tokens(api, "admin", *CHANNEL_USERS, *(f"rider-{r}" for r in riders))
    scarce = await api.stock(WH, "VEG-TOMATO")
    assert (await adjust(api, "VEG-TOMATO", 12 - scarce["available"])).status_code == 200

    users = [CHANNEL_USERS[i % len(CHANNEL_USERS)] for i in range(40)]
    bodies = [
        order_body(
            customer=customer(phone=f"1380013{i % 5:04d}"),
            items=[{"sku": "VEG-TOMATO", "quantity": 1}]
            + ([{"sku": "VEG-BOKCHOY", "quantity": 2}] if i % 2 else []),
        )
        for i in range(40)
    ]
    # Wave 1: 40 creations, rider shifts and stock counts, all at once.
    wave = [api.post(user, "/orders", json=body) for user, body in zip(users, bodies, strict=True)]
    wave += [
        api.post(f"rider-{r}", f"/riders/{r}/status", json={"status": "online"}) for r in riders
    ]
    wave += [adjust(api, sku, 3) for sku in ("FRU-APPLE", "FRU-BANANA", "EGG-DOZEN")]
    responses = await asyncio.gather(*wave)
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    orders = [r.json() for r in responses[:40]]

    # Wave 2: 40 payments (some run short: two events each), breaks and more counts.
    wave = pay_requests(api, orders, users)
    wave += [
        api.post(f"rider-{r}", f"/riders/{r}/status", json={"status": "break"}) for r in riders
    ]
    wave += [adjust(api, sku, -1) for sku in ("FRU-APPLE", "FRU-BANANA", "EGG-DOZEN")]
    responses = await asyncio.gather(*wave)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    paid = [r.json() for r in responses[:40]]
    shorts = sum(1 for o in paid if o["status"] == "OUT_OF_STOCK")
    assert shorts == 40 - 12

    expected = 1 + 40 + 4 + 3 + 40 + shorts + 4 + 3
    seqs = await all_seqs(api)
    assert seqs == list(range(1, expected + 1))

    # Per order, the payload versions run 1, 2, ... in seq order, matching the final version.
    versions: dict[int, list[int]] = defaultdict(list)
    for event in await events_after(api, 0):
        if event.order_id is not None:
            versions[event.order_id].append(event.payload["version"])
    for order in paid:
        assert versions[order["id"]] == list(range(1, order["version"] + 1)), order["id"]


async def test_a_poller_never_sees_seq_commit_out_of_order(api: Api) -> None:
    """Poll `seq > last` from a connection of our own while writers race through the app.

    Every poll must start exactly at last + 1 and be contiguous: a hole that fills in later
    would mean a reader (the live stream) skipped an event for good. On SQLite one writer
    numbers events as it appends them; on PostgreSQL they are numbered after commit
    (`backend/writer.py`, `Sequencer`), so a number is never seen before those below it.
    """
    db = database(api)
    # SQLite serialises whole write transactions, so order there is never in doubt: one wave
    # keeps the poller honest on it without paying for SQLite's lock queue three times.
    waves, per_wave = (3 if db.is_postgres else 1), 20
    await warm_tokens(api, "admin", *CHANNEL_USERS)
    engine = create_async_engine(db.url, isolation_level="AUTOCOMMIT")
    seen: list[int] = []
    problems: list[str] = []
    polls = 0
    mid_run_batches = 0
    writers_done = asyncio.Event()

    async def poll_once(conn) -> int:
        last = seen[-1] if seen else 0
        rows = (
            (
                await conn.execute(
                    text("SELECT seq FROM events WHERE seq > :last ORDER BY seq"), {"last": last}
                )
            )
            .scalars()
            .all()
        )
        if rows and rows != list(range(last + 1, last + 1 + len(rows))):
            problems.append(f"after seq {last} a poll saw {rows}")
        seen.extend(rows)
        return len(rows)

    async def poller() -> None:
        nonlocal polls, mid_run_batches
        async with engine.connect() as conn:
            while not writers_done.is_set():
                if await poll_once(conn):
                    mid_run_batches += 1
                polls += 1
                await one_turn()  # as often as the loop allows: writers are quick
            await poll_once(conn)  # everything committed by now

    async def watched() -> None:
        # The poller must watch the writers, not only read the log after them: each step
        # waits for it to have seen what was committed, however fast or slow the machine.
        committed = await last_seq(api)
        await eventually(lambda: len(seen) >= committed, "the poller to see the step")

    async def writers() -> None:
        try:
            for wave in range(waves):
                users = [CHANNEL_USERS[i % len(CHANNEL_USERS)] for i in range(per_wave)]
                bodies = [
                    order_body(customer=customer(phone=f"1390000{wave}{i % 4:03d}"))
                    for i in range(per_wave)
                ]
                created = await asyncio.gather(
                    *(api.post(u, "/orders", json=b) for u, b in zip(users, bodies, strict=True)),
                    adjust(api, "FRU-ORANGE", 1),
                )
                assert all(r.status_code in (200, 201) for r in created), [
                    r.text for r in created if r.status_code not in (200, 201)
                ]
                await watched()
                orders = [r.json() for r in created[:per_wave]]
                paid = await asyncio.gather(
                    *pay_requests(api, orders, users), adjust(api, "FRU-ORANGE", -1)
                )
                assert all(r.status_code == 200 for r in paid), [
                    r.text for r in paid if r.status_code != 200
                ]
                await watched()
        finally:
            writers_done.set()

    try:
        await asyncio.gather(poller(), writers())
    finally:
        await engine.dispose()

    total = await last_seq(api)
    assert total == waves * (per_wave + 1 + per_wave + 1)
    assert problems == [], problems
    assert seen == list(range(1, total + 1))
    assert mid_run_batches >= 2, "the poller must have watched the writers"


# --- the timeline -------------------------------------------------------------------------------


async def test_timeline_is_exactly_the_orders_events_in_seq_order(api: Api) -> None:
    await warm_tokens(api, "channel-app", "channel-eleme", "dispatcher", "rider-2", "rider-4")
    await api.rider_online(2)
    await api.rider_online(4)
    users = ["channel-app", "channel-eleme", "channel-app"]
    # Three orders moved in lockstep so their events interleave in the log.

    def answers(responses: list[httpx.Response], status: int = 200) -> list[dict[str, Any]]:
        assert [r.status_code for r in responses] == [status] * len(responses), [
            r.text for r in responses
        ]
        return [r.json() for r in responses]

    created = await asyncio.gather(*(api.post(u, "/orders", json=order_body()) for u in users))
    orders = answers(created, 201)
    orders = answers(await asyncio.gather(*pay_requests(api, orders, users)))
    assigned = await asyncio.gather(
        *(
            api.post(
                "dispatcher",
                f"/orders/{o['id']}/assign",
                json={"rider_id": rider, "version": o["version"]},
            )
            for o, rider in zip(orders, (2, 4, 2), strict=True)
        )
    )
    orders = answers(assigned)
    orders = answers(
        await asyncio.gather(*(transition(api, "dispatcher", o, "start_picking") for o in orders))
    )
    # Reassign the first order to rider 4, and move the second on.
    (first,) = answers(
        [
            await api.post(
                "dispatcher",
                f"/orders/{orders[0]['id']}/assign",
                json={"rider_id": 4, "version": orders[0]["version"], "reason": "closer"},
            )
        ]
    )
    second = await act(api, "rider-4", orders[1], "dispatch")
    answers([await adjust(api, "VEG-BOKCHOY", 1)])  # an event that belongs to no order
    finals = [first, second, orders[2]]

    everything = await events_after(api, 0)
    for final in finals:
        response = await api.get("dispatcher", f"/orders/{final['id']}/timeline")
        assert response.status_code == 200, response.text
        timeline = response.json()
        mine = [e for e in everything if e.order_id == final["id"]]
        assert [e["seq"] for e in timeline] == [e.seq for e in mine]
        assert [e["seq"] for e in timeline] == sorted({e["seq"] for e in timeline})
        assert {e["order_id"] for e in timeline} == {final["id"]}
        for shown, row in zip(timeline, mine, strict=True):
            assert (shown["kind"], shown["from_state"], shown["to_state"]) == (
                row.kind,
                row.from_state,
                row.to_state,
            )
            assert (shown["actor"], shown["role"], shown["client_addr"]) == (
                row.actor,
                row.role,
                row.client_addr,
            )
            assert (shown["rider_id"], shown["reason"], shown["payload"]) == (
                row.rider_id,
                row.reason,
                row.payload,
            )
            assert datetime.fromisoformat(shown["at"]) == row.at
        assert [e["payload"]["version"] for e in timeline] == list(range(1, final["version"] + 1))
        assert timeline[0]["kind"] == "order.created"
        assert timeline[-1]["payload"]["version"] == final["version"]

    # The first order's story, step by step.
    response = await api.get("channel-app", f"/orders/{first['id']}/timeline")
    story = [(e["kind"], e["to_state"], e["rider_id"]) for e in response.json()]
    assert story == [
        ("order.created", "CREATED", None),
        ("order.transition", "PAID", None),
        ("order.assigned", "PAID", 2),
        ("order.transition", "PICKING", 2),
        ("order.assigned", "PICKING", 4),
    ]
    # Outside the caller's scope the timeline does not exist.
    response = await api.get("channel-eleme", f"/orders/{first['id']}/timeline")
    assert response.status_code == 404
