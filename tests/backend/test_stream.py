"""The live stream (docs/stream.md) against a real `freshline serve`: real uvicorn, real sockets.

Each test starts its own server (a subprocess on a free loopback port, on a copy of a demo
database) with the `FRESHLINE_STREAM_*` / `FRESHLINE_FEED_*` settings it needs, and kills it in
a `finally`. Protocol-level checks use the `websockets` client directly; client-level checks
read `client.stream(...)` (through `read_stream`). Changes are made over REST as the
demo accounts. What each subscriber must have received is computed from the event log, read
straight from the SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import websockets

from backend_client import (
    Backoff,
    FreshlineClient,
    FreshlineError,
    NotAuthenticated,
    Stream,
    StreamState,
)
from backend_client.models import Event, EventMessage, PositionPoint
from tests.servers import free_port
from tests.stream_support import (
    Actors,
    Subscriber,
    ago,
    append_padding,
    assert_chained,
    auth,
    connect,
    live_server,
    make_demo_database,
    order_kinds,
    read_stream,
    recv_json,
    send_hello,
)

pytestmark = pytest.mark.slow  # a real `freshline serve` per test, killed and restarted

FAST_BACKOFF = Backoff(base=0.05, cap=0.3)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, demo-seeded SQLite file; each server runs on its own copy."""
    path = tmp_path_factory.mktemp("stream-template") / "f.db"
    asyncio.run(make_demo_database(path))
    return path


async def eventually(predicate: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)  # polling the condition


async def closed_with(ws: Any, within: float = 5.0) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; the close code (None: no close frame) and what came first."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                brief = [(m["type"], m.get("seq", m.get("code"))) for m in messages[-8:]]
                raise AssertionError(f"still open after {within} s; got ... {brief}")
            messages.append(await recv_json(ws, remaining))
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), messages


async def refused_status(url: str, headers: dict[str, str]) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        ws = await websockets.connect(url, additional_headers=headers, open_timeout=5)
        await ws.close()
    return refused.value.response.status_code


# --- 1. subscribing -----------------------------------------------------------------------------


async def test_subscriber_gets_welcome_then_live_events_in_seq_order(
    tmp_path: Path, template: Path
) -> None:
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        await actors.paid()  # the log is not empty when the subscriber arrives
        token = await actors.token("dispatcher")
        sub = await Subscriber.open(server.ws_url, token, ["orders"])
        try:
            start = server.last_seq()
            assert sub.welcome == {
                "type": "welcome",
                "topics": ["orders"],
                "last_seq": start,
                "heartbeat_seconds": 15,
            }
            orders = [await actors.paid() for _ in range(3)]
            dispatcher = await actors("dispatcher")
            orders.append(
                await dispatcher.orders.transition(orders[0].id, "start_picking", orders[0].version)
            )
            expected = [e["seq"] for e in order_kinds(server.log()) if e["seq"] > start]
            assert len(expected) == 7
            await sub.wait_seq(expected[-1])
            assert sub.seqs == expected
            assert_chained(sub.events, start)
            assert [m["type"] for m in sub.messages] == ["event"] * 7
            # The fields are those of the order's timeline rows, plus type and prev_seq.
            timeline = await dispatcher.orders.timeline(orders[0].id)
            streamed = [
                Event.model_validate({k: v for k, v in e.items() if k not in ("type", "prev_seq")})
                for e in sub.events
                if e["order_id"] == orders[0].id
            ]
            assert streamed == timeline
            assert [e.payload["version"] for e in streamed] == [1, 2, 3]
            assert {e["kind"] for e in sub.events} == {"order.created", "order.transition"}
        finally:
            await sub.aclose()


async def test_bad_missing_expired_or_revoked_token_is_refused_at_the_handshake(
    tmp_path: Path, template: Path
) -> None:
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        url = server.ws_url
        good = await actors.token("dispatcher")
        expired = await actors.token("dispatcher")
        server.expire_token(expired)
        revoked_client = FreshlineClient(server.base_url)
        await revoked_client.login("dispatcher", "demo-dispatcher")
        revoked = revoked_client.token
        await revoked_client.logout()
        await revoked_client.aclose()
        assert revoked is not None

        assert await refused_status(url, {}) == 403
        assert await refused_status(url, auth("not-a-real-token")) == 403
        assert await refused_status(url, auth(expired)) == 403
        assert await refused_status(url, auth(revoked)) == 403
        assert await refused_status(url, {"Authorization": f"Basic {good}"}) == 403
        # Never in the query string, whatever the parameter is called.
        for name in ("token", "access_token", "authorization", "bearer"):
            assert await refused_status(f"{url}?{name}={good}", {}) == 403, name

        # The good token in the header does open the stream.
        ws = await connect(url, good)
        try:
            await send_hello(ws, ["orders"])
            assert (await recv_json(ws))["type"] == "welcome"
        finally:
            await ws.close()


