"""One request on the wire: the body, its signature and the POST.

A request carries the deliveries waiting for one subscription, in `seq` order (up to
`webhook_batch_max`): one event when the endpoint keeps up, a batch while it catches up, so a
distant endpoint is not held to one event per round trip. Each delivery is the event as an
outside account sees it (the feed's `redacted_body`: no staff names, no client addresses;
phones only as the log keeps them) with its id and `seq`, built by joining texts so an event is
serialised once for every subscription. The signature is the inbound channels' scheme
(`backend_client/signing.py`) under the subscription's own secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from backend_client.signing import (
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    signature,
)

COUNT_HEADER = "X-Freshline-Deliveries"
USER_AGENT = "Freshline-Webhooks/1"
ERROR_MAX = 500


def delivery_id(subscription_id: int, seq: int) -> str:
    """The same on every attempt of this event to this subscription."""
    return f"{subscription_id}.{seq}"


def delivery_body(subscription_id: int, events: list[tuple[int, str]]) -> bytes:
    """The JSON body (`backend_client.models.WebhookBatch`) of `(seq, redacted event)` pairs."""
    deliveries = ",".join(
        f'{{"id":"{delivery_id(subscription_id, seq)}","seq":{seq},"event":{event}}}'
        for seq, event in events
    )
    return f'{{"subscription_id":{subscription_id},"deliveries":[{deliveries}]}}'.encode()


def signed(secret: str, body: bytes, at: float) -> dict[str, str]:
    """The signature headers of `body` at Unix time `at`."""
    timestamp = int(at)
    return {
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: delivered (a 2xx) or the reason it was not."""

    delivered: bool
    error: str | None = None


class Poster:
    """Posts deliveries over one pooled HTTP client (never following redirects: a receiver
    that moved says so by failing, not by sending our signed events elsewhere)."""

    def __init__(
        self,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )
        self._wall = wall

    async def post(
        self, url: str, secret: str, subscription_id: int, events: list[tuple[int, str]]
    ) -> Outcome:
        """Post `(seq, redacted event)` pairs, oldest first, as one signed request."""
        body = delivery_body(subscription_id, events)
        headers = {
            "Content-Type": "application/json",
            COUNT_HEADER: str(len(events)),
            **signed(secret, body, self._wall()),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(False, _short(f"{type(exc).__name__}: {exc}"))
        if 200 <= response.status_code < 300:
            return Outcome(True)
        return Outcome(False, _short(f"HTTP {response.status_code}: {response.text[:200]}"))

    async def aclose(self) -> None:
        await self._http.aclose()


def _short(text: str) -> str:
    return " ".join(text.split())[:ERROR_MAX] or "failed"
