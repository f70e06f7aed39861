"""Sign-ins with the login limiter's shared counters, beside the same counters in memory.

    .venv/bin/python bench/login_throttle.py [--attempts 600] [--clients 8] [--no-postgres]

The real app in this process (httpx's ASGITransport, cheap argon2 so the counters show), the
demo's accounts, half the attempts with the right password and half with a wrong one, limits
set so high that nothing is refused: what is measured is the counting. Each storage the
backend uses (the database's `login_attempts` on SQLite and PostgreSQL; Redis when the bus is
Redis) beside the baseline, `limits`' in-memory storage on the same app, which no two instances
could share. Figures: sign-ins a second, and this process's CPU per sign-in (the SQLite
writer's thread included; PostgreSQL's and Redis's own CPU are not).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from asgi_lifespan import LifespanManager
from limits.aio.storage import MemoryStorage

from backend.app import create_app
from backend.auth.login_limiter import LoginLimiter, LoginLimits, Tally
from backend.settings import Settings
from bench.common import cpu_seconds, postgres_reachable, redis_reachable, temporary_postgres

HIGH = 10**9
"""Limits nobody reaches: every attempt is counted, none refused."""
REDIS_URL = "redis://127.0.0.1:6379/11"


def settings_for(database_url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        demo=True,
        auto_dispatch=False,
        alerts=False,
        argon2_time_cost=1,
        argon2_memory_cost_kib=64,
        login_max_failures=HIGH,
        login_address_max_failures=HIGH,
        login_account_max_failures=HIGH,
        login_spray_max_failures=HIGH,
        **extra,
    )


async def measure(
    settings: Settings, attempts: int, clients: int, *, in_memory: bool = False
) -> dict[str, float]:
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=120) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://bench"
        ) as http,
    ):
        if in_memory:
            limits = LoginLimits(HIGH, HIGH, HIGH, HIGH)
            in_process = [Tally(MemoryStorage(), time.time)]
            app.state.runtime.login_limiter = LoginLimiter(in_process, limits)
        statuses: list[int] = []

        async def client(lane: int) -> None:
            for n in range(lane, attempts, clients):
                user = f"rider-{n % 24 + 1}"
                password = f"demo-{user}" if n % 2 else "wrong"
                answer = await http.post(
                    "/api/v1/auth/token", data={"username": user, "password": password}
                )
                statuses.append(answer.status_code)

        await client(0)  # warm up: the first hashes, connections, the known addresses
        statuses.clear()
        cpu, wall = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(client(lane) for lane in range(clients)))
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    refused = sum(1 for s in statuses if s not in (200, 401))
    assert not refused, f"{refused} attempts refused or failed: {sorted(set(statuses))}"
    return {"per_second": len(statuses) / wall, "cpu_ms": 1000 * cpu / len(statuses)}


def row(label: str, figure: dict[str, float], baseline: dict[str, float]) -> str:
    return (
        f"| {label} | {figure['per_second']:.0f} | {baseline['per_second']:.0f} | "
        f"{figure['per_second'] / baseline['per_second']:.2f} | {figure['cpu_ms']:.2f} | "
        f"{baseline['cpu_ms']:.2f} | {figure['cpu_ms'] / baseline['cpu_ms']:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    def run(settings: Callable[[], Settings], **kwargs: Any) -> dict[str, float]:
        return asyncio.run(measure(settings(), args.attempts, args.clients, **kwargs))

    lines = [
        "| counters | sign-ins/s | in memory | ratio | CPU ms/sign-in | in memory | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite+aiosqlite:///{folder}/bench.db"
        baseline = run(lambda: settings_for(sqlite), in_memory=True)
        lines.append(row("database (SQLite)", run(lambda: settings_for(sqlite)), baseline))
    if not args.no_postgres and postgres_reachable():
        with temporary_postgres(prefix="freshline_login") as url:
            baseline = run(lambda: settings_for(url), in_memory=True)
            lines.append(row("database (PostgreSQL)", run(lambda: settings_for(url)), baseline))
            if redis_reachable():
                redis = run(lambda: settings_for(url, bus_url=REDIS_URL))
                lines.append(row("Redis (bus on Redis, PostgreSQL)", redis, baseline))
    print(
        f"{args.attempts} sign-ins, {args.clients} at once, half right and half wrong, "
        "beside limits' in-memory storage on the same app"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