# --- 2. surviving a killed server ---------------------------------------------------------------


async def test_consumer_applies_exactly_the_log_across_a_sigkill_and_restart(
    tmp_path: Path, template: Path
) -> None:
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        client = FreshlineClient(server.base_url, retries=1)
        await client.login("dispatcher", "demo-dispatcher")
        applied: list[EventMessage] = []
        states: list[StreamState] = []
        consumer = client.stream(
            ["orders"],
            since=0,
            backoff=FAST_BACKOFF,
            poll_after_failures=10_000,  # this test is about WebSocket reconnection only
            dead_after=10,
        )
        writing = True
        written = 0

        async def writer() -> None:
            nonlocal written
            while writing:
                try:
                    await actors.paid()
                    written += 1
                except FreshlineError:
                    # The server is down: try again (a retry loop's pause, not a wait for
                    # something to happen; the test waits on `applied`).
                    await asyncio.sleep(0.05)

        running = asyncio.create_task(read_stream(consumer, events=applied, states=states))
        writes = asyncio.create_task(writer())
        try:
            await eventually(lambda: len(applied) >= 10, 10, "events before the kill")
            server.kill()
            killed_at = len(applied)
            await eventually(
                lambda: StreamState.RECONNECTING in states[states.index(StreamState.LIVE) :],
                10,
                "the consumer noticing the kill",
            )
            await server.start()  # same port, same database file
            await eventually(lambda: len(applied) >= killed_at + 10, 15, "events after restart")
            writing = False
            await asyncio.wait_for(writes, 10)
            expected = [e["seq"] for e in order_kinds(server.log())]
            await eventually(
                lambda: consumer.last_seq == expected[-1], 10, f"seq {expected[-1]} applied"
            )
        finally:
            writing = False
            consumer.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)
            writes.cancel()
            with contextlib.suppress(BaseException):
                await writes
            await client.aclose()

        assert written >= 10
        seqs = [e.seq for e in applied]
        assert seqs == sorted(set(seqs)) == expected
        live = states.index(StreamState.LIVE)
        reconnecting = states.index(StreamState.RECONNECTING, live)
        assert StreamState.LIVE in states[reconnecting:], states
        assert states[-1] == StreamState.OFFLINE


# --- 3. resuming --------------------------------------------------------------------------------


async def test_resume_since_n_replays_then_goes_live_without_gap_or_duplicate(
    tmp_path: Path, template: Path
) -> None:
    # A ring of 5 makes replays read the database (awaiting) while the feed moves on.
    async with (
        live_server(tmp_path, template, feed_ring_size=5) as server,
        Actors(server.base_url) as actors,
    ):
        for _ in range(8):
            await actors.paid()
        since = order_kinds(server.log())[5]["seq"]
        token = await actors.token("dispatcher")
        writing = True

        async def writer() -> None:
            while writing:
                await actors.paid()

        writes = asyncio.create_task(writer())
        subs: list[Subscriber] = []
        try:
            for _ in range(4):  # each one resumes while writes keep landing
                subs.append(await Subscriber.open(server.ws_url, token, ["orders"], since=since))
                landed = server.last_seq()
                await eventually(lambda n=landed: server.last_seq() >= n + 4, 10, "more writes")
            writing = False
            await asyncio.wait_for(writes, 10)
            expected = [e["seq"] for e in order_kinds(server.log()) if e["seq"] > since]
            for sub in subs:
                await sub.wait_seq(expected[-1])
                assert sub.seqs == expected
                assert_chained(sub.events, since)
                assert sub.welcome["last_seq"] >= since
        finally:
            writing = False
            writes.cancel()
            with contextlib.suppress(BaseException):
                await writes
            for sub in subs:
                await sub.aclose()


