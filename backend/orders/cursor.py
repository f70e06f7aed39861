"""Opaque cursors for the urgency-ordered order list (keyset pagination)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from backend.errors import Unprocessable
from backend_client.models.common import EARLIEST, LATEST


def encode_cursor(open_rank: int, promised_at: datetime, order_id: int) -> str:
    raw = json.dumps([open_rank, promised_at.isoformat(), order_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    """The position a cursor points after, or 422 if it was not made by `encode_cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        rank, promised, order_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(promised)
        # `type(...) is int` on purpose: JSON true/false would pass isinstance(..., int).
        valid = (
            type(rank) is int
            and rank in (0, 1)
            and type(order_id) is int
            and 1 <= order_id < 2**31
            and when.tzinfo is not None
            and EARLIEST <= when < LATEST
        )
        if not valid:
            raise ValueError(cursor)
        return rank, when.astimezone(UTC), order_id
    except (ValueError, TypeError, OverflowError) as exc:
        raise Unprocessable("invalid cursor; use next_cursor from the previous page") from exc
