"""The HTTP notifier against a real gateway in a process of its own, killed and restarted: every
notification arrives exactly once, in order per order (README "must show").

The gateway (`tests/notify_receiver.py`) first dies right after taking a message, before
answering (the sender retries it, and the gateway drops the repeat by its idempotency key), then
is killed outright while the sender still has messages to send; restarted each time, on the same
port. The sender runs its passes on the test's clock, stepping over the backoff.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.clock import ManualClock
from tests.backend.notify_support import evaluate, rows
from tests.backend.test_eta_and_geofences import delivering, north
from tests.servers import free_port
from tests.support import Api, eventually, started

pytestmark = pytest.mark.slow

SECRET = "gateway-secret"
ROOT = Path(__file__).resolve().parents[2]


class Gateway:
    """The receiver process: started, killed, started again on one port and one log."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log = tmp_path / "taken.jsonl"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def spawn(self, *extra: str) -> None:
        command = [sys.executable, "-m", "tests.notify_receiver", "--port", str(self.port)]
        command += ["--secret", SECRET, "--log", str(self.log), *extra]
        self.process = subprocess.Popen(command, cwd=ROOT)

    async def start(self, *extra: str) -> None:
        self.spawn(*extra)

        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(self.url)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(up, "the gateway answers")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def taken(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def repeats(self) -> int:
        dups = self.log.with_suffix(".jsonl.dups")
        return len(dups.read_text().splitlines()) if dups.exists() else 0


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path)
    yield gateway
    if gateway.process is not None and gateway.process.poll() is None:
        gateway.kill()


@pytest.fixture
async def api_to(database_url: str, gateway: Gateway) -> AsyncIterator[Api]:
    settings = {
        "notifier": "http",
        "notify_url": gateway.url,
        "notify_secret": SECRET,
        "notify_backoff_base_seconds": 1,
        "notify_backoff_cap_seconds": 8,
        "notify_timeout_seconds": 10,
        "notify_max_attempts": 1000,
    }
    async for api in started(database_url, ManualClock(), **settings):
        yield api


async def test_every_notification_arrives_once_in_order_across_gateway_restarts(
    api_to: Api, gateway: Gateway
) -> None:
    api = api_to
    await api.rider_online(1)
    orders = []
    for i in range(4):
        order = await delivering(api, 1, promise_minutes=60, to=north(1000), phone=f"1391116000{i}")
        stopped = await api.act("rider-1", order, "report_exception", reason="flat tyre")
        await evaluate(api, [order["id"]])
        resumed = await api.act("dispatcher", stopped, "resume", reason="fixed")
        await api.act("rider-1", resumed, "sign")
        await evaluate(api, [order["id"]])
        orders.append(order)
    queued = await rows(api)
    assert len(queued) == 8
    sender = api.app.state.runtime.notification_sender

    async def step() -> None:
        await sender.send_due()
        api.clock.advance(seconds=10)  # past any backoff step

    # 1. The gateway takes three, and dies before answering the third.
    await gateway.start("--die-after", "3")
    for _ in range(50):
        if gateway.exited():
            break
        await step()
    assert len(gateway.taken()) == 3
    await step()  # the gateway is down: a failure, and a retry later
    assert any(r.attempts >= 1 and r.status == "pending" for r in await rows(api))

    # 2. Back up; one pass, then killed outright.
    await gateway.start()
    await step()
    gateway.kill()
    await step()

    # 3. Back up for good: everything goes out.
    await gateway.start()
    for _ in range(50):
        if all(r.status == "sent" for r in await rows(api)):
            break
        await step()
    final = await rows(api)
    assert all(r.status == "sent" for r in final), [(r.id, r.status) for r in final]

    taken = gateway.taken()
    assert sorted(t["id"] for t in taken) == sorted(r.id for r in queued)  # each once
    # The one message whose answer was lost came again, and was dropped; no other repeat.
    assert gateway.repeats() == 1
    by_reference = {o["external_id"]: o["id"] for o in orders}
    for reference in by_reference:
        mine = [t for t in taken if t["order"] == reference]
        assert [t["rule"] for t in mine] == ["exception", "signed"]  # in order, per order
        assert [t["id"] for t in mine] == sorted(t["id"] for t in mine)
    assert {t["to"] for t in taken} == {f"1391116000{i}" for i in range(4)}
