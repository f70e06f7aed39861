"""The `low_stock` rule through the real app on SQLite and PostgreSQL, under a manual clock: a
SKU at its threshold (not one unit above) or running out within the set minutes at the last
hour's reservation rate puts its warehouse's one alert up, which follows SKUs going low and
recovering and resolves once none is low; only that warehouse's merchants and the desk see it.
The engine's loop is off; each test runs its passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.alerts.findings import Subjects
from backend.alerts.low_stock import low_item, moves_stock, runs_out_in
from backend.alerts.rules import DEFAULT_FILE, LowStock, RuleBook, Rules
from backend.clock import ManualClock
from tests.support import Api, eventually, started

CY, WJ = "WH-CY", "WH-WJ"
"""The demo customer's warehouse (Sanlitun, zone Chaoyang), and another one."""
CY_ALERT = ("low_stock", f"warehouse:{CY}")


async def evaluate(api: Api) -> int:
    return await api.app.state.runtime.alerts.evaluate()


async def standing(api: Api, user: str = "admin", **params: Any) -> dict[tuple[str, str], Any]:
    response = await api.get(user, "/alerts", params=params)
    assert response.status_code == 200, response.text
    return {(a["rule"], a["subject"]): a for a in response.json()}


async def set_available(api: Api, warehouse: str, sku: str, units: int) -> None:
    """Adjust the shelf so that `units` are available (no order holds any in the tests)."""
    level = await api.stock(warehouse, sku)
    delta = units - level["available"]
    if delta:
        response = await api.post(
            "admin",
            f"/warehouses/{warehouse}/stock/{sku}/adjust",
            json={"delta": delta, "reason": "stock take"},
        )
        assert response.status_code == 200, response.text
    assert (await api.stock(warehouse, sku))["available"] == units


async def paid(api: Api, sku: str, quantity: int) -> dict[str, Any]:
    """A paid order from the demo customer (Sanlitun, WH-CY): it reserves `quantity` units."""
    order = await api.create_order(items=[{"sku": sku, "quantity": quantity}])
    assert order["warehouse_id"] == CY
    return await api.act("channel-app", order, "pay")


def items_of(alert: dict[str, Any]) -> list[tuple[str, int, int, float | None]]:
    return [
        (i["sku"], i["available"], i["threshold"], i["runs_out_minutes"])
        for i in alert["details"]["items"]
    ]


async def test_fires_at_the_threshold_and_not_one_unit_above(api: Api) -> None:
    await set_available(api, CY, "VEG-TOMATO", 11)  # the default threshold is 10
    await evaluate(api)
    assert CY_ALERT not in await standing(api)

    await set_available(api, CY, "VEG-TOMATO", 10)
    assert await evaluate(api) == 1
    alert = (await standing(api))[CY_ALERT]
    assert (alert["severity"], alert["warehouse_id"], alert["zone"]) == ("warning", CY, "Chaoyang")
    assert alert["details"]["warehouse_id"] == CY
    assert alert["details"]["items"] == [
        {
            "sku": "VEG-TOMATO",
            "name": "Tomatoes",
            "available": 10,
            "threshold": 10,
            "runs_out_minutes": None,  # nothing reserved in the last hour
        }
    ]
    assert alert["title"] == "Sanlitun front warehouse: 1 SKU low (Tomatoes)"

    # Available is on hand less reserved: a paid order taking 2 of 12 makes it low too, and
    # its reservation is the last hour's rate (2 an hour: 10 last 300 minutes).
    await set_available(api, CY, "VEG-TOMATO", 20)
    await evaluate(api)
    assert CY_ALERT not in await standing(api)
    await set_available(api, CY, "VEG-CUCUMBER", 12)
    await paid(api, "VEG-CUCUMBER", 2)
    assert (await api.stock(CY, "VEG-CUCUMBER"))["available"] == 10
    await evaluate(api)
    assert items_of((await standing(api))[CY_ALERT]) == [("VEG-CUCUMBER", 10, 10, 300.0)]


