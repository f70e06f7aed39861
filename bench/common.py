"""What the benchmarks share: a real `freshline serve --demo` on a free port, a temporary
PostgreSQL database, signing in and posting, percentiles, a process's CPU and memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0
PG_SERVER = os.environ.get(
    "FRESHLINE_BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
REDIS = ("127.0.0.1", 6379)


# --- Servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_reachable() -> bool:
    return reachable("127.0.0.1", 5432)


def redis_reachable() -> bool:
    return reachable(*REDIS)


def freshline_command() -> str:
    found = shutil.which("freshline", path=str(Path(sys.executable).parent)) or shutil.which(
        "freshline"
    )
    if found is None:
        sys.exit("the freshline console script is not installed (pip install -e .)")
    return found


@contextlib.contextmanager
def serving(
    database_url: str, run_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """`freshline serve --demo` on a free port (with `extra_env` set too), its output and log in
    `run_dir`; yields its base URL; stopped on exit."""
    yield from _serve(database_url, run_dir, extra_env, with_process=False)


@contextlib.contextmanager
def serving_process(
    database_url: str, run_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `serving`, yielding the process too (for its CPU time)."""
    yield from _serve(database_url, run_dir, extra_env, with_process=True)


@contextlib.contextmanager
def serving_peer(database_url: str, run_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The peer baseline app (`peer_app.py`) on a free port and `database_url`, as `serving`."""
    yield from _serve(database_url, run_dir, None, with_process=True, peer=True)


def _serve(database_url: str, run_dir: Path, extra_env, *, with_process: bool, peer: bool = False):
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
    env.update(
        FRESHLINE_ARGON2_TIME_COST="1",
        FRESHLINE_ARGON2_MEMORY_COST_KIB="64",
        FRESHLINE_LOG_FILE=str(run_dir / "freshline.log"),
    )
    env.update(extra_env or {})
    command = [
        freshline_command(),
        *("serve", "--demo", "--host", "127.0.0.1", "--port", str(port)),
        *("--database-url", database_url),
    ]
    if peer:
        command = [sys.executable, str(ROOT / "bench" / "peer_app.py"), "--port", str(port)]
        command += ["--database-url", database_url]
    with (run_dir / "output.txt").open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=run_dir,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, base_url, run_dir)
        yield (base_url, process) if with_process else base_url
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, run_dir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if client.get("/api/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    output = "\n".join(
        p.read_text(errors="replace") for p in run_dir.iterdir() if p.suffix in (".txt", ".log")
    )
    raise SystemExit(f"freshline serve did not become healthy:\n{output}")


async def _pg_admin(server: str, sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"{server}/test", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def temporary_postgres(server: str = PG_SERVER, prefix: str = "freshline_bench") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server; dropped, connections and all, on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- Talking to the server ----------------------------------------------------------------------


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def post(http: httpx.AsyncClient, auth: dict[str, str], path: str, body: dict) -> dict:
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    response = await http.post(f"/api/v1{path}", json=body, headers=headers)
    if response.status_code >= 400:
        raise SystemExit(f"POST {path} answered {response.status_code}: {response.text}")
    return response.json()


# --- Measuring ----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def spread_ms(seconds: list[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max in ms, and the count."""
    ms = [s * 1000 for s in seconds]
    return {
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else math.nan,
        "n": len(ms),
    }


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or 'self'}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mb(pid: int | None = None) -> float:
    with open(f"/proc/{pid or 'self'}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def process_age_s() -> float:
    """Seconds since this process was launched (interpreter start and imports included), to
    the kernel's clock tick (10 ms)."""
    with open("/proc/self/stat") as stat:
        started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK")
