"""FreshlineClient: status -> exception mapping, safe retries, idempotency keys, typed answers.

Most tests run against `httpx.MockTransport` with an injected fake `sleep`, so nothing waits;
the last one drives the real app in-process through `httpx.ASGITransport`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.clock import ManualClock
from backend_client import (
    ApiError,
    Backoff,
    Conflict,
    ConnectionFailed,
    FreshlineClient,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedAnswer,
)
from backend_client.models import (
    Channel,
    CustomerIn,
    CustomerOut,
    Event,
    EventBatch,
    Order,
    OrderCreate,
    OrderItem,
    OrderItemIn,
    OrderPage,
    OrderState,
    Role,
    TokenResponse,
    Topic,
)
from tests import support
from tests.support import STARTUP_S, customer

SERVER = "http://freshline.test"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]

# What GET /health answers.
HEALTHY = {"status": "ok", "time": "2026-11-22T10:00:00Z", "clock_speed": 1.0}


# --- helpers ------------------------------------------------------------------------------------


class FakeSleep:
    """Records the delays the client asks for instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Server:
    """A MockTransport handler that records requests and answers from a script (last repeats)."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.answers)) - 1
        answer = self.answers[index]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]


def client_for(server: Server, sleep: FakeSleep | None = None, **options: Any) -> FreshlineClient:
    return FreshlineClient(
        SERVER,
        transport=httpx.MockTransport(server),
        sleep=sleep or FakeSleep(),
        **options,
    )


def error(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        body = {"detail": f"status {status}"}
    return httpx.Response(status, json=body, headers=headers)


def ok(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def order_json(order_id: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid `Order` on the wire, built through the model so it cannot drift from it."""
    fields: dict[str, Any] = {
        "id": order_id,
        "channel": Channel.APP,
        "external_id": f"EXT-{order_id}",
        "status": OrderState.PAID,
        "version": 2,
        "customer": CustomerOut(id=7, name="Wang Fang", phone="13800138000"),
        "address": "Sanlitun Rd 19, Chaoyang",
        "lat": 39.9361,
        "lng": 116.4551,
        "zone": "chaoyang",
        "warehouse_id": "WH-CY",
        "rider_id": None,
        "items": [
            OrderItem(
                sku="VEG-BOKCHOY",
                name="Bok choy",
                quantity=2,
                unit="bunch",
                weight_g=500,
                cold_chain=False,
                unit_price_cents=490,
            )
        ],
        "weight_g": 1000,
        "cold_chain": False,
        "amount_cents": 980,
        "note": None,
        "promised_at": NOW + timedelta(minutes=45),
        "late": False,
        "created_at": NOW,
        "paid_at": NOW,
        "picking_at": None,
        "out_of_stock_at": None,
        "delivering_at": None,
        "signed_at": None,
        "exception_at": None,
        "returning_at": None,
        "returned_at": None,
        "claiming_at": None,
        "claim_settled_at": None,
        "cancelled_at": None,
        "updated_at": NOW,
        **overrides,
    }
    return Order(**fields).model_dump(mode="json")


def event_json(seq: int, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "seq": seq,
        "kind": "order.transition",
        "order_id": 1,
        "rider_id": None,
        "warehouse_id": "WH-CY",
        "from_state": "CREATED",
        "to_state": "PAID",
        "actor": "channel-app",
        "role": "channel",
        "client_addr": "127.0.0.1",
        "at": NOW,
        "reason": None,
        "payload": {"version": 2},
        **overrides,
    }
    return Event(**fields).model_dump(mode="json")


def new_order(external_id: str = "EXT-NEW") -> OrderCreate:
    return OrderCreate(
        external_id=external_id,
        customer=CustomerIn(**customer()),
        items=[OrderItemIn(sku="VEG-BOKCHOY", quantity=2)],
    )


