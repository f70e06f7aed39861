"""Stock is never oversold and riders never overloaded, however many requests race.

Every test runs on SQLite (writers queue on `BEGIN IMMEDIATE`) and on PostgreSQL (row locks and
conditional UPDATEs re-checked after the lock holder commits). Requests go through the real app
at the same time with `asyncio.gather`; one test races `inventory.service.reserve` on raw write
sessions, below the HTTP layer. While a race runs, a watcher samples the stock and rider tables
and records any moment at which an invariant was broken, not only the end state.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.db import Database
from backend.inventory.models import StockRow
from backend.inventory.service import reserve
from backend.realtime.models import EventRow
from backend.riders.models import RiderRow
from tests.support import Api

WH = "WH-CY"
CHANNEL = "channel-app"


# --- helpers ------------------------------------------------------------------------------------


def database(api: Api) -> Database:
    return api.app.state.runtime.db


async def warm_tokens(api: Api, *usernames: str) -> None:
    """Sign in before a race, so the race itself is only the requests under test."""
    for username in usernames:
        await api.token(username)


async def stock_of(api: Api, sku: str, warehouse_id: str = WH) -> tuple[int, int]:
    """(on_hand, reserved) straight from the database."""
    async with database(api).read() as session:
        row = (
            await session.execute(
                select(StockRow.on_hand, StockRow.reserved).where(
                    StockRow.warehouse_id == warehouse_id, StockRow.sku == sku
                )
            )
        ).one()
    return row.on_hand, row.reserved


async def set_available(api: Api, sku: str, available: int, warehouse_id: str = WH) -> None:
    """Write stock off (as admin) until exactly `available` units are free."""
    level = await api.stock(warehouse_id, sku)
    delta = available - level["available"]
    if delta:
        response = await api.post(
            "admin",
            f"/warehouses/{warehouse_id}/stock/{sku}/adjust",
            json={"delta": delta, "reason": "test: make it scarce"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["available"] == available


async def create_orders(
    api: Api, item_lists: Iterable[list[dict[str, Any]]], *, channel_user: str = CHANNEL
) -> list[dict[str, Any]]:
    """Orders served by WH-CY (set-up, so one after the other: SQLite would only queue them)."""
    return [
        await api.create_order(channel_user=channel_user, items=items, warehouse_id=WH)
        for items in item_lists
    ]


def transition(
    api: Api, username: str, order: dict[str, Any], action: str, *, reason: str | None = None
):
    """A transition request (not yet awaited) at the version the caller last saw."""
    body: dict[str, Any] = {"action": action, "version": order["version"]}
    if reason is not None:
        body["reason"] = reason
    return api.post(username, f"/orders/{order['id']}/transitions", json=body)


async def pay_all(api: Api, orders: list[dict[str, Any]]) -> list[httpx.Response]:
    """Pay every order at once."""
    return list(await asyncio.gather(*(transition(api, CHANNEL, o, "pay") for o in orders)))


async def paid_orders(api: Api, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pay every order, one after the other (set-up), and expect each to be PAID."""
    paid = [await api.act(CHANNEL, order, "pay") for order in orders]
    assert {o["status"] for o in paid} == {"PAID"}
    return paid


def quantity_of(order: dict[str, Any], sku: str) -> int:
    return sum(item["quantity"] for item in order["items"] if item["sku"] == sku)


async def order_events(api: Api, order_id: int) -> list[EventRow]:
    async with database(api).read() as session:
        rows = await session.scalars(
            select(EventRow).where(EventRow.order_id == order_id).order_by(EventRow.seq)
        )
        return list(rows.all())