async def test_fires_on_the_projection_at_the_last_hours_reservation_rate(api: Api) -> None:
    await set_available(api, CY, "VEG-SPINACH", 100)
    await paid(api, "VEG-SPINACH", 30)
    api.clock.advance(minutes=10)
    await paid(api, "VEG-SPINACH", 30)
    await evaluate(api)  # 40 left at 60 an hour: out in 40 min, later than 30
    assert CY_ALERT not in await standing(api)

    api.clock.advance(minutes=10)
    await paid(api, "VEG-SPINACH", 30)  # 10 left at 90 an hour: at the threshold anyway
    await set_available(api, CY, "VEG-SPINACH", 40)  # a delivery: 40 at 90 an hour, 26.7 min
    await evaluate(api)
    assert items_of((await standing(api))[CY_ALERT]) == [("VEG-SPINACH", 40, 10, 26.7)]

    # An hour after the first order, it drops out of the rate: 40 at 60 an hour is 40 min.
    api.clock.advance(minutes=41)
    await evaluate(api)
    assert CY_ALERT not in await standing(api)
    (resolved,) = (await standing(api, state="resolved", rule="low_stock")).values()
    assert resolved["resolution"] == "the condition cleared"


async def test_one_alert_per_warehouse_updated_as_skus_go_low_and_recover(api: Api) -> None:
    await set_available(api, CY, "VEG-TOMATO", 6)
    await set_available(api, CY, "VEG-CUCUMBER", 0)
    await set_available(api, WJ, "DAI-MILK", 3)
    assert await evaluate(api) == 2
    alerts = await standing(api)
    assert set(alerts) == {CY_ALERT, ("low_stock", f"warehouse:{WJ}")}
    # Most urgent first: none left before 6 of 10.
    assert items_of(alerts[CY_ALERT]) == [("VEG-CUCUMBER", 0, 10, 0.0), ("VEG-TOMATO", 6, 10, None)]
    assert items_of(alerts["low_stock", f"warehouse:{WJ}"]) == [("DAI-MILK", 3, 10, None)]
    version = alerts[CY_ALERT]["version"]

    # The same SKUs low, one unit fewer: the same alert, not another event.
    await set_available(api, CY, "VEG-TOMATO", 5)
    assert await evaluate(api) == 0

    # Eggs have their own threshold in the packaged rules (15): at 15 another SKU is low.
    await set_available(api, CY, "EGG-DOZEN", 15)
    assert await evaluate(api) == 1
    alert = (await standing(api))[CY_ALERT]
    assert alert["version"] == version + 1
    assert items_of(alert) == [
        ("VEG-CUCUMBER", 0, 10, 0.0),
        ("VEG-TOMATO", 5, 10, None),
        ("EGG-DOZEN", 15, 15, None),
    ]
    assert alert["title"] == (
        "Sanlitun front warehouse: 3 SKUs low (Cucumbers, Free-range eggs, Tomatoes)"
    )

    # Restocked above the threshold one by one: the list shrinks, then the alert resolves.
    await set_available(api, CY, "VEG-CUCUMBER", 11)
    assert await evaluate(api) == 1
    assert [i[0] for i in items_of((await standing(api))[CY_ALERT])] == ["VEG-TOMATO", "EGG-DOZEN"]
    await set_available(api, CY, "VEG-TOMATO", 120)
    await set_available(api, CY, "EGG-DOZEN", 16)
    assert await evaluate(api) == 1
    assert set(await standing(api)) == {("low_stock", f"warehouse:{WJ}")}
    resolved = (await standing(api, state="resolved"))[CY_ALERT]
    assert resolved["resolution"] == "the condition cleared"

    events = await api.get("admin", "/events", params={"since": 0, "topics": "alerts"})
    kinds = [
        e["kind"] for e in events.json()["events"] if e["payload"]["subject"] == f"warehouse:{CY}"
    ]
    assert kinds == ["alert.opened", "alert.updated", "alert.updated", "alert.resolved"]


