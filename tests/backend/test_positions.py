"""Rider position batches: any order, duplicates dropped, the latest fix wins, bad batches refused.

Positions live in `rider_positions`, never in the event log. Each test runs on SQLite and on
PostgreSQL; the rider posts as `rider-N` for rider N and the dispatcher reads the result.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from backend.riders.models import RiderPositionRow
from tests.support import Api

RIDER = 1
PATH = f"/riders/{RIDER}/positions"
JSON = {"Content-Type": "application/json"}
BEIJING = timezone(timedelta(hours=8))


def fix(at: datetime, lat: float = 39.93, lng: float = 116.45, **extra: Any) -> dict[str, Any]:
    return {"lat": lat, "lng": lng, "at": at.isoformat(), **extra}


async def upload(api: Api, points: list[dict[str, Any]], *, expect: int = 200) -> dict[str, Any]:
    response = await api.post(f"rider-{RIDER}", PATH, json={"points": points})
    assert response.status_code == expect, response.text
    return response.json()


async def rider(api: Api) -> dict[str, Any]:
    response = await api.get("dispatcher", f"/riders/{RIDER}")
    assert response.status_code == 200, response.text
    return response.json()


def last_fix(view: dict[str, Any]) -> tuple[float | None, float | None, datetime | None]:
    at = view["last_fix_at"]
    return view["last_lat"], view["last_lng"], datetime.fromisoformat(at) if at else None


async def stored(api: Api) -> list[tuple[datetime, float, float]]:
    """The rider's track as kept in `rider_positions`, oldest first."""
    async with api.app.state.runtime.db.read() as session:
        rows = await session.scalars(
            select(RiderPositionRow)
            .where(RiderPositionRow.rider_id == RIDER)
            .order_by(RiderPositionRow.at)
        )
        return [(row.at, row.lat, row.lng) for row in rows]


def names_index(detail: Any, index: int) -> bool:
    """Whether an error detail points at `points[index]` (service text or validation list)."""
    if isinstance(detail, str):
        return f"points[{index}]" in detail
    return any(list(error.get("loc", []))[1:3] == ["points", index] for error in detail)


async def test_points_in_any_order_are_stored_and_the_latest_becomes_the_last_fix(
    api: Api,
) -> None:
    now = api.clock.now()
    events = await api.event_count()
    assert last_fix(await rider(api)) == (None, None, None)

    t = [now - timedelta(seconds=s) for s in (50, 40, 30, 20, 10)]
    shuffled = [fix(t[2], 39.930), fix(t[4], 39.950), fix(t[0], 39.910), fix(t[3], 39.940)]
    result = await upload(api, shuffled)
    assert (result["accepted"], result["duplicates"]) == (4, 0)
    expected = (39.950, 116.45, t[4])
    assert last_fix(result) == expected
    assert last_fix(await rider(api)) == expected
    listed = await api.get("dispatcher", "/riders", params={"warehouse_id": "WH-CY"})
    assert last_fix(next(r for r in listed.json() if r["id"] == RIDER)) == expected
    assert [p[0] for p in await stored(api)] == [t[0], t[2], t[3], t[4]]

    # Duplicates within a batch: the same fix twice, and the same instant written in +08:00.
    # Across batches: t[2] and t[4] were stored already. t[1] is the only new fix.
    again = [
        fix(t[1], 39.920),
        fix(t[1], 39.920),
        {"lat": 39.920, "lng": 116.45, "at": t[1].astimezone(BEIJING).isoformat()},
        fix(t[4], 39.950),
        fix(t[2], 39.930),
    ]
    result = await upload(api, again)
    assert (result["accepted"], result["duplicates"]) == (1, 4)
    assert last_fix(result) == expected
    assert last_fix(await rider(api)) == expected
    assert [p[0] for p in await stored(api)] == t

    # A batch of nothing but known fixes stores nothing and changes nothing.
    result = await upload(api, [fix(t[0], 39.910), fix(t[3], 39.940)])
    assert (result["accepted"], result["duplicates"]) == (0, 2)
    assert last_fix(await rider(api)) == expected

    # One microsecond apart is another fix, not a duplicate.
    micro = now - timedelta(seconds=5)
    result = await upload(api, [fix(micro, 39.96), fix(micro + timedelta(microseconds=1), 39.97)])
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    assert last_fix(await rider(api)) == (39.97, 116.45, micro + timedelta(microseconds=1))
    result = await upload(api, [fix(micro + timedelta(microseconds=1), 39.97)])
    assert (result["accepted"], result["duplicates"]) == (0, 1)
    assert len(await stored(api)) == 7

    # Positions never write to the event log.
    assert await api.event_count() == events


