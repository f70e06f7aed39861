"""Notifier plug-ins: how a queued message reaches the customer.

`http` POSTs it to a gateway (the SMS and WeChat providers sit behind one) as signed JSON with
an idempotency key; `log` writes it to the service log (the demo's default). Both see the
customer's phone only for as long as `send` runs, and neither logs it whole.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from backend_client.phones import mask_phone
from backend_client.signing import signed_headers

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""Client errors that may pass on their own; any other 4xx will not, and the row is parked."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message on its way: the row's id is its idempotency key."""

    id: int
    order_id: int
    reference: str
    rule: str
    text: str
    phone: str
    created_at: datetime

    def idempotency_key(self) -> str:
        return f"notification-{self.id}"


class NotifierError(Exception):
    """This attempt failed; a later one may not (a timeout, a 5xx, a refused connection)."""


class NotifierRefused(NotifierError):
    """The notifier will never take this message (a 4xx): retrying is pointless."""


class Notifier(Protocol):
    """Sends one message, or raises `NotifierError`."""

    name: str

    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


class LogNotifier:
    """Writes each message to the service log, the phone masked: the demo's notifier."""

    name = "log"

    async def send(self, message: Outgoing) -> None:
        log.info(
            "notification %d (%s) for order %s to %s: %s",
            message.id,
            message.rule,
            message.reference,
            mask_phone(message.phone),
            message.text,
        )

    async def close(self) -> None:
        return None


class HttpNotifier:
    """POSTs each message as JSON to a gateway, signed with the shared secret the way sales
    channels sign what they send us (`backend_client/signing.py`), with `Idempotency-Key` (the
    row's id, so a gateway drops a repeat after a lost answer)."""

    name = "http"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url, self._secret = url, secret
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    def body(self, message: Outgoing) -> bytes:
        """The JSON the gateway receives."""
        return json.dumps(
            {
                "id": message.id,
                "idempotency_key": message.idempotency_key(),
                "order": message.reference,
                "rule": message.rule,
                "text": message.text,
                "to": message.phone,
                "created_at": message.created_at.isoformat(),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

    async def send(self, message: Outgoing) -> None:
        body = self.body(message)
        headers = {
            **signed_headers(self._secret, body),
            IDEMPOTENCY_HEADER: message.idempotency_key(),
        }
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # The exception's text can carry the URL, never the body: safe to keep.
            raise NotifierError(f"{type(exc).__name__}: {exc}"[:300]) from None
        status = response.status_code
        if status < 300:
            return
        if 400 <= status < 500 and status not in RETRYABLE_STATUSES:
            raise NotifierRefused(f"the gateway refused it: HTTP {status}")
        raise NotifierError(f"the gateway answered HTTP {status}")

    async def close(self) -> None:
        await self._client.aclose()