async def test_its_warehouses_merchants_and_the_desk_see_it_no_other_merchant(api: Api) -> None:
    await set_available(api, CY, "FRU-APPLE", 2)
    await evaluate(api)
    alert = (await standing(api))[CY_ALERT]
    for user in ("merchant-wh-cy", "dispatcher", "supervisor"):
        assert CY_ALERT in await standing(api, user), user
        response = await api.get(user, f"/alerts/{alert['id']}")
        assert response.status_code == 200, (user, response.text)

    other = "merchant-wh-wj"
    assert await standing(api, other) == {}
    assert await standing(api, other, rule="low_stock", warehouse_id=CY) == {}
    assert (await api.get(other, f"/alerts/{alert['id']}")).status_code == 404
    version = {"version": alert["version"]}
    refused = await api.post(other, f"/alerts/{alert['id']}/acknowledge", json=version)
    assert refused.status_code == 404
    events = await api.get(other, "/events", params={"since": 0, "topics": "alerts"})
    assert events.status_code == 200, events.text
    assert not [e for e in events.json()["events"] if e["payload"].get("rule") == "low_stock"]
    mine = await api.get("merchant-wh-cy", "/events", params={"since": 0, "topics": "alerts"})
    assert [e["kind"] for e in mine.json()["events"]] == ["alert.opened"]

    # Their own merchant takes it on.
    taken = await api.post("merchant-wh-cy", f"/alerts/{alert['id']}/acknowledge", json=version)
    assert taken.status_code == 200, taken.text
    assert taken.json()["state"] == "acknowledged"


