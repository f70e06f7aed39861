"""Shared by the webhook tests: fast retry settings, subscribing, and reading the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from backend_client.signing import matches
from tests.support import Api

FAST = {
    "webhook_tick_seconds": 0.05,
    "webhook_backoff_seconds": 0.02,
    "webhook_backoff_cap_seconds": 0.2,
    "webhook_max_failures": 3,
    "webhook_lease_seconds": 2.0,
    "webhook_poll_seconds": 0.5,
}
"""Retries, ticks and leases short enough for a test; the rules are the production ones."""


async def subscribe(api: Api, url: str, kinds: list[str], **scope: Any) -> dict[str, Any]:
    response = await api.post("admin", "/webhooks", json={"url": url, "kinds": kinds, **scope})
    assert response.status_code == 201, response.text
    return response.json()


async def logged(api: Api, after: int) -> list[dict[str, Any]]:
    """The log's events after `after`, oldest first, as the wire has them."""
    feed = api.app.state.runtime.feed
    await feed.catch_up()
    return [item.event for item in await feed.read(after, 2**62, 100_000)]


async def logged_seqs(api: Api, after: int, wanted: Callable[[dict[str, Any]], bool]) -> list[int]:
    """The seqs of the log's events after `after` that `wanted` picks, in order."""
    return [event["seq"] for event in await logged(api, after) if wanted(event)]


def verified(records: list[dict[str, Any]], secret: str) -> list[dict[str, Any]]:
    """The deliveries accepted, each from its request's body checked against the request's
    signature under `secret`."""
    deliveries = []
    for record in records:
        body = record["body"].encode()
        assert matches(secret, int(record["timestamp"]), body, record["signature"]), record
        batch = json.loads(body)
        deliveries += [d | {"subscription_id": batch["subscription_id"]}
                       for d in batch["deliveries"] if d["id"] == record["id"]]  # fmt: skip
    return deliveries
