"""The deployment of `deploy/` run on this machine without containers (docs/deployment.md).

One topology for the module: a fresh PostgreSQL database, the Redis bus, two `freshline serve`
processes (A and B) sharing the field keys and trusting the proxy, and Debian's nginx in front
running the shipped `deploy/nginx.conf` with TLS. Consoles (the client's stream, as the console
reads it) and the simulator (`freshline simulate`, a process of its own) reach the backends
only through nginx. Then A is killed with SIGKILL under the simulator's load: every console it
held comes back through nginx on B, and every console applied exactly the log, not one event
lost or twice. Last, a rolling restart: A back, B stopped gracefully under writes, the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.realtime.visibility import topic_of
from backend_client import Backoff, FreshlineClient, StreamState
from backend_client.models import CustomerIn, EventMessage, OrderCreate, OrderItemIn, Topic
from tests.conftest import empty_postgres_database, require_postgres
from tests.deploy.nginx import Certificates, Nginx, proxying
from tests.servers import FRESHLINE, LOG, STOP_TIMEOUT_S, Server, clean_env, serving
from tests.stream_support import read_stream
from tests.support import TEST_FIELD_KEYS, customer, eventually

# slow: PostgreSQL, Redis, two backends, nginx and the simulator, all real processes.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REDIS_URL = "redis://127.0.0.1:6379/7"
PROXY_ADDRESS = "127.0.0.1"
"""Where nginx connects to the backends from: the one address they trust."""
CLIENT_ADDRESS = "127.0.0.3"
"""Where the test's own REST clients connect from (all of loopback's 127/8 is this machine's),
so the client the backends record is told apart from the proxy."""
CONSOLES = 6
BEFORE_KILL = 10
"""Events every console applies before a backend goes, and again after."""
FAST_BACKOFF = Backoff(base=0.05, cap=0.5)


@dataclass
class Topology:
    database_url: str
    a: Server
    b: Server
    proxy: Nginx
    tls: Certificates

    def output(self) -> str:
        return "\n".join([self.a.output(), self.b.output(), self.proxy.output()])

    async def start(self, server: Server) -> None:
        """Start `server` again (same port, database and settings) and wait until healthy."""
        server.spawn("--demo", "--database-url", self.database_url, env=backend_env())
        await asyncio.to_thread(server.wait_healthy)


def backend_env() -> dict[str, str]:
    """What each instance is told, as deploy/.env.example tells it (the database comes as an
    argument): the bus, the one field key ring, and which peer may name the client."""
    return {
        "FRESHLINE_BUS_URL": REDIS_URL,
        "FRESHLINE_FIELD_KEYS": TEST_FIELD_KEYS,
        "FRESHLINE_TRUSTED_PROXIES": json.dumps([PROXY_ADDRESS]),
    }


def require_redis() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return
    except OSError:
        message = "Redis is not running on 127.0.0.1:6379 (start it: make services)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    require_postgres()
    require_redis()
    folder = tmp_path_factory.mktemp("deployment")
    tls = Certificates.issue(folder)
    with empty_postgres_database("freshline_deploy") as url, ExitStack() as stack:
        # A migrates and seeds; B, started once A is healthy, finds both done (as compose's
        # depends_on orders them).
        a, b = (
            stack.enter_context(
                serving(folder, "--demo", "--database-url", url, name=name, env=backend_env())
            )
            for name in ("A", "B")
        )
        backends = [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
        proxy = stack.enter_context(proxying(folder / "nginx", backends, tls))
        yield Topology(url, a, b, proxy, tls)


async def log_rows(database_url: str, since: int) -> list[tuple[int, str]]:
    """(seq, kind) of every event after `since`, straight from the database."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT seq, kind FROM events WHERE seq > :since ORDER BY seq"),
                {"since": since},
            )
            return [(seq, kind) for seq, kind in rows]
    finally:
        await engine.dispose()


