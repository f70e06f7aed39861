"""The orders forecast and the `understaffed_zone` rule through the real app on both databases,
on a manual clock: three weeks of known orders give the mean of the same hour of the same
weekday; the zone short of riders for an hour is told 30 minutes before it starts, and the
alert resolves once riders are planned or the hour is over. Also the forecast's arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from backend.clock import ManualClock
from backend.staffing.forecast import rider_hours, riders_needed, seasonal_mean
from tests.support import Api, customer

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
"""A Sunday; the test's "now" is three Sundays later, 2026-11-22."""
WANGJING = (39.9965, 116.4700)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def go_to(api: Api, moment: datetime) -> None:
    api.clock.advance(seconds=(moment - api.clock.now()).total_seconds())
    api._tokens.clear()  # they live 12 hours: sign in again after a jump


async def orders_at(
    api: Api, moment: datetime, count: int, where: tuple[float, float] | None = None
):
    go_to(api, moment)
    for n in range(count):
        place = {} if where is None else {"lat": where[0], "lng": where[1]}
        await api.create_order(customer=customer(phone=f"1380000{n:04d}", **place))


async def staffing(api: Api, hours: int = 3) -> dict[str, dict[str, Any]]:
    response = await api.get("dispatcher", "/staffing", params={"hours": hours})
    assert response.status_code == 200, response.text
    return {z["zone"]: z for z in response.json()["zones"]}


async def understaffed(api: Api, user: str = "admin") -> dict[str, dict[str, Any]]:
    response = await api.get(user, "/alerts", params={"rule": "understaffed_zone"})
    assert response.status_code == 200, response.text
    return {a["subject"]: a for a in response.json() if a["rule"] == "understaffed_zone"}


async def evaluate(api: Api) -> int:
    return await api.app.state.runtime.alerts.evaluate()


async def plan(api: Api, rider: int, start: datetime, end: datetime, zone: str) -> None:
    body = {"starts_at": start.isoformat(), "ends_at": end.isoformat(), "zone": zone}
    response = await api.post("dispatcher", f"/riders/{rider}/shifts", json=body)
    assert response.status_code == 201, response.text


def day(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, d, hour, minute, tzinfo=UTC)


async def known_history(api: Api) -> None:
    """Sundays 10:00-11:00 in Chaoyang: 3, 6 and 9 orders; around them, orders that are not
    in that hour (11:05) or not in that zone (Wangjing)."""
    await orders_at(api, day(1, 10, 5), 3)
    await orders_at(api, day(8, 10, 5), 6)
    await orders_at(api, day(15, 10, 5), 9)
    await orders_at(api, day(15, 10, 30), 1, WANGJING)
    await orders_at(api, day(15, 11, 5), 2)


async def test_the_forecast_is_the_mean_of_the_same_hour_over_the_weeks_with_history(
    api: Api,
) -> None:
    await known_history(api)
    go_to(api, day(22, 9, 40))
    zones = await staffing(api)
    assert set(zones) == {"Chaoyang", "Wangjing", "Haidian", "Dongcheng", "Xicheng", "Fengtai"}
    cy = {h["starts_at"][:16]: h for h in zones["Chaoyang"]["hours"]}
    assert list(cy) == ["2026-11-22T09:00", "2026-11-22T10:00", "2026-11-22T11:00"]
    # 10:00: (3 + 6 + 9) / 3 weeks = 6 orders; at 3 orders a rider-hour, 2 riders.
    ten = cy["2026-11-22T10:00"]
    assert (ten["forecast_orders"], ten["weeks"], ten["riders_needed"]) == (6.0, 3, 2)
    assert (ten["riders_planned"], ten["short"]) == (0.0, 2.0)
    # 11:00: 2 orders in one of three weeks; 09:00: the history starts at 10:00 on the 1st, so
    # only two weeks reach back to it, both without orders.
    eleven = cy["2026-11-22T11:00"]
    assert (eleven["forecast_orders"], eleven["weeks"], eleven["riders_needed"]) == (0.67, 3, 1)
    nine = cy["2026-11-22T09:00"]
    assert (nine["forecast_orders"], nine["weeks"], nine["riders_needed"]) == (0.0, 2, 0)
    wj = {h["starts_at"][:16]: h for h in zones["Wangjing"]["hours"]}
    assert (wj["2026-11-22T10:00"]["forecast_orders"], wj["2026-11-22T10:00"]["riders_needed"]) == (
        0.33,
        1,
    )
    assert all(h["forecast_orders"] == 0 for h in zones["Haidian"]["hours"])

    # Planned: the rider-hours of shifts in each hour; now: riders on shift and online.
    await plan(api, 1, day(22, 9, 30), day(22, 10, 30), "Chaoyang")
    await plan(api, 2, day(22, 10, 0), day(22, 14, 0), "Chaoyang")
    await api.rider_online(2)
    await api.rider_online(3)
    cy_now = (await staffing(api))["Chaoyang"]
    assert (cy_now["planned_now"], cy_now["online_now"]) == (1, 2)
    planned = [h["riders_planned"] for h in cy_now["hours"]]
    assert planned == [0.5, 1.5, 1.0]


