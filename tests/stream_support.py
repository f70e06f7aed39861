"""Helpers for the live-stream tests: a real `freshline serve` on a loopback port, raw WebSocket
subscribers, demo actors that make changes over REST, and the event log read straight from
the SQLite file.

Every server is a `tests.servers.Server`: a subprocess with cheap password hashing and its log
in a temporary folder; `live_server` kills it on exit whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from backend_client import FreshlineClient, Stream, StreamState, StreamStatus
from backend_client.models import (
    CustomerIn,
    EventMessage,
    Order,
    OrderCreate,
    OrderItemIn,
    PositionPoint,
    SnapshotRequired,
)
from tests.servers import Server
from tests.support import customer

# Non-cold-chain SKUs stocked in every demo warehouse (120 each): orders rotate through them so
# payment reserves stock rather than tipping orders into OUT_OF_STOCK.
SKUS = ("VEG-BOKCHOY", "VEG-TOMATO", "VEG-CUCUMBER")


async def make_demo_database(path: Path) -> None:
    """A SQLite file migrated to head with the demo city and accounts (cheap hashes), so each
    server starts on a copy instead of migrating and seeding from scratch."""
    from backend.auth.passwords import Passwords
    from backend.db import Database
    from backend.demo import seed_demo

    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
        await seed_demo(db, Passwords(time_cost=1, memory_cost_kib=64), now=datetime.now(UTC))
    finally:
        await db.dispose()


async def read_stream(
    stream: Stream,
    *,
    events: list[EventMessage] | None = None,
    states: list[StreamState] | None = None,
    snapshots: list[int] | None = None,
) -> None:
    """Read `stream` to its end, keeping the events, the states and the snapshots' seqs it
    hands out in the lists given (run it as a task; `stream.stop()` ends it)."""
    async with stream:
        async for message in stream:
            match message:
                case EventMessage() if events is not None:
                    events.append(message)
                case StreamStatus() if states is not None:
                    states.append(message.state)
                case SnapshotRequired() if snapshots is not None:
                    snapshots.append(message.last_seq)


class LiveServer(Server):
    """`freshline serve --demo` on one port and one SQLite file; can be killed and restarted."""

    def __init__(self, tmp_path: Path, db_path: Path, settings: dict[str, str]) -> None:
        super().__init__(tmp_path)
        self.db_path = db_path
        self.settings = settings

    async def start(self) -> None:
        """Start (after `kill`, again on the same port and database file) and wait until it is
        healthy, letting the event loop run meanwhile."""
        self.spawn(
            "--demo",
            "--database-url",
            f"sqlite+aiosqlite:///{self.db_path}",
            env={f"FRESHLINE_{k.upper()}": v for k, v in self.settings.items()},
        )
        await asyncio.to_thread(self.wait_healthy)

    # --- the event log, read straight from the file --------------------------------------------

    def log(self) -> list[dict[str, Any]]:
        """Every event row, oldest first, as the wire shows it (payload parsed)."""
        with contextlib.closing(
            sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        ) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                "SELECT seq, kind, order_id, rider_id, warehouse_id, from_state, to_state,"
                " actor, payload FROM events ORDER BY seq"
            ).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"] or "{}")} for r in rows]

    def last_seq(self) -> int:
        rows = self.log()
        return rows[-1]["seq"] if rows else 0

    def expire_token(self, token: str) -> None:
        """Backdate a token's expiry in the database (the server re-reads it on each check)."""
        import hashlib

        digest = hashlib.sha256(token.encode()).hexdigest()
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=10)) as conn:
            changed = conn.execute(
                "UPDATE tokens SET expires_at = '2001-01-01 00:00:00.000000' WHERE digest = ?",
                (digest,),
            ).rowcount
            conn.commit()
        assert changed == 1


@contextlib.asynccontextmanager
async def live_server(tmp_path: Path, template: Path, **settings: Any) -> AsyncIterator[LiveServer]:
    """A healthy server on a copy of `template`, with `FRESHLINE_<NAME>` set for each setting;
    killed on exit whatever happened."""
    db_path = Path(tempfile.mkdtemp(prefix="db-", dir=tmp_path)) / "f.db"
    shutil.copy(template, db_path)
    server = LiveServer(tmp_path, db_path, {k: str(v) for k, v in settings.items()})
    try:
        await server.start()
        yield server
    finally:
        server.kill()


def order_kinds(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in log if e["kind"].startswith("order.")]


# --- raw WebSocket subscribers ------------------------------------------------------------------


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def connect(url: str, token: str | None, **kwargs: Any) -> ClientConnection:
    headers = auth(token) if token else {}
    return await websockets.connect(
        url, additional_headers=headers, compression=None, open_timeout=5, **kwargs
    )


async def send_hello(
    ws: ClientConnection, topics: list[str], since: int | None = None, **extra: Any
) -> None:
    await ws.send(json.dumps({"type": "hello", "topics": topics, "since": since, **extra}))


