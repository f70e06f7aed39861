"""Metrics, readiness and request ids through the real app (docs/metrics.md): who may read
`/metrics` and what it counts, the request id from header to answer to audit event, the
readiness checks failing for real (schema behind, database file gone), and the JSON log
lines of a request."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from backend.auth.principal import Principal
from backend.clock import ManualClock
from backend.observability import context
from backend.observability.logs import JsonLines, PlainLines, RequestFields
from backend.observability.readiness import bus_check
from backend.realtime.bus import RedisBus
from backend.realtime.hub import Connection
from backend.realtime.visibility import Subscription
from backend_client.models import Role, Topic
from tests.support import Api, eventually, started

TOKEN = "scrape-me-0123456789"


@pytest.fixture
async def api(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Api]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'observed.db'}"
    async for api in started(url, clock, metrics_token=TOKEN):
        yield api


def samples(text_format: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text_format)
        for s in family.samples
    }


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def requests_of(scraped: dict, method: str, route: str, status: str) -> float:
    key = (
        "freshline_http_requests_total",
        (("method", method), ("route", route), ("status", status)),
    )
    return scraped.get(key, 0.0)


async def test_metrics_need_the_token(api: Api) -> None:
    missing = await api.client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    user_token = await api.client.get("/metrics", headers=await api.auth("admin"))
    assert user_token.status_code == 401  # a user's sign-in is not the scraper's token
    posted = await api.client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
    assert (await scrape(api))[("freshline_stream_connections", ())] == 0


async def test_metrics_are_not_published_without_a_token_or_a_port(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'closed.db'}"
    async for api in started(url, clock):
        assert (await api.client.get("/metrics")).status_code == 404
    async for api in started(url, clock, metrics_enabled=False, metrics_token=TOKEN):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await api.client.get("/metrics", headers=auth)).status_code == 404
        # Off, the request id still goes out with every answer.
        assert (await api.client.get("/api/v1/health")).headers["x-request-id"]


async def test_requests_are_counted_by_route_template_and_status(
    database_url: str, clock: ManualClock
) -> None:
    async for api in started(database_url, clock, metrics_token=TOKEN):
        await counted_by_route_template_and_status(api)


async def counted_by_route_template_and_status(api: Api) -> None:
    before = await scrape(api)
    order = await api.create_order()
    await api.act("channel-app", order, "pay")
    stale = await api.act("channel-app", order, "pay", expect=409)  # version now stale
    assert "detail" in stale
    for n in (1, 2, 3):
        await api.get("dispatcher", f"/orders/{order['id'] + 1000 * n}")  # 404s, three paths
    await api.client.get("/no/such/path")
    after = await scrape(api)

    transitions = "/api/v1/orders/{order_id}/transitions"
    assert (
        requests_of(after, "POST", transitions, "200")
        - requests_of(before, "POST", transitions, "200")
        == 1
    )
    assert requests_of(after, "POST", transitions, "409") == 1
    assert requests_of(after, "GET", "/api/v1/orders/{order_id}", "404") == 3
    assert requests_of(after, "POST", "/api/v1/orders", "201") >= 1
    assert requests_of(after, "GET", "unmatched", "404") == 1
    labels = {dict(labels).get("route") for (_name, labels) in after}
    assert not any(route and str(order["id"] + 1000) in route for route in labels)
    latency = (
        "freshline_http_request_duration_seconds_count",
        (("method", "POST"), ("route", transitions)),
    )
    assert after[latency] == 2
    # Written and numbered: the batches moved, and the head is the log's last seq.
    batches = ("freshline_write_batch_jobs_count", ())
    assert after[batches] > before[batches]
    assert after[("freshline_write_batch_jobs_sum", ())] >= after[batches]
    head = after[("freshline_event_log_head_seq", ())]
    assert head == await api.event_count() and head > before[("freshline_event_log_head_seq", ())]
    assert after[("freshline_feed_seq", ())] == head
    assert after[("freshline_feed_lag_events", ())] == 0
    assert after[("freshline_database_reachable", ())] == 1
    assert after[("freshline_db_pool_size", ())] > 0


async def test_alert_passes_and_stream_closes_are_counted(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}"
    async for api in started(url, clock, metrics_token=TOKEN, alerts=True):
        await passes_and_closes_counted(api)


async def passes_and_closes_counted(api: Api) -> None:
    await api.create_order()  # heard by the engine: a pass follows

    async def passes() -> float:
        return (await scrape(api))[("freshline_alert_pass_seconds_count", ())]

    await eventually(passes, "an alert pass counted")
    # Two connections cut off as too slow (4429) and one revoked (4401), as the hub does it.
    hub = api.app.state.runtime.hub
    principal = Principal(user_id=None, username="dispatcher", role=Role.DISPATCHER)

    def connection(digest: str) -> Connection:
        subscription = Subscription(principal, frozenset({Topic.ORDERS}))
        return Connection(subscription, queue_limit=10, since=0, digest=digest)

    for digest in ("slow-1", "slow-2", "signed-out"):
        opened = connection(digest)
        await hub.attach(opened, None)
        if digest.startswith("slow"):
            for _ in range(11):  # nobody reads: the eleventh message cuts it off
                opened.push("{}")
        else:
            hub.revoke(digest, None)
        assert opened.failure is not None
        hub.detach(opened)
    scraped = await scrape(api)
    closed = "freshline_stream_closed_total"
    assert scraped[(closed, (("code", "4429"),))] == 2
    assert scraped[(closed, (("code", "4401"),))] == 1
    assert scraped[("freshline_stream_connections", ())] == 0


async def test_a_rate_limited_answer_is_counted_as_429(api: Api) -> None:
    for _ in range(6):  # login_max_failures is 5: the sixth try is refused
        await api.client.post(
            "/api/v1/auth/token", data={"username": "support", "password": "wrong"}
        )
    scraped = await scrape(api)
    assert requests_of(scraped, "POST", "/api/v1/auth/token", "429") >= 1
    assert requests_of(scraped, "POST", "/api/v1/auth/token", "401") >= 1


async def test_the_request_id_goes_back_and_into_the_audit_event(api: Api) -> None:
    order = await api.create_order()
    headers = {**await api.auth("channel-app"), "X-Request-ID": "pay-7f3a.1"}
    paid = await api.client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "pay", "version": order["version"]},
        headers=headers,
    )
    assert paid.status_code == 200 and paid.headers["x-request-id"] == "pay-7f3a.1"
    events = (await api.get("dispatcher", f"/orders/{order['id']}/timeline")).json()
    by_kind = {e["to_state"]: e for e in events}
    assert by_kind["PAID"]["payload"]["http_request_id"] == "pay-7f3a.1"
    created_id = by_kind["CREATED"]["payload"]["http_request_id"]
    assert created_id and created_id != "pay-7f3a.1"  # its own, generated


async def test_an_unfit_request_id_is_replaced_by_a_fresh_one(api: Api) -> None:
    for offered in ("", "x" * 65, "bad id", 'a"b', "line\nbreak", "ünïcode"):
        header = {"X-Request-ID": offered.encode()}  # as sent: bytes, whatever they are
        answer = await api.client.get("/api/v1/health", headers=header)
        assert answer.status_code == 200
        assert context.SANE_REQUEST_ID.fullmatch(answer.headers["x-request-id"])
        assert answer.headers["x-request-id"] != offered
    fresh = {(await api.client.get("/api/v1/health")).headers["x-request-id"] for _ in range(3)}
    assert len(fresh) == 3


async def test_ready_when_every_check_passes(api: Api) -> None:
    answer = await api.client.get("/api/v1/health/ready")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "bus": True,
    }
    assert body["checks"]["bus"]["detail"] == "in-process"


async def test_not_ready_while_the_schema_is_behind_the_code(api: Api) -> None:
    db = api.app.state.runtime.db
    async with db.engine.begin() as conn:
        head = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    answer = await api.client.get("/api/v1/health/ready")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    checks = answer.json()["checks"]
    assert not checks["migrations"]["ok"] and checks["database"]["ok"]
    assert checks["migrations"]["detail"] == f"at 0001; this code needs {head}"


async def test_not_ready_when_the_database_file_is_gone(api: Api) -> None:
    db = api.app.state.runtime.db
    path = Path(db.url.database)
    await db.engine.dispose()  # pooled readers closed: the next one opens the path again
    shutil.move(path, path.with_suffix(".moved"))
    await asyncio.to_thread(path.mkdir)  # a directory where the file was: SQLite cannot open it
    answer = await api.client.get("/api/v1/health/ready")
    assert answer.status_code == 503, answer.text
    checks = answer.json()["checks"]
    assert not checks["database"]["ok"] and checks["database"]["detail"].startswith("unreachable")
    assert (await api.client.get("/api/v1/health")).status_code == 200  # alive, not ready
    scraped = await scrape(api)
    assert scraped[("freshline_database_reachable", ())] == 0
    assert ("freshline_event_log_head_seq", ()) not in scraped
    await asyncio.to_thread(path.rmdir)
    shutil.move(path.with_suffix(".moved"), path)


async def test_a_bus_that_cannot_be_reached_fails_readiness() -> None:
    never_started = RedisBus("redis://127.0.0.1:6379/0")
    check = await bus_check(never_started)
    assert not check.ok and check.detail == "unreachable (ConnectionError)"


def test_json_lines_carry_the_request_the_record_was_logged_in() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestFields())
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        scope = {"path_params": {"order_id": "42"}}
        _ctx, token = context.begin("req-1", scope)
        context.note_caller("dispatcher", "dispatcher")
        logger.warning("moved %s\nto %s", "a", "b")
        context.end(token)
        logger.info("outside")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 3  # a newline in a message stays inside its line
    inside, outside, failed = lines
    assert inside["message"] == "moved a\nto b" and inside["level"] == "WARNING"
    assert (inside["request_id"], inside["user"], inside["role"], inside["order_id"]) == (
        "req-1",
        "dispatcher",
        "dispatcher",
        42,
    )
    assert "request_id" not in outside and outside["logger"] == "tests.observability"
    assert "ValueError: boom" in failed["exception"]


def test_plain_lines_name_the_request_too() -> None:
    record = logging.LogRecord("x.y", logging.INFO, __file__, 1, "hello", None, None)
    RequestFields().filter(record)
    assert PlainLines().format(record).endswith(" INFO x.y: hello")
    record.request_id = "abc"
    assert PlainLines().format(record).endswith(" INFO [abc] x.y: hello")


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "freshline.json"


async def test_the_dashboard_shows_only_figures_the_backend_exposes(api: Api) -> None:
    """deploy/grafana/freshline.json: every metric a panel asks for is one `/metrics` serves
    (a renamed metric would leave a panel empty, silently)."""
    answer = await api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    families = {family.name for family in text_string_to_metric_families(answer.text)}
    dashboard = json.loads(DASHBOARD.read_text())
    asked = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"freshline_[a-z_]+", target["expr"])
    }
    assert asked and asked <= families, sorted(asked - families)
    shown = {name for name in families if name.startswith("freshline_")}
    assert shown <= asked, f"not on the dashboard: {sorted(shown - asked)}"
