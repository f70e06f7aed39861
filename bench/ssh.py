"""22. The console over SSH: consoles served by one `freshline ssh-serve` at the nominal load,
beside a local console on the same backend in the same run.

    python bench/ssh.py [--consoles 20] [--scale 1] [--seconds 30]

- load: the stream benchmark's nominal load (`stream_load.NOMINAL`: riders reporting, order
  lanes stepping orders through their lives) on `freshline serve --demo` (SQLite);
- over SSH: `--consoles` asyncssh clients (one registered key, the dispatcher's) at 200x60 on
  one ssh-serve, each reading its bytes as a terminal would receive them;
- the baseline: the same console (`python -m console.ssh.child`, the command ssh-serve runs) on
  a local PTY of this process, signed in as the dispatcher: a desk terminal, no SSH between.

Commit -> screen: every so often a probe order is created with a customer name of its own and
left in the New lane; from its answer (the commit happened before) until the name arrives in
each terminal's bytes (Textual writes a row's text in one run, so the name is searched in the
byte stream, not a screen model), then the probe is cancelled and the next one made. CPU per
console: ssh-serve and every console it runs (its process tree), over the load, divided by the
consoles, beside the local console's own process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncssh
import httpx

from bench.common import freshline_command, post, serving_process, sign_in, spread_ms
from bench.stream_load import NOMINAL, City, drive, new_order, prepare
from console.ssh.terminal import PtyConsole, TermSize

SIZE = (200, 60)
CONSOLES = 20
PROBE_WAIT_S = 10.0
"""A probe not on a screen this long after its commit counts as missed there."""
START_WAIT_S = 180.0
WARM_PROBES = 20


@dataclass(eq=False)
class Terminal:
    """One terminal's byte stream, searched for the probe pending."""

    name: str
    board: bool = False
    marker: bytes | None = None
    tail: bytes = b""
    seen_at: float | None = None
    latencies: list[float] = field(default_factory=list)
    missed: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def feed(self, data: bytes) -> None:
        window = self.tail + data
        if not self.board and b"Board" in window:
            self.board = True
        if self.marker is not None and self.seen_at is None and self.marker in window:
            self.seen_at = time.monotonic()
            self.arrived.set()
        self.tail = window[-64:]

    # PtyConsole's sink, for the local console
    def write(self, data: bytes) -> None:
        self.feed(data)

    def pause_input(self) -> None:
        pass

    def resume_input(self) -> None:
        pass


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of `root` and every process under it, from /proc."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    family, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(cpu.get(pid, 0.0) for pid in family)


async def register_key(base_url: str) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        admin = await sign_in(http, "admin")
        users = (await http.get("/api/v1/users", headers=admin)).json()
        dispatcher = next(u["id"] for u in users if u["username"] == "dispatcher")
        public = key.export_public_key("openssh").decode().strip()
        await post(http, admin, "/ssh-keys", {"user_id": dispatcher, "public_key": public})
    return key


def start_ssh_serve(
    base_url: str, secret: str, run_dir: Path, consoles: int
) -> tuple[subprocess.Popen[bytes], int]:
    from bench.common import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
    env["FRESHLINE_SSH_GATEWAY_SECRET"] = secret
    output = run_dir / "ssh-serve.txt"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [
                freshline_command(),
                "ssh-serve",
                *("--server", base_url, "--port", str(port)),
                *("--host-key", str(run_dir / "host_key"), "--log-dir", str(run_dir / "logs")),
                *("--connections-per-minute", "10000", "--max-sessions", str(consoles + 5)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=run_dir,
        )
    deadline = time.monotonic() + 60
    while b"listening on" not in output.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"ssh-serve did not start:\n{output.read_text(errors='replace')}")
        time.sleep(0.05)  # polling its output: not listening yet
    return process, port


async def ssh_terminal(
    port: int, key: asyncssh.SSHKey, terminal: Terminal
) -> asyncssh.SSHClientConnection:
    conn = await asyncssh.connect(
        "127.0.0.1", port, username="desk", client_keys=[key], known_hosts=None, agent_path=None
    )
    process = await conn.create_process(term_type="xterm-256color", term_size=SIZE, encoding=None)

    async def read() -> None:
        while data := await process.stdout.read(65536):
            terminal.feed(data)

    asyncio.get_running_loop().create_task(read())
    return conn


async def local_console(base_url: str, token: str, run_dir: Path, terminal: Terminal) -> PtyConsole:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TZ")}
    env.update(
        TERM="xterm-256color",
        LANG="C.UTF-8",
        FRESHLINE_SERVER=base_url,
        FRESHLINE_TOKEN=token,
        FRESHLINE_CONSOLE_LOG=str(run_dir / "local-console.log"),
    )
    console = PtyConsole([], env, TermSize(*SIZE), terminal, on_exit=lambda code: None)
    await console.start()
    return console


