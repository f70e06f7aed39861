"""A real `freshline serve` scraped under load (docs/metrics.md): its figures move while a few
hundred writes go through; `/metrics` answers only on the metrics port, with the token; its
log file is JSON lines, and the access line of a change carries the same request id, user,
role and order as the change's audit event."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import LOG, Server, free_port, serving
from tests.stream_support import connect, recv_json, send_hello
from tests.support import customer, eventually

pytestmark = pytest.mark.slow  # one real server for the module

TOKEN = "scrape-token-for-tests"
ORDERS = 100
"""Each order is created, paid and picked: 300 writes."""
CLIENTS = 8
_numbers = itertools.count(1)


class Served:
    def __init__(self, server: Server, metrics_port: int) -> None:
        self.server = server
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    metrics_port = free_port()
    env = {"FRESHLINE_METRICS_TOKEN": TOKEN, "FRESHLINE_METRICS_PORT": str(metrics_port)}
    with serving(tmp_path_factory.mktemp("metrics"), "--demo", env=env) as server:
        yield Served(server, metrics_port)


Scraped = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient, served: Served) -> Scraped:
    answer = await http.get(served.metrics_url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def count(scraped: Scraped, method: str, route: str, status: str) -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return scraped.get(("freshline_http_requests_total", labels), 0.0)


async def sign_in(http: httpx.AsyncClient, user: str) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/token", data={"username": user, "password": f"demo-{user}"}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def one_order(http: httpx.AsyncClient, channel: dict[str, str], desk: dict[str, str]) -> None:
    body = {
        "external_id": f"METRICS-{next(_numbers)}",
        "customer": customer(),
        "items": [{"sku": "VEG-BOKCHOY", "quantity": 1}],
    }
    created = await http.post("/api/v1/orders", json=body, headers=channel)
    assert created.status_code == 201, created.text
    order = created.json()
    for headers, action in ((channel, "pay"), (desk, "start_picking")):
        moved = await http.post(
            f"/api/v1/orders/{order['id']}/transitions",
            json={"action": action, "version": order["version"]},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
        order = moved.json()


async def test_the_figures_move_under_load(served: Served) -> None:
    server = served.server
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        channel = await sign_in(http, "channel-app")
        desk = await sign_in(http, "dispatcher")
        subscriber = await connect(server.ws_url, desk["Authorization"].removeprefix("Bearer "))
        await send_hello(subscriber, ["orders"])
        assert (await recv_json(subscriber))["type"] == "welcome"
        try:
            before = await scrape(http, served)
            assert before[("freshline_stream_connections", ())] == 1
            assert before[("freshline_stream_subscribers", (("topic", "orders"),))] == 1
            pending = iter(range(ORDERS))

            async def client() -> None:
                for _ in pending:
                    await one_order(http, channel, desk)

            load = asyncio.gather(*(client() for _ in range(CLIENTS)))
            # Scraped while the writes go on: each scrape's counts at least the last one's.
            during: list[Scraped] = []
            while not load.done():
                during.append(await scrape(http, served))
                await asyncio.sleep(0)  # one scrape after another, as fast as they answer
            await load
            after = await scrape(http, served)
        finally:
            await subscriber.close()

    transitions = "/api/v1/orders/{order_id}/transitions"
    created = count(after, "POST", "/api/v1/orders", "201") - count(
        before, "POST", "/api/v1/orders", "201"
    )
    assert created == ORDERS
    assert (
        count(after, "POST", transitions, "200") - count(before, "POST", transitions, "200")
        == 2 * ORDERS
    )
    series = [count(s, "POST", transitions, "200") for s in [before, *during, after]]
    assert during and series == sorted(series)
    latency = ("method", "POST"), ("route", transitions)
    assert after[("freshline_http_request_duration_seconds_count", latency)] >= 2 * ORDERS
    slowest = after[("freshline_http_request_duration_seconds_bucket", (("le", "+Inf"), *latency))]
    assert slowest == after[("freshline_http_request_duration_seconds_count", latency)]

    head = ("freshline_event_log_head_seq", ())
    assert after[head] - before[head] >= 3 * ORDERS  # an event per change, at least
    batches, jobs = ("freshline_write_batch_jobs_count", ()), ("freshline_write_batch_jobs_sum", ())
    assert after[jobs] - before[jobs] >= 3 * ORDERS
    assert 0 < after[batches] - before[batches] <= after[jobs] - before[jobs]
    # The feed handed everything on, and the subscriber was offered it all.
    assert after[("freshline_feed_seq", ())] == after[head]
    assert after[("freshline_stream_lag_events_max", ())] == 0
    assert after[("freshline_db_pool_size", ())] > 0


async def test_metrics_answer_on_their_port_with_the_token_only(served: Served) -> None:
    server = served.server
    metrics_base = served.metrics_url.removesuffix("/metrics")
    async with httpx.AsyncClient(timeout=10) as http:
        on_api_port = await http.get(f"{server.base_url}/metrics")
        with_token = {"Authorization": f"Bearer {TOKEN}"}
        on_api_port_with_token = await http.get(f"{server.base_url}/metrics", headers=with_token)
        no_token = await http.get(served.metrics_url)
        api_on_metrics_port = await http.get(f"{metrics_base}/api/v1/health")
        ready = await http.get(f"{server.base_url}/api/v1/health/ready")
    assert on_api_port.status_code == 404 and on_api_port_with_token.status_code == 404
    assert no_token.status_code == 401
    assert api_on_metrics_port.status_code == 404
    assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text


def log_lines(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.read(LOG).splitlines() if line.strip()]


async def test_the_access_line_and_the_audit_event_share_the_request_id(served: Served) -> None:
    server = served.server
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        channel = await sign_in(http, "channel-app")
        desk = await sign_in(http, "dispatcher")
        body = {"external_id": "METRICS-AUDIT", "customer": customer(), "items": []}
        body["items"] = [{"sku": "VEG-BOKCHOY", "quantity": 1}]
        order = (await http.post("/api/v1/orders", json=body, headers=channel)).json()
        paid = await http.post(
            f"/api/v1/orders/{order['id']}/transitions",
            json={"action": "pay", "version": order["version"]},
            headers={**channel, "X-Request-ID": "audit-me-1"},
        )
        assert paid.status_code == 200 and paid.headers["x-request-id"] == "audit-me-1"
        timeline = await http.get(f"/api/v1/orders/{order['id']}/timeline", headers=desk)
    paid_event = next(e for e in timeline.json() if e["to_state"] == "PAID")
    assert paid_event["payload"]["http_request_id"] == "audit-me-1"

    def access_line() -> dict[str, Any] | None:
        return next(
            (
                line
                for line in log_lines(server)  # every line parses as JSON, or this fails
                if line.get("request_id") == "audit-me-1" and line["logger"] == "uvicorn.access"
            ),
            None,
        )

    await eventually(access_line, "the access line of the payment")
    line = access_line()
    assert line is not None
    assert (line["user"], line["role"], line["order_id"]) == (
        "channel-app",
        paid_event["role"],
        order["id"],
    )
    assert (line["method"], line["status"]) == ("POST", 200)
    assert line["path"] == f"/api/v1/orders/{order['id']}/transitions"
    assert {"time", "level", "message"} <= set(line)


async def test_a_stream_refused_for_a_bad_hello_is_counted(served: Served) -> None:
    server = served.server
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        desk = await sign_in(http, "dispatcher")
        before = await scrape(http, served)
        ws = await connect(server.ws_url, desk["Authorization"].removeprefix("Bearer "))
        await ws.send("not a hello")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:  # whatever it says first, then the close
                await recv_json(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        after = await scrape(http, served)
    key = ("freshline_stream_closed_total", (("code", "4400"),))
    assert after.get(key, 0) - before.get(key, 0) == 1
