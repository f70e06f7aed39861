"""Who watches the stream in benchmarks 1 and 5: raw subscribers recording when each order event
(by id and version) and each rider's fix arrived, and the console probes (`console_probe.py`,
the real console or the bare app, each in its own process) driven through files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import websockets

from bench.common import ROOT, stop

# --- Subscribers --------------------------------------------------------------------------------


class RawStream:
    """A raw stream connection: says hello, keeps the server's heartbeat, and reads in `_read`
    (each kind of subscriber its own) until closed."""

    def __init__(self, ws_url: str, token: str, topics: list[str]) -> None:
        self.ws_url, self.token, self.topics = ws_url, token, topics
        self.last_seq: int | None = None

    async def __aenter__(self) -> Self:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.socket = await websockets.connect(
            self.ws_url, additional_headers=headers, compression=None, max_size=8 * 2**20
        )
        await self.socket.send(json.dumps({"type": "hello", "topics": self.topics, "since": None}))
        welcome = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        if welcome.get("type") != "welcome":
            raise SystemExit(f"the stream did not welcome us: {welcome}")
        self.last_seq = welcome.get("last_seq")
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._beat())]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await task
        await self.socket.close()

    async def _read(self) -> None:
        raise NotImplementedError

    async def _beat(self) -> None:
        while True:  # the server drops a client silent for 40 s
            await asyncio.sleep(10)
            await self.socket.send('{"type":"heartbeat"}')


class Subscriber(RawStream):
    """A raw stream connection recording when each order event (by id and version) arrived."""

    def __init__(self, ws_url: str, token: str, topics: list[str]) -> None:
        super().__init__(ws_url, token, topics)
        self.arrivals: dict[tuple[int, int], float] = {}
        self.positions = 0
        self.gaps = 0
        self.closed: str | None = None
        self.position_sent: dict[tuple[int, datetime], float] | None = None
        self.position_latency: list[float] = []

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                now = time.monotonic()
                message = json.loads(raw)
                kind = message["type"]
                if kind == "event":
                    if self.last_seq is not None and message.get("prev_seq") != self.last_seq:
                        self.gaps += 1
                    self.last_seq = message["seq"]
                    if message.get("order_id") is not None:
                        key = (message["order_id"], message["payload"].get("version"))
                        self.arrivals.setdefault(key, now)
                elif kind == "position":
                    self.positions += 1
                    if self.position_sent is not None:
                        at = datetime.fromisoformat(message["at"]).replace(tzinfo=None)
                        sent = self.position_sent.get((message["rider_id"], at))
                        if sent is not None:
                            self.position_latency.append(now - sent)
                elif kind == "bare":  # the baseline's messages carry their send time
                    self.arrivals.setdefault((message["id"], 0), now - message["sent"])
        except websockets.ConnectionClosed as closed:
            self.closed = repr(closed)


# --- Console probes (their own processes) -------------------------------------------------------


class Probe:
    """`bench/console_probe.py` in its own process: the real console, or the bare app."""

    def __init__(
        self, mode: str, server: str, token: str, run_dir: Path, refresh_hz: float
    ) -> None:
        self.mode, self.run_dir = mode, run_dir
        self.out = run_dir / f"probe-{mode}.json"
        self.go, self.stop = run_dir / f"go-{mode}", run_dir / f"stop-{mode}"
        self.ready = run_dir / f"ready-{mode}"
        command = [
            sys.executable,
            str(ROOT / "bench" / "console_probe.py"),
            *("--mode", mode, "--server", server, "--out", str(self.out)),
            *("--go-file", str(self.go), "--stop-file", str(self.stop)),
            *("--ready-file", str(self.ready), "--refresh-hz", str(refresh_hz)),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHLINE_")}
        env["FRESHLINE_TOKEN"] = token
        with (run_dir / f"probe-{mode}.txt").open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )

    async def wait_ready(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.run_dir / f"probe-{self.mode}.txt").read_text(errors="replace")
                raise SystemExit(f"the {self.mode} console probe did not get ready:\n{log}")
            await asyncio.sleep(0.1)

    def start(self) -> None:
        self.go.touch()

    async def finish(self) -> dict[str, Any]:
        self.stop.touch()
        deadline = time.monotonic() + 30
        # Another process: nothing to await but time.
        while self.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        stop(self.process)
        if not self.out.exists():
            log = (self.run_dir / f"probe-{self.mode}.txt").read_text(errors="replace")
            raise SystemExit(f"the {self.mode} console probe wrote no results:\n{log}")
        return json.loads(self.out.read_text())