async def probe(http: httpx.AsyncClient, city: City, terminals: list[Terminal], n: int) -> None:
    """One probe order: created, looked for on every terminal, cancelled."""
    name = f"Probe Qx{n:04d}"
    body = new_order(n)
    body["customer"]["name"] = name
    for terminal in terminals:
        terminal.marker, terminal.seen_at = name.encode(), None
        terminal.arrived.clear()
    order = await post(http, city.tokens["channel-app"], "/orders", body)
    committed = time.monotonic()
    arrivals = asyncio.gather(*(t.arrived.wait() for t in terminals))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(arrivals, PROBE_WAIT_S)
    for terminal in terminals:
        if terminal.seen_at is None:
            terminal.missed += 1
        else:
            terminal.latencies.append(max(0.0, terminal.seen_at - committed))
        terminal.marker = None
    cancel = {"action": "cancel", "version": order["version"], "reason": "benchmark probe"}
    await post(http, city.tokens["channel-app"], f"/orders/{order['id']}/transitions", cancel)


async def measure(consoles: int, scale: float, seconds: float, run_dir: Path) -> dict[str, Any]:
    load = NOMINAL.scaled(scale, seconds)
    secret = secrets.token_hex(32)
    database = f"sqlite+aiosqlite:///{run_dir / 'bench.db'}"
    env = {"FRESHLINE_SSH_GATEWAY_SECRET": secret, "FRESHLINE_AUTO_DISPATCH": "false"}
    with serving_process(database, run_dir / "server", env) as (base_url, _server):
        city = await prepare(base_url, load.riders)
        key = await register_key(base_url)
        serve, port = start_ssh_serve(base_url, secret, run_dir, consoles)
        local = Terminal("local")
        remote = [Terminal(f"ssh-{n}") for n in range(consoles)]
        connections: list[asyncssh.SSHClientConnection] = []
        console: PtyConsole | None = None
        try:
            token = city.tokens["dispatcher"]["Authorization"].split()[1]
            console = await local_console(base_url, token, run_dir, local)
            connections = list(await asyncio.gather(*(ssh_terminal(port, key, t) for t in remote)))
            deadline = time.monotonic() + START_WAIT_S
            while not all(t.board for t in (local, *remote)):
                if time.monotonic() > deadline:
                    raise SystemExit("the consoles did not show the board in time")
                await asyncio.sleep(0.05)  # the readers note the board's arrival
            terminals = [local, *remote]
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                # Warm: until every console shows a probe within a second (20 consoles starting
                # at once keep two cores busy for a while after their first paint).
                n = 0
                for n in range(1, WARM_PROBES + 1):
                    await probe(http, city, terminals, n)
                    worst = max(t.latencies[-1] if t.latencies else math.inf for t in terminals)
                    for terminal in terminals:
                        terminal.latencies.clear()
                        terminal.missed = 0
                    if worst < 1.0:
                        break
                warm = n
                assert console.process is not None
                cpu0 = (tree_cpu(serve.pid), tree_cpu(console.process.pid), time.monotonic())
                driving = asyncio.create_task(drive([base_url], city, load, {}))
                n = warm + 1
                while not driving.done():
                    await probe(http, city, terminals, n)
                    n += 1
                driven = await driving
                cpu1 = (tree_cpu(serve.pid), tree_cpu(console.process.pid), time.monotonic())
        finally:
            for conn in connections:
                conn.close()
            if console is not None:
                await console.stop()
            serve.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                serve.wait(timeout=15)
            if serve.poll() is None:
                serve.kill()
    wall = cpu1[2] - cpu0[2]
    over_ssh = [s for t in remote for s in t.latencies]
    return {
        "load": (
            f"{load.riders:,} riders every 15 s, {load.events_per_s:g} order events/s, "
            f"{load.seconds:g} s"
        ),
        "consoles": consoles,
        "probes": n - 1 - warm,
        "warm_probes": warm,
        "changes": len(driven.changes),
        "failures": driven.failures[:5],
        "events_per_s": len(driven.changes) / max(driven.seconds, 1e-9),
        "ssh_cpu_share_per_console": (cpu1[0] - cpu0[0]) / wall / consoles,
        "local_cpu_share": (cpu1[1] - cpu0[1]) / wall,
        "ssh_commit_to_screen_ms": spread_ms(over_ssh),
        "local_commit_to_screen_ms": spread_ms(local.latencies),
        "ssh_missed": sum(t.missed for t in remote),
        "local_missed": local.missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=CONSOLES)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="freshline-bench-ssh-") as folder:
        result = asyncio.run(measure(args.consoles, args.scale, args.seconds, Path(folder)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