@pytest.mark.parametrize(
    "ring",
    [3, 20_000],
    ids=["missed-events-only-in-database", "missed-events-still-in-memory"],
)
async def test_too_far_behind_or_ahead_requires_a_snapshot(
    tmp_path: Path, template: Path, ring: int
) -> None:
    async with (
        live_server(tmp_path, template, stream_replay_limit=5, feed_ring_size=ring) as server,
        Actors(server.base_url) as actors,
    ):
        for _ in range(6):
            await actors.paid()
        last = server.last_seq()
        assert last == 12
        token = await actors.token("dispatcher")
        dispatcher = await actors("dispatcher")

        # Within the limit: replayed, no snapshot.
        near = await Subscriber.open(server.ws_url, token, ["orders"], since=last - 3)
        await near.wait_seq(last)
        assert near.seqs == [last - 2, last - 1, last]
        await near.aclose()

        # Ahead of the log (the database was replaced): snapshot, then live from last_seq.
        ahead = await Subscriber.open(server.ws_url, token, ["orders"], since=last + 100)
        await ahead.wait_for(lambda s: bool(s.messages), 5, "snapshot_required")
        assert ahead.messages[0] == {
            "type": "snapshot_required",
            "last_seq": last,
            "reason": "ahead of the log",
        }
        poll = await dispatcher.events(last + 100, ["orders"])
        assert (poll.snapshot_required, poll.last_seq, poll.events) == (True, last, [])

        # Stream too far behind: snapshot_required, then live events chained from last_seq.
        behind = await Subscriber.open(server.ws_url, token, ["orders"], since=0)
        snapshots: list[int] = []
        events: list[EventMessage] = []
        client = FreshlineClient(server.base_url)
        await client.login("dispatcher", "demo-dispatcher")
        consumer = client.stream(["orders"], since=0, backoff=FAST_BACKOFF)
        running = asyncio.create_task(read_stream(consumer, events=events, snapshots=snapshots))
        try:
            await behind.wait_for(lambda s: bool(s.messages), 5, "the first message")
            poll = await dispatcher.events(0, ["orders"])  # the long poll, too far behind
            first = behind.messages[0]
            assert {
                "stream": (first["type"], first.get("last_seq"), first.get("reason")),
                "long poll": (poll.snapshot_required, poll.last_seq, len(poll.events)),
            } == {
                "stream": ("snapshot_required", last, "too far behind to replay"),
                "long poll": (True, last, 0),
            }
            await eventually(lambda: snapshots == [last], 5, "the snapshot")
            order = await actors.create()
            await (await actors("channel-app")).orders.transition(order.id, "pay", order.version)
            new = [e["seq"] for e in order_kinds(server.log()) if e["seq"] > last]
            await behind.wait_seq(new[-1])
            assert behind.seqs == new
            assert_chained(behind.events, last)
            await ahead.wait_seq(new[-1])
            assert ahead.seqs == new
            assert_chained(ahead.events, last)
            await eventually(lambda: consumer.last_seq == new[-1], 5, "the consumer")
            assert [e.seq for e in events] == new
            assert snapshots == [last]
        finally:
            consumer.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)
            await client.aclose()
            await behind.aclose()
            await ahead.aclose()


# --- 4. back-pressure ---------------------------------------------------------------------------


async def test_a_consumer_that_stops_reading_is_cut_off_and_nobody_waits_for_it(
    tmp_path: Path, template: Path
) -> None:
    async with (
        live_server(tmp_path, template, stream_queue_limit=50, feed_poll_seconds=0.05) as server,
        Actors(server.base_url) as actors,
    ):
        token = await actors.token("dispatcher")
        # The slow one: a tiny receive buffer and a client queue of one message, never read.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.connect(("127.0.0.1", server.port))
        slow = await websockets.connect(
            server.ws_url, sock=sock, additional_headers=auth(token), compression=None, max_queue=1
        )
        fast = await Subscriber.open(server.ws_url, token, ["orders", "stock"])
        try:
            await send_hello(slow, ["orders", "stock"])
            welcome = await recv_json(slow)  # subscribed (and its one-message queue empty)
            assert welcome["type"] == "welcome"
            start = welcome["last_seq"]
            # Fill the kernel buffers between the server and the slow socket (~10 MB), one
            # event at a time, each read by the fast reader before the next: its queue never
            # holds 50.
            for _ in range(40):
                (seq,) = append_padding(server, 1, 256 * 1024)
                await fast.wait_seq(seq, 10)
            # Now the slow connection's pump is stuck; real changes pile up in its queue.
            for _ in range(40):
                await actors.paid()
            last_write = time.monotonic()
            expected = [
                e["seq"]
                for e in server.log()
                if e["seq"] > start and e["kind"].split(".")[0] in ("order", "stock")
            ]
            await fast.wait_seq(expected[-1], 5)
            assert fast.arrivals[-1] - last_write < 2.0
            assert fast.seqs == expected
            assert_chained(fast.events, start)
            assert fast.closed is None

            # The slow one: whatever its buffers held, then the end of the connection.
            code, messages = await closed_with(slow, 15)
            events = [m for m in messages if m["type"] == "event"]
            assert len(events) < len(expected)
            assert [e["seq"] for e in events] == expected[: len(events)]
            # The server gives up on it at once; whether the 4429 close frame still reaches it
            # depends on how soon it reads again: after the server's close timeout the
            # connection is simply dropped (no close frame: code None, i.e. 1006).
            assert code in (4429, None), code
            errors = [m for m in messages if m["type"] == "error"]
            assert all(m["code"] == 4429 for m in errors), errors
            # (uvicorn waits for the socket to drain before a text frame but not before the
            # close frame, so the error message often cannot go out at all.)
        finally:
            await fast.aclose()
            with contextlib.suppress(Exception):
                slow.transport.abort()


