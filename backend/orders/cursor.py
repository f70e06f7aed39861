"""Opaque cursors for the urgency-ordered order list (keyset pagination)."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from backend.errors import Unprocessable


def encode_cursor(open_rank: int, promised_at: datetime, order_id: int) -> str:
    raw = json.dumps([open_rank, promised_at.isoformat(), order_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    """The position a cursor points after, or 422 if it was not made by `encode_cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        rank, promised, order_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(promised)
        if not (isinstance(rank, int) and isinstance(order_id, int)) or when.tzinfo is None:
            raise ValueError
        return rank, when, order_id
    except (ValueError, TypeError) as exc:
        raise Unprocessable("invalid cursor; use next_cursor from the previous page") from exc
