"""Restock suggestions: within 15 % of the true need on a fortnight of the simulator's known
demand; scoped to the merchant's warehouse; bad sizing refused; accept, adjust and receive
validated, stored, audited; a decision on a stale suggestion refused (SQLite and PostgreSQL,
through the API on a manual clock)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.archive.schedule import archive_once
from backend.clock import ManualClock
from backend.orders.models import OrderRow
from backend.sim.accounts import Actor
from backend.sim.demand import LINE_UNITS
from backend.sim.need import expected_paid_units
from backend.sim.stores import restock_round
from tests.backend.restock_support import write_demand
from tests.support import Api, audited, started

CY = "WH-CY"
ORDERS_PER_HOUR = 288.0
"""The city's peak rate: about 2,900 orders a day over six warehouses, 480 for each."""


def dispersion_of_units() -> float:
    """E[q^2] / E[q] of the units on one line: a compound Poisson's variance over its mean."""
    values, weights = LINE_UNITS
    total = sum(weights)
    mean = sum(v * w for v, w in zip(values, weights, strict=True)) / total
    square = sum(v * v * w for v, w in zip(values, weights, strict=True)) / total
    return square / mean


async def plan(api: Api, user: str, warehouse: str = CY, **params: Any) -> dict[str, Any]:
    response = await api.get(user, f"/warehouses/{warehouse}/restock", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# SQLite only: the forecast is the same arithmetic on either database (the plan's reads run on
# both in the tests below), and on PostgreSQL this 13,000-order bulk load deadlocked with
# another transaction twice under the full suite's load (not yet explained; see the issue note).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_fortnight_of_known_demand_gives_suggestions_within_15_percent(api: Api) -> None:
    now = api.clock.now()
    start = now - timedelta(days=14)
    db = api.app.state.runtime.db
    written = await write_demand(
        db, start=start, end=now, orders_per_hour=ORDERS_PER_HOUR, warehouses={CY, "WH-WJ"}
    )
    assert written["orders"] > 10_000

    answer = await plan(api, "merchant-wh-cy", lead_hours=24, review_hours=24)
    assert answer["weeks_used"] == 2 and answer["history_hours"] == 14 * 24
    assert answer["weeks_requested"] == 4  # the setting's default: fewer weeks were there
    truth = expected_paid_units(now, now + timedelta(hours=48), orders_per_hour=ORDERS_PER_HOUR)
    z = answer["z"]
    assert z == pytest.approx(1.6449, abs=1e-3)  # 95 %
    phi = dispersion_of_units()
    assert len(answer["suggestions"]) == 20
    for s in answer["suggestions"]:
        need = truth[CY, s["sku"]]
        assert need > 50  # realistic volume: every SKU sells dozens a day
        assert s["forecast"] == pytest.approx(need, rel=0.15), s
        # The order-up-to level the suggestion fills: the need and its safety stock.
        true_target = need + z * math.sqrt(phi * need)
        position = s["on_hand"] - s["reserved"] + s["on_order"]
        assert s["suggested"] + position == pytest.approx(true_target, rel=0.15), s
        assert s["suggested"] == max(0, math.ceil(s["forecast"] + s["safety_stock"] - position))
        assert s["safety_stock"] == pytest.approx(z * s["sigma"], abs=0.02)

    # A shorter lead time asks for less; a higher service level for more safety stock.
    short = await plan(api, "admin", lead_hours=2, review_hours=2)
    strict = await plan(api, "admin", service_level=0.99)
    base = await plan(api, "admin")
    for a, b, c in zip(
        short["suggestions"], strict["suggestions"], base["suggestions"], strict=True
    ):
        assert a["forecast"] < c["forecast"] / 5
        assert b["safety_stock"] > c["safety_stock"]


async def test_no_history_suggests_nothing_and_says_so(api: Api) -> None:
    answer = await plan(api, "admin")
    assert answer["history_hours"] == 0 and answer["units_in_history"] == 0
    assert all(s["suggested"] == 0 and s["forecast"] == 0 for s in answer["suggestions"])


async def test_a_merchant_never_sees_another_warehouses_suggestions(api: Api) -> None:
    mine = await plan(api, "merchant-wh-cy")
    assert mine["warehouse_id"] == CY
    for path in ("/warehouses/WH-WJ/restock", "/warehouses/WH-NOPE/restock"):
        response = await api.get("merchant-wh-cy", path)
        assert response.status_code == 404, response.text
    body = {"action": "accept", "version": "d0", "suggested": 5}
    response = await api.post(
        "merchant-wh-cy", "/warehouses/WH-WJ/restock/VEG-TOMATO/decision", json=body
    )
    assert response.status_code == 404, response.text
    for role, status in (("rider-1", 403), ("channel-app", 403), ("viewer", 200)):
        assert (await api.get(role, f"/warehouses/{CY}/restock")).status_code == status
    response = await api.post("viewer", f"/warehouses/{CY}/restock/VEG-TOMATO/decision", json=body)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"lead_hours": 0},
        {"lead_hours": -3},
        {"lead_hours": "soon"},
        {"review_hours": 10_000},
        {"service_level": 1},
        {"service_level": 0.2},
        {"service_level": "nan"},
        {"weeks": 0},
        {"weeks": 1.5},
        {"weeks": 27},
    ],
)
async def test_bad_sizing_is_refused_with_422(api: Api, params: dict[str, Any]) -> None:
    response = await api.get("admin", f"/warehouses/{CY}/restock", params=params)
    assert response.status_code == 422, response.text