async def test_understaffed_zone_fires_30_minutes_ahead_and_resolves(api: Api) -> None:
    await known_history(api)
    go_to(api, day(22, 9, 29))
    await evaluate(api)
    assert await understaffed(api) == {}

    go_to(api, day(22, 9, 30))
    await evaluate(api)
    alerts = await understaffed(api)
    assert set(alerts) == {"zone:Chaoyang@2026112210", "zone:Wangjing@2026112210"}
    chaoyang = alerts["zone:Chaoyang@2026112210"]
    assert chaoyang["zone"] == "Chaoyang" and chaoyang["warehouse_id"] == "WH-CY"
    assert chaoyang["severity"] == "warning"
    assert chaoyang["details"] == {
        "zone": "Chaoyang",
        "hour": "2026-11-22T10:00:00+00:00",
        "forecast_orders": 6.0,
        "riders_planned": 0.0,
        "riders_needed": 2,
    }
    # Each store sees its own zone's.
    assert set(await understaffed(api, "merchant-wh-wj")) == {"zone:Wangjing@2026112210"}
    assert set(await understaffed(api, "merchant-wh-cy")) == {"zone:Chaoyang@2026112210"}
    # Evaluated again, still one alert each.
    await evaluate(api)
    assert set(await understaffed(api)) == set(alerts)

    # One rider planned for the hour is not enough; two are: resolved.
    await plan(api, 1, day(22, 10, 0), day(22, 14, 0), "Chaoyang")
    await evaluate(api)
    assert "zone:Chaoyang@2026112210" in await understaffed(api)
    await plan(api, 2, day(22, 9, 45), day(22, 12, 0), "Chaoyang")
    await evaluate(api)
    assert set(await understaffed(api)) == {"zone:Wangjing@2026112210"}
    resolved = await api.get("admin", f"/alerts/{chaoyang['id']}")
    assert resolved.json()["state"] == "resolved"

    # Wangjing stays short through its hour; when the hour is over, the alert goes.
    go_to(api, day(22, 10, 59))
    await evaluate(api)
    assert set(await understaffed(api)) == {"zone:Wangjing@2026112210"}
    go_to(api, day(22, 11, 0))
    await evaluate(api)
    assert await understaffed(api) == {}


def test_the_forecast_arithmetic() -> None:
    assert seasonal_mean([3, 6, 9]).orders == 6 and seasonal_mean([3, 6, 9]).weeks == 3
    assert seasonal_mean([]).orders == 0 and seasonal_mean([]).weeks == 0
    assert riders_needed(0, 3) == 0
    assert riders_needed(0.2, 3) == 1
    assert riders_needed(6, 3) == 2
    assert riders_needed(6.000000001, 3) == 2  # float dust is not a third rider
    assert riders_needed(6.1, 3) == 3
    hour = day(22, 10)
    shifts = [
        (day(22, 9), day(22, 10, 30)),  # half the hour
        (day(22, 10, 15), day(22, 10, 30)),  # a quarter
        (day(22, 11), day(22, 12)),  # after it
        (day(22, 8), day(22, 10)),  # before it (ends as it starts)
        (day(22, 9), day(22, 12)),  # all of it
    ]
    assert rider_hours(shifts, hour) == pytest.approx(1.75)
    assert rider_hours([], hour) == 0
