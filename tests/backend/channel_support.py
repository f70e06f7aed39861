"""Sending channel payloads to the real app, signed as each platform signs them."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import httpx

from backend.channels.examples import CALLBACKS, ORDERS
from backend_client.demo import demo_channel_secret
from backend_client.signing import signed_headers
from tests.support import Api

CHANNELS = ("app", "mini_program", "meituan", "eleme", "store", "group_buy")


def sample_order(channel: str) -> dict[str, Any]:
    """A fresh copy of the channel's sample order (backend/channels/examples.py)."""
    return copy.deepcopy(ORDERS[channel])


def sample_callback(channel: str) -> dict[str, Any]:
    return copy.deepcopy(CALLBACKS[channel])


def body_of(payload: dict[str, Any] | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return json.dumps(payload, ensure_ascii=False).encode()


async def send(
    api: Api,
    channel: str,
    what: str,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    at: float | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST the payload to /channels/{channel}/{what} (orders or callbacks), signed."""
    body = body_of(payload)
    signing = signed_headers(secret or demo_channel_secret(channel), body, at=at or time.time())
    return await api.client.post(
        f"/api/v1/channels/{channel}/{what}", content=body, headers={**signing, **(headers or {})}
    )


def with_message(push: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An Ele.me push with fields of its JSON-string `message` changed."""
    message = json.loads(push["message"])
    message.update(changes)
    return {**push, "message": json.dumps(message, ensure_ascii=False)}
