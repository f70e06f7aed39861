"""Handover proposals written straight into the database, for tests that need one in a given
state without playing an accident through (the permission matrix)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from backend.takeover.models import TakeoverRow
from tests.support import Api


async def seed(
    api: Api, order: dict[str, Any], *, giver: int, taker: int, carried_out: bool
) -> tuple[int, int]:
    """A proposal to give `order` (carried by `giver`, or, carried out, by `taker` already)
    to `taker`; any standing proposal is dismissed first. Its id and version."""
    now = api.clock.now()
    move = {
        "order_id": order["id"],
        "version": order["version"],
        "status": order["status"],
        "promised_at": order["promised_at"],
        "to_rider_id": taker,
        "to_rider_name": f"rider {taker}",
        "eta": None,
    }
    if carried_out:
        move["moved_version"] = order["version"]

    async def write(session: Any) -> tuple[int, int]:
        await session.execute(
            update(TakeoverRow).where(TakeoverRow.state == "proposed").values(state="dismissed")
        )
        row = TakeoverRow(
            rider_id=giver,
            trigger="accident",
            alert_id=None,
            reason="seeded for a test",
            state="carried_out" if carried_out else "proposed",
            moves=[move],
            proposed_at=now,
            due_at=now,
            version=1,
        )
        session.add(row)
        await session.flush()
        return row.id, row.version

    result: tuple[int, int] = await api.app.state.runtime.db.write(write)
    return result