async def test_resuming_more_missed_events_than_the_queue_limit_gets_them_all(
    tmp_path: Path, template: Path
) -> None:
    """docs/stream.md: a console cut off with 4429 "reconnects with since and gets what it
    missed"; anything up to stream_replay_limit behind is replayed."""
    async with (
        live_server(tmp_path, template, stream_queue_limit=10) as server,
        Actors(server.base_url) as actors,
    ):
        start = server.last_seq()
        for _ in range(8):
            await actors.paid()
        expected = [e["seq"] for e in order_kinds(server.log()) if e["seq"] > start]
        assert len(expected) == 16  # more than the queue limit, far less than the replay limit
        token = await actors.token("dispatcher")
        sub = await Subscriber.open(server.ws_url, token, ["orders"], since=start)
        try:
            await sub.wait_seq(expected[-1])
            assert sub.seqs == expected
            assert_chained(sub.events, start)
        finally:
            await sub.aclose()


# --- 5. scope -----------------------------------------------------------------------------------

MERCHANT_STAGES = frozenset({"PAID", "PICKING", "OUT_OF_STOCK", "RETURNING"})
"""docs/permissions.md "Views scoped by stage", copied by hand."""


async def test_each_role_receives_only_the_events_and_positions_in_its_scope(
    tmp_path: Path, template: Path
) -> None:
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        await actors.online(1, 2, 9)
        tokens = {
            u: await actors.token(u)
            for u in (
                "rider-1",
                "merchant-wh-cy",
                "merchant-wh-hd",
                "channel-app",
                "dispatcher",
                "admin",
                "supervisor",
                "viewer",
            )
        }
        url = server.ws_url
        start = server.last_seq()
        subs = {
            u: await Subscriber.open(url, tokens[u], ["orders"])
            for u in ("rider-1", "merchant-wh-cy", "channel-app", "dispatcher")
        }
        # warehouse_id narrows a subscription further.
        subs["dispatcher@WH-HD"] = await Subscriber.open(
            url, tokens["dispatcher"], ["orders"], warehouse_id="WH-HD"
        )
        audit = await Subscriber.open(url, tokens["admin"], ["audit"])
        try:
            rider1 = await actors("rider-1")
            a = await actors.assign(await actors.picking(), 1)  # rider 1 carries it
            a = await rider1.orders.transition(a.id, "dispatch", a.version)
            a = await rider1.orders.transition(a.id, "sign", a.version)
            b = await actors.assign(await actors.paid(), 2)  # rider 2's
            c = await actors.paid(channel_user="channel-meituan")  # another channel, unassigned
            d = await actors.assign(await actors.paid("WH-HD"), 9)  # another warehouse
            e = await actors.assign(await actors.paid(), 1)
            e = await actors.assign(e, 2)  # rider 1 just lost it: sees that, nothing after
            dispatcher = await actors("dispatcher")
            e = await dispatcher.orders.transition(e.id, "start_picking", e.version)
            f = await actors.assign(await actors.paid(), 1)  # everyone but WH-HD sees it
            # The sentinel, for the one that does not see f: a connection is sent events in
            # seq order, so once it has h, nothing before h can still be on its way to it.
            h = await actors.paid("WH-HD")
            log = [x for x in order_kinds(server.log()) if x["seq"] > start]
            last = log[-1]["seq"]
            assert log[-1]["order_id"] == h.id

            def seqs(keep: Any) -> list[int]:
                return [x["seq"] for x in log if keep(x)]

            expected = {
                "rider-1": seqs(lambda x: 1 in (x["rider_id"], x["payload"].get("from_rider"))),
                # Store staff: from payment until it leaves with a rider (the move out shows).
                "merchant-wh-cy": seqs(
                    lambda x: (
                        x["warehouse_id"] == "WH-CY"
                        and bool({x["from_state"], x["to_state"]} & MERCHANT_STAGES)
                    )
                ),
                "channel-app": seqs(lambda x: x["payload"]["channel"] == "app"),
                "dispatcher": seqs(lambda x: True),
                "dispatcher@WH-HD": seqs(lambda x: x["warehouse_id"] == "WH-HD"),
            }
            # Each one's last event is f or the sentinel h, the last two written: whatever a
            # connection was sent by mistake among a to f came before them.
            f_last = seqs(lambda x: x["order_id"] == f.id)[-1]
            for name, sub in subs.items():
                assert expected[name][-1] in (f_last, last), name
                await sub.wait_seq(expected[name][-1])
            for name, sub in subs.items():
                assert sub.seqs == expected[name], name
                assert_chained(sub.events, sub.welcome["last_seq"])
            orders_of = {n: {x["order_id"] for x in s.events} for n, s in subs.items()}
            assert orders_of["rider-1"] == {a.id, e.id, f.id}
            assert orders_of["merchant-wh-cy"] == {a.id, b.id, c.id, e.id, f.id}
            assert orders_of["channel-app"] == {a.id, b.id, d.id, e.id, f.id, h.id}
            assert orders_of["dispatcher"] == {a.id, b.id, c.id, d.id, e.id, f.id, h.id}
            assert orders_of["dispatcher@WH-HD"] == {d.id, h.id}
            lost = [x for x in subs["rider-1"].events if x["order_id"] == e.id]
            assert [(x["kind"], x["payload"]["from_rider"]) for x in lost] == [
                ("order.assigned", None),
                ("order.assigned", 1),
            ]

            # audit: everything, accounts and riders included; only for admin and supervisor.
            await audit.wait_seq(last)
            assert audit.seqs == list(range(start + 1, last + 1))
            sup = await Subscriber.open(url, tokens["supervisor"], ["audit"])
            await sup.aclose()
            for user, topics in (
                ("rider-1", ["orders", "audit"]),
                ("viewer", ["audit"]),
                ("merchant-wh-cy", ["audit"]),
                ("channel-app", ["riders"]),
                ("rider-1", ["alerts"]),
            ):
                ws = await connect(url, tokens[user])
                await send_hello(ws, topics)
                code, messages = await closed_with(ws)
                assert code == 4403, (user, topics, code, messages)
                assert [m["type"] for m in messages] == ["error"], (user, topics)
                assert messages[0]["code"] == 4403

            # Positions: rider 2's reaches the desk and its warehouse's merchant, not rider 1.
            pos = {
                u: await Subscriber.open(url, tokens[u], ["riders"])
                for u in ("dispatcher", "merchant-wh-cy", "merchant-wh-hd", "rider-1")
            }
            await actors.position(2, 39.931, 116.451, ago(30))
            await actors.position(9, 39.981, 116.311, ago(20))
            await actors.position(1, 39.935, 116.455, ago(10))  # sentinel for WH-CY and rider 1

            def riders_seen(sub: Subscriber) -> list[int]:
                return [p["rider_id"] for p in sub.positions]

            for name, sentinel in (
                ("dispatcher", 1),
                ("merchant-wh-cy", 1),
                ("merchant-wh-hd", 9),
                ("rider-1", 1),
            ):
                await pos[name].wait_for(
                    lambda s, r=sentinel: r in riders_seen(s), 5, f"rider {sentinel}'s fix"
                )
            assert sorted(riders_seen(pos["dispatcher"])) == [1, 2, 9]
            assert sorted(riders_seen(pos["merchant-wh-cy"])) == [1, 2]
            assert riders_seen(pos["merchant-wh-hd"]) == [9]
            assert riders_seen(pos["rider-1"]) == [1]
            for sub in pos.values():
                await sub.aclose()
        finally:
            for sub in (*subs.values(), audit):
                await sub.aclose()


