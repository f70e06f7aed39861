"""The stream across backend instances: real `freshline serve` processes on one PostgreSQL.

docs/stream.md "Between backend instances": with `FRESHLINE_BUS_URL`, instances sharing one
PostgreSQL tell each other about commits over Redis pub/sub, and each feed reads the log, so an
event committed through instance A reaches a subscriber of B in `seq` order, with any gap
filled from the log. Without the bus, feeds still read the log every `feed_poll_seconds` (1 s).
Positions cross instances only over Redis.

The cluster (one module-scoped PostgreSQL database, instances A and B on the Redis bus, C
without it) is shared by the tests below. Each subscriber is a raw WebSocket, so the test sees
every `prev_seq` as sent (`client.stream(...)` would heal a gap by reconnecting and hide it).

Redis pub/sub channels are global across database numbers, so another Freshline cluster using
the same Redis server also hears our announcements and we hear theirs. Foreign `seq`
announcements only wake our feeds (harmless); foreign positions are told apart from ours by
their coordinates, which are unique to this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.sim.accounts import demo_accounts
from backend.sim.city import demo_city
from backend_client import FreshlineClient, NotAuthenticated
from backend_client.models import (
    CustomerIn,
    Order,
    OrderCreate,
    OrderItemIn,
    PositionPoint,
)
from tests.conftest import empty_postgres_database, require_postgres
from tests.servers import Server, running, serving
from tests.support import customer, eventually

# slow: several backend instances on PostgreSQL and Redis.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.long(35)]

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
ON_THE_BUS = {"FRESHLINE_BUS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/5"}

# Bounds. Over Redis a commit reaches another instance's subscriber in milliseconds; the bound is
# generous so a busy CI machine does not flake. Without the bus the feed polls every 1 s.
BUS_BOUND_S = 1.0
POLL_BOUND_S = 2.5
CONCURRENT_CHANGES = 30  # per instance
LANES = 5  # concurrent writers per instance, each making CONCURRENT_CHANGES / LANES changes


def redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1):
            return True
    except OSError:
        return False


def require_redis() -> None:
    if redis_reachable():
        return
    message = f"Redis is not running on {REDIS_HOST}:{REDIS_PORT} (start it: make services)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


async def pg_scalars(url: str, *queries: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [await conn.scalar(text(q)) for q in queries]
    finally:
        await engine.dispose()


@dataclass
class Cluster:
    database_url: str
    a: Server
    """On the Redis bus, started first, seeds the demo."""
    b: Server
    """On the Redis bus, started once A is healthy, also with --demo (must seed nothing)."""
    c: Server
    """No bus: learns of other instances' commits only by polling the log."""

    def output(self) -> str:
        return "\n".join(s.output() for s in (self.a, self.b, self.c))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgres()
    require_redis()
    tmp_path = tmp_path_factory.mktemp("instances")
    with empty_postgres_database("freshline_streams") as url, ExitStack() as stack:
        a = stack.enter_context(
            serving(tmp_path, "--demo", "--database-url", url, name="A", env=ON_THE_BUS)
        )
        b = stack.enter_context(
            serving(tmp_path, "--demo", "--database-url", url, name="B", env=ON_THE_BUS)
        )
        c = stack.enter_context(serving(tmp_path, "--database-url", url, name="C"))
        yield Cluster(url, a, b, c)


# --- Clients ------------------------------------------------------------------------------------


async def signed_in(server: Server, username: str) -> FreshlineClient:
    client = FreshlineClient(server.base_url, retries=0)
    await client.login(username, f"demo-{username}")
    return client


def new_order(tag: str) -> OrderCreate:
    return OrderCreate(
        external_id=f"{tag}-{uuid.uuid4().hex[:12]}",
        customer=CustomerIn(**customer()),
        items=[OrderItemIn(sku="VEG-BOKCHOY", quantity=1)],
    )


@dataclass
class Received:
    at: float
    """`time.perf_counter()` when the message was read."""
    message: dict[str, Any]


def is_event_of(order: Order) -> Callable[[dict[str, Any]], bool]:
    """Matches the event announcing `order` at its current version."""

    def match(message: dict[str, Any]) -> bool:
        return (
            message["type"] == "event"
            and message["order_id"] == order.id
            and message["payload"].get("version") == order.version
        )

    return match