async def events_of(api: Api, kind: str) -> list[dict[str, Any]]:
    response = await api.get("admin", "/events", params={"since": 0, "topics": "stock"})
    assert response.status_code == 200, response.text
    body = response.json()
    events = body["events"] if isinstance(body, dict) else body
    return [e for e in events if e["kind"] == kind]


async def test_accept_adjust_and_receive_are_stored_audited_and_validated(api: Api) -> None:
    merchant = "merchant-wh-cy"
    now = api.clock.now()
    await write_demand(
        api.app.state.runtime.db,
        start=now - timedelta(days=7),
        end=now,
        orders_per_hour=ORDERS_PER_HOUR,
        warehouses={CY},
    )
    first = {s["sku"]: s for s in (await plan(api, merchant))["suggestions"]}
    tomato, milk = first["VEG-TOMATO"], first["DAI-MILK"]
    assert tomato["suggested"] > 0 and tomato["decision"] is None
    path = f"/warehouses/{CY}/restock"

    bad = [
        {"action": "adjust", "version": tomato["version"], "suggested": 5},  # no quantity
        {"action": "adjust", "version": tomato["version"], "suggested": 5, "quantity": -1},
        {"action": "accept", "version": tomato["version"], "suggested": -5},
        {"action": "order", "version": tomato["version"], "suggested": 5},
        {"action": "accept", "version": "", "suggested": 5},
        {"action": "accept", "version": tomato["version"], "suggested": 10**9},
        {"action": "accept", "version": tomato["version"], "suggested": "5"},
        {"action": "accept", "version": tomato["version"], "suggested": 5, "extra": 1},
    ]
    for body in bad:
        response = await api.post(merchant, f"{path}/VEG-TOMATO/decision", json=body)
        assert response.status_code == 422, (body, response.text)
    response = await api.post(
        merchant,
        f"{path}/NO-SUCH/decision",
        json={"action": "accept", "version": "d0", "suggested": 1},
    )
    assert response.status_code == 404
    assert await events_of(api, "stock.restock_accepted") == []

    accept = {"action": "accept", "version": tomato["version"], "suggested": tomato["suggested"]}
    response = await api.post(merchant, f"{path}/VEG-TOMATO/decision", json=accept)
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["decision"] == "accepted"
    assert accepted["quantity"] == tomato["suggested"]
    assert accepted["decided_by"] == merchant and accepted["received_at"] is None
    # The same decision again, on the version it was made on: stale, nothing ordered twice.
    response = await api.post(merchant, f"{path}/VEG-TOMATO/decision", json=accept)
    assert response.status_code == 409, response.text

    adjust = {
        "action": "adjust",
        "version": milk["version"],
        "suggested": milk["suggested"],
        "quantity": 7,
    }
    response = await api.post(merchant, f"{path}/DAI-MILK/decision", json=adjust)
    assert response.status_code == 201, response.text
    adjusted = response.json()
    assert (adjusted["decision"], adjusted["quantity"]) == ("adjusted", 7)

    # What is on order counts in the position: the tomatoes are not suggested again.
    second = {s["sku"]: s for s in (await plan(api, merchant))["suggestions"]}
    assert second["VEG-TOMATO"]["on_order"] == tomato["suggested"]
    assert second["VEG-TOMATO"]["suggested"] <= 1
    assert second["VEG-TOMATO"]["decision"]["id"] == accepted["id"]
    assert second["VEG-TOMATO"]["version"] != tomato["version"]

    (event,) = await events_of(api, "stock.restock_accepted")
    assert event["warehouse_id"] == CY and event["actor"] == merchant
    assert audited(event["payload"]) == {
        "sku": "VEG-TOMATO",
        "decision_id": accepted["id"],
        "suggested": tomato["suggested"],
        "quantity": tomato["suggested"],
    }
    assert len(await events_of(api, "stock.restock_adjusted")) == 1

    # Received: the units go on the shelf, once.
    before = {s["sku"]: s for s in (await api.get(merchant, f"/warehouses/{CY}/stock")).json()}
    receive = f"{path}/decisions/{accepted['id']}/receive"
    response = await api.post(merchant, receive)
    assert response.status_code == 200, response.text
    assert response.json()["received_by"] == merchant
    after = {s["sku"]: s for s in (await api.get(merchant, f"/warehouses/{CY}/stock")).json()}
    assert after["VEG-TOMATO"]["on_hand"] == before["VEG-TOMATO"]["on_hand"] + tomato["suggested"]
    assert (await api.post(merchant, receive)).status_code == 409
    assert (await api.post("merchant-wh-wj", receive)).status_code == 404
    assert (await api.post(merchant, f"{path}/decisions/999999/receive")).status_code == 404
    third = {s["sku"]: s for s in (await plan(api, merchant))["suggestions"]}
    assert third["VEG-TOMATO"]["on_order"] == 0 and third["VEG-TOMATO"]["decision"] is None
    assert len(await events_of(api, "stock.restock_received")) == 1


