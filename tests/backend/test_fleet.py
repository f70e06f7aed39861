"""The fleet through the real API on both databases: registering riders in bulk, and the
position relay a location gateway uses to forward many riders' fixes in one request.

Both are all or none: one unknown warehouse, unknown rider or impossible fix refuses the whole
request, keeps nothing and writes no event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.realtime.models import EventRow
from backend.riders.models import RiderPositionRow
from backend_client import FreshlineClient, InvalidRequest, PermissionDenied
from backend_client.geo import flat_metres
from backend_client.models import FleetFix, RiderIn, RiderStatus
from tests.support import Api, audited

DEMO_RIDERS = 24
BEIJING = timezone(timedelta(hours=8))


def recruit(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Ma Lin",
        "phone": "13900000099",
        "warehouse_id": "WH-CY",
        "capacity": 3,
        **overrides,
    }


def fix(rider_id: int, at: datetime, lat: float = 39.93, lng: float = 116.45, **extra: Any):
    return {"rider_id": rider_id, "lat": lat, "lng": lng, "at": at.isoformat(), **extra}


async def register(
    api: Api, riders: list[dict[str, Any]], *, user: str = "admin", expect: int = 201
) -> Any:
    response = await api.post(user, "/riders", json={"riders": riders})
    assert response.status_code == expect, response.text
    return response.json()


async def relay(api: Api, fixes: list[dict[str, Any]], *, expect: int = 200) -> dict[str, Any]:
    response = await api.post("admin", "/positions", json={"fixes": fixes})
    assert response.status_code == expect, response.text
    return response.json()


async def rider(api: Api, rider_id: int) -> dict[str, Any]:
    response = await api.get("dispatcher", f"/riders/{rider_id}")
    assert response.status_code == 200, response.text
    return response.json()


def last_fix(view: dict[str, Any]) -> tuple[float | None, float | None, datetime | None]:
    at = view["last_fix_at"]
    return view["last_lat"], view["last_lng"], datetime.fromisoformat(at) if at else None


async def all_riders(api: Api) -> list[dict[str, Any]]:
    response = await api.get("admin", "/riders")
    assert response.status_code == 200, response.text
    return response.json()


async def stored(api: Api) -> list[tuple[int, datetime, float]]:
    """Every kept fix as (rider, time, latitude), in that order."""
    async with api.app.state.runtime.db.read() as session:
        rows = await session.scalars(
            select(RiderPositionRow).order_by(RiderPositionRow.rider_id, RiderPositionRow.at)
        )
        return [(row.rider_id, row.at, row.lat) for row in rows]


async def registered_events(api: Api) -> list[EventRow]:
    async with api.app.state.runtime.db.read() as session:
        rows = await session.scalars(
            select(EventRow).where(EventRow.kind == "rider.registered").order_by(EventRow.seq)
        )
        return list(rows.all())


def names(detail: Any, *where: Any) -> bool:
    """Whether an error detail points at `where`, e.g. ("riders", 2): in the service's text
    ("riders[2]...") or in a validation error's location."""
    if isinstance(detail, str):
        return f"{where[0]}[{where[1]}]" in detail
    return any(list(error.get("loc", []))[1:3] == list(where) for error in detail)


# --- registration -------------------------------------------------------------------------------


async def test_a_crew_is_registered_with_ids_and_events(api: Api) -> None:
    crew = await register(
        api,
        [
            recruit(),
            recruit(
                name="Gao Yan",
                phone="13900000098",
                warehouse_id="WH-HD",
                capacity=20,
                cold_chain=True,
                status="online",
            ),
        ],
    )
    assert [r["id"] for r in crew] == [DEMO_RIDERS + 1, DEMO_RIDERS + 2]
    first, second = crew
    assert (first["name"], first["warehouse_id"], first["capacity"]) == ("Ma Lin", "WH-CY", 3)
    assert (first["status"], first["cold_chain"], first["active_orders"]) == ("offline", False, 0)
    assert last_fix(first) == (None, None, None)
    assert (second["status"], second["cold_chain"], second["capacity"]) == ("online", True, 20)
    assert await rider(api, second["id"]) == second
    haidian = await api.get("dispatcher", "/riders", params={"warehouse_id": "WH-HD"})
    assert second["id"] in [r["id"] for r in haidian.json()]

    events = await registered_events(api)
    assert [(e.rider_id, e.warehouse_id, e.to_state, e.actor) for e in events] == [
        (first["id"], "WH-CY", "offline", "admin"),
        (second["id"], "WH-HD", "online", "admin"),
    ]
    assert audited(events[1].payload) == {
        "name": second["name"],
        "capacity": 20,
        "cold_chain": True,
    }

    # Supervisors register too; nobody else does.
    more = await register(api, [recruit(phone="13900000097")], user="supervisor")
    assert more[0]["id"] == DEMO_RIDERS + 3
    for user in ("dispatcher", "support", "viewer", "merchant-wh-cy", "rider-1", "channel-app"):
        await register(api, [recruit()], user=user, expect=403)
    anonymous = await api.client.post("/api/v1/riders", json={"riders": [recruit()]})
    assert anonymous.status_code == 401
    assert len(await all_riders(api)) == DEMO_RIDERS + 3
    assert len(await registered_events(api)) == 3