@dataclass
class Subscriber:
    """A raw stream connection that records every message with the time it was read."""

    server: Server
    token: str
    topics: list[str]
    since: int | None
    label: str = ""
    received: list[Received] = field(default_factory=list)
    welcome: dict[str, Any] = field(default_factory=dict)
    closed: str | None = None

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._socket: Any = None

    async def __aenter__(self) -> Subscriber:
        self._socket = await websockets.connect(
            self.server.ws_url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            compression=None,
            open_timeout=5,
            max_size=8 * 2**20,
        )
        hello = {"type": "hello", "topics": self.topics, "since": self.since}
        await self._socket.send(json.dumps(hello))
        first = json.loads(await asyncio.wait_for(self._socket.recv(), 5))
        assert first["type"] == "welcome", first
        self.welcome = first
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._socket.close()

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                self.received.append(Received(time.perf_counter(), json.loads(raw)))
                self._changed.set()
        except websockets.ConnectionClosed as closed:
            self.closed = repr(closed)
        else:
            self.closed = "closed by the server"
        self._changed.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [r.message for r in self.received if r.message["type"] == "event"]

    @property
    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], seconds: float, what: str = ""
    ) -> Received:
        """The first message matching `match`, waiting up to `seconds` for it."""
        deadline = time.perf_counter() + seconds
        while True:
            for received in self.received:
                if match(received.message):
                    return received
            left = deadline - time.perf_counter()
            if left <= 0 or self.closed:
                pytest.fail(
                    f"{self.label or self.server.name}: {what or 'message'} not received within "
                    f"{seconds} s (closed: {self.closed}); got "
                    f"{[r.message for r in self.received][-10:]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_seq(self, seq: int, seconds: float) -> None:
        await self.wait_for(
            lambda m: m["type"] == "event" and m["seq"] >= seq, seconds, f"seq {seq}"
        )

    def assert_chained(self) -> None:
        """Strictly increasing seq, each prev_seq the seq before it (or `since` for the first)."""
        previous = self.welcome["last_seq"] if self.since is None else self.since
        for event in self.events:
            assert event["prev_seq"] == previous, (self.label, event, previous, self.seqs)
            assert event["seq"] > previous, (self.label, event, previous)
            previous = event["seq"]


async def newest_seq(cluster: Cluster) -> int:
    """The log's newest seq, read straight from the database."""
    (seq,) = await pg_scalars(cluster.database_url, "SELECT coalesce(max(seq), 0) FROM events")
    return seq


async def caught_up(server: Server, token: str, seq: int, seconds: float = POLL_BOUND_S) -> None:
    """Wait until `server`'s feed has read the log up to `seq` (its welcome says so)."""
    deadline = time.perf_counter() + seconds
    while True:
        async with Subscriber(server, token, ["orders"], since=None) as probe:
            if probe.welcome["last_seq"] >= seq:
                return
        if time.perf_counter() > deadline:
            pytest.fail(f"{server.name}'s feed did not reach seq {seq} within {seconds} s")
        await asyncio.sleep(0.05)  # polling the condition


def summary(label: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return (
        f"{label}: n={len(ms)} p50={statistics.median(ms):.1f} ms p90={p90:.1f} ms "
        f"max={ms[-1]:.1f} ms"
    )


# --- The tests ----------------------------------------------------------------------------------


async def test_second_instance_with_demo_seeds_nothing_again(cluster: Cluster) -> None:
    """B started with --demo on A's database: the seeding is idempotent (nothing duplicated)."""
    city = demo_city()
    users, warehouses, skus, stock, riders, events = await pg_scalars(
        cluster.database_url,
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM warehouses",
        "SELECT count(*) FROM skus",
        "SELECT count(*) FROM stock",
        "SELECT count(*) FROM riders",
        "SELECT count(*) FROM events WHERE kind = 'user.created'",
    )
    rider_ids = list(range(1, len(city["riders"]) + 1))
    assert users == len(demo_accounts(rider_ids))
    assert warehouses == len(city["warehouses"])
    assert skus == len(city["skus"])
    assert stock == len(city["warehouses"]) * len(city["skus"])
    assert riders == len(city["riders"])
    assert events == 0
    assert "seeded the demo city" in cluster.a.read("freshline.log"), cluster.a.output()
    assert "seeded the demo city" not in cluster.b.read("freshline.log"), cluster.b.output()
    assert "demo accounts" not in cluster.b.read("freshline.log"), cluster.b.output()
    # The one account table serves every instance: a token from A works on B and C.
    async with await signed_in(cluster.a, "dispatcher") as client:
        for server in (cluster.b, cluster.c):
            async with FreshlineClient(server.base_url, token=client.token) as other:
                assert (await other.me()).username == "dispatcher"


async def test_signing_out_on_one_instance_ends_the_token_on_the_other_at_once(
    cluster: Cluster,
) -> None:
    """B keeps tokens it checked in memory for `token_cache_seconds` (30 s); a sign-out through
    A reaches it over the bus, so the token is refused on B long before that."""
    on_a = await signed_in(cluster.a, "support")
    token = on_a.token
    async with FreshlineClient(cluster.b.base_url, token=token, retries=0) as on_b:
        assert (await on_b.me()).username == "support"  # B vouches for it from now on
        await on_a.logout()

        async def refused_on_b() -> bool:
            try:
                await on_b.me()
            except NotAuthenticated:
                return True
            return False

        await eventually(refused_on_b, "B refusing the signed-out token", within=BUS_BOUND_S)
    await on_a.aclose()


async def test_changes_through_a_reach_a_subscriber_of_b_in_order(cluster: Cluster) -> None:
    channel = await signed_in(cluster.a, "channel-app")
    dispatcher = await signed_in(cluster.a, "dispatcher")
    rider = await signed_in(cluster.a, "rider-2")
    watcher = await signed_in(cluster.b, "dispatcher")
    try:
        async with Subscriber(cluster.b, watcher.token, ["orders"], since=0, label="B") as sub:
            replayed = sub.welcome["last_seq"]
            await rider.riders.set_status(2, "online")  # rider.status: not in `orders`
            steps: list[tuple[str, Callable[[Order], Any]]] = [
                ("pay", lambda o: channel.orders.transition(o.id, "pay", o.version)),
                ("pick", lambda o: dispatcher.orders.transition(o.id, "start_picking", o.version)),
                ("assign", lambda o: dispatcher.orders.assign(o.id, 2, o.version)),
                ("dispatch", lambda o: dispatcher.orders.transition(o.id, "dispatch", o.version)),
                ("sign", lambda o: dispatcher.orders.transition(o.id, "sign", o.version)),
            ]
            commit_to_receive: list[float] = []
            send_to_receive: list[float] = []
            expected: list[tuple[int, int]] = []
            for _ in range(2):
                sent = time.perf_counter()
                order = await channel.orders.create(new_order("XI"))
                answered = time.perf_counter()
                got = await sub.wait_for(is_event_of(order), BUS_BOUND_S, "order.created")
                commit_to_receive.append(got.at - answered)
                send_to_receive.append(got.at - sent)
                expected.append((order.id, order.version))
                for name, step in steps:
                    sent = time.perf_counter()
                    order = await step(order)
                    answered = time.perf_counter()
                    got = await sub.wait_for(is_event_of(order), BUS_BOUND_S, name)
                    commit_to_receive.append(got.at - answered)
                    send_to_receive.append(got.at - sent)
                    expected.append((order.id, order.version))
            await rider.riders.set_status(2, "offline")

            sub.assert_chained()
            live = [e for e in sub.events if e["seq"] > replayed]
            assert [(e["order_id"], e["payload"]["version"]) for e in live] == expected
            assert [e["kind"] for e in live] == (
                ["order.created", *["order.transition"] * 2, "order.assigned"]
                + ["order.transition"] * 2
            ) * 2
            # What B streamed is what the log holds: every order event, and each order's
            # timeline, seq for seq.
            engine = create_async_engine(cluster.database_url)
            try:
                async with engine.connect() as conn:
                    logged = await conn.scalars(
                        text(
                            "SELECT seq FROM events WHERE kind LIKE 'order.%' AND seq > :after "
                            "ORDER BY seq"
                        ),
                        {"after": replayed},
                    )
                    assert [e["seq"] for e in live] == list(logged)
            finally:
                await engine.dispose()
            for order_id in {oid for oid, _ in expected}:
                timeline = await watcher.orders.timeline(order_id)
                assert [e.seq for e in timeline] == [
                    e["seq"] for e in live if e["order_id"] == order_id
                ]
        print(
            "\nA -> Redis -> B, "
            + summary("commit->receive", commit_to_receive)
            + "; "
            + summary("send->receive", send_to_receive)
        )
        assert max(send_to_receive) < BUS_BOUND_S
    finally:
        for client in (channel, dispatcher, rider, watcher):
            await client.aclose()


async def test_positions_uploaded_through_one_instance_reach_the_other(
    cluster: Cluster,
) -> None:
    """Positions are not in the log: they cross instances over Redis only, both ways."""
    uploaders = {
        "A": await signed_in(cluster.a, "rider-3"),
        "B": await signed_in(cluster.b, "rider-4"),
    }
    rider_of = {"A": 3, "B": 4}
    on_a = await signed_in(cluster.a, "dispatcher")
    on_b = await signed_in(cluster.b, "dispatcher")
    try:
        async with (
            Subscriber(cluster.a, on_a.token, ["riders"], since=None, label="A") as sub_a,
            Subscriber(cluster.b, on_b.token, ["riders"], since=None, label="B") as sub_b,
        ):
            latencies = []
            for instance, watcher in (("A", sub_b), ("B", sub_a)):
                rider_id = rider_of[instance]
                for _ in range(3):
                    # Coordinates unique to this run tell our fixes from any other cluster's.
                    lat = round(39.9 + random.random() / 10, 6)
                    lng = round(116.4 + random.random() / 10, 6)
                    at = datetime.now(UTC) - timedelta(seconds=1)
                    sent = time.perf_counter()
                    result = await uploaders[instance].riders.upload_positions(
                        rider_id, [PositionPoint(lat=lat, lng=lng, at=at)]
                    )
                    assert result.moved, result

                    def match(m: dict[str, Any], rider_id: int = rider_id, lat=lat, lng=lng):
                        return (
                            m["type"] == "position"
                            and m["rider_id"] == rider_id
                            and m["lat"] == lat
                            and m["lng"] == lng
                        )

                    got = await watcher.wait_for(match, BUS_BOUND_S, f"position via {instance}")
                    latencies.append(got.at - sent)
                    assert got.message["warehouse_id"] == "WH-CY"
                    assert datetime.fromisoformat(got.message["at"]) == at
        print("\npositions across instances, " + summary("send->receive", latencies))
    finally:
        for client in (*uploaders.values(), on_a, on_b):
            await client.aclose()


async def test_an_instance_without_the_bus_fills_from_the_log(cluster: Cluster) -> None:
    """C has no bus: it learns of A's commits by polling the log, and B of C's the same way."""
    channel_a = await signed_in(cluster.a, "channel-app")
    channel_c = await signed_in(cluster.c, "channel-eleme")
    on_b = await signed_in(cluster.b, "dispatcher")
    on_c = await signed_in(cluster.c, "dispatcher")
    try:
        start = await newest_seq(cluster)
        await caught_up(cluster.c, on_c.token, start)
        async with (
            Subscriber(cluster.c, on_c.token, ["orders"], since=start, label="C") as sub_c,
            Subscriber(cluster.b, on_b.token, ["orders"], since=start, label="B") as sub_b,
        ):
            through_a, through_c = [], []
            for _ in range(3):
                sent = time.perf_counter()
                order = await channel_a.orders.create(new_order("XA"))
                got = await sub_c.wait_for(is_event_of(order), POLL_BOUND_S, "A's order on C")
                through_a.append(got.at - sent)
                order = await channel_a.orders.transition(order.id, "pay", order.version)
                await sub_c.wait_for(is_event_of(order), POLL_BOUND_S, "A's payment on C")

                sent = time.perf_counter()
                order = await channel_c.orders.create(new_order("XC"))
                got = await sub_b.wait_for(is_event_of(order), POLL_BOUND_S, "C's order on B")
                through_c.append(got.at - sent)
            newest = await newest_seq(cluster)
            await sub_c.wait_seq(newest, POLL_BOUND_S)
            await sub_b.wait_seq(newest, POLL_BOUND_S)
            for sub in (sub_c, sub_b):
                sub.assert_chained()
            assert sub_c.seqs == sub_b.seqs
            assert len(sub_c.seqs) == 9
        print(
            "\nlog poll, "
            + summary("A->C send->receive", through_a)
            + "; "
            + summary("C->B send->receive", through_c)
        )
    finally:
        for client in (channel_a, channel_c, on_b, on_c):
            await client.aclose()


async def test_concurrent_writers_on_two_instances_give_one_gap_free_order(
    cluster: Cluster,
) -> None:
    """30 changes through A and 30 through B, interleaved: every subscriber, on either
    instance, sees the one log order, 1..N with no gap and no duplicate."""
    admin_a = await signed_in(cluster.a, "admin")
    admin_b = await signed_in(cluster.b, "admin")
    clients: list[FreshlineClient] = [admin_a, admin_b]
    try:
        async with (
            Subscriber(cluster.a, admin_a.token, ["audit"], since=0, label="A audit") as audit_a,
            Subscriber(cluster.b, admin_b.token, ["audit"], since=0, label="B audit") as audit_b,
            Subscriber(cluster.a, admin_a.token, ["orders"], since=0, label="A orders") as orders_a,
            Subscriber(cluster.b, admin_b.token, ["orders"], since=0, label="B orders") as orders_b,
        ):

            async def writer(server: Server, tag: str) -> list[int]:
                channel = await signed_in(server, "channel-meituan")
                dispatcher = await signed_in(server, "dispatcher")
                clients.extend([channel, dispatcher])
                changed: list[int] = []

                async def lane(orders: int) -> None:
                    for _ in range(orders):
                        order = await channel.orders.create(new_order(tag))
                        order = await channel.orders.transition(order.id, "pay", order.version)
                        order = await dispatcher.orders.transition(
                            order.id, "start_picking", order.version
                        )
                        changed.append(order.id)

                # Three changes per order, in LANES concurrent lanes per instance.
                await asyncio.gather(
                    *(lane(CONCURRENT_CHANGES // 3 // LANES) for _ in range(LANES))
                )
                return changed

            orders_via_a, orders_via_b = await asyncio.gather(
                writer(cluster.a, "CA"), writer(cluster.b, "CB")
            )
            count, newest, newest_order = await pg_scalars(
                cluster.database_url,
                "SELECT count(*) FROM events",
                "SELECT max(seq) FROM events",
                "SELECT max(seq) FROM events WHERE kind LIKE 'order.%'",
            )
            assert count == newest, "the log itself has a gap"
            for sub in (audit_a, audit_b):
                await sub.wait_seq(newest, POLL_BOUND_S)
            for sub in (orders_a, orders_b):
                await sub.wait_seq(newest_order, POLL_BOUND_S)
            # The sentinel: one order more, after the race. A connection is sent events in
            # seq order, so once every subscriber has it, a duplicate of anything before it
            # would have arrived first.
            late = await signed_in(cluster.a, "channel-meituan")
            clients.append(late)
            sentinel = await late.orders.create(new_order("S"))
            newest = await newest_seq(cluster)
            for sub in (audit_a, audit_b):
                await sub.wait_seq(newest, POLL_BOUND_S)
            for sub in (orders_a, orders_b):
                await sub.wait_for(is_event_of(sentinel), POLL_BOUND_S, "the sentinel")

            for sub in (audit_a, audit_b, orders_a, orders_b):
                sub.assert_chained()
            assert audit_a.seqs == list(range(1, newest + 1))
            assert audit_b.seqs == audit_a.seqs
            assert audit_a.events == audit_b.events
            order_seqs = [e["seq"] for e in audit_a.events if e["kind"].startswith("order.")]
            assert orders_a.seqs == order_seqs
            assert orders_b.seqs == order_seqs

            # The writers really interleaved: each one's changes fall between the other's.
            seqs_of = {"A": [], "B": []}
            for event in audit_a.events:
                if event["order_id"] in orders_via_a:
                    seqs_of["A"].append(event["seq"])
                elif event["order_id"] in orders_via_b:
                    seqs_of["B"].append(event["seq"])
            assert len(seqs_of["A"]) == len(seqs_of["B"]) == CONCURRENT_CHANGES
            assert min(seqs_of["A"]) < max(seqs_of["B"])
            assert min(seqs_of["B"]) < max(seqs_of["A"])
    finally:
        for client in clients:
            await client.aclose()


async def test_resuming_on_another_instance_right_after_a_commit_needs_no_snapshot(
    cluster: Cluster,
) -> None:
    """A console that applied seq N from A and reconnects to C (say, behind a load balancer)
    resumes with since=N. N is in the log, so C must replay from there, not answer
    snapshot_required "ahead of the log" (docs/stream.md: that is for a replaced database),
    even if C's feed has not read N yet."""
    channel = await signed_in(cluster.a, "channel-app")
    on_a = await signed_in(cluster.a, "dispatcher")
    on_c = await signed_in(cluster.c, "dispatcher")
    try:
        await caught_up(cluster.c, on_c.token, await newest_seq(cluster))
        async with Subscriber(cluster.a, on_a.token, ["orders"], since=None, label="A") as sub_a:
            order = await channel.orders.create(new_order("XR"))
            applied = await sub_a.wait_for(is_event_of(order), BUS_BOUND_S, "order.created")
            since = applied.message["seq"]
            # Straight away, as a console does after a dropped connection.
            async with Subscriber(
                cluster.c, on_c.token, ["orders"], since=since, label="C"
            ) as sub_c:
                order = await channel.orders.transition(order.id, "pay", order.version)
                await sub_c.wait_for(is_event_of(order), POLL_BOUND_S, "the payment on C")
                snapshots = [r.message for r in sub_c.received if r.message["type"] != "event"]
                assert not [m for m in snapshots if m["type"] == "snapshot_required"], (
                    f"C told a client resuming from seq {since} (committed, in the log) to "
                    f"reload a snapshot: {snapshots}; welcome: {sub_c.welcome}"
                )
                sub_c.assert_chained()
    finally:
        for client in (channel, on_a, on_c):
            await client.aclose()


async def test_long_poll_on_another_instance_right_after_a_commit_needs_no_snapshot(
    cluster: Cluster,
) -> None:
    """The long-poll fallback, the same way: since=N, N committed through A, asked of C."""
    channel = await signed_in(cluster.a, "channel-app")
    on_c = await signed_in(cluster.c, "dispatcher")
    try:
        await caught_up(cluster.c, on_c.token, await newest_seq(cluster))
        order = await channel.orders.create(new_order("XL"))
        (since,) = await pg_scalars(
            cluster.database_url, f"SELECT max(seq) FROM events WHERE order_id = {order.id}"
        )
        batch = await on_c.events(since, ["orders"], wait=0)
        assert not batch.snapshot_required, (
            f"C answered snapshot_required to a long poll from seq {since}, which is in the log: "
            f"{batch}"
        )
        assert batch.last_seq >= since, batch
    finally:
        for client in (channel, on_c):
            await client.aclose()


def test_two_instances_started_together_with_demo_both_come_up(tmp_path: Path) -> None:
    """Migrations take an advisory lock so instances may start together; seeding the demo
    (idempotent, "what exists is left alone") must be as safe: both instances come up."""
    require_postgres()
    with empty_postgres_database("freshline_streams") as url, ExitStack() as stack:
        servers = [
            stack.enter_context(running(tmp_path, "--demo", "--database-url", url, name=name))
            for name in ("P", "Q")
        ]
        for server in servers:
            server.wait_healthy()
        users, warehouses = asyncio.run(
            pg_scalars(url, "SELECT count(*) FROM users", "SELECT count(*) FROM warehouses")
        )
    city = demo_city()
    assert warehouses == len(city["warehouses"])
    assert users == len(demo_accounts(list(range(1, len(city["riders"]) + 1))))