async def assert_constraints_hold(api: Api) -> None:
    """No stock or rider row breaks its CHECK constraints, and the database enforces them."""
    db = database(api)
    async with db.read() as session:
        bad_stock = (
            await session.execute(
                select(
                    StockRow.warehouse_id, StockRow.sku, StockRow.on_hand, StockRow.reserved
                ).where(or_(StockRow.reserved < 0, StockRow.on_hand < StockRow.reserved))
            )
        ).all()
        bad_riders = (
            await session.execute(
                select(RiderRow.id, RiderRow.active_orders, RiderRow.capacity).where(
                    or_(RiderRow.active_orders < 0, RiderRow.active_orders > RiderRow.capacity)
                )
            )
        ).all()
    assert bad_stock == [], f"stock rows break their CHECK constraints: {bad_stock}"
    assert bad_riders == [], f"rider rows break their CHECK constraints: {bad_riders}"
    # The constraints are really there: the database itself refuses a violating row.
    one_row = (StockRow.warehouse_id == WH, StockRow.sku == "VEG-BOKCHOY")
    for values in ({"reserved": -1}, {"reserved": StockRow.on_hand + 1}):
        with pytest.raises(IntegrityError):

            async def _job(session, values=values):
                await session.execute(update(StockRow).where(*one_row).values(**values))

            await db.write(_job)
    with pytest.raises(IntegrityError):

        async def _job(session):
            await session.execute(
                update(RiderRow).where(RiderRow.id == 1).values(active_orders=RiderRow.capacity + 1)
            )

        await db.write(_job)


class Watch:
    """Samples the stock and rider tables while a race runs and keeps every broken invariant."""

    def __init__(self, api: Api) -> None:
        self.db = database(api)
        self.samples = 0
        self.problems: list[str] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watch:
        await self._sample()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task
        await self._sample()  # the state the race left behind

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self._sample()
            await asyncio.sleep(0.01)  # the sampling rate of a watcher, not a wait

    async def _sample(self) -> None:
        async with self.db.read() as session:
            stock = (
                await session.execute(
                    select(StockRow.sku, StockRow.on_hand, StockRow.reserved).where(
                        StockRow.warehouse_id == WH
                    )
                )
            ).all()
            riders = (
                await session.execute(
                    select(RiderRow.id, RiderRow.active_orders, RiderRow.capacity)
                )
            ).all()
        self.samples += 1
        for sku, on_hand, reserved in stock:
            if reserved < 0 or on_hand - reserved < 0:
                self.problems.append(f"{sku}: on hand {on_hand}, reserved {reserved}")
        for rider_id, active, capacity in riders:
            if not 0 <= active <= capacity:
                self.problems.append(f"rider {rider_id}: {active}/{capacity} orders")

    def assert_clean(self) -> None:
        assert self.samples >= 3, "the watcher must have sampled during the race"
        assert self.problems == [], self.problems


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


# --- payments -----------------------------------------------------------------------------------


async def test_concurrent_payments_sell_exactly_the_units_in_stock(api: Api) -> None:
    sku = "VEG-TOMATO"
    await warm_tokens(api, "admin", CHANNEL)
    await set_available(api, sku, 5)
    on_hand_before, _ = await stock_of(api, sku)
    orders = await create_orders(api, [[{"sku": sku, "quantity": 1}]] * 20)

    async with Watch(api) as watch:
        responses = await pay_all(api, orders)

    # Pay answers 200 either way: the stock check moves a short order on to OUT_OF_STOCK.
    assert statuses(responses) == {200: 20}, [r.text for r in responses if r.status_code != 200]
    paid = [r.json() for r in responses if r.json()["status"] == "PAID"]
    short = [r.json() for r in responses if r.json()["status"] == "OUT_OF_STOCK"]
    assert len(paid) == 5
    assert len(short) == 15
    assert {o["version"] for o in paid} == {2}
    assert {o["version"] for o in short} == {3}
    # What the answers said is what was committed.
    for answer in paid + short:
        stored = await api.get("dispatcher", f"/orders/{answer['id']}")
        assert stored.json()["status"] == answer["status"]
        assert stored.json()["version"] == answer["version"]

    level = await api.stock(WH, sku)
    assert level["on_hand"] == on_hand_before == 5
    assert level["reserved"] == 5
    assert level["available"] == 0
    watch.assert_clean()
    await assert_constraints_hold(api)


