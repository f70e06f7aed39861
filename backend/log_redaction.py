"""What the backend's logs may not hold: search terms, phone suffixes, anything a client typed.

uvicorn writes every request's path with its query string to the access log (and a stream's
handshake to its error log): `GET /api/v1/orders?q=7474` would keep the phone suffix a desk
searched for in a file that outlives the search. `QueryRedaction` rewrites such a path before
any handler sees the record: the values of the query parameters named in `LOGGED_PARAMETERS`
(states, ids, times, limits: nothing a person typed about a person) stay, every other value
(`q`, and whole: a parameter added tomorrow, anything a client made up) becomes `***`, the
names the API knows kept, so the line still says what was asked.

Our own loggers log no request bodies or query values; SQLAlchemy is told to leave statement
parameters out of its errors (`backend/db.py`, `hide_parameters`), so a logged database error
carries the statement, never the phone it was writing.
"""

from __future__ import annotations

import logging
from typing import TypeGuard
from urllib.parse import parse_qsl, quote

REDACTED = "***"

LOGGED_PARAMETERS = frozenset(
    {
        "bucket_minutes",
        "channel",
        "cursor",
        "day",
        "end",
        "format",
        "hours",
        "kind",
        "late",
        "lead_hours",
        "limit",
        "order_id",
        "review_hours",
        "rider_id",
        "rule",
        "service_level",
        "severity",
        "since",
        "start",
        "state",
        "status",
        "topics",
        "tz",
        "until",
        "updated_since",
        "wait",
        "warehouse_id",
        "weeks",
        "what_if",
        "zone",
    }
)
"""Query parameters whose values may be logged; every other value is replaced by `***`."""

REDACTED_PARAMETERS = frozenset({"q"})
"""The API's query parameters whose values never reach a log: free text that names people
(`q` searches by customer name and phone suffix)."""

LOGGERS = ("uvicorn.access", "uvicorn.error")
"""Where uvicorn writes request paths: the access log, and the stream's handshakes."""


def redact_path(path: str) -> str:
    """`/api/v1/orders?q=7474&late=true` -> `/api/v1/orders?q=***&late=true`."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    return f"{base}?{'&'.join(_pair(n, v) for n, v in parse_qsl(query, keep_blank_values=True))}"


def _pair(name: str, value: str) -> str:
    if name in LOGGED_PARAMETERS:
        return f"{name}={quote(value, safe=':,')}"
    if name in REDACTED_PARAMETERS:
        return f"{name}={REDACTED}"
    return REDACTED  # a name we do not know may itself be what someone typed


class QueryRedaction(logging.Filter):
    """Rewrites the request paths in uvicorn's records (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(_is_path(a) for a in args):
            record.args = tuple(redact_path(a) if _is_path(a) else a for a in args)
        return True


def _is_path(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith("/") and "?" in value


def install() -> None:
    """Puts the filter on uvicorn's loggers, once however many apps a process creates."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryRedaction) for f in logger.filters):
            logger.addFilter(QueryRedaction())