# --- 6. positions -------------------------------------------------------------------------------


async def test_positions_are_latest_wins_and_not_in_the_seq_stream(
    tmp_path: Path, template: Path
) -> None:
    async with (
        live_server(tmp_path, template, feed_poll_seconds=0.05) as server,
        Actors(server.base_url) as actors,
    ):
        token = await actors.token("dispatcher")
        reader = await Subscriber.open(server.ws_url, token, ["riders", "stock"])
        rider3 = await actors("rider-3")
        try:
            before = server.last_seq()
            fixes = []
            for i in range(5):
                points = [
                    PositionPoint(lat=39.90 + i / 100, lng=116.40, at=ago(60 - 10 * i)),
                    PositionPoint(lat=39.905 + i / 100, lng=116.41, at=ago(55 - 10 * i)),
                ]
                result = await rider3.riders.upload_positions(3, points)
                assert result.moved
                fixes.append(points[-1])
            newest = fixes[-1]
            await reader.wait_for(
                lambda s: any(_same_fix(p, newest) for p in s.positions), 5, "the newest fix"
            )
            mine = [p for p in reader.positions if p["rider_id"] == 3]
            assert 1 <= len(mine) <= 5
            assert all(
                set(p) == {"type", "rider_id", "warehouse_id", "lat", "lng", "at"} for p in mine
            )
            assert all(p["warehouse_id"] == "WH-CY" for p in mine)
            times = [datetime.fromisoformat(p["at"]) for p in mine]
            assert times == sorted(set(times))
            assert _same_fix(mine[-1], newest)
            assert server.last_seq() == before  # positions never enter the event log
            assert reader.events == []

            # A late upload of an older offline batch is never announced.
            late = await rider3.riders.upload_positions(
                3, [PositionPoint(lat=39.80, lng=116.30, at=ago(300 + s)) for s in range(3)]
            )
            assert not late.moved
            await actors.position(4, 39.95, 116.46, ago(1))  # sentinel
            await reader.wait_for(
                lambda s: any(p["rider_id"] == 4 for p in s.positions), 5, "rider 4's fix"
            )
            assert [p for p in reader.positions if p["rider_id"] == 3] == mine

            # A reader that is not reading gets the current position, not a backlog.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            sock.connect(("127.0.0.1", server.port))
            stuck = await websockets.connect(
                server.ws_url,
                sock=sock,
                additional_headers=auth(token),
                compression=None,
                max_queue=1,
                max_size=2**21,
            )
            await send_hello(stuck, ["riders", "stock"])
            assert (await recv_json(stuck))["type"] == "welcome"  # subscribed
            padding = append_padding(server, 40, 256 * 1024)  # ~10 MB: its pump gets stuck
            # One dispatch offers the padding to every connection: by the time the reader has
            # all 10 MB, the stuck connection's pump took its share long ago and is blocked
            # writing it, so every fix of the burst waits behind it, newest wins.
            await reader.wait_seq(padding[-1], 10)
            burst = []
            for i in range(8):
                at = ago(8 - i)
                await rider3.riders.upload_positions(
                    3, [PositionPoint(lat=40.0 + i / 100, lng=116.5, at=at)]
                )
                burst.append(PositionPoint(lat=40.0 + i / 100, lng=116.5, at=at))
            # The sentinel: another rider's fix after the burst. Whatever the stuck reader is
            # owed of rider 3 comes before it, not in the half second after.
            await actors.position(4, 39.951, 116.461, ago(0.5))
            received: list[dict[str, Any]] = []
            while not any(m.get("rider_id") == 4 for m in received if m["type"] == "position"):
                received.append(await recv_json(stuck, 10))
            assert [m["seq"] for m in received if m["type"] == "event"] == padding
            stuck_positions = [
                m for m in received if m["type"] == "position" and m["rider_id"] == 3
            ]
            assert len(stuck_positions) == 1, stuck_positions
            assert _same_fix(stuck_positions[0], burst[-1])
            await stuck.close()
        finally:
            await reader.aclose()