async def test_concurrent_payments_of_mixed_quantities_never_oversell(api: Api) -> None:
    sku = "VEG-CUCUMBER"
    await warm_tokens(api, "admin", CHANNEL, "dispatcher")
    await set_available(api, sku, 7)
    quantities = [1, 2, 2, 1, 2] * 4  # 20 orders wanting 30 units
    orders = await create_orders(api, [[{"sku": sku, "quantity": q}] for q in quantities])

    async with Watch(api) as watch:
        responses = await pay_all(api, orders)

    assert statuses(responses) == {200: 20}
    answers = [r.json() for r in responses]
    assert {a["status"] for a in answers} <= {"PAID", "OUT_OF_STOCK"}
    paid_units = sum(quantity_of(a, sku) for a in answers if a["status"] == "PAID")
    level = await api.stock(WH, sku)
    assert level["on_hand"] == 7
    assert level["reserved"] == paid_units
    assert level["available"] == 7 - paid_units >= 0
    # Nobody was turned away while their units were there: every short order wanted more than
    # was left even at the end (availability only fell during the race).
    for answer in answers:
        if answer["status"] == "OUT_OF_STOCK":
            assert quantity_of(answer, sku) > level["available"], answer
    assert level["available"] <= 1
    watch.assert_clean()
    await assert_constraints_hold(api)


async def test_multi_line_payments_reserve_all_lines_or_none(api: Api) -> None:
    # The service reserves SKUs in sorted order: FRU-APPLE (plenty) is taken first, so every
    # order that then finds VEG-SPINACH short must hand its apples back.
    plenty, scarce = "FRU-APPLE", "VEG-SPINACH"
    await warm_tokens(api, "admin", CHANNEL, "dispatcher")
    await set_available(api, scarce, 3)
    await set_available(api, plenty, 40)
    both_a = [{"sku": plenty, "quantity": 2}, {"sku": scarce, "quantity": 1}]
    both_b = [{"sku": scarce, "quantity": 1}, {"sku": plenty, "quantity": 2}]
    only_plenty = [{"sku": plenty, "quantity": 1}]
    item_lists = [both_a, both_b] * 6 + [only_plenty] * 3
    orders = await create_orders(api, item_lists)

    async with Watch(api) as watch:
        responses = await pay_all(api, orders)

    assert statuses(responses) == {200: len(orders)}
    answers = [r.json() for r in responses]
    paid = [a for a in answers if a["status"] == "PAID"]
    short = [a for a in answers if a["status"] == "OUT_OF_STOCK"]
    assert len(paid) + len(short) == len(orders)
    assert sum(quantity_of(a, scarce) for a in paid) == 3
    assert all(quantity_of(a, scarce) == 1 for a in short), "only orders wanting spinach are short"
    assert len(short) == 9

    for sku in (plenty, scarce):
        _, reserved = await stock_of(api, sku)
        assert reserved == sum(quantity_of(a, sku) for a in paid), sku
    assert await stock_of(api, plenty) == (40, 2 * 3 + 3)
    assert await stock_of(api, scarce) == (3, 3)

    # A short order holds nothing: cancelling all of them releases nothing.
    cancels = await asyncio.gather(
        *(transition(api, CHANNEL, a, "cancel", reason="customer gave up") for a in short)
    )
    assert statuses(cancels) == {200: len(short)}
    assert await stock_of(api, plenty) == (40, 9)
    assert await stock_of(api, scarce) == (3, 3)
    watch.assert_clean()
    await assert_constraints_hold(api)


# --- below HTTP: raw write sessions racing reserve() --------------------------------------------