async def test_a_stock_change_sets_off_a_pass_over_its_warehouse_alone(api: Api) -> None:
    engine = api.app.state.runtime.alerts
    committed: list[Any] = []
    api.app.state.runtime.db.committed.append(committed.extend)
    await set_available(api, CY, "SEA-BASS", 1)
    engine.heard(committed)
    touched = engine.pending()
    assert touched.warehouses == frozenset({CY}) and not touched.everything

    assert await engine.evaluate(Subjects(orders=frozenset({1}))) == 0  # not about stock
    assert await engine.evaluate(Subjects(warehouses=frozenset({WJ}))) == 0
    assert await engine.evaluate(Subjects(warehouses=frozenset({CY}))) == 1
    await set_available(api, CY, "SEA-BASS", 60)
    # A pass about orders alone neither sees nor resolves the warehouse's alert.
    assert await engine.evaluate(Subjects(orders=frozenset({1}), warehouses=frozenset())) == 0
    assert CY_ALERT in await standing(api)
    assert await engine.evaluate(Subjects(warehouses=frozenset({CY}))) == 1
    assert CY_ALERT not in await standing(api)

    # Paying reserves; starting to pick changes no count: it leaves the warehouse alone.
    committed.clear()
    order = await paid(api, "VEG-TOMATO", 1)
    assert [r.kind for r in committed if moves_stock(r.kind, r.payload)] == ["order.transition"]
    committed.clear()
    await api.act("dispatcher", order, "start_picking")
    assert committed and not [r for r in committed if moves_stock(r.kind, r.payload)]


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        ("[low_stock]\ndefault_threshold = -1\n", "low_stock.default_threshold"),
        ("[low_stock]\ndefault_threshold = 2.5\n", "low_stock.default_threshold"),
        ("[low_stock]\ndefault_threshold = true\n", "low_stock.default_threshold"),
        ("[low_stock]\nrun_out_minutes = 'soon'\n", "low_stock.run_out_minutes"),
        ("[low_stock]\nrun_out_minutes = -5\n", "low_stock.run_out_minutes"),
        ("[low_stock]\nseverity = 'loud'\n", "low_stock.severity"),
        ("[low_stock]\nthreshold = 3\n", "low_stock.threshold"),
        ("[low_stock.thresholds]\n'no such sku!' = 3\n", "low_stock.thresholds"),
        ("[low_stock.thresholds]\nVEG-TOMATO = -3\n", "low_stock.thresholds.VEG-TOMATO"),
        ("[low_stock.thresholds]\nVEG-TOMATO = '3'\n", "low_stock.thresholds.VEG-TOMATO"),
    ],
)
def test_bad_values_are_refused_and_the_rules_in_force_stay(
    tmp_path: Path, broken: str, complaint: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[low_stock]\ndefault_threshold = 4\n", encoding="utf-8")
    clock = ManualClock()
    book = RuleBook(path, now=clock.now())
    assert book.error is None and book.rules.low_stock.default_threshold == 4
    path.write_text(broken, encoding="utf-8")
    assert not book.refresh(clock.advance(minutes=1))
    assert book.error is not None and complaint in book.error, book.error
    assert book.rules.low_stock.default_threshold == 4


def test_the_packaged_rules_are_the_defaults() -> None:
    book = RuleBook(DEFAULT_FILE, now=ManualClock().now())
    assert book.error is None and book.rules.low_stock == Rules().low_stock
    rule = book.rules.low_stock
    assert (rule.default_threshold, rule.run_out_minutes) == (10, 30)
    assert rule.threshold("EGG-DOZEN") == 15 and rule.threshold("VEG-TOMATO") == 10


def test_what_counts_as_low() -> None:
    rule = LowStock(default_threshold=5, thresholds={"X": 0}, run_out_minutes=30)
    assert low_item(rule, "A", "A", 5, 0) is not None
    assert low_item(rule, "A", "A", 6, 0) is None
    assert low_item(rule, "A", "A", 30, 60) is not None  # 30 min at one a minute
    assert low_item(rule, "A", "A", 31, 60) is None
    assert low_item(rule, "X", "X", 1, 0) is None and low_item(rule, "X", "X", 0, 0) is not None
    off = LowStock(default_threshold=5, run_out_minutes=0)  # thresholds only
    assert low_item(off, "A", "A", 6, 6000) is None
    assert runs_out_in(0, 0) == 0.0 and runs_out_in(10, 0) is None
    assert runs_out_in(10, 3) == 200.0


async def test_per_sku_thresholds_from_a_changed_file(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[low_stock.thresholds]\nVEG-TOMATO = 50\n", encoding="utf-8")
    clock = ManualClock()
    async for api in started(database_url, clock, alert_rules_file=str(path)):
        await set_available(api, CY, "VEG-TOMATO", 50)
        await set_available(api, CY, "EGG-DOZEN", 12)  # the file's table replaced eggs' 15
        await evaluate(api)
        assert items_of((await standing(api))[CY_ALERT]) == [("VEG-TOMATO", 50, 50, None)]

        path.write_text("[low_stock]\nenabled = false\n", encoding="utf-8")
        clock.advance(minutes=1)
        await evaluate(api)
        assert CY_ALERT not in await standing(api)
        shown = (await api.get("dispatcher", "/alerts/rules")).json()
        assert shown["rules"]["low_stock"]["enabled"] is False and shown["error"] is None


async def test_the_running_engine_answers_a_stock_change_at_once(database_url: str) -> None:
    """With the engine's loop running and a tick of a minute, a write-off that leaves a SKU
    low is in the queue long before the tick: the adjustment itself set the rule off."""
    async for api in started(database_url, ManualClock(), alerts=True, alert_tick_seconds=60):

        async def alerted(api: Api = api) -> bool:
            return CY_ALERT in await standing(api)

        await set_available(api, CY, "DAI-TOFU", 4)
        await eventually(alerted, "the low_stock alert, long before the minute's tick", within=10)