async def test_registration_is_all_or_none_and_names_what_is_wrong(api: Api) -> None:
    events = await api.event_count()
    crew = [
        recruit(),
        recruit(warehouse_id="WH-NOPE"),
        recruit(warehouse_id="WH-HD"),
        recruit(warehouse_id="WH-ZZ"),
    ]
    detail = (await register(api, crew, expect=422))["detail"]
    assert "riders[1].warehouse_id: no warehouse WH-NOPE" in detail
    assert "riders[3].warehouse_id: no warehouse WH-ZZ" in detail
    assert not names(detail, "riders", 0) and not names(detail, "riders", 2)

    bad_riders = {
        "capacity 0": recruit(capacity=0),
        "capacity 21": recruit(capacity=21),
        "no capacity": {k: v for k, v in recruit().items() if k != "capacity"},
        "a letter for a phone": recruit(phone="call me"),
        "an unknown status": recruit(status="asleep"),
        "an unknown field": recruit(vehicle="e-bike"),
    }
    for label, bad in bad_riders.items():
        detail = (await register(api, [recruit(), bad], expect=422))["detail"]
        assert names(detail, "riders", 1), (label, detail)
    await register(api, [], expect=422)
    await register(api, [recruit(phone=f"139{n:08d}") for n in range(1001)], expect=422)

    assert len(await all_riders(api)) == DEMO_RIDERS
    assert await api.event_count() == events


# --- the position relay -------------------------------------------------------------------------


async def test_relayed_fixes_move_each_rider_forward_only_and_count_duplicates(api: Api) -> None:
    now = api.clock.now()
    events = await api.event_count()
    t = [now - timedelta(seconds=s) for s in (50, 40, 30, 20, 10)]

    # Out of order, riders mixed, one fix sent twice (once written in +08:00).
    first = [
        fix(1, t[3], 39.94),
        fix(2, t[1], 39.82),
        fix(1, t[0], 39.91),
        {**fix(1, t[3], 39.94), "at": t[3].astimezone(BEIJING).isoformat()},
        fix(2, t[4], 39.85, speed_kmh=18.5, accuracy_m=6),
        fix(1, t[2], 39.93),
    ]
    result = await relay(api, first)
    assert result == {"accepted": 5, "duplicates": 1, "moved": 2}
    assert last_fix(await rider(api, 1)) == (39.94, 116.45, t[3])
    assert last_fix(await rider(api, 2)) == (39.85, 116.45, t[4])
    assert await stored(api) == [
        (1, t[0], 39.91),
        (1, t[2], 39.93),
        (1, t[3], 39.94),
        (2, t[1], 39.82),
        (2, t[4], 39.85),
    ]

    # A late batch: rider 1's older fixes and one it already sent; rider 3's first fix.
    # Rider 1 keeps its newest position; the same time for another rider is no duplicate.
    late = [fix(1, t[1], 39.92), fix(1, t[2], 39.93), fix(3, t[3], 39.70), fix(1, t[0], 39.91)]
    result = await relay(api, late)
    assert result == {"accepted": 2, "duplicates": 2, "moved": 1}
    assert last_fix(await rider(api, 1)) == (39.94, 116.45, t[3])
    assert last_fix(await rider(api, 3)) == (39.70, 116.45, t[3])
    listed = await api.get("dispatcher", "/riders", params={"warehouse_id": "WH-CY"})
    assert last_fix(next(r for r in listed.json() if r["id"] == 1)) == (39.94, 116.45, t[3])
    assert len(await stored(api)) == 7

    # A fix the rider's own phone already uploaded is a duplicate here too, and vice versa.
    own = await api.post(
        "rider-4",
        "/riders/4/positions",
        json={"points": [{"lat": 39.60, "lng": 116.45, "at": t[4].isoformat()}]},
    )
    assert own.status_code == 200, own.text
    result = await relay(api, [fix(4, t[4], 39.60), fix(4, now, 39.61)])
    assert result == {"accepted": 1, "duplicates": 1, "moved": 1}
    assert last_fix(await rider(api, 4)) == (39.61, 116.45, now)
    own = await api.post(
        "rider-4",
        "/riders/4/positions",
        json={"points": [{"lat": 39.61, "lng": 116.45, "at": now.isoformat()}]},
    )
    assert (own.json()["accepted"], own.json()["duplicates"]) == (0, 1)

    # Everything again: all duplicates, nobody moves.
    result = await relay(api, [*first, *late])
    assert result == {"accepted": 0, "duplicates": 10, "moved": 0}
    assert len(await stored(api)) == 9
    assert await api.event_count() == events