async def test_raw_write_sessions_racing_reserve_never_oversell(api: Api) -> None:
    db = database(api)
    single, plenty, scarce = "VEG-POTATO", "FRU-BANANA", "VEG-MUSHROOM"
    await warm_tokens(api, "admin")
    await set_available(api, single, 7)
    await set_available(api, plenty, 6)
    await set_available(api, scarce, 4)

    async def attempt(lines: list[tuple[str, int]]) -> list[str]:
        async def _job(session):
            return await reserve(session, WH, lines)

        return await db.write(_job)

    results = await asyncio.gather(*(attempt([(single, 1)]) for _ in range(20)))
    assert sum(1 for short in results if not short) == 7
    assert all(short == [single] for short in results if short)
    assert await stock_of(api, single) == (7, 7)

    # Two SKUs, lines given in either order (the service locks rows in one fixed order).
    lines_ab = [(plenty, 1), (scarce, 1)]
    lines_ba = [(scarce, 1), (plenty, 1)]
    async with Watch(api) as watch:
        results = await asyncio.gather(
            *(attempt(lines_ab if i % 2 else lines_ba) for i in range(16))
        )
    assert sum(1 for short in results if not short) == 4
    assert all(short == [scarce] for short in results if short)
    assert await stock_of(api, scarce) == (4, 4)
    assert await stock_of(api, plenty) == (6, 4), "short attempts must hand back what they took"
    watch.assert_clean()
    await assert_constraints_hold(api)


# --- cancels ------------------------------------------------------------------------------------


async def test_concurrent_cancels_release_stock_exactly_once(api: Api) -> None:
    sku = "EGG-DOZEN"
    await warm_tokens(api, "admin", CHANNEL, "dispatcher", "merchant-wh-cy")
    await set_available(api, sku, 10)
    orders = await create_orders(api, [[{"sku": sku, "quantity": 1}]] * 10)
    paid = await paid_orders(api, orders)
    assert await stock_of(api, sku) == (10, 10)
    keep, racing = paid[0], paid[1:]

    # Every order gets three competing releases at the same version: two cancels and a report
    # of missing stock. Exactly one wins per order; each order's units come back once.
    requests = []
    for order in racing:
        requests += [
            transition(api, CHANNEL, order, "cancel", reason="customer changed mind"),
            transition(api, "dispatcher", order, "cancel", reason="duplicate order"),
            transition(api, "merchant-wh-cy", order, "report_out_of_stock", reason="damaged"),
        ]
    async with Watch(api) as watch:
        responses = await asyncio.gather(*requests)
    for i, order in enumerate(racing):
        mine = responses[3 * i : 3 * i + 3]
        # Store staff coming second to a cancel find no order: a cancelled one is out of their
        # view (docs/permissions.md), exactly as if it did not exist.
        merchant_lost = mine[2].status_code == 404 and mine[2].json()["detail"].startswith(
            "no order"
        )
        expected = {200: 1, 409: 1, 404: 1} if merchant_lost else {200: 1, 409: 2}
        assert statuses(mine) == expected, (order["id"], [r.text for r in mine])
    watch.assert_clean()
    # Only `keep` still holds a unit: a double release would show as fewer.
    assert await stock_of(api, sku) == (10, 1)

    # Cancelling the orders that ended OUT_OF_STOCK releases nothing more.
    after = [(await api.get("dispatcher", f"/orders/{o['id']}")).json() for o in racing]
    out_of_stock = [o for o in after if o["status"] == "OUT_OF_STOCK"]
    cancels = await asyncio.gather(
        *(transition(api, CHANNEL, o, "cancel", reason="no stock") for o in out_of_stock)
    )
    assert [r.status_code for r in cancels] == [200] * len(out_of_stock)
    assert await stock_of(api, sku) == (10, 1)

    # The last paid order, cancelled twice at once: released once, reserved ends at 0.
    last = await asyncio.gather(
        transition(api, CHANNEL, keep, "cancel", reason="customer changed mind"),
        transition(api, "dispatcher", keep, "cancel", reason="customer called"),
    )
    assert statuses(last) == {200: 1, 409: 1}
    assert await stock_of(api, sku) == (10, 0)
    for order in paid:
        final = (await api.get("dispatcher", f"/orders/{order['id']}")).json()
        assert final["status"] == "CANCELLED"
    await assert_constraints_hold(api)


# --- rider capacity -----------------------------------------------------------------------------


