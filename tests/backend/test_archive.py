"""Data tiers: closed orders and old fixes move to Parquet, and every reader (KPIs, timeline,
order and rider tracks) answers the same as before; reruns change nothing; retention drops
old days; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backend.archive.keys import archived_key_census, reseal_archive
from backend.archive.schedule import (
    ArchiveBusy,
    archive_lease,
    archive_once,
    archiver_for,
    erase_now,
)
from backend.auth.principal import Principal
from backend.cli import app as backend_cli
from backend.clock import ManualClock
from backend.crypto.keys import new_ring_text, rotate_file, write_private
from backend.notifications.models import NotificationRow
from backend.orders.models import OrderRow
from backend.realtime.hub import Connection
from backend.realtime.visibility import Subscription
from backend.tiers.models import ArchiveDayRow, ArchiveErasureRow
from backend.tiers.store import checksum
from backend_client.models import Role, Topic
from tests.backend.archive_support import (
    advance,
    assert_one_tier_each,
    census,
    history,
    ten_days_ago,
)
from tests.support import Api, started


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ten_days_ago())


@pytest.fixture
async def api(database_url: str, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Api]:
    async for api in started(
        database_url,
        clock,
        archive_dir=str(tmp_path / "archive"),
        archive_seconds=0,
        feed_ring_size=5,  # replays of older events read the log (and meet its holes)
    ):
        yield api


async def views(api: Api, made: dict[str, list[int]], start: str, end: str) -> dict[str, Any]:
    """What the readers answer: KPIs over the window, each closed order's timeline and
    track, the rider's track of the first day."""
    seen: dict[str, Any] = {}
    window = {"start": start, "end": end}
    for path in ("/kpi/summary", "/kpi/exceptions"):
        response = await api.get("supervisor", path, params=window)
        assert response.status_code == 200, response.text
        body = response.json()
        body.pop("computed_at", None)
        seen[path] = body
    series = await api.get("supervisor", "/kpi/series", params={**window, "bucket_minutes": 360})
    assert series.status_code == 200, series.text
    seen["series"] = series.json()
    for order_id in made["closed"]:
        for path in (f"/orders/{order_id}/timeline", f"/orders/{order_id}/track"):
            response = await api.get("admin", path)
            assert response.status_code == 200, (path, response.text)
            seen[path] = response.json()
        order = await api.get("admin", f"/orders/{order_id}")
        assert order.status_code == 200, order.text
        body = order.json()
        body.pop("late", None)  # lateness is judged against now
        seen[f"/orders/{order_id}"] = body
    first = seen[f"/orders/{made['closed'][0]}/track"]
    track = await api.get(
        "admin", "/riders/1/track", params={"since": first["since"], "until": first["until"]}
    )
    assert track.status_code == 200, track.text
    seen["rider track"] = track.json()
    return seen


async def hot_orders(api: Api) -> int:
    async with api.app.state.runtime.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)


