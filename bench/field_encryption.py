"""What field encryption costs: the write path (an order taken) and the snapshot (the open
orders a console loads), each with and without encryption in the same run.

    .venv/bin/python bench/field_encryption.py                   # 5 rounds of each, SQLite
    .venv/bin/python bench/field_encryption.py --orders 200 --snapshot 1000 --rounds 3

Two backends in this process, each on a temporary SQLite file with the demo city: one with the
field keys (AES-256-GCM and the blind index, as shipped), one with a cipher that stores values
as they are and makes no search tags (the baseline: what the same code cost before). Samples
(20 orders; one snapshot) alternate between the two, so a machine busy with something else
slows both alike, and the medians are compared. The write
path is `POST /orders` through the real app (ASGI, no network): the customer upsert, the order,
its event, its parcel, the idempotent answer stored; the snapshot is `GET /orders` 500 at a
time over every order, as the console's snapshot reads them. Reported per operation: CPU time
of this process (user + system), the ratio to the baseline, and the goal (<= 1.05).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.clock import ManualClock
from backend.crypto.cipher import FieldCipher, active, install, new_key
from backend.crypto.keys import new_ring_text
from backend.settings import Settings

GOAL = 1.05
WRITE_SAMPLE = 20
"""Orders taken per sample of the write path."""
SNAPSHOTS = 4
"""Snapshots per backend per round."""
_numbers = itertools.count(1)


class PlainCipher(FieldCipher):
    """The baseline: values stored as given, no search tags (what the code did before)."""

    def __init__(self) -> None:
        super().__init__({"plain": new_key()}, "plain", new_key())

    def encrypt(self, plain: str, label: str) -> str:
        return plain

    def decrypt(self, stored: str, label: str) -> str:
        return stored

    def search_tags(self, name: str, phone: str) -> str:
        return ""


class Backend:
    """One app on its own SQLite file, with the cipher it runs under."""

    def __init__(self, client: httpx.AsyncClient, cipher: FieldCipher) -> None:
        self.client, self.cipher = client, cipher
        self.headers: dict[str, str] = {}

    async def sign_in(self, username: str) -> None:
        answer = await self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
        )
        answer.raise_for_status()
        self.headers[username] = f"Bearer {answer.json()['access_token']}"

    async def create(self) -> None:
        n = next(_numbers)
        body = {
            "external_id": f"BENCH-{n}",
            "customer": {
                "name": f"Customer {n % 997}",
                "phone": f"139{n % 997:08d}",
                "address": f"Sanlitun Rd {n % 97}, Chaoyang",
                "lat": 39.9361,
                "lng": 116.4551,
            },
            "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
        }
        answer = await self.client.post(
            "/api/v1/orders",
            json=body,
            headers={"Authorization": self.headers["channel-app"], "Idempotency-Key": f"b{n}"},
        )
        assert answer.status_code == 201, answer.text

    async def snapshot(self) -> int:
        seen, cursor = 0, None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            answer = await self.client.get(
                "/api/v1/orders", params=params, headers={"Authorization": self.headers["admin"]}
            )
            page = answer.json()
            seen += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return seen


@asynccontextmanager
async def backend(folder: Path, *, encrypted: bool) -> AsyncIterator[Backend]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        demo=True,
        auto_dispatch=False,
        alerts=False,
        argon2_time_cost=1,
        argon2_memory_cost_kib=64,
        field_keys=new_ring_text(),
    )
    app = create_app(settings, clock=ManualClock())
    async with (
        LifespanManager(app, startup_timeout=120) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://bench"
        ) as client,
    ):
        cipher = active() if encrypted else install(PlainCipher())
        found = Backend(client, cipher)
        await found.sign_in("channel-app")
        await found.sign_in("admin")
        yield found


def cpu() -> float:
    return time.process_time()  # this process's threads: the SQLite writer's too


async def measure(
    backend: Backend, work: Callable[[], Awaitable[object]], count: int
) -> tuple[float, float]:
    """CPU and wall seconds per operation of `count` runs of `work` under the backend's cipher."""
    install(backend.cipher)
    cpu0, wall0 = cpu(), time.perf_counter()
    for _ in range(count):
        await work()
    return (cpu() - cpu0) / count, (time.perf_counter() - wall0) / count


async def run(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="freshline-bench-") as tmp:
        (Path(tmp) / "plain").mkdir()
        (Path(tmp) / "sealed").mkdir()
        async with (
            backend(Path(tmp) / "plain", encrypted=False) as plain,
            backend(Path(tmp) / "sealed", encrypted=True) as sealed,
        ):
            for b in (plain, sealed):  # the snapshot's orders, and a warm-up
                install(b.cipher)
                for _ in range(args.snapshot):
                    await b.create()
            results: dict[str, dict[str, list[float]]] = {
                what: {"plain": [], "sealed": []} for what in ("write", "snapshot")
            }
            # Short samples, taken in turns: a burst of load from elsewhere on the machine
            # lands on both alike, and the medians leave the bursts out.
            for _ in range(args.rounds):
                for _ in range(args.orders // WRITE_SAMPLE):
                    for name, b in (("plain", plain), ("sealed", sealed)):
                        write, _ = await measure(b, b.create, WRITE_SAMPLE)
                        results["write"][name].append(write)
                for _ in range(SNAPSHOTS):
                    for name, b in (("plain", plain), ("sealed", sealed)):
                        snapshot, _ = await measure(b, b.snapshot, 1)
                        results["snapshot"][name].append(snapshot)
    report: dict[str, dict[str, float]] = {}
    for what, runs in results.items():
        base, enc = statistics.median(runs["plain"]), statistics.median(runs["sealed"])
        report[what] = {"plain_cpu_s": base, "sealed_cpu_s": enc, "ratio": enc / base}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="orders taken per round")
    parser.add_argument("--snapshot", type=int, default=2000, help="orders in the snapshot")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    per = {"write": "an order taken", "snapshot": f"a snapshot of {args.snapshot}+ orders"}
    print(f"{'path':9} {'per':28} {'plain CPU':>11} {'encrypted':>11} {'ratio':>6}  goal")
    for what, figures in report.items():
        verdict = "met" if figures["ratio"] <= GOAL else "missed"
        print(
            f"{what:9} {per[what]:28} {figures['plain_cpu_s'] * 1e3:9.2f}ms "
            f"{figures['sealed_cpu_s'] * 1e3:9.2f}ms {figures['ratio']:6.3f}  "
            f"<= {GOAL} {verdict}"
        )


if __name__ == "__main__":
    main()
