"""How a sales channel signs what it sends to `/api/v1/channels/{channel}/...`.

The signature is HMAC-SHA256, keyed with the channel's secret, over the timestamp, a dot and
the raw body: `hex(HMAC(secret, f"{timestamp}." + body))`, sent as `sha256=<hex>` in
`X-Channel-Signature` with the Unix time in `X-Channel-Timestamp`. The timestamp is signed too,
so an old request cannot be passed off as new. No Textual or Rich here: the backend verifies
with the same function the simulator signs with.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Channel-Signature"
TIMESTAMP_HEADER = "X-Channel-Timestamp"
WEBHOOK_SIGNATURE_HEADER = "X-Freshline-Signature"
WEBHOOK_TIMESTAMP_HEADER = "X-Freshline-Timestamp"
"""Outbound webhooks sign the same way, under these names and the subscription's secret."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of the timestamp and body under the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    """The headers that sign `body` now (or at the Unix time `at`)."""
    timestamp = int(time.time() if at is None else at)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def matches(secret: str, timestamp: int, body: bytes, claimed: str) -> bool:
    """Whether `claimed` is the signature of the body at that timestamp (constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), claimed.strip())
