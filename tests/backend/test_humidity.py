"""Humidity readings (issue 26, "Sensors"): taken beside or instead of temperature, refused
whole when impossible, read back per order with the bands of its goods, and checked by the
`humidity` rule per class of goods with thresholds from the rules file, read again when it
changes. Through the real app on a manual clock (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from backend.alerts.rules import DEFAULT_FILE, RuleBook, Rules
from backend.app import create_app
from backend.clock import ManualClock
from backend_client import FreshlineClient
from backend_client.models import SensorReading
from tests.backend.test_alert_rules import delivering, evaluate, standing
from tests.support import STARTUP_S, Api, settings_for

VEGETABLES = [{"sku": "VEG-SPINACH", "quantity": 1}]
MILK_AND_EGGS = [{"sku": "DAI-MILK", "quantity": 1}, {"sku": "EGG-DOZEN", "quantity": 1}]


async def report(api: Api, *readings: dict[str, Any], expect: int = 200) -> httpx.Response:
    at = api.clock.now().isoformat()
    body = {"readings": [{"at": at, **r} for r in readings]}
    response = await api.post("rider-1", "/sensors/readings", json=body)
    assert response.status_code == expect, response.text
    return response


async def sensors(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    response = await api.get("dispatcher", f"/orders/{order['id']}/sensors")
    assert response.status_code == 200, response.text
    return response.json()


async def test_humidity_is_taken_beside_or_instead_of_temperature(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, items=MILK_AND_EGGS)
    await report(api, {"order_id": order["id"], "celsius": 4.5, "humidity": 78.0})
    read = await sensors(api, order)
    assert read["celsius"]["value"] == 4.5 and read["humidity"]["value"] == 78.0
    assert read["celsius"]["source"] == read["humidity"]["source"] == "box"
    assert read["humidity_bands"] == {"dairy": [60.0, 90.0], "eggs": [65.0, 85.0]}
    assert read["celsius_band"] == [0.0, 8.0]

    # A humidity sensor alone in the rider's vehicle, newer: it speaks for the humidity; the
    # box's temperature still speaks for the temperature.
    api.clock.advance(minutes=1)
    await report(api, {"rider_id": 1, "humidity": 70.5})
    read = await sensors(api, order)
    assert read["humidity"] == {
        "source": "vehicle",
        "value": 70.5,
        "at": api.clock.now().isoformat().replace("+00:00", "Z"),
    }
    assert read["celsius"]["source"] == "box" and read["celsius"]["value"] == 4.5


async def test_impossible_readings_refuse_the_whole_batch(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, items=VEGETABLES)
    for bad, complaint in (
        ({"order_id": order["id"]}, "celsius, humidity or both"),
        ({"order_id": order["id"], "humidity": 101}, "humidity"),
        ({"order_id": order["id"], "humidity": -1}, "humidity"),
        ({"order_id": order["id"], "humidity": "damp"}, "humidity"),
    ):
        response = await report(api, {"order_id": order["id"], "humidity": 90}, bad, expect=422)
        assert complaint in response.text, response.text
    read = await sensors(api, order)
    assert read["humidity"] is None and read["celsius"] is None  # nothing kept
    assert read["humidity_bands"] == {"vegetables": [85.0, 98.0]}
    assert read["celsius_band"] is None  # spinach is no cold-chain goods
    other = await api.get("merchant-wh-hd", f"/orders/{order['id']}/sensors")
    assert other.status_code == 404  # out of that account's scope


async def test_the_humidity_rule_checks_each_class_of_goods_it_carries(api: Api) -> None:
    await api.rider_online(1)
    greens = await delivering(api, 1, items=VEGETABLES)
    dairy = await delivering(api, 1, items=MILK_AND_EGGS)
    await report(
        api,
        {"order_id": greens["id"], "humidity": 70.0},  # too dry for vegetables (85-98)
        {"order_id": dairy["id"], "humidity": 70.0},  # fine for dairy (60-90) and eggs (65-85)
    )
    await evaluate(api)
    alerts = await standing(api)
    dry = alerts["humidity", f"order:{greens['id']}"]
    assert dry["severity"] == "warning" and "vegetables" in dry["title"]
    assert dry["details"]["humidity"] == 70.0
    assert dry["details"]["bands"] == {"vegetables": [85.0, 98.0]}
    assert ("humidity", f"order:{dairy['id']}") not in alerts
    # A humidity-only reading says nothing of the cold chain (milk is cold-chain goods).
    assert ("cold_chain_temperature", f"order:{dairy['id']}") not in alerts

    # Eggs want it drier than 85 %: one reading, one alert, naming the class that suffers.
    api.clock.advance(minutes=1)
    await report(api, {"order_id": greens["id"], "humidity": 92}, {"rider_id": 1, "humidity": 88})
    await evaluate(api)
    alerts = await standing(api)
    assert ("humidity", f"order:{greens['id']}") not in alerts  # 92 or 88: both fine
    wet = alerts["humidity", f"order:{dairy['id']}"]
    assert "eggs" in wet["title"] and "dairy" not in wet["title"]


def test_the_bands_come_from_the_rules_file_and_a_wrong_band_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    clock = ManualClock()
    book = RuleBook(path, now=clock.now())
    assert book.error is None and book.rules == Rules()
    assert book.rules.humidity.classes["vegetables"].min_percent == 85

    path.write_text(
        "[humidity]\nseverity = 'critical'\n[humidity.classes]\n"
        "mushrooms = { min_percent = 90, max_percent = 95 }\n",
        encoding="utf-8",
    )
    assert book.refresh(clock.advance(minutes=1))
    assert set(book.rules.humidity.classes) == {"mushrooms"}
    assert book.rules.humidity.severity == "critical"
    for broken, complaint in (
        (
            "[humidity.classes]\nfruit = { min_percent = 95, max_percent = 80 }\n",
            "humidity.classes.fruit: min_percent must be below",
        ),
        ("[humidity.classes]\nfruit = { min_percent = 80 }\n", "max_percent"),
        ("[humidity.classes]\nfruit = { min_percent = 80, max_percent = 140 }\n", "max_percent"),
        ("[humidity]\nmax_reading_age_minutes = 0\n", "max_reading_age_minutes"),
    ):
        path.write_text(broken, encoding="utf-8")
        assert not book.refresh(clock.advance(minutes=1))
        assert book.error is not None and complaint in book.error, book.error
        assert set(book.rules.humidity.classes) == {"mushrooms"}  # the rules in force stay


async def test_a_changed_band_applies_without_a_restart(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    clock = ManualClock()
    app = create_app(settings_for(database_url, alert_rules_file=str(path)), clock=clock)
    async with (
        LifespanManager(app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        api = Api(client, app, clock)
        await api.rider_online(1)
        greens = await delivering(api, 1, items=VEGETABLES)
        await report(api, {"order_id": greens["id"], "humidity": 80.0})
        await evaluate(api)
        assert ("humidity", f"order:{greens['id']}") in await standing(api)

        path.write_text(
            "[humidity.classes]\nvegetables = { min_percent = 75, max_percent = 95 }\n",
            encoding="utf-8",
        )
        clock.advance(seconds=1)
        await evaluate(api)
        assert ("humidity", f"order:{greens['id']}") not in await standing(api)
        assert (await sensors(api, greens))["humidity_bands"] == {"vegetables": [75.0, 95.0]}


async def test_the_client_sends_humidity_and_reads_the_order_back(api: Api) -> None:
    await api.rider_online(1)
    order = await delivering(api, 1, items=VEGETABLES)
    at = api.clock.now()
    with pytest.raises(ValidationError, match="celsius, humidity or both"):
        SensorReading(order_id=order["id"], at=at)  # refused before it leaves
    async with FreshlineClient(
        "http://testserver",
        token=await api.token("rider-1"),
        transport=httpx.ASGITransport(app=api.app),
    ) as client:
        result = await client.sensors.send(
            [SensorReading(order_id=order["id"], humidity=91.5, at=at)]
        )
        assert result.accepted == 1
        read = await client.sensors.of_order(order["id"])
    assert read.humidity is not None and read.humidity.value == 91.5
    assert read.celsius is None and read.humidity_bands == {"vegetables": (85.0, 98.0)}


async def test_the_kpi_summary_says_what_the_sensors_read(api: Api) -> None:
    await api.rider_online(1)
    greens = await delivering(api, 1, items=VEGETABLES)
    await report(
        api,
        {"order_id": greens["id"], "celsius": 6.0, "humidity": 90.0},
        {"order_id": greens["id"], "humidity": 80.0},
        {"rider_id": 1, "celsius": 2.0},
    )
    api.clock.advance(minutes=1)
    summary = (await api.get("supervisor", "/kpi/summary")).json()
    assert summary["sensors"] == {
        "celsius_readings": 2,
        "celsius_min": 2.0,
        "celsius_avg": 4.0,
        "celsius_max": 6.0,
        "humidity_readings": 2,
        "humidity_min": 80.0,
        "humidity_avg": 85.0,
        "humidity_max": 90.0,
    }
    # Narrowed to a zone: the boxes of its orders only (a vehicle serves every zone).
    zone = (await api.get("supervisor", "/kpi/summary", params={"zone": greens["zone"]})).json()
    assert zone["sensors"]["celsius_readings"] == 1 and zone["sensors"]["celsius_min"] == 6.0
    other = await api.get("supervisor", "/kpi/summary", params={"warehouse_id": "WH-HD"})
    assert other.json()["sensors"]["humidity_readings"] == 0
    assert other.json()["sensors"]["humidity_avg"] is None
