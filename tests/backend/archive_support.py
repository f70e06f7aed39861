"""Shared by the archive's tests: a small history of closed orders on several days, with the
riders' fixes, and a census of every row the archive moves (hot and archived)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.tiers.tables import MOVING
from tests.support import Api

WH_CY = (39.9334, 116.455)


def ten_days_ago() -> datetime:
    """The history starts here: days old, whatever the machine's clock says today."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now.replace(hour=10, minute=0, second=0) - timedelta(days=10)


def advance(api: Api, **delta: float) -> None:
    """Move the clock, signing in again (tokens live 12 hours)."""
    api.clock.advance(**delta)
    api._tokens.clear()


async def upload(api: Api, rider: int, start: datetime, steps: int) -> None:
    points = [
        {
            "lat": WH_CY[0] + 0.001 * i,
            "lng": WH_CY[1],
            "at": (start + timedelta(seconds=15 * i)).isoformat(),
        }
        for i in range(steps)
    ]
    response = await api.post(
        f"rider-{rider}", f"/riders/{rider}/positions", json={"points": points}
    )
    assert response.status_code == 200, response.text


async def signed_order(api: Api, rider: int, *, late: bool = False) -> dict[str, Any]:
    """An order paid, picked, carried by `rider` (with fixes on the way) and signed."""
    promised = api.clock.now() + timedelta(minutes=5 if late else 60)
    order = await api.create_order(promised_at=promised.isoformat())
    order = await api.act("channel-app", order, "pay")
    order = await api.act("dispatcher", order, "start_picking")
    order = await api.assign(order, rider)
    order = await api.act(f"rider-{rider}", order, "dispatch")
    start = api.clock.now()
    api.clock.advance(minutes=20)
    await upload(api, rider, start, 60)
    return await api.act(f"rider-{rider}", order, "sign")


async def history(api: Api, days: int = 3) -> dict[str, list[int]]:
    """Per day: two signed orders (one late, complained about), one cancelled; then an open
    one, now."""
    made: dict[str, list[int]] = {"closed": [], "open": []}
    await api.rider_online(1)
    for _ in range(days):
        made["closed"].append((await signed_order(api, 1))["id"])
        late = await signed_order(api, 1, late=True)
        made["closed"].append(late["id"])
        # The customer complains about it (the complaint KPI reads archived complaints too).
        complaint = {"category": "late", "reason": "15 minutes late"}
        opened = await api.post("support", f"/orders/{late['id']}/complaints", json=complaint)
        assert opened.status_code == 201, opened.text
        answer = {"version": 1, "outcome": "apology"}  # resolved: nothing keeps it hot
        resolved = await api.post(
            "support", f"/requests/{opened.json()['id']}/resolve", json=answer
        )
        assert resolved.status_code == 200, resolved.text
        cancelled = await api.create_order()
        cancelled = await api.act("channel-app", cancelled, "cancel", reason="changed mind")
        made["closed"].append(cancelled["id"])
        advance(api, days=1)
    made["open"].append((await api.create_order())["id"])
    return made


async def census(database_url: str, archive: Path) -> dict[str, dict[str, list[Any]]]:
    """Every moved table's primary keys, hot and archived (parts marked archived only)."""
    engine = create_async_engine(database_url)
    found: dict[str, dict[str, list[Any]]] = {}
    try:
        async with engine.connect() as conn:
            parts = (
                await conn.execute(
                    text("SELECT day, part FROM archive_days WHERE state = 'archived'")
                )
            ).all()
            for moving in MOVING:
                keys = [c.name for c in moving.table.primary_key.columns]
                rows = (
                    await conn.execute(text(f"SELECT {', '.join(keys)} FROM {moving.name}"))
                ).all()
                archived: list[Any] = []
                for day, part in parts:
                    day_text = day if isinstance(day, str) else day.isoformat()
                    path = archive / day_text / f"part-{part}" / f"{moving.name}.parquet"
                    data = pq.read_table(path, columns=keys).to_pylist()
                    archived += [tuple(r[k] for k in keys) for r in data]
                found[moving.name] = {"hot": sorted(map(tuple, rows)), "archived": sorted(archived)}
    finally:
        await engine.dispose()
    return found


def assert_one_tier_each(before: dict[str, dict[str, list[Any]]], after: dict[str, Any]) -> None:
    """Every row of `before` (all hot) is in exactly one tier of `after`, and nothing else is."""
    for name, tiers in before.items():
        everything = sorted(tiers["hot"] + tiers["archived"])
        hot, archived = after[name]["hot"], after[name]["archived"]
        assert not set(hot) & set(archived), f"{name}: rows in both tiers"
        assert len(archived) == len(set(archived)), f"{name}: archived twice"
        assert sorted(hot + archived) == everything, f"{name}: rows lost or made up"