async def newest_seq(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT coalesce(max(seq), 0) FROM events")))
    finally:
        await engine.dispose()


async def signed_in(topology: Topology, username: str) -> FreshlineClient:
    client = FreshlineClient(topology.proxy.url, ca_file=str(topology.tls.ca))
    await client.login(username, f"demo-{username}")
    return client


def from_client_address(
    topology: Topology, base_url: str | None = None, address: str = CLIENT_ADDRESS
) -> httpx.AsyncClient:
    """A plain HTTP client connecting from `address`, to the proxy unless told otherwise."""
    transport = httpx.AsyncHTTPTransport(
        local_address=address, verify=topology.tls.context(), retries=0
    )
    return httpx.AsyncClient(
        transport=transport, base_url=base_url or topology.proxy.url, timeout=10
    )


async def orders_not_by(topology: Topology, *prefixes: str) -> int:
    """Orders whose external id starts with none of `prefixes` (the simulator's)."""
    engine = create_async_engine(topology.database_url)
    clauses = " AND ".join(f"external_id NOT LIKE :p{n}" for n in range(len(prefixes)))
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text(f"SELECT count(*) FROM orders WHERE {clauses}"),
                {f"p{n}": f"{prefix}%" for n, prefix in enumerate(prefixes)},
            )
            return int(found or 0)
    finally:
        await engine.dispose()


def new_order() -> OrderCreate:
    return OrderCreate(
        external_id=f"DEPLOY-{uuid.uuid4().hex[:12]}",
        customer=CustomerIn(**customer()),
        items=[OrderItemIn(sku="VEG-BOKCHOY", quantity=1)],
    )


# --- through the proxy --------------------------------------------------------------------------


async def test_the_proxy_speaks_tls_and_the_backends_know_it(topology: Topology) -> None:
    """X-Forwarded-Proto from the trusted proxy: the backends answer as over TLS (HSTS), and
    requests spread over both instances (nginx's access log names the upstream)."""
    async with from_client_address(topology) as client:
        answers = [await client.get("/api/v1/health") for _ in range(4)]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["strict-transport-security"].startswith("max-age="), answer.headers
    # Straight to a backend, plain HTTP: no HSTS (it would be a lie there).
    async with httpx.AsyncClient(base_url=topology.a.base_url) as direct:
        assert "strict-transport-security" not in (await direct.get("/api/v1/health")).headers

    async def both_served() -> bool:
        health = [line for line in topology.proxy.access_log() if "/api/v1/health" in line]
        return all(f":{s.port}/200" in "\n".join(health) for s in (topology.a, topology.b))

    await eventually(both_served, "health answered by both backends through nginx")


async def test_the_audit_log_records_the_real_client_not_the_proxy_nor_a_forged_header(
    topology: Topology,
) -> None:
    """nginx replaces X-Forwarded-For with its peer's address; the backends believe it only
    from the proxy. A header a client forges is believed neither through nginx nor sent
    straight to a backend."""
    channel = await signed_in(topology, "channel-app")
    forged = {"Authorization": f"Bearer {channel.token}", "X-Forwarded-For": "203.0.113.50"}
    body = {
        "external_id": "DEPLOY-ADDR-1",
        "customer": customer(name="Li Lei"),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
    }
    try:
        async with from_client_address(topology) as through_proxy:
            made = await through_proxy.post("/api/v1/orders", json=body, headers=forged)
        assert made.status_code == 201, made.text
        async with from_client_address(topology, topology.b.base_url) as straight:
            body["external_id"] = "DEPLOY-ADDR-2"
            direct = await straight.post("/api/v1/orders", json=body, headers=forged)
        assert direct.status_code == 201, direct.text

        engine = create_async_engine(topology.database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT order_id, client_addr FROM events "
                        "WHERE kind = 'order.created' AND order_id IN (:one, :two)"
                    ),
                    {"one": made.json()["id"], "two": direct.json()["id"]},
                )
                recorded = dict(rows.all())
        finally:
            await engine.dispose()
        assert recorded == {made.json()["id"]: CLIENT_ADDRESS, direct.json()["id"]: CLIENT_ADDRESS}

        # One key ring: what one instance encrypted, the other reads (through the proxy,
        # whichever instance answers, and straight from each).
        for base_url in (topology.a.base_url, topology.b.base_url):
            async with FreshlineClient(base_url, token=channel.token) as reader:
                order = await reader.orders.get(direct.json()["id"])
                assert order.customer.name == "Li Lei"
    finally:
        await channel.aclose()


async def test_the_proxy_limits_stream_openings_per_client(topology: Topology) -> None:
    """The backends cannot tell clients apart behind the proxy, so nginx limits each: a burst
    of 60 stream openings, then 300 a minute, then 429, for that client only."""
    statuses: list[int] = []
    async with from_client_address(topology, address="127.0.0.4") as flooder:
        for _ in range(100):
            statuses.append((await flooder.get("/api/v1/stream")).status_code)
    assert 429 not in statuses[:61], statuses
    assert 429 in statuses[61:], statuses
    async with from_client_address(topology) as other:
        assert (await other.get("/api/v1/stream")).status_code != 429