async def test_archived_data_reads_the_same_everywhere_and_reruns_change_nothing(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    start = api.clock.now() - timedelta(hours=1)
    made = await history(api, days=3)
    advance(api, days=4)  # every closed order is now past the 72 h hot window
    end = api.clock.now()
    window = (start.isoformat(), end.isoformat())
    before_views = await views(api, made, *window)
    before_rows = await census(database_url, tmp_path / "archive")
    runtime = api.app.state.runtime

    replay = {"since": 0, "topics": "orders", "wait": 0}
    before_replay = (await api.get("admin", "/events", params=replay)).json()
    assert before_replay["events"] and not before_replay["snapshot_required"]

    report = await archive_once(runtime.db, runtime.settings, api.clock)

    # A client resuming from before the archived events is told to reload a snapshot: by
    # the long poll, and by the stream's hub.
    after_replay = (await api.get("admin", "/events", params=replay)).json()
    assert after_replay["snapshot_required"] and after_replay["events"] == []
    admin = Principal(user_id=None, username="admin", role=Role.ADMIN)
    resuming = Connection(Subscription(admin, frozenset({Topic.ORDERS})), queue_limit=1000, since=0)
    await runtime.hub.attach(resuming, 0)
    runtime.hub.detach(resuming)
    first_message = json.loads(resuming.take()[0])
    assert first_message["type"] == "snapshot_required", first_message
    assert {move.day for move in report.moved} == {
        (start + timedelta(days=n, hours=1)).date() for n in range(3)
    }
    assert await hot_orders(api) == len(made["open"])  # the open order stays
    after_rows = await census(database_url, tmp_path / "archive")
    assert_one_tier_each(before_rows, after_rows)
    assert len(after_rows["orders"]["archived"]) == len(made["closed"])
    assert after_rows["rider_positions"]["hot"] == []
    assert await views(api, made, *window) == before_views

    again = await archive_once(runtime.db, runtime.settings, api.clock)
    assert again.moved == [] and again.dropped == []
    assert await census(database_url, tmp_path / "archive") == after_rows

    missing = await api.get("admin", f"/orders/{made['open'][0] + 1000}/timeline")
    assert missing.status_code == 404


async def test_retention_drops_old_days_and_keeps_their_record(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    made = await history(api, days=2)
    advance(api, days=4)
    runtime = api.app.state.runtime
    moved = await archive_once(runtime.db, runtime.settings, api.clock)
    days = sorted(move.day for move in moved.moved)
    assert len(days) == 2
    # The first day past its 90 days, the second not yet.
    advance(api, days=(days[0] + timedelta(days=91) - api.clock.now().date()).days)
    report = await archive_once(runtime.db, runtime.settings, api.clock)
    assert report.dropped == [days[0]]
    assert not (tmp_path / "archive" / days[0].isoformat()).exists()
    assert (tmp_path / "archive" / days[1].isoformat()).exists()
    async with runtime.db.read() as session:
        states = dict((await session.execute(select(ArchiveDayRow.day, ArchiveDayRow.state))).all())
    assert states == {days[0]: "dropped", days[1]: "archived"}
    gone = made["closed"][0]
    assert (await api.get("admin", f"/orders/{gone}/timeline")).status_code == 404
    kept = made["closed"][-1]
    assert (await api.get("admin", f"/orders/{kept}/timeline")).status_code == 200


async def test_a_dry_run_changes_nothing_and_one_run_at_a_time(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    made = await history(api, days=1)
    advance(api, days=4)
    runtime = api.app.state.runtime
    before = await census(database_url, tmp_path / "archive")
    report = await archive_once(runtime.db, runtime.settings, api.clock, dry_run=True)
    assert sum(move.counts["orders"] for move in report.moved) == len(made["closed"])
    assert await census(database_url, tmp_path / "archive") == before
    archiver = archiver_for(runtime.db, runtime.settings)
    async with archive_lease(runtime.db, archiver):
        with pytest.raises(ArchiveBusy):
            await archive_once(runtime.db, runtime.settings, api.clock)
    assert await census(database_url, tmp_path / "archive") == before


async def test_erasing_a_customer_rewrites_their_archived_orders(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    # The customer's name quoted in a reason, in the archive after the move.
    quoted = await api.create_order()
    name, phone = quoted["customer"]["name"], quoted["customer"]["phone"]
    customer_id = quoted["customer"]["id"]
    quoted = await api.act("dispatcher", quoted, "cancel", reason=f"{name} called")
    made = await history(api, days=2)
    made["closed"].append(quoted["id"])
    advance(api, days=4)
    runtime = api.app.state.runtime
    await archive_once(runtime.db, runtime.settings, api.clock)
    # Their open order is closed first: an erasure waits for open orders to end.
    open_order = (await api.get("admin", f"/orders/{made['open'][0]}")).json()
    await api.act("dispatcher", open_order, "cancel", reason="closing")

    erased = await api.client.delete(
        f"/api/v1/customers/{customer_id}", headers=await api.auth("admin")
    )
    assert erased.status_code == 200, erased.text
    # What the backend's schedule does within a minute (tests run it by hand).
    assert await erase_now(runtime.db, runtime.settings, api.clock)

    for order_id in made["closed"]:
        seen = (await api.get("admin", f"/orders/{order_id}")).json()
        assert seen["customer"]["name"] == f"erased customer {customer_id}", order_id
        assert seen["customer"]["phone"] == "" and seen["address"] == "erased"
        timeline = (await api.get("admin", f"/orders/{order_id}/timeline")).text
        assert name not in timeline and phone not in timeline
    async with runtime.db.read() as session:
        ledger = list(await session.scalars(select(ArchiveDayRow)))
        pending = await session.scalar(
            select(func.count())
            .select_from(ArchiveErasureRow)
            .where(ArchiveErasureRow.done_at.is_(None))
        )
    assert pending == 0
    store = archiver_for(runtime.db, runtime.settings).store
    for row in ledger:  # every rewritten file is the one the ledger vouches for
        for table, digest in row.checksums.items():
            assert checksum(store.path(row.day, row.part, table)) == digest
    every_reason = " ".join(
        str(r)
        for row in ledger
        for r in store.read(row.day, row.part, "events").column("reason").to_pylist()
    )
    assert "called" in every_reason and name not in every_reason
    assert (await archive_once(runtime.db, runtime.settings, api.clock)).erasures == 0


async def test_a_rotated_key_reaches_archived_values(
    database_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "keys" / "field-keys.json"
    write_private(path, new_ring_text())
    settings = {"field_keys": None, "field_key_file": str(path), "archive_seconds": 0}
    async for api in started(
        database_url, clock, archive_dir=str(tmp_path / "archive"), **settings
    ):
        made = await history(api, days=1)
        order_id = made["closed"][0]
        before = (await api.get("admin", f"/orders/{order_id}")).json()
        advance(api, days=4)
        runtime = api.app.state.runtime
        await archive_once(runtime.db, runtime.settings, api.clock)
        store = archiver_for(runtime.db, runtime.settings).store

        old, new = rotate_file(path)
        assert runtime.privacy.reload_keys()  # as the upkeep pass does within a minute
        census = await archived_key_census(runtime.db, store)
        assert {kid for counts in census.values() for kid, n in counts.items() if n} == {old}

        assert await reseal_archive(runtime.db, store) > 0
        census = await archived_key_census(runtime.db, store)
        assert {kid for counts in census.values() for kid, n in counts.items() if n} == {new}
        after = (await api.get("admin", f"/orders/{order_id}")).json()
        assert after["customer"] == before["customer"] and after["address"] == before["address"]
        assert await reseal_archive(runtime.db, store) == 0


async def test_before_moves_only_older_days_and_a_bad_day_is_refused(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    made = await history(api, days=2)
    advance(api, days=4)
    runtime = api.app.state.runtime
    first_day = (api.clock.now() - timedelta(days=6)).date()
    report = await archive_once(
        runtime.db, runtime.settings, api.clock, before=first_day + timedelta(days=1)
    )
    assert [move.day for move in report.moved] == [first_day]
    assert await hot_orders(api) == len(made["closed"]) // 2 + len(made["open"])

    refused = CliRunner().invoke(backend_cli, ["archive", "--before", "yesterday"])
    assert refused.exit_code == 2 and "not a day" in refused.output


async def test_customer_messages_move_with_their_order_and_an_unsent_one_holds_it(
    api: Api,
) -> None:
    made = await history(api, days=1)
    told, untold = made["closed"][0], made["closed"][1]
    runtime = api.app.state.runtime
    now = api.clock.now()

    async def queue(session: Any) -> None:
        for order_id, status in ((told, "sent"), (untold, "pending")):
            session.add(
                NotificationRow(
                    order_id=order_id,
                    rule="signed",
                    message="delivered",
                    status=status,
                    created_at=now,
                    next_attempt_at=now,
                    sent_at=now if status == "sent" else None,
                )
            )

    await runtime.db.write(queue)
    advance(api, days=4)
    await archive_once(runtime.db, runtime.settings, api.clock)
    async with runtime.db.read() as session:
        hot = set((await session.scalars(select(OrderRow.id))).all())
        messages = (await session.execute(select(NotificationRow.order_id))).scalars().all()
    assert told not in hot and untold in hot  # the message still to send keeps its order
    assert list(messages) == [untold]  # the sent one left with its order, nothing dangles