class MaxRandom(random.Random):
    """Full jitter pinned to its ceiling, so the backoff's growth is visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --- status -> exception ------------------------------------------------------------------------

MAPPING = [
    (400, InvalidRequest),
    (401, NotAuthenticated),
    (403, PermissionDenied),
    (404, NotFound),
    (409, Conflict),
    (413, InvalidRequest),
    (422, InvalidRequest),
    (429, RateLimited),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
    (405, ApiError),
    (410, ApiError),
    (418, ApiError),
]


@pytest.mark.parametrize(("status", "kind"), MAPPING)
async def test_every_status_maps_to_its_exception_with_detail_and_body(
    status: int, kind: type[ApiError]
) -> None:
    body = {"detail": f"refused with {status}", "extra": 42}
    server = Server(error(status, body))
    async with client_for(server, retries=0) as client:
        with pytest.raises(ApiError) as caught:
            await client.orders.get(1)
    assert type(caught.value) is kind
    assert caught.value.status == status
    assert caught.value.detail == f"refused with {status}"
    assert caught.value.body == body
    assert str(status) in str(caught.value)


async def test_a_conflict_carries_current_version_and_changed_by() -> None:
    body = {"detail": "order 1 is at version 5, not 3", "current_version": 5, "changed_by": "bo"}
    server = Server(error(409, body))
    async with client_for(server) as client:
        with pytest.raises(Conflict) as caught:
            await client.orders.transition(1, "cancel", 3, reason="customer called")
    assert caught.value.current_version == 5
    assert caught.value.changed_by == "bo"
    assert caught.value.detail == "order 1 is at version 5, not 3"


async def test_an_illegal_transition_conflict_has_no_version() -> None:
    server = Server(error(409, {"detail": "an order in SIGNED cannot pay"}))
    async with client_for(server) as client:
        with pytest.raises(Conflict) as caught:
            await client.orders.transition(1, "pay", 6)
    assert caught.value.current_version is None
    assert caught.value.changed_by is None


async def test_rate_limited_reads_retry_after_from_the_header() -> None:
    server = Server(error(429, {"detail": "slow down"}, **{"Retry-After": "7"}))
    async with client_for(server, retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.orders.page()
    assert caught.value.retry_after == 7.0
    assert caught.value.detail == "slow down"


async def test_rate_limited_without_retry_after_defaults_to_one_second() -> None:
    server = Server(error(429))
    async with client_for(server, retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.orders.page()
    assert caught.value.retry_after == 1.0


async def test_an_unparsable_retry_after_falls_back_to_the_default() -> None:
    date = "Wed, 21 Oct 2026 07:28:00 GMT"  # the HTTP-date form is not read
    server = Server(error(429, **{"Retry-After": date}))
    async with client_for(server, retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.orders.page()
    assert caught.value.retry_after == 1.0


async def test_retry_after_zero_means_retry_now() -> None:
    # `Retry-After: 0` is a valid header: the server says there is no need to wait.
    server = Server(error(429, **{"Retry-After": "0"}))
    async with client_for(server, retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.orders.page()
    assert caught.value.retry_after == 0.0


@pytest.mark.parametrize(
    ("status", "kind"),
    [(502, ServerError), (500, ServerError), (404, NotFound), (401, NotAuthenticated)],
)
async def test_a_non_json_error_body_still_maps(status: int, kind: type[ApiError]) -> None:
    page = "<html><body>Bad things</body></html>"
    server = Server(httpx.Response(status, text=page, headers={"Content-Type": "text/html"}))
    async with client_for(server, retries=0) as client:
        with pytest.raises(ApiError) as caught:
            await client.orders.get(1)
    assert type(caught.value) is kind
    assert caught.value.status == status
    assert caught.value.detail == page
    assert caught.value.body == {}


async def test_an_empty_error_body_still_maps() -> None:
    server = Server(httpx.Response(503))
    async with client_for(server, retries=0) as client:
        with pytest.raises(ServerError) as caught:
            await client.health()
    assert caught.value.status == 503


# --- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
async def test_transport_errors_are_retried_then_connection_failed(failure: Exception) -> None:
    server = Server(failure)
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=3) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.orders.page()
    assert len(server.requests) == 4
    assert len(sleep.delays) == 3
    assert caught.value.__cause__ is failure
    assert "/orders" in str(caught.value)


async def test_a_transport_error_then_success_returns_the_answer() -> None:
    page = {"items": [order_json(1)], "next_cursor": None}
    server = Server(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok(page))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=3) as client:
        answer = await client.orders.page()
    assert [o.id for o in answer.items] == [1]
    assert len(server.requests) == 3
    assert len(sleep.delays) == 2


async def test_zero_retries_means_one_attempt() -> None:
    server = Server(httpx.ConnectError("refused"))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=0) as client:
        with pytest.raises(ConnectionFailed):
            await client.health()
    assert len(server.requests) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_statuses_are_retried_until_success(status: int) -> None:
    server = Server(error(status), error(status), ok(HEALTHY))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=3) as client:
        health = await client.health()
    assert health.status == "ok"
    assert len(server.requests) == 3
    assert len(sleep.delays) == 2


@pytest.mark.parametrize(("status", "kind"), [(429, RateLimited), (502, ServerError)])
async def test_retryable_statuses_give_up_after_retries(status: int, kind: type[ApiError]) -> None:
    server = Server(error(status))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=2) as client:
        with pytest.raises(kind) as caught:
            await client.orders.page()
    assert caught.value.status == status
    assert len(server.requests) == 3
    assert len(sleep.delays) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 418, 422, 500, 501])
async def test_other_errors_are_not_retried(status: int) -> None:
    server = Server(error(status), ok(HEALTHY))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=5) as client:
        with pytest.raises(ApiError) as caught:
            await client.health()
    assert caught.value.status == status
    assert len(server.requests) == 1
    assert sleep.delays == []


async def test_a_conflict_on_a_post_is_an_answer_never_retried() -> None:
    body = {"detail": "stale", "current_version": 4, "changed_by": "dispatcher"}
    server = Server(error(409, body), ok(order_json(1)))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=5) as client:
        with pytest.raises(Conflict):
            await client.orders.transition(1, "start_picking", 3)
    assert len(server.requests) == 1
    assert sleep.delays == []


async def test_retry_after_is_honoured_as_a_minimum_delay() -> None:
    server = Server(error(429, **{"Retry-After": "7"}), ok(HEALTHY))
    sleep = FakeSleep()
    async with client_for(server, sleep, backoff=Backoff(base=0.25, cap=2.0)) as client:
        await client.health()
    assert len(sleep.delays) == 1
    assert sleep.delays[0] >= 7


async def test_retry_after_above_the_cap_still_wins() -> None:
    server = Server(error(429, **{"Retry-After": "30"}))
    sleep = FakeSleep()
    async with client_for(server, sleep, retries=2, backoff=Backoff(cap=1.0)) as client:
        with pytest.raises(RateLimited):
            await client.health()
    assert sleep.delays == [30.0, 30.0]


async def test_the_client_backoff_grows_and_stays_under_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("backend_client._retry.random", MaxRandom())
    server = Server(httpx.ConnectError("refused"))
    sleep = FakeSleep()
    backoff = Backoff(base=0.5, cap=3.0)
    async with client_for(server, sleep, retries=6, backoff=backoff) as client:
        with pytest.raises(ConnectionFailed):
            await client.health()
    assert sleep.delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


async def test_the_client_backoff_with_real_jitter_stays_in_bounds() -> None:
    server = Server(error(503))
    sleep = FakeSleep()
    backoff = Backoff(base=0.1, cap=0.5)
    async with client_for(server, sleep, retries=8, backoff=backoff) as client:
        with pytest.raises(ServerError):
            await client.health()
    assert len(sleep.delays) == 8
    for attempt, delay in enumerate(sleep.delays):
        assert 0 <= delay <= min(0.5, 0.1 * 2**attempt)


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base=0.25, cap=10.0)
    ceilings = [backoff.delay(n, rng=MaxRandom()) for n in range(8)]
    assert ceilings == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_with_a_seeded_rng_is_jittered_within_bounds_and_reproducible() -> None:
    backoff = Backoff(base=0.25, cap=10.0)
    first = [backoff.delay(n % 10, rng=random.Random(1234)) for n in range(200)]
    again = [backoff.delay(n % 10, rng=random.Random(1234)) for n in range(200)]
    assert first == again
    rng = random.Random(99)
    draws = [(n % 10, backoff.delay(n % 10, rng=rng)) for n in range(500)]
    for attempt, delay in draws:
        assert 0 <= delay <= min(10.0, 0.25 * 2**attempt)
    assert len({d for _, d in draws}) > 100  # jittered, not a fixed schedule


def test_backoff_at_least_is_a_floor() -> None:
    backoff = Backoff(base=0.25, cap=10.0)
    rng = random.Random(7)
    assert all(backoff.delay(n, at_least=3.0, rng=rng) >= 3.0 for n in range(10))
    assert backoff.delay(0, at_least=60.0, rng=rng) == 60.0


@pytest.mark.parametrize("attempt", [64, 1023, 1100, 5000])
def test_backoff_stays_under_the_cap_for_any_attempt(attempt: int) -> None:
    # The stream passes its count of consecutive failures, which is unbounded while
    # the server stays down; a long outage must still give a delay, never an exception.
    backoff = Backoff(base=0.5, cap=15.0)
    assert 0 <= backoff.delay(attempt, rng=random.Random(1)) <= 15.0
    assert backoff.delay(attempt, rng=MaxRandom()) == 15.0


# --- idempotency keys ---------------------------------------------------------------------------


async def test_a_posts_retries_carry_the_same_idempotency_key() -> None:
    server = Server(
        error(503), httpx.ReadTimeout("lost answer"), error(429), ok(order_json(9), 201)
    )
    async with client_for(server, retries=5) as client:
        order = await client.orders.create(new_order())
    assert order.id == 9
    keys = server.keys()
    assert len(keys) == 4
    assert keys[0] and len(set(keys)) == 1
    assert all(
        json.loads(r.content) == json.loads(server.requests[0].content) for r in server.requests
    )


async def test_each_new_post_call_gets_a_new_key() -> None:
    server = Server(ok(order_json(1), 201))
    async with client_for(server) as client:
        await client.orders.create(new_order("A-1"))
        await client.orders.create(new_order("A-2"))
        await client.orders.transition(1, "pay", 1)
        await client.orders.assign(1, 3, 2)
    keys = server.keys()
    assert all(keys)
    assert len(set(keys)) == 4


async def test_a_caller_supplied_idempotency_key_is_used_as_is() -> None:
    server = Server(error(502), ok(order_json(1), 201))
    async with client_for(server) as client:
        await client.orders.create(new_order(), idempotency_key="intake-MT-0001")
        await client.orders.transition(1, "pay", 1, idempotency_key="pay-1-v1")
    assert server.keys() == ["intake-MT-0001", "intake-MT-0001", "pay-1-v1"]


async def test_gets_carry_no_idempotency_key() -> None:
    page = {"items": [], "next_cursor": None}
    server = Server(error(503), ok(page))
    async with client_for(server) as client:
        await client.orders.page()
    assert len(server.requests) == 2
    assert all(r.method == "GET" for r in server.requests)
    assert server.keys() == [None, None]


# --- auth ---------------------------------------------------------------------------------------


def token_answer(token: str) -> httpx.Response:
    return ok(
        TokenResponse(
            access_token=token, role=Role.DISPATCHER, expires_at=NOW + timedelta(hours=12)
        ).model_dump(mode="json")
    )


async def test_login_sends_form_fields_and_later_calls_carry_the_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/token":
            return token_answer("tok-123")
        return ok({"items": [], "next_cursor": None})

    server = Server(answer)
    async with client_for(server) as client:
        assert client.token is None
        answer_ = await client.login("dispatcher", "demo-dispatcher")
        assert answer_.access_token == "tok-123"
        assert answer_.role is Role.DISPATCHER
        assert client.token == "tok-123"
        await client.orders.page()

    login, listing = server.requests
    assert login.method == "POST"
    assert login.url == f"{SERVER}/api/v1/auth/token"
    assert login.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(login.content.decode()) == {
        "username": ["dispatcher"],
        "password": ["demo-dispatcher"],
    }
    assert "Authorization" not in login.headers
    assert listing.headers["Authorization"] == "Bearer tok-123"


async def test_a_token_given_up_front_is_sent() -> None:
    server = Server(ok(HEALTHY))
    async with client_for(server, token="abc") as client:
        await client.health()
    assert server.requests[0].headers["Authorization"] == "Bearer abc"


async def test_logout_revokes_then_clears_the_token() -> None:
    server = Server(httpx.Response(204), ok(HEALTHY))
    async with client_for(server, token="tok-9") as client:
        assert await client.logout() is None
        assert client.token is None
        await client.health()
    logout, after = server.requests
    assert (logout.method, logout.url.path) == ("POST", "/api/v1/auth/logout")
    assert logout.headers["Authorization"] == "Bearer tok-9"
    assert "Authorization" not in after.headers


async def test_a_failed_login_keeps_no_token() -> None:
    server = Server(error(401, {"detail": "wrong username or password"}))
    async with client_for(server) as client:
        with pytest.raises(NotAuthenticated):
            await client.login("dispatcher", "nope")
        assert client.token is None


# --- typed answers and query parameters ---------------------------------------------------------


async def test_orders_parse_into_models_and_send_the_filters() -> None:
    page = {"items": [order_json(1), order_json(2, late=True)], "next_cursor": "c-2"}
    server = Server(ok(page))
    async with client_for(server) as client:
        answer = await client.orders.page(
            status=[OrderState.PAID, OrderState.PICKING],
            late=True,
            limit=50,
            warehouse_id="WH-CY",
            q="Wang",
        )
    assert isinstance(answer, OrderPage)
    assert all(isinstance(o, Order) for o in answer.items)
    assert [o.id for o in answer.items] == [1, 2]
    assert answer.items[1].late is True
    assert answer.items[0].status is OrderState.PAID
    assert answer.items[0].promised_at == NOW + timedelta(minutes=45)
    assert answer.next_cursor == "c-2"

    request = server.requests[0]
    assert (request.method, request.url.path) == ("GET", "/api/v1/orders")
    params = request.url.params
    assert params.get_list("status") == ["PAID", "PICKING"]
    assert params["late"] == "true"
    assert params["limit"] == "50"
    assert params["warehouse_id"] == "WH-CY"
    assert params["q"] == "Wang"
    assert "cursor" not in params


async def test_orders_without_filters_send_only_the_limit() -> None:
    server = Server(ok({"items": [], "next_cursor": None}))
    async with client_for(server) as client:
        await client.orders.page()
    assert dict(server.requests[0].url.params) == {"limit": "100"}


async def test_all_orders_follows_next_cursor_across_pages() -> None:
    pages = {
        None: {"items": [order_json(1), order_json(2)], "next_cursor": "p2"},
        "p2": {"items": [order_json(3)], "next_cursor": "p3"},
        "p3": {"items": [order_json(4)], "next_cursor": None},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return ok(pages[request.url.params.get("cursor")])

    server = Server(answer)
    async with client_for(server) as client:
        ids = [o.id async for o in client.orders.every(status=[OrderState.PAID], limit=2)]
    assert ids == [1, 2, 3, 4]
    assert [r.url.params.get("cursor") for r in server.requests] == [None, "p2", "p3"]
    for request in server.requests:
        assert request.url.params.get_list("status") == ["PAID"]
        assert request.url.params["limit"] == "2"


async def test_order_timeline_and_events_parse_into_models() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/orders/5":
            return ok(order_json(5, status=OrderState.PICKING, version=3))
        if path == "/api/v1/orders/5/timeline":
            return ok([event_json(10, order_id=5), event_json(11, order_id=5, kind="x")])
        if path == "/api/v1/events":
            return ok({"events": [event_json(12)], "last_seq": 14})
        return error(404)

    server = Server(answer)
    async with client_for(server) as client:
        order = await client.orders.get(5)
        timeline = await client.orders.timeline(5)
        batch = await client.events(9, [Topic.ORDERS, "riders"], wait=5, zone="chaoyang")

    assert isinstance(order, Order)
    assert (order.id, order.status, order.version) == (5, OrderState.PICKING, 3)
    assert all(isinstance(e, Event) for e in timeline)
    assert [e.seq for e in timeline] == [10, 11]
    assert timeline[0].at == NOW and timeline[0].payload == {"version": 2}
    assert isinstance(batch, EventBatch)
    assert [e.seq for e in batch.events] == [12]
    assert batch.last_seq == 14 and batch.snapshot_required is False

    params = server.requests[2].url.params
    assert params["since"] == "9"
    assert params.get_list("topics") == ["orders", "riders"]
    assert float(params["wait"]) == 5
    assert params["zone"] == "chaoyang"
    assert "warehouse_id" not in params


async def test_a_post_sends_its_model_as_json_without_nulls() -> None:
    server = Server(ok(order_json(1)))
    async with client_for(server) as client:
        await client.orders.transition(1, "start_picking", 2)
        await client.orders.transition(1, "cancel", 3, reason="customer called")
    first, second = (json.loads(r.content) for r in server.requests)
    assert first == {"action": "start_picking", "version": 2}
    assert second == {"action": "cancel", "version": 3, "reason": "customer called"}
    assert server.requests[0].headers["Content-Type"] == "application/json"
    assert server.requests[0].url.path == "/api/v1/orders/1/transitions"


async def test_the_server_url_may_end_with_a_slash() -> None:
    server = Server(ok(HEALTHY))
    async with FreshlineClient(
        SERVER + "/", transport=httpx.MockTransport(server), sleep=FakeSleep()
    ) as client:
        await client.health()
    assert str(server.requests[0].url) == f"{SERVER}/api/v1/health"


# --- the real app, in-process -------------------------------------------------------------------


async def test_against_the_real_app(database_url: str) -> None:
    clock = ManualClock()
    sleeps = FakeSleep()
    app = create_app(support.settings_for(database_url), clock=clock)
    async with LifespanManager(
        app, startup_timeout=STARTUP_S, shutdown_timeout=STARTUP_S
    ) as manager:

        def connect() -> FreshlineClient:
            transport = httpx.ASGITransport(app=manager.app)
            return FreshlineClient("http://testserver", transport=transport, sleep=sleeps)

        async with connect() as dispatcher, connect() as channel:
            signed_in = await dispatcher.login("dispatcher", "demo-dispatcher")
            assert signed_in.role is Role.DISPATCHER
            assert (await dispatcher.me()).username == "dispatcher"
            before = await dispatcher.orders.page()
            assert isinstance(before, OrderPage)

            await channel.login("channel-app", "demo-channel-app")
            created = await channel.orders.create(
                new_order("CLIENT-IDEM-1"), idempotency_key="client-test-key-1"
            )
            replayed = await channel.orders.create(
                new_order("CLIENT-IDEM-1"), idempotency_key="client-test-key-1"
            )
            assert replayed.id == created.id
            assert created.status is OrderState.CREATED and created.version == 1
            assert created.channel is Channel.APP

            mine = [o async for o in dispatcher.orders.every(q="CLIENT-IDEM-1", limit=1)]
            assert [o.id for o in mine] == [created.id]
            listed = await dispatcher.orders.page(status=[OrderState.CREATED])
            assert created.id in [o.id for o in listed.items]

            paid = await channel.orders.transition(created.id, "pay", created.version)
            assert paid.status is OrderState.PAID and paid.version == 2

            with pytest.raises(Conflict) as caught:
                await dispatcher.orders.transition(
                    created.id, "cancel", created.version, reason="customer called"
                )
            assert caught.value.status == 409
            assert caught.value.current_version == 2
            assert caught.value.changed_by == "channel-app"

            timeline = await dispatcher.orders.timeline(created.id)
            assert [e.to_state for e in timeline] == ["CREATED", "PAID"]

            with pytest.raises(NotFound):
                await dispatcher.orders.get(2**31 - 1)

            old_token = dispatcher.token
            await dispatcher.logout()
            assert dispatcher.token is None
            dispatcher.token = old_token
            with pytest.raises(NotAuthenticated):
                await dispatcher.me()

    assert sleeps.delays == []


# --- Answers the client cannot trust ------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
async def test_an_unreadable_retry_after_never_means_wait_forever(value: str) -> None:
    server = Server(error(429, **{"Retry-After": value}))
    async with client_for(server, retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.orders.page()
    assert caught.value.retry_after == 1.0


async def test_a_huge_retry_after_is_capped_at_five_minutes() -> None:
    server = Server(error(429, **{"Retry-After": "86400"}))
    async with client_for(server, retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.orders.page()
    assert caught.value.retry_after == 300.0


async def test_a_success_that_breaks_the_contract_is_an_unexpected_answer() -> None:
    server = Server(ok({"items": "not a list"}))
    async with client_for(server) as client:
        with pytest.raises(UnexpectedAnswer):
            await client.orders.page()
    assert len(server.requests) == 1


async def test_logout_forgets_the_token_even_when_the_server_refused_it() -> None:
    server = Server(error(401, {"detail": "token was revoked; sign in again"}))
    async with client_for(server, token="old-token") as client:
        with pytest.raises(NotAuthenticated):
            await client.logout()
        assert client.token is None


async def test_a_refused_login_is_never_retried() -> None:
    server = Server(error(429, {"detail": "too many failed logins"}, **{"Retry-After": "60"}))
    sleep = FakeSleep()
    async with client_for(server, sleep) as client:
        with pytest.raises(RateLimited):
            await client.login("dispatcher", "wrong")
    assert len(server.requests) == 1
    assert sleep.delays == []
