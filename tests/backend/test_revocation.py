"""Revocation reaches open streams at once: signing out (or an admin disabling the account)
closes the token's WebSockets with 4401 and ends its long polls with 401, on every instance,
and nothing committed after the sign-out is delivered to them (docs/stream.md "Revocation")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from backend_client import FreshlineClient
from tests.backend.test_stream_instances import ON_THE_BUS, require_redis
from tests.conftest import empty_postgres_database
from tests.servers import Server, serving
from tests.stream_support import Actors, Subscriber, live_server, make_demo_database
from tests.support import Api, eventually

HEARTBEAT_S = 60
"""The stream's heartbeat in these tests: far longer than any bound below, so what closes a
connection in time is the revocation, never the heartbeat's re-check of the token."""
BOUND_S = 10.0
"""A bound for a loaded machine, not a wait: a revocation closes streams in milliseconds."""


async def sign_in(api: Api, username: str) -> dict[str, str]:
    """A token of its own (not the one `api` keeps for the account)."""
    response = await api.client.post(
        "/api/v1/auth/token", data={"username": username, "password": f"demo-{username}"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_signing_out_ends_a_long_poll_under_way_with_401(api: Api) -> None:
    """A poll begun before the sign-out, waiting for news, answers 401 at once; the event
    committed after the sign-out is not in any answer."""
    headers = await sign_in(api, "dispatcher")
    hub = api.app.state.runtime.hub
    now = await api.client.get("/api/v1/events", params={"topics": "orders"}, headers=headers)
    since = now.json()["last_seq"]
    poll = asyncio.create_task(
        api.client.get(
            "/api/v1/events",
            params={"topics": "orders", "since": since, "wait": 60},
            headers=headers,
        )
    )
    await eventually(lambda: len(hub.polls) == 1, "the poll waiting for news", within=BOUND_S)
    signed_out = await api.client.post("/api/v1/auth/logout", headers=headers)
    assert signed_out.status_code == 204
    await api.create_order()  # committed after the sign-out
    answer = await asyncio.wait_for(poll, BOUND_S)
    assert answer.status_code == 401, answer.text
    assert not hub.polls


async def test_disabling_an_account_ends_its_long_polls(api: Api) -> None:
    headers = await sign_in(api, "support")
    hub = api.app.state.runtime.hub
    users = (await api.get("admin", "/users")).json()
    support = next(u for u in users if u["username"] == "support")
    poll = asyncio.create_task(
        api.client.get(
            "/api/v1/events", params={"topics": "orders", "since": 0, "wait": 60}, headers=headers
        )
    )
    # since=0 on a log with events would answer at once: the demo's log starts empty.
    await eventually(lambda: len(hub.polls) == 1, "the poll waiting for news", within=BOUND_S)
    changed = await api.client.patch(
        f"/api/v1/users/{support['id']}", json={"active": False}, headers=await api.auth("admin")
    )
    assert changed.status_code == 200, changed.text
    answer = await asyncio.wait_for(poll, BOUND_S)
    assert answer.status_code == 401, answer.text


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("revocation-template") / "f.db"
    asyncio.run(make_demo_database(path))
    return path


@pytest.mark.slow
async def test_signing_out_closes_the_tokens_websockets_before_the_next_event(
    tmp_path: Path, template: Path
) -> None:
    async with (
        live_server(tmp_path, template, stream_heartbeat_seconds=HEARTBEAT_S) as server,
        Actors(server.base_url) as actors,
    ):
        own = FreshlineClient(server.base_url, retries=0)
        await own.login("dispatcher", "demo-dispatcher")
        assert own.token is not None
        other = await actors.token("dispatcher")  # another session of the same account
        signed_out = await Subscriber.open(server.ws_url, own.token, ["orders"])
        still_in = await Subscriber.open(server.ws_url, other, ["orders"])
        try:
            await own.logout()
            after = server.last_seq()
            order = await actors.paid()  # committed after the sign-out
            await signed_out.wait_closed(BOUND_S)
            assert signed_out.close_code == 4401, signed_out.summary()
            assert signed_out.messages[-1]["type"] == "error"
            assert signed_out.messages[-1]["code"] == 4401
            assert all(e["seq"] <= after for e in signed_out.events), signed_out.summary()
            # The account's other session is not signed out: it gets the order.
            await still_in.wait_for(
                lambda s: any(e["order_id"] == order.id for e in s.events), BOUND_S, "the order"
            )
            assert still_in.closed is None
        finally:
            await own.aclose()
            for sub in (signed_out, still_in):
                await sub.aclose()


@pytest.mark.slow
async def test_disabling_an_account_closes_its_websockets_at_once(
    tmp_path: Path, template: Path
) -> None:
    async with (
        live_server(tmp_path, template, stream_heartbeat_seconds=HEARTBEAT_S) as server,
        Actors(server.base_url) as actors,
    ):
        sub = await Subscriber.open(server.ws_url, await actors.token("support"), ["orders"])
        try:
            admin = await actors("admin")
            support = next(u for u in await admin.users.all() if u.username == "support")
            async with httpx.AsyncClient(base_url=server.base_url) as raw:
                changed = await raw.patch(
                    f"/api/v1/users/{support.id}",
                    json={"active": False},
                    headers={"Authorization": f"Bearer {admin.token}"},
                )
            assert changed.status_code == 200, changed.text
            await sub.wait_closed(BOUND_S)
            assert sub.close_code == 4401, sub.summary()
        finally:
            await sub.aclose()


@pytest.fixture
def two_instances(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """A and B on one PostgreSQL and the Redis bus, with a long heartbeat."""
    require_redis()
    env = {**ON_THE_BUS, "FRESHLINE_STREAM_HEARTBEAT_SECONDS": str(HEARTBEAT_S)}
    with empty_postgres_database("freshline_revocation") as url, ExitStack() as stack:
        a = stack.enter_context(
            serving(tmp_path, "--demo", "--database-url", url, name="A", env=env)
        )
        b = stack.enter_context(
            serving(tmp_path, "--demo", "--database-url", url, name="B", env=env)
        )
        yield a, b


@pytest.mark.slow
@pytest.mark.postgres
async def test_signing_out_on_one_instance_closes_the_websockets_on_another(
    two_instances: tuple[Server, Server],
) -> None:
    """A WebSocket and a long poll on B, the sign-out through A: both end at once. Whether the
    poll reached B before the news or after, it answers 401 well within its `wait`."""
    a, b = two_instances
    async with (
        FreshlineClient(a.base_url, retries=0) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=2 * HEARTBEAT_S) as raw_b,
    ):
        await on_a.login("dispatcher", "demo-dispatcher")
        assert on_a.token is not None
        headers = {"Authorization": f"Bearer {on_a.token}"}
        sub = await Subscriber.open(b.ws_url, on_a.token, ["orders"])
        now = await raw_b.get("/api/v1/events", params={"topics": "orders"}, headers=headers)
        poll = asyncio.create_task(
            raw_b.get(
                "/api/v1/events",
                params={"topics": "orders", "since": now.json()["last_seq"], "wait": 60},
                headers=headers,
            )
        )
        try:
            await on_a.logout()
            await sub.wait_closed(BOUND_S)
            assert sub.close_code == 4401, sub.summary()
            answer = await asyncio.wait_for(poll, BOUND_S)
            assert answer.status_code == 401, answer.text
        finally:
            poll.cancel()
            await sub.aclose()