# --- a backend dies -----------------------------------------------------------------------------


@dataclass
class Console:
    """One console's live stream through the proxy: what it applied and the states it went
    through."""

    client: FreshlineClient
    topics: list[Topic]
    since: int
    events: list[EventMessage] = field(default_factory=list)
    states: list[StreamState] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stream = self.client.stream(
            [*self.topics],
            since=self.since,
            backoff=FAST_BACKOFF,
            poll_after_failures=10_000,  # WebSocket reconnection through the proxy, not polls
            dead_after=10,
        )
        self.task: asyncio.Task[None] = asyncio.create_task(
            read_stream(self.stream, events=self.events, states=self.states)
        )

    @property
    def live(self) -> bool:
        return bool(self.states) and self.states[-1] == StreamState.LIVE

    @property
    def reconnected(self) -> bool:
        """Lost its connection after it was live, and is live again."""
        if StreamState.LIVE not in self.states:
            return False
        after = self.states[self.states.index(StreamState.LIVE) :]
        return StreamState.RECONNECTING in after and self.live

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]

    async def close(self) -> None:
        self.stream.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 10)
        await self.client.aclose()


async def open_consoles(topology: Topology, count: int, since: int) -> list[Console]:
    """`count` consoles through the proxy, opened one at a time, each live before the next:
    nginx's least_conn puts them on A and B in turn. Half follow everything (audit, as the
    admin), half the orders board (as the dispatcher)."""
    admin = await signed_in(topology, "admin")
    dispatcher = await signed_in(topology, "dispatcher")
    tokens = {Topic.AUDIT: admin.token, Topic.ORDERS: dispatcher.token}
    await admin.aclose()  # the tokens live on; the consoles present them
    await dispatcher.aclose()
    consoles: list[Console] = []
    try:
        for n in range(count):
            topic = Topic.AUDIT if n % 2 else Topic.ORDERS
            client = FreshlineClient(
                topology.proxy.url, token=tokens[topic], ca_file=str(topology.tls.ca)
            )
            consoles.append(Console(client, [topic], since=since))
            await eventually(lambda c=consoles[-1]: c.live, f"console {n} live through the proxy")
    except BaseException:
        for console in consoles:
            await console.close()
        raise
    return consoles


async def assert_exactly_the_log(
    topology: Topology, consoles: list[Console], since: int
) -> list[tuple[int, str]]:
    """Once every console has caught up with the log, each applied every event after `since`
    it may see, in order, each once, and none was even sent twice; the log itself has no gap.
    The log's rows are returned."""
    log = await log_rows(topology.database_url, since)
    assert [seq for seq, _ in log] == list(range(since + 1, since + len(log) + 1)), (
        "the log itself has a gap"
    )
    expected: dict[Topic, list[int]] = {
        Topic.AUDIT: [seq for seq, _ in log],
        Topic.ORDERS: [seq for seq, kind in log if topic_of(kind) == Topic.ORDERS],
    }
    for console in consoles:
        last = expected[console.topics[0]][-1]
        await eventually(
            lambda c=console, last=last: c.stream.last_seq == last,
            f"a {console.topics[0]} console applying seq {last}",
        )
    for console in consoles:
        wanted = expected[console.topics[0]]
        assert console.seqs == wanted, (
            f"{console.topics[0]} console: lost "
            f"{sorted(set(wanted) - set(console.seqs))[:20]}, doubled "
            f"{sorted({s for s in console.seqs if console.seqs.count(s) > 1})[:20]}"
        )
        assert console.stream.duplicates == 0  # not even sent twice, only dropped
    return log