async def test_the_simulators_stores_order_what_they_accept_and_receive_it_a_lead_time_later(
    api: Api,
) -> None:
    merchant = Actor(
        "http://testserver", "merchant-wh-cy", transport=httpx.ASGITransport(app=api.app)
    )
    now = api.clock.now()
    # No history yet: the store tops up by rule of thumb instead of acting on an empty plan.
    await api.post(
        "admin",
        f"/warehouses/{CY}/stock/EGG-DOZEN/adjust",
        json={"delta": -100, "reason": "a bad batch"},
    )
    done = await restock_round(merchant, CY, now)
    assert done == Counter({"topped_up": 1})

    await write_demand(
        api.app.state.runtime.db,
        start=now - timedelta(days=7),
        end=now,
        orders_per_hour=ORDERS_PER_HOUR,
        warehouses={CY},
    )
    wanted = {s["sku"]: s["suggested"] for s in (await plan(api, "admin"))["suggestions"]}
    asked = {sku for sku, units in wanted.items() if units > 0}
    assert asked
    done = await restock_round(merchant, CY, now)
    assert done == Counter({"accepted": len(asked)})
    on_order = {s["sku"]: s["on_order"] for s in (await plan(api, "admin"))["suggestions"]}
    assert {sku for sku, units in on_order.items() if units} == asked
    # Half a lead time later nothing has come, and nothing is ordered twice.
    api.clock.advance(hours=12)
    assert await restock_round(merchant, CY, api.clock.now()) == Counter()
    # (read through the store's own client, which signs in again as tokens expire)
    before = {s.sku: s.on_hand for s in await merchant.call(lambda c: c.warehouses.stock(CY))}
    api.clock.advance(hours=12)
    done = await restock_round(merchant, CY, api.clock.now())
    assert done["received"] == len(asked)
    after = {s.sku: s.on_hand for s in await merchant.call(lambda c: c.warehouses.stock(CY))}
    assert {sku: after[sku] - before[sku] for sku in asked} == {sku: wanted[sku] for sku in asked}
    await merchant.client.aclose()


@pytest.fixture
async def archiving(database_url: str, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Api]:
    """The app with its archive in the test's folder."""
    async for api in started(database_url, clock, archive_dir=str(tmp_path / "archive")):
        yield api


async def test_the_history_is_read_from_the_archive_too(archiving: Api) -> None:
    api = archiving
    now = api.clock.now()
    runtime = api.app.state.runtime
    await write_demand(
        runtime.db,
        start=now - timedelta(days=14),
        end=now,
        orders_per_hour=ORDERS_PER_HOUR / 4,
        warehouses={CY},
    )
    before = await plan(api, "admin")

    async def hot_orders() -> int:
        async with runtime.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)

    written = await hot_orders()
    report = await archive_once(runtime.db, runtime.settings, api.clock)
    assert len(report.moved) >= 10  # the days older than the hot window
    assert 0 < await hot_orders() < written / 3  # most of the history is in the archive now
    after = await plan(api, "admin")
    assert after == before
