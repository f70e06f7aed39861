"""The shift handover digest through the real app on SQLite and PostgreSQL, under a manual
clock: a shift's events make the digest (who acknowledged what, a resolved critical gone, a
claim waiting, riders out, late orders, KPIs against the shift before), shift boundaries
across midnight in the business time zone, and refusals (4xx) for bad questions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from backend.clock import ManualClock
from backend.handover.shifts import parse_shift_starts, shift_at, shift_before
from backend.settings import Settings
from tests.support import Api, started

FAR = (39.90, 116.40)
"""About 6 km from the demo customer: nobody arrives by accident."""
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_STARTS = parse_shift_starts(["06:00", "14:00", "22:00"])


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def fix(api: Api, rider: int, lat_lng: tuple[float, float] = FAR) -> None:
    point = {"lat": lat_lng[0], "lng": lat_lng[1], "at": api.clock.now().isoformat()}
    response = await api.post(
        f"rider-{rider}", f"/riders/{rider}/positions", json={"points": [point]}
    )
    assert response.status_code == 200, response.text


async def out_for_delivery(api: Api, rider: int) -> dict[str, Any]:
    order = await api.act("channel-app", await api.create_order(), "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    return await api.act(f"rider-{rider}", order, "dispatch")


async def standing(api: Api) -> dict[tuple[str, str], dict[str, Any]]:
    response = await api.get("admin", "/alerts")
    assert response.status_code == 200, response.text
    return {(a["rule"], a["subject"]): a for a in response.json()}


async def digest(api: Api, who: str = "dispatcher", **params: Any) -> dict[str, Any]:
    response = await api.get(who, "/handover", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_shifts_events_make_the_digest(api: Api) -> None:
    # 10:00 UTC is 18:00 in Shanghai: the shift began at 14:00 local (06:00 UTC).
    riders = {}
    for rider in (1, 2, 3):
        await api.rider_online(rider)
        await fix(api, rider)
        riders[rider] = await out_for_delivery(api, rider)
    claim = await api.post(
        "rider-3",
        f"/orders/{riders[3]['id']}/claims",
        json={
            "version": riders[3]["version"],
            "reason": "box crushed",
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
            "amount_cents": 300,
        },
    )
    assert claim.status_code == 201, claim.text

    api.clock.advance(minutes=6)  # riders 1 and 2 silent with orders on them: critical
    await fix(api, 3)
    await api.app.state.runtime.alerts.evaluate()
    alerts = await standing(api)
    silent_1, silent_2 = alerts["gps_silent", "rider:1"], alerts["gps_silent", "rider:2"]
    assert silent_1["severity"] == silent_2["severity"] == "critical"
    acked = await api.post(
        "supervisor",
        f"/alerts/{silent_1['id']}/acknowledge",
        json={"version": silent_1["version"], "note": "calling him"},
    )
    assert acked.status_code == 200, acked.text

    api.clock.advance(minutes=1)
    await fix(api, 2)  # rider 2's phone is back: their critical resolves
    await fix(api, 3)
    await api.app.state.runtime.alerts.evaluate()
    assert ("gps_silent", "rider:2") not in await standing(api)
    await api.act("rider-2", riders[2], "sign")

    api.clock.advance(minutes=40)  # 47 minutes on: the other two orders are past their promise
    answer = await digest(api)

    assert (when(answer["start"]), when(answer["end"])) == (utc(22, 6), api.clock.now())
    assert when(answer["previous_start"]) == utc(21, 22)
    assert answer["time_zone"] == "Asia/Shanghai"

    critical = {a["subject"]: a for a in answer["critical_alerts"]}
    assert critical["rider:1"]["acknowledged_by"] == "supervisor"
    assert critical["rider:1"]["state"] == "acknowledged"
    assert critical["rider:1"]["note"] == "calling him"
    assert "rider:2" not in critical  # resolved: no longer open
    assert all(a["severity"] == "warning" for a in answer["warning_alerts"])
    assert answer["alerts_opened"] >= 2 and answer["alerts_resolved"] >= 1

    acks = [a for a in answer["acknowledgements"] if a["alert_id"] == silent_1["id"]]
    assert [(a["by"], a["role"], a["note"], a["state_now"]) for a in acks] == [
        ("supervisor", "supervisor", "calling him", "acknowledged")
    ]
    assert all(a["alert_id"] != silent_2["id"] for a in answer["acknowledgements"])

    [waiting] = answer["waiting_requests"]
    assert (waiting["kind"], waiting["order_id"], waiting["opened_by"]) == (
        "claim",
        riders[3]["id"],
        "rider-3",
    )

    out = {r["id"]: r for r in answer["riders_out"]}
    assert set(out) == {1, 3}  # rider 2 delivered everything
    assert out[1]["order_ids"] == [riders[1]["id"]] and out[1]["late_orders"] == 1
    assert out[3]["order_ids"] == [riders[3]["id"]]

    assert answer["in_flight_by_state"] == {"DELIVERING": 1, "EXCEPTION": 1}
    assert answer["late_total"] == 2
    late = {o["id"]: o for o in answer["late_orders"]}
    assert set(late) == {riders[1]["id"], riders[3]["id"]}
    assert late[riders[1]["id"]]["late_minutes"] == pytest.approx(2.0)
    assert late[riders[1]["id"]]["rider_id"] == 1

    this_shift, previous = answer["kpis"]["this_shift"], answer["kpis"]["previous_shift"]
    assert (this_shift["orders"], this_shift["signed"]) == (3, 1)
    assert (previous["orders"], previous["signed"]) == (0, 0)

    # Every desk role reads it; the viewer too.
    assert (await digest(api, "viewer"))["late_total"] == 2


async def test_the_next_shift_starts_clean_and_crosses_midnight(api: Api) -> None:
    await api.rider_online(1)
    await fix(api, 1)
    order = await out_for_delivery(api, 1)
    api.clock.advance(minutes=6)
    await api.app.state.runtime.alerts.evaluate()
    alert = (await standing(api))["gps_silent", "rider:1"]
    acked = await api.post(
        "dispatcher", f"/alerts/{alert['id']}/acknowledge", json={"version": alert["version"]}
    )
    assert acked.status_code == 200, acked.text
    await api.act("rider-1", order, "sign")
    assert (await digest(api))["acknowledgements"][0]["by"] == "dispatcher"

    # 14:00 UTC is 22:00 in Shanghai: the night shift begins; the day's work is the shift before.
    api.clock.advance(hours=4)
    night = await digest(api)
    assert when(night["start"]) == utc(22, 14) and when(night["previous_start"]) == utc(22, 6)
    assert night["acknowledgements"] == []
    assert night["kpis"]["previous_shift"]["signed"] == 1
    assert night["kpis"]["this_shift"]["signed"] == 0

    # 01:00 the next local day: still the night shift that began before midnight.
    api.clock.advance(hours=3)
    after_midnight = await digest(api)
    assert when(after_midnight["start"]) == utc(22, 14)
    assert after_midnight["kpis"]["previous_shift"]["signed"] == 1

    # Asked for, the digest reaches back past the shift's start.
    since = (utc(22, 10) + timedelta(minutes=1)).isoformat()
    reaching = await digest(api, since=since)
    assert when(reaching["start"]) == utc(22, 10, 1)
    assert [a["by"] for a in reaching["acknowledgements"]] == ["dispatcher"]
    assert reaching["kpis"]["this_shift"]["signed"] == 1
    hours = await digest(api, hours=2)
    assert when(hours["start"]) == api.clock.now() - timedelta(hours=2)


@pytest.fixture
async def lisbon(database_url: str) -> AsyncIterator[Api]:
    """The app with two shifts a day (07:00 and 19:00) in Lisbon's time zone."""
    clock = ManualClock(utc(22, 18, 30))
    async for api in started(
        database_url, clock, time_zone="Europe/Lisbon", shift_starts=["19:00", "07:00"]
    ):
        yield api