async def test_a_late_offline_batch_does_not_move_the_rider_backwards(api: Api) -> None:
    start = api.clock.now()
    events = await api.event_count()
    await upload(api, [fix(start, 39.90)])
    api.clock.advance(minutes=30)
    now = api.clock.now()
    result = await upload(api, [fix(now, 39.99, 116.49)])
    assert last_fix(result) == (39.99, 116.49, now)

    # The phone was offline from 10:05 to 10:25 and uploads its cache late, newest first.
    cache = [fix(start + timedelta(minutes=m), 39.90 + m / 1000) for m in range(25, 4, -5)]
    result = await upload(api, cache)
    assert (result["accepted"], result["duplicates"]) == (5, 0)
    assert last_fix(result) == (39.99, 116.49, now)
    assert last_fix(await rider(api)) == (39.99, 116.49, now)
    assert len(await stored(api)) == 7

    # Even a cache that overlaps the newest fix (a duplicate of it) leaves the rider there.
    result = await upload(api, [fix(now, 39.99, 116.49), fix(now - timedelta(minutes=1), 39.0)])
    assert (result["accepted"], result["duplicates"]) == (1, 1)
    assert last_fix(await rider(api)) == (39.99, 116.49, now)
    assert await api.event_count() == events


async def test_impossible_values_refuse_the_whole_batch_naming_the_point(api: Api) -> None:
    now = api.clock.now()
    events = await api.event_count()
    await upload(api, [fix(now - timedelta(minutes=10), 39.90)])
    before = await rider(api)
    track = await stored(api)
    good = [fix(now - timedelta(seconds=s), 39.91 + s / 10_000) for s in (30, 20, 10)]
    impossible = {
        "in the future beyond 2 minutes": fix(now + timedelta(minutes=2, seconds=1)),
        "a day in the future": fix(now + timedelta(days=1)),
        "older than 2 days": fix(now - timedelta(days=2, seconds=1)),
        "years old": fix(now - timedelta(days=800)),
        "lat 95": fix(now, lat=95),
        "lat -90.5": fix(now, lat=-90.5),
        "lng 200": fix(now, lng=200),
        "lat 1e308": fix(now, lat=1e308),
        "speed -1": fix(now, speed_kmh=-1),
        "speed 500": fix(now, speed_kmh=500),
        "accuracy -1": fix(now, accuracy_m=-1),
        "accuracy 1e9": fix(now, accuracy_m=1e9),
        "naive time": {"lat": 39.9, "lng": 116.4, "at": now.replace(tzinfo=None).isoformat()},
        "no time": {"lat": 39.9, "lng": 116.4},
    }
    problems = []
    for label, point in impossible.items():
        for index in (0, 2, 3):  # first, in the middle, last
            points = [*good]
            points.insert(index, point)
            response = await api.post(f"rider-{RIDER}", PATH, json={"points": points})
            if response.status_code != 422:
                problems.append(f"{label} at {index}: {response.status_code} {response.text[:200]}")
            elif not names_index(response.json()["detail"], index):
                problems.append(f"{label} at {index}: detail does not name it: {response.text}")
    assert not problems, "\n".join(problems)
    # Two bad points: both are named.
    two_bad = [fix(now, lat=95), *good, fix(now + timedelta(hours=1))]
    response = await api.post(f"rider-{RIDER}", PATH, json={"points": two_bad})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert names_index(detail, 0) or names_index(detail, 4), detail

    # Nothing of any refused batch was kept, and the rider did not move.
    assert await stored(api) == track
    assert await rider(api) == before
    assert await api.event_count() == events
    result = await upload(api, good)
    assert (result["accepted"], result["duplicates"]) == (3, 0)

    # The limits themselves are fine: 2 minutes ahead, 2 days back, the poles, 0 and 200 km/h.
    edges = [
        fix(now + timedelta(minutes=2), 39.92),
        fix(now - timedelta(days=2), 39.93),
        fix(now - timedelta(seconds=1), lat=90, lng=180, speed_kmh=200, accuracy_m=10_000),
        fix(now - timedelta(seconds=2), lat=-90, lng=-180, speed_kmh=0, accuracy_m=0),
    ]
    result = await upload(api, edges)
    assert (result["accepted"], result["duplicates"]) == (4, 0)
    assert last_fix(result) == (39.92, 116.45, now + timedelta(minutes=2))
    assert await api.event_count() == events


