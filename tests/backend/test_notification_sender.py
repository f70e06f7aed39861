"""Sending customer notifications: each queued message reaches the notifier once, in order per
order, across failures (the shared backoff, on an injected clock), a sender that died holding a
claim, and two senders side by side; parked after too many failures and visible to the desk;
the HTTP gateway's request signed with an idempotency key; nothing personal in the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from backend.notifications.notifiers import (
    IDEMPOTENCY_HEADER,
    HttpNotifier,
    LogNotifier,
    NotifierError,
    NotifierRefused,
    Outgoing,
)
from backend.notifications.sender import Attempts, NotificationSender
from backend.notifications.setup import notifier_for
from backend.outbound.backoff import Backoff
from backend.settings import Settings
from backend.tracking.tokens import token_of, url_of
from backend_client import FreshlineClient
from backend_client.models import NotificationStatus
from backend_client.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, matches
from tests.backend.notify_support import RecordingNotifier, evaluate, rows
from tests.backend.test_eta_and_geofences import delivering, north
from tests.support import Api

BACKOFF = Backoff(base_seconds=10, cap_seconds=60)


def sender_of(api: Api, notifier: Any, *, max_attempts: int = 5) -> NotificationSender:
    attempts = Attempts(backoff=BACKOFF, max_attempts=max_attempts, lease=timedelta(seconds=60))
    runtime = api.app.state.runtime
    return NotificationSender(runtime.db, api.clock, notifier, attempts, rng=random.Random(7))


async def queued_orders(api: Api, n: int) -> list[dict[str, Any]]:
    """`n` orders each with two messages queued: the exception, then the signature."""
    await api.rider_online(1)
    orders = []
    for i in range(n):
        order = await delivering(api, 1, promise_minutes=60, to=north(1000), phone=f"1391111500{i}")
        stopped = await api.act("rider-1", order, "report_exception", reason="flat tyre")
        assert await evaluate(api, [order["id"]]) == 1
        resumed = await api.act("dispatcher", stopped, "resume", reason="fixed")
        await api.act("rider-1", resumed, "sign")
        assert await evaluate(api, [order["id"]]) == 1
        orders.append(order)
    return orders


async def test_failures_back_off_and_every_message_goes_out_once_in_order(api: Api) -> None:
    orders = await queued_orders(api, 2)
    notifier = RecordingNotifier(failures=3)
    sender = sender_of(api, notifier)
    # The first pass: the first message of each order only (the second waits for it).
    assert await sender.send_due() == 2
    assert notifier.taken == []
    first = await rows(api)
    assert {r.attempts for r in first if r.rule == "exception"} == {1}
    assert all(r.status == "pending" for r in first)
    assert await sender.send_due() == 0  # not due again yet: the backoff holds them
    assert sender.lag_seconds() == 0.0  # the last pass found nothing due
    api.clock.advance(seconds=BACKOFF.cap_seconds)
    assert await sender.send_due() > 0
    # The lag is how long the oldest message taken had waited: queued before the advance.
    assert sender.lag_seconds() >= BACKOFF.cap_seconds
    while await _pending(api):
        api.clock.advance(seconds=BACKOFF.cap_seconds)
        await sender.send_due()
    taken = [(m.order_id, m.rule) for m in notifier.taken]
    assert sorted(taken) == sorted((o["id"], r) for o in orders for r in ("exception", "signed"))
    for order in orders:  # in the order they were decided, per order
        assert [r for o, r in taken if o == order["id"]] == ["exception", "signed"]
    sent = await rows(api)
    assert all(r.status == "sent" and r.sent_at is not None for r in sent)
    assert all(r.notifier == "test" for r in sent)
    # Nothing goes out again, from this sender or a restarted one.
    api.clock.advance(hours=1)
    assert await sender.send_due() == 0
    assert await sender_of(api, notifier).send_due() == 0
    assert len(notifier.taken) == 4
    # What the notifier was given: the customer's phone, to send to.
    assert {m.phone for m in notifier.taken} == {"13911115000", "13911115001"}


async def test_a_claim_left_by_a_dead_sender_runs_out_and_the_row_goes_once(api: Api) -> None:
    [order] = await queued_orders(api, 1)
    dead = sender_of(api, RecordingNotifier())
    now = api.clock.now()
    claimed = await api.app.state.runtime.db.write(lambda s: dead._claim(s, now))
    assert len(claimed) == 1  # claimed, then the instance died before sending
    notifier = RecordingNotifier()
    alive = sender_of(api, notifier)
    assert await alive.send_due() == 0  # the claim holds
    api.clock.advance(seconds=61)
    while await _pending(api):
        await alive.send_due()
    # The dead sender's late word on its claim changes nothing.
    [message] = claimed
    assert isinstance(message, Outgoing)
    await dead._settle(message.id, failed=True, error="late", park=True)
    assert [(m.order_id, m.rule) for m in notifier.taken] == [
        (order["id"], "exception"),
        (order["id"], "signed"),
    ]
    assert all(r.status == "sent" for r in await rows(api))


async def test_two_senders_side_by_side_send_each_message_once(api: Api) -> None:
    orders = await queued_orders(api, 3)
    one, two = RecordingNotifier(), RecordingNotifier()
    senders = [sender_of(api, one), sender_of(api, two)]
    while await _pending(api):
        await asyncio.gather(*(s.send_due() for s in senders))
    taken = [(m.id, m.order_id, m.rule) for m in one.taken + two.taken]
    assert len(taken) == len({t[0] for t in taken}) == 2 * len(orders)


async def test_parked_after_too_many_failures_or_a_refusal_and_shown_to_the_desk(
    api: Api,
) -> None:
    failing, refused = await queued_orders(api, 2)
    notifier = RecordingNotifier(failures=1000)
    notifier.refuse.add(refused["id"])
    sender = sender_of(api, notifier, max_attempts=3)
    for _ in range(6):
        await sender.send_due()
        api.clock.advance(seconds=BACKOFF.cap_seconds)
    failed_rows = await rows(api, failing["id"])
    # Parked, the next one of the order went on (and failed the same way).
    assert [(r.rule, r.status, r.attempts) for r in failed_rows] == [
        ("exception", "parked", 3),
        ("signed", "parked", 3),
    ]
    assert [(r.status, r.attempts) for r in await rows(api, refused["id"])] == [
        ("parked", 1),
        ("parked", 1),
    ]

    response = await api.get("support", "/notifications", params={"order_id": failing["id"]})
    assert response.status_code == 200, response.text
    [exception, signed] = response.json()
    assert (signed["rule"], signed["status"]) == ("signed", "parked")
    assert (exception["rule"], exception["status"], exception["attempts"]) == (
        "exception",
        "parked",
        3,
    )
    assert exception["last_error"] == "gateway down" and exception["sent_at"] is None
    assert failing["external_id"] in exception["message"]
    parked = await api.get("dispatcher", "/notifications", params={"status": "parked"})
    assert len(parked.json()) == 4
    # The same through the client, as the desk's console would read it.
    async with FreshlineClient(
        "http://testserver",
        token=await api.token("support"),
        transport=httpx.ASGITransport(app=api.app),
    ) as client:
        mine = await client.notifications.all(order_id=refused["id"])
        assert [(n.rule, n.status) for n in mine] == [
            ("exception", NotificationStatus.PARKED),
            ("signed", NotificationStatus.PARKED),
        ]
        assert mine[0].last_error == "HTTP 400"
    assert (await api.get("viewer", "/notifications")).status_code == 403
    assert (await api.get("rider-1", "/notifications")).status_code == 403
    unknown = await api.get("dispatcher", "/notifications", params={"order_id": 999_999})
    assert unknown.status_code == 404
    for bad in ({"order_id": "x"}, {"order_id": 0}, {"status": "lost"}, {"limit": 0}):
        assert (await api.get("dispatcher", "/notifications", params=bad)).status_code == 422


async def _pending(api: Api) -> bool:
    return any(r.status == "pending" for r in await rows(api))


# --- The notifiers ------------------------------------------------------------------------------

MESSAGE = Outgoing(
    id=42,
    order_id=7,
    reference="MT-0042",
    rule="signed",
    text="Your order MT-0042 was delivered. Thank you!",
    phone="13800137474",
    created_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
)


async def test_the_http_notifier_posts_signed_json_with_an_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    notifier = HttpNotifier(
        "http://gateway.test/sms", "s3cret", transport=httpx.MockTransport(gateway)
    )
    await notifier.send(MESSAGE)
    await notifier.close()
    [request] = seen
    body = request.content
    assert request.headers[IDEMPOTENCY_HEADER] == "notification-42"
    stamp = int(request.headers[TIMESTAMP_HEADER])
    assert matches("s3cret", stamp, body, request.headers[SIGNATURE_HEADER])
    assert not matches("other", stamp, body, request.headers[SIGNATURE_HEADER])
    assert json.loads(body) == {
        "id": 42,
        "idempotency_key": "notification-42",
        "order": "MT-0042",
        "rule": "signed",
        "text": MESSAGE.text,
        "to": "13800137474",
        "created_at": "2026-11-22T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (500, NotifierError),
        (503, NotifierError),
        (429, NotifierError),
        (400, NotifierRefused),
        (404, NotifierRefused),
    ],
)
async def test_the_http_notifier_tells_a_retry_from_a_refusal(
    answer: int, error: type[Exception]
) -> None:
    notifier = HttpNotifier(
        "http://gateway.test/sms",
        "s3cret",
        transport=httpx.MockTransport(lambda r: httpx.Response(answer)),
    )
    with pytest.raises(error) as raised:
        await notifier.send(MESSAGE)
    assert type(raised.value) is error
    await notifier.close()


async def test_an_unreachable_gateway_is_a_failure_to_retry() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    notifier = HttpNotifier("http://gateway.test/sms", "s", transport=httpx.MockTransport(down))
    with pytest.raises(NotifierError) as raised:
        await notifier.send(MESSAGE)
    assert not isinstance(raised.value, NotifierRefused)
    await notifier.close()


async def test_the_log_notifier_never_logs_the_phone_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="backend.notifications.notifiers"):
        await LogNotifier().send(MESSAGE)
    assert "MT-0042" in caplog.text and "138****7474" in caplog.text
    assert "13800137474" not in caplog.text


def test_the_http_notifier_needs_its_gateway_and_secret() -> None:
    base = {"database_url": "sqlite+aiosqlite:///unused.db"}
    with pytest.raises(ValidationError, match="notify_url and notify_secret"):
        Settings(**base, notifier="http", notify_url="http://127.0.0.1:9/notify")
    with pytest.raises(ValidationError, match="notify_url"):
        Settings(**base, notifier="http", notify_url="ftp://x", notify_secret="s")
    chosen = Settings(**base, notifier="http", notify_url="http://127.0.0.1:9/n", notify_secret="s")
    assert isinstance(notifier_for(chosen), HttpNotifier)
    assert isinstance(notifier_for(Settings(**base)), LogNotifier)


async def test_the_tracking_link_goes_into_the_message_as_it_is_sent_never_into_the_row(
    api: Api,
) -> None:
    orders = await queued_orders(api, 1)
    notifier = RecordingNotifier()
    attempts = Attempts(backoff=BACKOFF, max_attempts=5, lease=timedelta(seconds=60))
    runtime = api.app.state.runtime
    sender = NotificationSender(
        runtime.db,
        api.clock,
        notifier,
        attempts,
        link_of=partial(url_of, base="https://track.example"),
    )
    assert await sender.send_due() == 1  # the exception's message
    async with runtime.db.read() as session:
        token = await token_of(session, orders[0]["id"])
    assert token is not None
    sent = notifier.taken[0]
    assert f"https://track.example/t/{token}" in sent.text
    stored = {r.rule: r.message for r in await rows(api)}
    assert "{tracking_url}" in stored["exception"]  # filled only on the way out
    assert token not in stored["exception"]