async def test_an_impossible_fix_or_unknown_rider_refuses_the_whole_relay(api: Api) -> None:
    now = api.clock.now()
    events = await api.event_count()
    await relay(api, [fix(1, now - timedelta(minutes=10), 39.90)])
    before = [await rider(api, rider_id) for rider_id in (1, 2)]
    track = await stored(api)
    good = [fix(1, now - timedelta(seconds=20), 39.95), fix(2, now - timedelta(seconds=10))]

    unknown = (await relay(api, [*good, fix(999, now)], expect=422))["detail"]
    assert "no rider 999" in unknown
    impossible = {
        "in the future beyond 2 minutes": fix(2, now + timedelta(minutes=2, seconds=1)),
        "older than 2 days": fix(2, now - timedelta(days=2, seconds=1)),
        "lat 95": fix(2, now, lat=95),
        "lng -181": fix(2, now, lng=-181),
        "speed 500": fix(2, now, speed_kmh=500),
        "naive time": {**fix(2, now), "at": now.replace(tzinfo=None).isoformat()},
        "no rider id": {k: v for k, v in fix(2, now).items() if k != "rider_id"},
        "rider id 0": fix(0, now),
    }
    problems = []
    for label, bad in impossible.items():
        for index in (0, 2):
            fixes = [*good]
            fixes.insert(index, bad)
            response = await api.post("admin", "/positions", json={"fixes": fixes})
            if response.status_code != 422:
                problems.append(f"{label} at {index}: {response.status_code} {response.text}")
            elif not names(response.json()["detail"], "fixes", index):
                problems.append(f"{label} at {index}: not named: {response.text}")
    assert not problems, "\n".join(problems)

    many = [fix(1, now - timedelta(milliseconds=n)) for n in range(5001)]
    for label, fixes in [("empty", []), ("5001 fixes", many)]:
        response = await api.post("admin", "/positions", json={"fixes": fixes})
        assert response.status_code == 422, (label, response.text)
    for user in ("dispatcher", "supervisor", "rider-1", "channel-app"):
        response = await api.post(user, "/positions", json={"fixes": good})
        assert response.status_code == 403, (user, response.text)

    assert await stored(api) == track
    assert [await rider(api, rider_id) for rider_id in (1, 2)] == before
    assert await api.event_count() == events
    # The limits themselves are fine: 2 minutes ahead and 2 days back.
    edges = [fix(2, now + timedelta(minutes=2), 39.99), fix(2, now - timedelta(days=2), 39.98)]
    assert await relay(api, [*good, *edges]) == {"accepted": 4, "duplicates": 0, "moved": 2}
    assert last_fix(await rider(api, 2)) == (39.99, 116.45, now + timedelta(minutes=2))


# --- the client ---------------------------------------------------------------------------------


async def test_the_client_registers_relays_suggests_and_switches_dispatch(api: Api) -> None:
    now = api.clock.now()
    transport = httpx.ASGITransport(app=api.app)
    async with FreshlineClient("http://testserver", transport=transport) as client:
        await client.login("admin", "demo-admin")
        crew = [RiderIn(**recruit(cold_chain=True, status=RiderStatus.ONLINE))]
        registered = await client.riders.register(crew, idempotency_key="crew-2026-11-22")
        again = await client.riders.register(crew, idempotency_key="crew-2026-11-22")
        assert [r.id for r in again] == [r.id for r in registered] == [DEMO_RIDERS + 1]
        newcomer = registered[0]
        assert newcomer.status is RiderStatus.ONLINE and newcomer.cold_chain is True
        assert len(await client.riders.all()) == DEMO_RIDERS + 1
        with pytest.raises(InvalidRequest) as caught:
            await client.riders.register([RiderIn(**recruit(warehouse_id="WH-NOPE"))])
        assert "riders[0].warehouse_id" in str(caught.value.detail)

        result = await client.riders.relay_positions(
            [
                FleetFix(rider_id=newcomer.id, lat=39.9340, lng=116.4550, at=now),
                FleetFix(rider_id=newcomer.id, lat=39.9300, lng=116.4500, at=now - timedelta(1)),
            ]
        )
        assert (result.accepted, result.duplicates, result.moved) == (2, 0, 1)
        placed = await client.riders.get(newcomer.id)
        assert (placed.last_lat, placed.last_lng, placed.last_fix_at) == (39.9340, 116.4550, now)
        with pytest.raises(InvalidRequest):
            await client.riders.relay_positions(
                [FleetFix(rider_id=999, lat=39.9, lng=116.4, at=now)]
            )

        order = await api.create_order()
        suggested = await client.orders.rider_suggestions(order["id"], limit=3)
        assert [s.rider.id for s in suggested] == [newcomer.id]
        expected = flat_metres((39.9334, 116.455), (39.9340, 116.4550))  # from WH-CY
        assert suggested[0].distance_m == pytest.approx(expected, abs=0.1)

        warehouse = await client.warehouses.set_auto_dispatch("WH-CY", False)
        assert (warehouse.id, warehouse.auto_dispatch) == ("WH-CY", False)
        assert (await client.warehouses.get("WH-CY")).auto_dispatch is False
        assert (await client.warehouses.set_auto_dispatch("WH-CY", True)).auto_dispatch is True

        await client.login("viewer", "demo-viewer")
        with pytest.raises(PermissionDenied):
            await client.warehouses.set_auto_dispatch("WH-CY", False)
        with pytest.raises(PermissionDenied):
            await client.orders.rider_suggestions(order["id"])