def _same_fix(message: dict[str, Any], point: PositionPoint) -> bool:
    return (
        message["lat"] == point.lat
        and message["lng"] == point.lng
        and datetime.fromisoformat(message["at"]) == point.at
    )


# --- 7. heartbeats and timeouts -----------------------------------------------------------------


async def test_heartbeats_idle_timeout_bad_hello_and_revoked_token(
    tmp_path: Path, template: Path
) -> None:
    async with (
        live_server(
            tmp_path, template, stream_heartbeat_seconds=1, stream_idle_timeout_seconds=2
        ) as server,
        Actors(server.base_url) as actors,
    ):
        url = server.ws_url
        await actors.paid()
        last = server.last_seq()
        token = await actors.token("dispatcher")

        async def chatty() -> list[dict[str, Any]]:
            ws = await connect(url, token)
            try:
                await send_hello(ws, ["orders"])
                welcome = await recv_json(ws)
                assert welcome["heartbeat_seconds"] == 1
                messages = []
                opened = time.monotonic()
                while time.monotonic() - opened < 4.5:
                    await ws.send(json.dumps({"type": "heartbeat"}))
                    with contextlib.suppress(TimeoutError):  # a beat at least every 0.5 s
                        messages.append(await recv_json(ws, 0.5))
                return messages
            finally:
                await ws.close()

        async def silent() -> tuple[float, int | None, list[dict[str, Any]]]:
            ws = await connect(url, token)
            await send_hello(ws, ["orders"])
            said = time.monotonic()
            code, messages = await closed_with(ws, 6)
            return time.monotonic() - said, code, messages

        async def bad_hello(raw: str | bytes) -> tuple[int | None, list[dict[str, Any]]]:
            ws = await connect(url, token)
            await ws.send(raw)
            return await closed_with(ws)

        async def malformed_later() -> tuple[int | None, list[dict[str, Any]]]:
            ws = await connect(url, token)
            await send_hello(ws, ["orders"])
            assert (await recv_json(ws))["type"] == "welcome"
            await ws.send(json.dumps({"type": "heartbeat"}))  # fine
            await ws.send(json.dumps({"type": "heartbeat", "extra": "?"}))  # unknown field
            return await closed_with(ws)

        async def revoked() -> tuple[float, int | None, list[dict[str, Any]]]:
            own = FreshlineClient(server.base_url)
            await own.login("dispatcher", "demo-dispatcher")
            assert own.token is not None
            ws = await connect(url, own.token)
            await send_hello(ws, ["orders"])
            assert (await recv_json(ws))["type"] == "welcome"
            await ws.send(json.dumps({"type": "heartbeat"}))
            await own.logout()
            out = time.monotonic()
            beats = asyncio.create_task(_keep_beating(ws))
            try:
                code, messages = await closed_with(ws, 5)
            finally:
                beats.cancel()
                await own.aclose()
            return time.monotonic() - out, code, messages

        async def consumer_revoked() -> tuple[BaseException | None, list[StreamState]]:
            own = FreshlineClient(server.base_url)
            await own.login("dispatcher", "demo-dispatcher")
            states: list[StreamState] = []
            consumer = own.stream(["orders"], backoff=FAST_BACKOFF)
            running = asyncio.create_task(read_stream(consumer, states=states))
            try:
                await eventually(lambda: StreamState.LIVE in states, 5, "live")
                token_of = own.token
                await own.logout()
                own.token = token_of  # the consumer keeps presenting the revoked token
                try:
                    await asyncio.wait_for(running, 5)
                except BaseException as exc:
                    return exc, states
                return None, states
            finally:
                consumer.stop()
                running.cancel()
                await own.aclose()

        (
            heard,
            (idle_after, idle_code, idle_messages),
            not_json,
            heartbeat_first,
            unknown_topic,
            no_topics,
            malformed,
            binary,
            (revoked_after, revoked_code, revoked_messages),
            (consumer_error, consumer_states),
        ) = await asyncio.gather(
            chatty(),
            silent(),
            bad_hello("this is not JSON"),
            bad_hello(json.dumps({"type": "heartbeat"})),
            bad_hello(json.dumps({"type": "hello", "topics": ["weather"], "since": None})),
            bad_hello(json.dumps({"type": "hello", "topics": [], "since": None})),
            malformed_later(),
            bad_hello(json.dumps({"type": "hello", "topics": ["orders"]}).encode()),
            revoked(),
            consumer_revoked(),
        )

        # Kept alive by its own heartbeats, and hearing the server's every second.
        beats = [m for m in heard if m["type"] == "heartbeat"]
        assert len(beats) >= 3, heard
        assert all(b["last_seq"] == last for b in beats)
        assert all(datetime.fromisoformat(b["at"].replace("Z", "+00:00")) for b in beats)
        assert not [m for m in heard if m["type"] == "error"], heard

        # Silent after hello: dropped with 4408 once the idle timeout (2 s) passes.
        assert idle_code == 4408, (idle_code, idle_messages)
        assert 1.5 <= idle_after <= 3.5, idle_after
        assert idle_messages[-1]["type"] == "error" and idle_messages[-1]["code"] == 4408

        bad = (not_json, heartbeat_first, unknown_topic, no_topics, malformed, binary)
        for code, messages in bad:
            assert code == 4400, (code, messages)
            assert [m["type"] for m in messages] == ["error"], messages
            assert messages[0]["code"] == 4400

        # Revoked mid-stream: 4401 at once (tests/backend/test_revocation.py shows it without
        # a heartbeat to fall back on).
        assert revoked_code == 4401, (revoked_code, revoked_messages)
        assert revoked_after <= 2.5, revoked_after
        assert revoked_messages[-1] == {
            "type": "error",
            "code": 4401,
            "detail": revoked_messages[-1]["detail"],
        }
        assert isinstance(consumer_error, NotAuthenticated), consumer_error
        assert consumer_states[-1] == StreamState.OFFLINE