async def recv_json(ws: ClientConnection, within: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


class Subscriber:
    """A raw WebSocket subscriber whose messages are read into lists by a background task."""

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.welcome = welcome
        self.messages: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.closed: websockets.ConnectionClosed | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, url: str, token: str, topics: list[str], since: int | None = None, **extra: Any
    ) -> Subscriber:
        ws = await connect(url, token)
        await send_hello(ws, topics, since, **extra)
        first = await recv_json(ws)
        assert first["type"] == "welcome", first
        return cls(ws, first)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.messages.append(json.loads(raw))
                self.arrivals.append(time.monotonic())
                self._changed.set()
        except websockets.ConnectionClosed as closed:
            self.closed = closed
        if self.closed is None:
            self.closed = websockets.ConnectionClosedOK(self.ws.close_rcvd, self.ws.close_sent)
        self._changed.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "event"]

    @property
    def positions(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "position"]

    @property
    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]

    @property
    def close_code(self) -> int | None:
        if self.closed is None:
            return None
        return self.closed.rcvd.code if self.closed.rcvd else None

    async def wait_for(
        self, predicate: Callable[[Subscriber], bool], within: float = 5.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + within
        while not predicate(self):
            if self.closed is not None and not predicate(self):
                raise AssertionError(
                    f"stream closed ({self.closed!r}) before {what}; got {self.summary()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {self.summary()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def summary(self, last: int = 8) -> list[tuple[str, Any]]:
        """The last messages, briefly (event payloads can be huge)."""
        return [
            (m["type"], m.get("seq", m.get("code", m.get("rider_id"))))
            for m in self.messages[-last:]
        ]

    async def wait_seq(self, seq: int, within: float = 5.0) -> None:
        await self.wait_for(
            lambda s: bool(s.seqs) and s.seqs[-1] >= seq, within, f"event seq {seq}"
        )

    async def wait_closed(self, within: float = 5.0) -> None:
        await self.wait_for(lambda s: s.closed is not None, within, "the close")

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


def assert_chained(events: list[dict[str, Any]], start: int) -> None:
    """Each event's prev_seq is the seq before it (the first one's is `start`); seqs increase."""
    prev = start
    for event in events:
        assert event["prev_seq"] == prev, (event, prev)
        assert event["seq"] > prev, (event, prev)
        prev = event["seq"]


# --- actors making changes over REST ------------------------------------------------------------


class Actors:
    """Signed-in `FreshlineClient`s for the demo accounts, and shortcuts for common changes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.clients: dict[str, FreshlineClient] = {}
        self._sku = 0

    async def __aenter__(self) -> Actors:
        return self

    async def __aexit__(self, *_: object) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def __call__(self, username: str) -> FreshlineClient:
        if username not in self.clients:
            client = FreshlineClient(self.base_url, retries=2)
            await client.login(username, f"demo-{username}")
            self.clients[username] = client
        return self.clients[username]

    async def token(self, username: str) -> str:
        """A token of its own (not the one the actor's client uses)."""
        async with FreshlineClient(self.base_url) as client:
            answer = await client.login(username, f"demo-{username}")
        return answer.access_token

    async def create(self, warehouse_id: str = "WH-CY", channel_user: str = "channel-app") -> Order:
        self._sku += 1
        request = OrderCreate(
            external_id=f"T-{uuid.uuid4().hex[:12]}",
            customer=CustomerIn(**customer()),
            items=[OrderItemIn(sku=SKUS[self._sku % len(SKUS)], quantity=1)],
            warehouse_id=warehouse_id,
        )
        return await (await self(channel_user)).orders.create(request)

    async def paid(self, warehouse_id: str = "WH-CY", channel_user: str = "channel-app") -> Order:
        order = await self.create(warehouse_id, channel_user)
        return await (await self(channel_user)).orders.transition(order.id, "pay", order.version)

    async def picking(
        self, warehouse_id: str = "WH-CY", channel_user: str = "channel-app"
    ) -> Order:
        order = await self.paid(warehouse_id, channel_user)
        dispatcher = await self("dispatcher")
        return await dispatcher.orders.transition(order.id, "start_picking", order.version)

    async def assign(self, order: Order, rider_id: int) -> Order:
        return await (await self("dispatcher")).orders.assign(order.id, rider_id, order.version)

    async def online(self, *rider_ids: int) -> None:
        for rider_id in rider_ids:
            await (await self(f"rider-{rider_id}")).riders.set_status(rider_id, "online")

    async def position(self, rider_id: int, lat: float, lng: float, at: datetime) -> Any:
        rider = await self(f"rider-{rider_id}")
        return await rider.riders.upload_positions(
            rider_id, [PositionPoint(lat=lat, lng=lng, at=at)]
        )


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def append_padding(server: LiveServer, count: int, size: int) -> list[int]:
    """Append `count` big `stock.adjusted` events straight to the log file, as another backend
    instance sharing the log would (the feed reads the log every `feed_poll_seconds` whatever
    was announced). Used to fill a non-reading subscriber's socket buffers quickly."""
    with contextlib.closing(
        sqlite3.connect(server.db_path, timeout=10, isolation_level=None)
    ) as conn:
        conn.execute("BEGIN IMMEDIATE")
        first = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM events").fetchone()[0]
        seqs = list(range(first, first + count))
        conn.executemany(
            "INSERT INTO events (seq, kind, warehouse_id, actor, role, at, payload)"
            " VALUES (?, 'stock.adjusted', 'WH-CY', 'other-instance', 'admin', ?, ?)",
            [
                (
                    seq,
                    datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
                    json.dumps({"sku": "VEG-BOKCHOY", "padding": "x" * size}),
                )
                for seq in seqs
            ],
        )
        conn.execute("COMMIT")
    return seqs