async def test_concurrent_assigns_never_exceed_rider_capacity(api: Api) -> None:
    rider_id = 2  # WH-CY, no cold-chain box; the orders below are not cold chain
    await warm_tokens(api, "admin", CHANNEL, "dispatcher", f"rider-{rider_id}")
    rider = (await api.get("dispatcher", f"/riders/{rider_id}")).json()
    capacity = rider["capacity"]
    assert rider["active_orders"] == 0
    await api.rider_online(rider_id)
    orders = await create_orders(api, [[{"sku": "VEG-BOKCHOY", "quantity": 1}]] * (capacity + 7))
    paid = await paid_orders(api, orders)

    async with Watch(api) as watch:
        responses = await asyncio.gather(
            *(
                api.post(
                    "dispatcher",
                    f"/orders/{o['id']}/assign",
                    json={"rider_id": rider_id, "version": o["version"]},
                )
                for o in paid
            )
        )
    assert statuses(responses) == {200: capacity, 409: 7}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert "full" in response.json()["detail"]
    rider = (await api.get("dispatcher", f"/riders/{rider_id}")).json()
    assert rider["active_orders"] == capacity
    carried = (await api.get("dispatcher", "/orders", params={"rider_id": rider_id})).json()
    assert len(carried["items"]) == capacity
    # The losers are exactly as they were.
    for order, response in zip(paid, responses, strict=True):
        stored = (await api.get("dispatcher", f"/orders/{order['id']}")).json()
        if response.status_code == 200:
            assert (stored["rider_id"], stored["version"]) == (rider_id, order["version"] + 1)
        else:
            assert (stored["rider_id"], stored["version"]) == (None, order["version"])
    watch.assert_clean()
    await assert_constraints_hold(api)


async def test_one_order_assigned_to_two_riders_at_once_takes_one_slot(api: Api) -> None:
    await warm_tokens(api, CHANNEL, "dispatcher", "rider-1", "rider-4")
    for rider_id in (1, 4):
        await api.rider_online(rider_id)
    (order,) = await create_orders(api, [[{"sku": "VEG-BOKCHOY", "quantity": 1}]])
    order = await api.act(CHANNEL, order, "pay")

    responses = await asyncio.gather(
        *(
            api.post(
                "dispatcher",
                f"/orders/{order['id']}/assign",
                json={"rider_id": rider_id, "version": order["version"]},
            )
            for rider_id in (1, 4, 1, 4)
        )
    )
    assert statuses(responses) == {200: 1, 409: 3}
    winner = next(r.json() for r in responses if r.status_code == 200)
    loads = {
        rider_id: (await api.get("dispatcher", f"/riders/{rider_id}")).json()["active_orders"]
        for rider_id in (1, 4)
    }
    assert loads == {1: 0, 4: 0, winner["rider_id"]: 1}
    await assert_constraints_hold(api)