class Writer:
    """A channel making and paying orders through the proxy, one after another, until
    stopped. Its client retries what failed on the way (a 502 from nginx for a request a dying
    backend had taken) under the same Idempotency-Key, so each order is made once; any error
    that reaches it ends it, and the test with it."""

    def __init__(self, topology: Topology, tag: str) -> None:
        self.topology, self.tag = topology, tag
        self.made = 0
        """Orders made and paid, as answered."""
        self._writing = True
        self._task: asyncio.Task[None] | None = None
        self.client: FreshlineClient | None = None

    async def start(self) -> None:
        self.client = await signed_in(self.topology, "channel-app")
        self._task = asyncio.create_task(self._write(self.client))

    async def _write(self, client: FreshlineClient) -> None:
        while self._writing:
            request = new_order().model_copy(
                update={"external_id": f"{self.tag}-{uuid.uuid4().hex[:12]}"}
            )
            order = await client.orders.create(request)
            await client.orders.transition(order.id, "pay", order.version)
            self.made += 1

    @property
    def writing(self) -> bool:
        """Still going; raises what ended it otherwise."""
        assert self._task is not None
        if self._task.done():
            self._task.result()
            raise AssertionError("the writer stopped by itself")
        return True

    async def stop(self) -> int:
        """Finish the order under way; how many were made."""
        self._writing = False
        try:
            if self._task is not None:
                await self._task
        finally:
            if self.client is not None:
                await self.client.aclose()
        return self.made

    async def close(self) -> None:
        """Stop whatever happened (a test's finally)."""
        self._writing = False
        if self._task is not None and not self._task.done():
            self._task.cancel()
        with contextlib.suppress(BaseException):
            await self.stop()

    async def orders_in_the_database(self) -> int:
        engine = create_async_engine(self.topology.database_url)
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    text("SELECT count(*) FROM orders WHERE external_id LIKE :tag"),
                    {"tag": f"{self.tag}-%"},
                )
                return int(found or 0)
        finally:
            await engine.dispose()


def start_simulator(topology: Topology, folder: Path) -> subprocess.Popen[bytes]:
    """`freshline simulate` against the proxy's https address, trusting the test CA."""
    assert FRESHLINE is not None
    output = (folder / "simulator.txt").open("ab")
    command = [
        FRESHLINE,
        "simulate",
        *("--server", topology.proxy.url, "--ca-file", str(topology.tls.ca)),
        *("--seed", "11", "--flat", "--orders-per-hour", "5400", "--trouble", "0", "--no-desk"),
    ]
    process = subprocess.Popen(
        command, stdout=output, stderr=output, stdin=subprocess.DEVNULL, env=clean_env(folder)
    )
    output.close()
    return process


def stream_lines_via(topology: Topology, server: Server) -> list[str]:
    """nginx's log lines of stream connections that ended on `server` (written as each ends)."""
    upstream = re.compile(rf"upstream=(?:.*, )?127\.0\.0\.1:{server.port}/101$")
    return [
        line
        for line in topology.proxy.access_log()
        if '"GET /api/v1/stream ' in line and upstream.search(line)
    ]