async def _keep_beating(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await ws.send(json.dumps({"type": "heartbeat"}))
            await asyncio.sleep(0.3)  # a live client's cadence (the behaviour played, not a wait)


# --- 8. long polling ----------------------------------------------------------------------------


async def test_long_poll_returns_at_once_waits_for_news_and_moves_past_the_invisible(
    tmp_path: Path, template: Path
) -> None:
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        await actors.online(1)
        dispatcher = await actors("dispatcher")
        rider1 = await actors("rider-1")
        start = server.last_seq()
        for _ in range(2):
            await actors.paid()
        last = server.last_seq()

        # Events exist: answered at once.
        began = time.monotonic()
        batch = await dispatcher.events(start, ["orders"], wait=5)
        assert time.monotonic() - began < 1.0
        assert [e.seq for e in batch.events] == list(range(start + 1, last + 1))
        assert (batch.last_seq, batch.snapshot_required) == (last, False)

        # Nothing yet: waits, and answers as soon as a change lands (had it answered before,
        # empty, the batch would not hold the order; that an empty poll does wait its `wait`
        # is measured below).
        waiting = asyncio.create_task(dispatcher.events(last, ["orders"], wait=5))
        began = time.monotonic()
        order = await actors.create()
        batch = await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - began < 1.5
        assert [(e.kind, e.order_id) for e in batch.events] == [("order.created", order.id)]
        assert batch.last_seq == batch.events[-1].seq == server.last_seq()
        last = batch.last_seq

        # Nothing at all: empty after the wait, with last_seq.
        began = time.monotonic()
        batch = await dispatcher.events(last, ["orders"], wait=1)
        assert 0.9 <= time.monotonic() - began < 2.5
        assert (batch.events, batch.last_seq, batch.snapshot_required) == ([], last, False)

        # A rider sees none of these, but last_seq moves past them all.
        batch = await rider1.events(start, ["orders"])
        assert (batch.events, batch.last_seq) == ([], last)
        began = time.monotonic()
        batch = await rider1.events(start, ["orders"], wait=1)
        assert 0.9 <= time.monotonic() - began < 2.5
        assert (batch.events, batch.last_seq) == ([], last)
        waiting = asyncio.create_task(rider1.events(last, ["orders"], wait=5))
        await actors.paid()  # invisible to rider 1: keeps waiting
        assert not waiting.done()
        # The assignment is the sentinel: the poll answers with it alone, so it did not
        # answer (empty) on the invisible changes before it.
        picked = await actors.picking()
        began = time.monotonic()
        await actors.assign(picked, 1)
        batch = await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - began < 1.5
        assert [(e.kind, e.order_id, e.rider_id) for e in batch.events] == [
            ("order.assigned", picked.id, 1)
        ]
        assert batch.last_seq == server.last_seq()

        # Ahead of the log: snapshot.
        batch = await dispatcher.events(server.last_seq() + 1000, ["orders"])
        assert (batch.snapshot_required, batch.last_seq) == (True, server.last_seq())


# --- 9. falling back to long polling ------------------------------------------------------------


class WebSocketBlocked(Stream):
    """A stream whose WebSocket goes to a port where nothing listens, while REST works."""

    blocked_port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.blocked_port}/api/v1/stream"


