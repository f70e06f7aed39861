"""kill -9 in the middle of batched writes: nothing acknowledged is lost, nothing unacknowledged
is half there, and a retry of what was in flight acts once."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import empty_postgres_database
from tests.servers import serving
from tests.support import customer, eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.long(35),
]  # backends killed mid-write, on SQLite and PostgreSQL

SENDERS = 8


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def order_body(external_id: str) -> dict[str, Any]:
    """The same body for the same order every time (a retry sends what was sent)."""
    digits = uuid.uuid5(uuid.NAMESPACE_OID, external_id).int % 10**8
    return {
        "external_id": external_id,
        "customer": customer(phone=f"139{digits:08d}"),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
    }


async def send_until_killed(
    base_url: str, auth: dict[str, str], acked: dict[str, int], in_flight: set[str]
) -> None:
    """Orders, each with its own Idempotency-Key, as fast as answers come, until the server
    dies: what was answered 201 goes to `acked`, what was sent and never answered stays in
    `in_flight`."""
    numbers = itertools.count()

    async def sender(http: httpx.AsyncClient, lane: int) -> None:
        while True:
            external_id = f"CRASH-{lane}-{next(numbers)}"
            in_flight.add(external_id)
            try:
                answer = await http.post(
                    "/api/v1/orders",
                    json=order_body(external_id),
                    headers={**auth, "Idempotency-Key": external_id},
                )
            except httpx.TransportError:
                return  # killed: this one may or may not have been committed
            assert answer.status_code == 201, answer.text
            in_flight.discard(external_id)
            acked[external_id] = answer.json()["id"]

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await asyncio.gather(*(sender(http, lane) for lane in range(SENDERS)))


async def crash_mid_batch(tmp_path: Path, database_url: str) -> None:
    args = ("--demo", "--database-url", database_url)
    with serving(tmp_path, *args, name="crashing") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            auth = await sign_in(http, "channel-app")
        acked: dict[str, int] = {}
        in_flight: set[str] = set()
        sending = asyncio.create_task(send_until_killed(server.base_url, auth, acked, in_flight))
        await eventually(lambda: len(acked) >= 60, "60 orders answered before the kill")
        server.kill()  # SIGKILL, with writers mid-batch
        await sending
        assert in_flight, "nothing was in flight at the kill: the test did not test"

        server.spawn(*args)
        await asyncio.to_thread(server.wait_healthy)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            auth = await sign_in(http, "channel-app")
            # Every acknowledged order is there, with its event on the timeline.
            for external_id, order_id in acked.items():
                answer = await http.get(f"/api/v1/orders/{order_id}", headers=auth)
                assert answer.status_code == 200, (external_id, answer.text)
                assert answer.json()["external_id"] == external_id
                timeline = await http.get(f"/api/v1/orders/{order_id}/timeline", headers=auth)
                kinds = [event["kind"] for event in timeline.json()]
                assert kinds[0] == "order.created", (external_id, kinds)
            # What was in flight is retried with its key: it acts once, committed or not.
            for external_id in sorted(in_flight):
                answer = await http.post(
                    "/api/v1/orders",
                    json=order_body(external_id),
                    headers={**auth, "Idempotency-Key": external_id},
                )
                assert answer.status_code in (201, 409), answer.text
        engine = create_async_engine(database_url)
        try:
            # On PostgreSQL what a killed instance committed is numbered by the new one.
            async def all_numbered() -> bool:
                async with engine.connect() as conn:
                    query = "SELECT count(*) FROM events WHERE seq IS NULL"
                    return (await conn.execute(text(query))).scalar_one() == 0

            await eventually(all_numbered, "every committed event numbered")
            async with engine.connect() as conn:
                ids = (await conn.execute(text("SELECT external_id FROM orders"))).scalars().all()
                numbered = list(
                    (await conn.execute(text("SELECT seq FROM events ORDER BY seq"))).scalars()
                )
                query = "SELECT count(*) FROM events WHERE kind = 'order.created'"
                created = (await conn.execute(text(query))).scalar_one()
        finally:
            await engine.dispose()
    crashed = [i for i in ids if i.startswith("CRASH-")]
    assert len(crashed) == len(set(crashed)), "an order was taken twice"
    assert set(acked) | set(in_flight) >= set(crashed)
    assert set(acked) <= set(crashed)
    assert set(in_flight) <= set(crashed), "a retried order is missing"
    assert created == len(crashed), "an order without its event, or an event without its order"
    assert numbered == list(range(1, len(numbered) + 1)), "the log has a gap"


async def test_a_kill_mid_batch_on_sqlite_loses_nothing_acknowledged(tmp_path: Path) -> None:
    await crash_mid_batch(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}")


@pytest.fixture
def crash_postgres_url() -> Iterator[str]:
    """A database of its own (made outside the test's event loop)."""
    with empty_postgres_database("freshline_crash") as url:
        yield url


@pytest.mark.postgres
async def test_a_kill_mid_write_on_postgresql_loses_nothing_acknowledged(
    tmp_path: Path, crash_postgres_url: str
) -> None:
    await crash_mid_batch(tmp_path, crash_postgres_url)