async def test_concurrent_reassignments_swapping_riders_both_go_through(api: Api) -> None:
    """X moves from rider 2 to rider 4 while Y moves from rider 4 to rider 2.

    Both riders have room and each request names its own order's current version, so both
    must succeed. Each reassignment takes a slot of its new rider and frees one of its old
    rider; if those two rider rows are locked new-then-old, the two transactions lock them in
    opposite orders and PostgreSQL aborts one as a deadlock (an unhandled DBAPIError: 500).
    """
    await warm_tokens(api, CHANNEL, "dispatcher", "rider-2", "rider-4")
    for rider_id in (2, 4):
        await api.rider_online(rider_id)
    failures = []
    for round_ in range(5):
        x, y = await paid_orders(
            api, await create_orders(api, [[{"sku": "VEG-BOKCHOY", "quantity": 1}]] * 2)
        )
        x, y = await api.assign(x, 2), await api.assign(y, 4)
        outcomes = await asyncio.gather(
            api.post(
                "dispatcher",
                f"/orders/{x['id']}/assign",
                json={"rider_id": 4, "version": x["version"]},
            ),
            api.post(
                "dispatcher",
                f"/orders/{y['id']}/assign",
                json={"rider_id": 2, "version": y["version"]},
            ),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                lines = str(outcome).splitlines()[:2]  # the error and the statement
                failures.append(f"round {round_}: {type(outcome).__name__}: {' / '.join(lines)}")
            elif outcome.status_code != 200:
                failures.append(f"round {round_}: {outcome.status_code} {outcome.text}")
        loads = {
            rider_id: (await api.get("dispatcher", f"/riders/{rider_id}")).json()["active_orders"]
            for rider_id in (2, 4)
        }
        stored = [(await api.get("dispatcher", f"/orders/{o['id']}")).json() for o in (x, y)]
        # Whatever happened, the loads match the orders the riders really carry.
        assert loads == {
            2: sum(o["rider_id"] == 2 for o in stored),
            4: sum(o["rider_id"] == 4 for o in stored),
        }
        for order in stored:
            await api.act(CHANNEL, order, "cancel", reason="round over")
    assert failures == [], "\n".join(failures)
    await assert_constraints_hold(api)


# --- one order, many hands ----------------------------------------------------------------------


async def test_concurrent_transitions_on_one_version_let_exactly_one_through(api: Api) -> None:
    sku = "FRU-ORANGE"
    await warm_tokens(api, "admin", CHANNEL, "dispatcher", "merchant-wh-cy")
    _, reserved_before = await stock_of(api, sku)
    (order,) = await create_orders(api, [[{"sku": sku, "quantity": 3}]])
    assert len(await order_events(api, order["id"])) == 1

    # Eight payments of the same order at once: one pays, and the stock is reserved once.
    pays = await asyncio.gather(*(transition(api, CHANNEL, order, "pay") for _ in range(8)))
    assert statuses(pays) == {200: 1, 409: 7}, [r.text for r in pays]
    order = next(r.json() for r in pays if r.status_code == 200)
    assert (order["status"], order["version"]) == ("PAID", 2)
    for loser in (r for r in pays if r.status_code == 409):
        assert loser.json().get("current_version", 2) == 2
    assert (await stock_of(api, sku))[1] == reserved_before + 3
    assert len(await order_events(api, order["id"])) == 2

    # Six different hands at version 2: one moves the order, the rest are refused.
    competing = [
        transition(api, "dispatcher", order, "start_picking"),
        transition(api, "merchant-wh-cy", order, "start_picking"),
        transition(api, CHANNEL, order, "cancel", reason="customer changed mind"),
        transition(api, "dispatcher", order, "cancel", reason="duplicate"),
        transition(api, "dispatcher", order, "report_out_of_stock", reason="damaged"),
        transition(api, "merchant-wh-cy", order, "report_out_of_stock", reason="spoiled"),
    ]
    responses = await asyncio.gather(*competing)
    # Store staff find no order once a cancel won: it left their view (README "Views scoped
    # by stage"); every other loser is told the version.
    hidden = [r for i, r in enumerate(responses) if i in (1, 5) and r.status_code == 404]
    assert all(r.json()["detail"].startswith("no order") for r in hidden)
    expected = {200: 1, 409: 5 - len(hidden)} | ({404: len(hidden)} if hidden else {})
    assert statuses(responses) == expected, [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["version"] == 3
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.json().get("current_version", 3) == 3, loser.text

    stored = (await api.get("dispatcher", f"/orders/{order['id']}")).json()
    assert (stored["status"], stored["version"]) == (winner["status"], 3)
    events = await order_events(api, order["id"])
    assert len(events) == 3, "exactly one new event"
    assert (events[-1].from_state, events[-1].to_state) == ("PAID", winner["status"])
    assert events[-1].payload["version"] == 3
    # Stock follows the one winner: picking keeps the units, cancel or out-of-stock frees them.
    expected = reserved_before + (3 if winner["status"] == "PICKING" else 0)
    assert (await stock_of(api, sku))[1] == expected
    await assert_constraints_hold(api)