async def test_nan_and_infinity_refuse_the_batch_naming_the_point(api: Api) -> None:
    """JSON extensions Python reads (NaN, Infinity, 1e400) are impossible values: 422, not 500."""
    now = api.clock.now()
    events = await api.event_count()
    before = await rider(api)
    problems = []
    for field in ("lat", "lng", "speed_kmh", "accuracy_m"):
        for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
            points = [fix(now - timedelta(seconds=s)) for s in (3, 2, 1)]
            points[1][field] = "__X__"
            raw = json.dumps({"points": points}).replace('"__X__"', literal).encode()
            label = f"points[1].{field}={literal}"
            try:
                response = await api.post(f"rider-{RIDER}", PATH, content=raw, headers=JSON)
            except Exception as exc:  # the app crashed: a 500 under a real server
                problems.append(f"{label}: server error {type(exc).__name__}: {exc}")
                continue
            if response.status_code != 422:
                problems.append(f"{label}: {response.status_code} {response.text[:200]}")
            elif not names_index(response.json()["detail"], 1):
                problems.append(f"{label}: detail does not name the point: {response.text}")
    if problems:
        pytest.fail(f"{len(problems)} bad answer(s):\n" + "\n".join(problems), pytrace=False)
    assert await stored(api) == []
    assert await rider(api) == before
    assert await api.event_count() == events


async def test_batch_size_limits_and_who_may_upload(api: Api) -> None:
    now = api.clock.now()
    events = await api.event_count()
    # One fix per second going back from now: all within the last 2 days.
    points = [fix(now - timedelta(seconds=s), 39.9 + s / 1_000_000) for s in range(1001)]

    for label, batch in [("empty", []), ("1001 points", points)]:
        response = await api.post(f"rider-{RIDER}", PATH, json={"points": batch})
        assert response.status_code == 422, (label, response.text)
        assert "detail" in response.json()
    for label, body in [("no points", {}), ("points null", {"points": None})]:
        response = await api.post(f"rider-{RIDER}", PATH, json=body)
        assert response.status_code == 422, (label, response.text)
    assert await stored(api) == []
    assert last_fix(await rider(api)) == (None, None, None)

    # Only the rider themselves (or an admin) uploads; another rider's id is not found.
    one = {"points": [fix(now)]}
    assert (await api.post("rider-2", PATH, json=one)).status_code == 404
    assert (await api.post("dispatcher", PATH, json=one)).status_code == 403
    assert (await api.client.post(f"/api/v1{PATH}", json=one)).status_code == 401
    assert await stored(api) == []

    # 1000 points in reverse order: all kept, the newest becomes the last fix.
    result = await upload(api, points[:1000])
    assert (result["accepted"], result["duplicates"]) == (1000, 0)
    assert last_fix(result) == (39.9, 116.45, now)
    assert last_fix(await rider(api)) == (39.9, 116.45, now)
    assert len(await stored(api)) == 1000
    # The same 1000 again (a retry without an idempotency key) are all duplicates.
    result = await upload(api, points[:1000])
    assert (result["accepted"], result["duplicates"]) == (0, 1000)
    # The 1001st, uploaded on its own, is a new fix but older: the last fix stays.
    result = await upload(api, points[1000:])
    assert (result["accepted"], result["duplicates"]) == (1, 0)
    assert last_fix(result) == (39.9, 116.45, now)
    admin = await api.post("admin", PATH, json={"points": [fix(now + timedelta(seconds=1), 40.0)]})
    assert admin.status_code == 200, admin.text
    assert len(await stored(api)) == 1002
    assert await api.event_count() == events