def blocked_consumer(
    client: FreshlineClient, *, since: int | None
) -> tuple[WebSocketBlocked, list[EventMessage], list[StreamState]]:
    """A stream whose WebSocket can never connect, so it must fall back to long polling;
    with the events it hands out and the states it reports (once `read_stream` reads it)."""
    applied: list[EventMessage] = []
    states: list[StreamState] = []
    consumer = WebSocketBlocked(
        client,
        ["orders"],
        since=since,
        backoff=FAST_BACKOFF,
        poll_after_failures=1,
        poll_wait=1,
        retry_websocket_after=30,
    )
    consumer.blocked_port = free_port()
    return consumer, applied, states


async def test_consumer_falls_back_to_long_polling_when_websocket_fails(
    tmp_path: Path, template: Path
) -> None:
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        client = FreshlineClient(server.base_url)
        await client.login("dispatcher", "demo-dispatcher")
        await actors.paid()
        start = server.last_seq()
        consumer, applied, states = blocked_consumer(client, since=start)
        running = asyncio.create_task(read_stream(consumer, events=applied, states=states))
        try:
            await eventually(lambda: StreamState.POLLING in states, 5, "polling")
            for _ in range(3):
                await actors.paid()
            expected = [e["seq"] for e in order_kinds(server.log()) if e["seq"] > start]
            await eventually(lambda: consumer.last_seq == expected[-1], 5, "the polled events")
            assert [e.seq for e in applied] == expected
            assert StreamState.RECONNECTING in states[: states.index(StreamState.POLLING)]
        finally:
            consumer.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)
            await client.aclose()
        assert running.done()


async def test_polling_consumer_started_from_now_does_not_replay_the_history(
    tmp_path: Path, template: Path
) -> None:
    """`since=None` means "from now on" (docs/stream.md), over WebSocket and long polling alike:
    a console whose WebSocket is blocked must not be handed the whole log as new events."""
    async with live_server(tmp_path, template) as server, Actors(server.base_url) as actors:
        client = FreshlineClient(server.base_url)
        await client.login("dispatcher", "demo-dispatcher")
        for _ in range(2):
            await actors.paid()
        consumer, applied, states = blocked_consumer(client, since=None)
        running = asyncio.create_task(read_stream(consumer, events=applied, states=states))
        try:
            await eventually(lambda: StreamState.POLLING in states, 5, "polling")
            started = server.last_seq()
            await actors.paid()
            expected = [e["seq"] for e in order_kinds(server.log()) if e["seq"] > started]
            await eventually(lambda: consumer.last_seq == expected[-1], 5, "the new events")
            assert [e.seq for e in applied] == expected
        finally:
            consumer.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5)
            await client.aclose()
