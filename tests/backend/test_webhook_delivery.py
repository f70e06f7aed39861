"""Webhooks with real processes: a receiver killed and restarted, a backend killed and
restarted, two backends on one PostgreSQL. Every delivery arrives, in `seq` order; the
receiver drops repeats by delivery id, so it takes each one once.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from backend.clock import ManualClock
from tests.backend.webhook_support import FAST, logged_seqs, subscribe, verified
from tests.conftest import truncate_all
from tests.servers import free_port, serving
from tests.support import Api, customer, eventually, started
from tests.webhook_receiver import Receiver, accepted, repeats

pytestmark = pytest.mark.slow  # real receivers and backends, started, killed, restarted

ROOT = Path(__file__).resolve().parents[2]
SERVER_ENV = {f"FRESHLINE_{key.upper()}": str(value) for key, value in FAST.items()} | {
    "FRESHLINE_WEBHOOK_MAX_FAILURES": "1000",  # never parked here: retried until it is back
}


@contextmanager
def receiver_process(port: int, file: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.webhook_receiver", str(port), str(file)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def listening(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.TransportError:
        return False
    return True


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def paid_orders(http: httpx.AsyncClient, auth: dict[str, str], n: int, tag: str) -> None:
    """`n` orders created and paid: two `order.*` events each."""
    for i in range(n):
        body = {
            "external_id": f"HOOK-{tag}-{i}",
            "customer": customer(),
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        }
        created = await http.post("/api/v1/orders", json=body, headers=auth)
        assert created.status_code == 201, created.text
        order = created.json()
        paid = await http.post(
            f"/api/v1/orders/{order['id']}/transitions",
            json={"action": "pay", "version": order["version"]},
            headers=auth,
        )
        assert paid.status_code == 200, paid.text


async def order_seqs(http: httpx.AsyncClient, auth: dict[str, str], after: int) -> list[int]:
    answer = await http.get(
        "/api/v1/events", params={"since": after, "topics": "orders"}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    return [e["seq"] for e in answer.json()["events"] if e["kind"].startswith("order.")]


async def test_receiver_and_backend_killed_and_restarted_every_delivery_once_in_order(
    tmp_path: Path,
) -> None:
    port, file = free_port(), tmp_path / "received.jsonl"
    database = f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}"
    args = ("--demo", "--database-url", database)
    with serving(tmp_path, *args, name="hooks", env=SERVER_ENV) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            admin, channel = await sign_in(http, "admin"), await sign_in(http, "channel-app")
            body = {"url": f"http://127.0.0.1:{port}/hook", "kinds": ["order.*"]}
            answer = await http.post("/api/v1/webhooks", json=body, headers=admin)
            assert answer.status_code == 201, answer.text
            hook = answer.json()

            async def failing() -> bool:
                now = await http.get(f"/api/v1/webhooks/{hook['id']}", headers=admin)
                return bool(now.json()["failures"])

            with receiver_process(port, file) as receiver:
                await eventually(lambda: listening(port), "the receiver listens")
                await paid_orders(http, channel, 6, "a")
                await eventually(lambda: len(accepted(file)) >= 3, "deliveries under way")
                receiver.kill()  # in the middle of them
            await paid_orders(http, channel, 4, "b")
            await eventually(failing, "the endpoint is down and the deliveries fail")
        server.kill()  # the backend too, with a backlog it has not delivered
        server.spawn(*args, env=SERVER_ENV)
        await asyncio.to_thread(server.wait_healthy)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            admin, channel = await sign_in(http, "admin"), await sign_in(http, "channel-app")
            with receiver_process(port, file):
                await paid_orders(http, channel, 4, "c")
                expected = await order_seqs(http, admin, hook["cursor"])
                assert len(expected) == 28
                await eventually(
                    lambda: len(accepted(file)) >= len(expected), "every delivery arrived", 60
                )
                received = accepted(file)
    assert [r["seq"] for r in received] == expected
    assert [b["seq"] for b in verified(received, hook["secret"])] == expected


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    asyncio.run(truncate_all(postgres_url))
    return postgres_url


async def owners(api: Api, hook_id: int) -> Any:
    async with api.app.state.runtime.db.read() as session:
        row = await session.execute(
            text("SELECT lease_owner FROM webhooks WHERE id = :id"), {"id": hook_id}
        )
        return row.scalar_one()


async def test_two_instances_on_postgres_deliver_each_event_once(
    pg_url: str, tmp_path: Path
) -> None:
    first, second = started(pg_url, ManualClock(), **FAST), started(pg_url, ManualClock(), **FAST)
    one = await anext(first)
    two = await anext(second)
    try:
        with Receiver(tmp_path / "received.jsonl") as receiver:
            hook = await subscribe(one, receiver.url, ["order.*"])
            for api in [one, two, one, two]:  # events written through both instances
                order = await api.create_order()
                await api.act("channel-app", order, "pay")
            await eventually(lambda: len(receiver.accepted()) >= 8, "delivered")
            holder = await owners(one, hook["id"])
            deliverers = {
                d.owner: d for d in (api.app.state.runtime.webhooks for api in (one, two))
            }
            assert holder in deliverers
            assert [hook["id"] in d.couriers for d in deliverers.values()].count(True) == 1
            # The holder stops (handing its lease back); the other takes over from its cursor.
            held_by_one = holder == one.app.state.runtime.webhooks.owner
            survivor = two if held_by_one else one
            await (first if held_by_one else second).aclose()
            for _ in range(3):
                order = await survivor.create_order()
                await survivor.act("channel-app", order, "pay")
            expected = await logged_seqs(
                survivor, hook["cursor"], lambda e: e["kind"].startswith("order.")
            )
            assert len(expected) == 14
            await eventually(lambda: len(receiver.accepted()) >= 14, "delivered after takeover")
            assert [r["seq"] for r in receiver.accepted()] == expected
            # Never two posts of one event: no instance delivered what the other had.
            assert repeats(tmp_path / "received.jsonl") == []
    finally:
        for running in (first, second):
            await running.aclose()