async def test_shift_boundaries_are_read_in_the_business_time_zone(lisbon: Api) -> None:
    # Lisbon is at UTC in November: 18:30 is the day shift's, begun at 07:00.
    day = await digest(lisbon)
    assert (when(day["start"]), when(day["previous_start"])) == (utc(22, 7), utc(21, 19))
    assert day["time_zone"] == "Europe/Lisbon"
    lisbon.clock.advance(hours=6)  # 00:30 on the 23rd: the night shift began at 19:00 the 22nd
    night = await digest(lisbon)
    assert (when(night["start"]), when(night["previous_start"])) == (utc(22, 19), utc(22, 7))


def test_shift_boundaries_across_midnight_and_a_dst_change() -> None:
    # 23:30 and 05:59 local in Shanghai both belong to the shift begun at 22:00 the day before.
    for local in (datetime(2026, 11, 22, 23, 30), datetime(2026, 11, 23, 5, 59)):
        shift = shift_at(local.replace(tzinfo=SHANGHAI), DEFAULT_STARTS, SHANGHAI)
        assert (shift.start, shift.end) == (utc(22, 14), utc(22, 22))
    shift = shift_at(utc(22, 22), DEFAULT_STARTS, SHANGHAI)  # exactly 06:00 local: the new one
    assert shift.start == utc(22, 22)
    assert shift_before(shift, DEFAULT_STARTS, SHANGHAI).start == utc(22, 14)

    # Lisbon springs forward at 01:00 UTC on 29 March 2026: the night shift (22:00 to 06:00)
    # lasts 7 hours that night, not 8.
    lisbon = ZoneInfo("Europe/Lisbon")
    starts = parse_shift_starts(["06:00", "14:00", "22:00"])
    shift = shift_at(datetime(2026, 3, 29, 3, tzinfo=UTC), starts, lisbon)
    assert shift.start == datetime(2026, 3, 28, 22, tzinfo=UTC)
    assert shift.end - shift.start == timedelta(hours=7)
    assert parse_shift_starts(["22:00", "06:00"]) == (time(6), time(22))


@pytest.mark.parametrize(
    "starts", [[], ["6:00"], ["24:00"], ["06:60"], ["06:00", "06:00"], ["06:00 "], ["noon"]]
)
def test_bad_shift_starts_are_refused_at_start(starts: list[str]) -> None:
    with pytest.raises(ValidationError, match="shift"):
        Settings(database_url="sqlite+aiosqlite:///:memory:", shift_starts=starts)


async def test_bad_questions_are_refused_and_change_nothing(api: Api) -> None:
    events = await api.event_count()
    now = api.clock.now()
    for params in (
        {"since": now.isoformat(), "hours": 2},  # both
        {"since": (now + timedelta(minutes=1)).isoformat()},  # the future
        {"since": now.isoformat()},  # an empty window
        {"since": (now - timedelta(days=8)).isoformat()},  # beyond a week
        {"since": "2026-11-22T08:00:00"},  # no offset
        {"since": "yesterday"},
        {"hours": 0},
        {"hours": -1},
        {"hours": 169},
        {"hours": "two"},
        {"hours": "nan"},
    ):
        response = await api.get("dispatcher", "/handover", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"]
    for who in ("merchant-wh-cy", "rider-1", "channel-app"):
        refused = await api.get(who, "/handover")
        assert refused.status_code == 403, refused.text
    assert (await api.client.get("/api/v1/handover")).status_code == 401
    assert await api.event_count() == events