async def test_killing_a_backend_moves_its_consoles_to_the_other_with_nothing_lost_or_doubled(
    topology: Topology, tmp_path: Path
) -> None:
    start = await newest_seq(topology.database_url)
    consoles = await open_consoles(topology, CONSOLES, start)
    simulator: subprocess.Popen[bytes] | None = None
    # Besides the simulator's city, writes back to back, so some are under way at the kill.
    writer = Writer(topology, "KILL")
    try:
        simulator = start_simulator(topology, tmp_path)
        await writer.start()

        def applied(count: int) -> bool:
            assert simulator is not None and simulator.poll() is None, (
                tmp_path / "simulator.txt"
            ).read_text()
            return writer.writing and all(len(c.events) >= count for c in consoles)

        def simulated(count: int) -> Callable[[], Awaitable[bool]]:
            async def placed() -> bool:
                return await orders_not_by(topology, "KILL-", "DEPLOY-") >= count

            return placed

        # The simulator takes a while to start (it signs in its whole cast): A dies under its
        # load, not before it.
        await eventually(simulated(3), "the simulator's first orders", within=60)
        await eventually(lambda: applied(BEFORE_KILL), "events on every console before the kill")
        topology.a.kill()  # SIGKILL: no close frames, no shutdown, the sockets just die
        at_kill = [len(c.events) for c in consoles]
        simulator_at_kill = await orders_not_by(topology, "KILL-", "DEPLOY-")

        # nginx closes the streams A held when A's sockets die; their consoles reconnect
        # through it to B (A refuses, so nginx tries B and rests A for fail_timeout).
        await eventually(
            lambda: (
                any(c.reconnected for c in consoles)
                and all(c.live for c in consoles)
                and len(stream_lines_via(topology, topology.a))
                >= sum(c.reconnected for c in consoles)
            ),
            "A's consoles back through nginx, and nginx seeing A's streams end",
        )
        await eventually(
            lambda: (
                applied(0)
                and all(
                    len(c.events) >= n + BEFORE_KILL for c, n in zip(consoles, at_kill, strict=True)
                )
            ),
            "events on every console after the kill",
        )
        await eventually(simulated(simulator_at_kill + 3), "the simulator placing orders after")

        made = await writer.stop()
        simulator.send_signal(signal.SIGTERM)
        assert simulator.wait(timeout=STOP_TIMEOUT_S * 3) == 0, (
            tmp_path / "simulator.txt"
        ).read_text()
        summary = (tmp_path / "simulator.txt").read_text()
        log = await assert_exactly_the_log(topology, consoles, start)

        moved = [c for c in consoles if c.reconnected]
        stayed = [c for c in consoles if StreamState.RECONNECTING not in c.states]
        bad_gateway = sum('" 502 ' in line for line in topology.proxy.access_log())
        print(
            f"\nkill -9: {len(moved)} of {CONSOLES} consoles moved from A to B; {len(log)} "
            f"events after seq {start}; writer: {made} orders; nginx answered {bad_gateway} "
            "requests 502 (retried by their clients); simulator: "
            f"{summary.strip().splitlines()[-1]}"
        )
        # A held some consoles and B others; A's all came back (through nginx, to B, the
        # only one left), B's never noticed.
        assert 0 < len(moved) < CONSOLES
        assert len(moved) + len(stayed) == CONSOLES
        # nginx logs a stream as it ends: those A held (the consoles', and the simulator's
        # own) ended with A.
        assert len(stream_lines_via(topology, topology.a)) >= len(moved)
        # Every write the simulator was answered for is in the log (a write A took and died
        # before answering was retried through B under its Idempotency-Key, and answered once).
        assert " 0 errors" in summary, summary
        placed = re.search(r": (\d+) orders ", summary)
        assert placed is not None, summary
        created = [seq for seq, kind in log if kind == "order.created"]
        assert len(created) >= int(placed.group(1)) + made
        assert await writer.orders_in_the_database() == made > 0
    finally:
        await writer.close()
        if simulator is not None and simulator.poll() is None:
            simulator.kill()
            simulator.wait(timeout=STOP_TIMEOUT_S)
        for console in consoles:
            await console.close()


async def test_a_rolling_restart_moves_consoles_over_and_back_with_nothing_lost_or_doubled(
    topology: Topology,
) -> None:
    """After the kill: A starts again and nginx sends it new connections once its rest is
    over; then B is stopped as a rolling restart stops it (SIGTERM: close frames, requests in
    flight finished) while consoles hold streams on it and orders are being made: they come
    back through nginx on A, every seq once, and every order made once."""
    if topology.a.process is not None and topology.a.process.poll() is not None:
        await topology.start(topology.a)

    async def served_by_a() -> bool:
        async with from_client_address(topology) as client:
            assert (await client.get("/api/v1/health")).status_code == 200
        health = [line for line in topology.proxy.access_log() if "/api/v1/health" in line]
        return bool(health) and f":{topology.a.port}/200" in health[-1]

    await eventually(served_by_a, "nginx sending requests to the restarted A again")

    start = await newest_seq(topology.database_url)
    consoles = await open_consoles(topology, CONSOLES, start)
    writer = Writer(topology, "ROLL")
    try:
        await writer.start()
        await eventually(
            lambda: writer.writing and all(len(c.events) >= BEFORE_KILL for c in consoles),
            "events before B stops",
        )
        at_stop = [len(c.events) for c in consoles]
        # uvicorn shuts down gracefully, then ends by the signal it was given.
        assert await asyncio.to_thread(topology.b.stop) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in topology.b.read(LOG), topology.b.output()
        await eventually(
            lambda: (
                writer.writing
                and all(c.live for c in consoles)
                and all(
                    len(c.events) >= n + BEFORE_KILL for c, n in zip(consoles, at_stop, strict=True)
                )
            ),
            "every console live, and events on every one, with B gone",
        )
        made = await writer.stop()
        log = await assert_exactly_the_log(topology, consoles, start)
        moved = [c for c in consoles if c.reconnected]
        print(f"\nrolling restart: {len(moved)} of {CONSOLES} consoles moved from B to A")
        assert 0 < len(moved) < CONSOLES
        assert len([seq for seq, kind in log if kind == "order.created"]) == made
        assert await writer.orders_in_the_database() == made
    finally:
        await writer.close()
        for console in consoles:
            await console.close()
