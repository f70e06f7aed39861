"""Outbound webhooks: subscriptions to kinds of events, and what each delivery carries.

A subscription names the kinds it wants (`order.*`, `alert.*`, `return.*`, or one kind such
as `order.transition`), at most one scope (a sales channel or a warehouse) and an http(s) URL.
The backend posts each matching event of the log to it, one at a time, in `seq` order, signed
with the subscription's own secret (`backend_client/signing.py`: `X-Freshline-Signature` over
`X-Freshline-Timestamp` and the body), one request at a time, each carrying the events waiting
(`WebhookBatch`). `docs/webhooks.md` has the whole contract.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from backend_client.models.common import ByValue, Channel, Code, Request, Response, text
from backend_client.models.orders import Event

FAMILIES = {"order": "order", "alert": "alert", "return": "request"}
"""Each kind family a subscription may name, and the prefix of its events in the log (returns
and claims are logged as `request.*`)."""
KIND_PATTERN = r"^(order|alert|return)\.(\*|[a-z][a-z_]{0,30})$"
URL_MAX = 2000


class WebhookState(StrEnum):
    """Whether a subscription is being delivered."""

    ACTIVE = "active"
    PARKED = "parked"
    """Stopped after too many failures in a row; resumed or replayed by an admin."""


def _webhook_url(value: str) -> str:
    """An absolute http(s) URL with a host and no user name or password in it."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("the URL may not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port out of range
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("the URL may not carry a user name or password (the secret signs)")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if port == 0:
        raise ValueError("port 0 is not a port to deliver to")
    if parts.fragment:
        raise ValueError("the URL may not have a #fragment (it is never sent)")
    return value


WebhookUrl = Annotated[
    str,
    text(URL_MAX),
    AfterValidator(_webhook_url),
    Field(examples=["https://hooks.example.com/freshline"]),
]
WebhookKind = Annotated[
    str,
    Field(pattern=KIND_PATTERN, examples=["order.*", "return.*", "alert.opened"]),
]


class WebhookCreate(Request):
    """A new subscription: where to, which kinds, and at most one scope."""

    url: WebhookUrl
    kinds: list[WebhookKind] = Field(min_length=1, max_length=20)
    """Kinds of events to deliver: a family (`order.*`) or one kind (`order.transition`)."""
    channel: Annotated[Channel, ByValue] | None = None
    """Only orders (and their returns) of this sales channel."""
    warehouse_id: Code | None = None
    """Only events of this warehouse."""
    description: Annotated[str, text(200)] | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> WebhookCreate:
        if self.channel is not None and self.warehouse_id is not None:
            raise ValueError("scope by a channel or by a warehouse, not both")
        if self.channel is not None and any(k.startswith("alert.") for k in self.kinds):
            # Alerts belong to warehouses, riders and orders, never to a channel.
            raise ValueError("alerts have no channel: scope by warehouse, or drop alert.*")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError("a kind is named twice")
        return self


class WebhookReplay(Request):
    """Deliver again from this `seq` on (what was delivered after it is delivered again)."""

    from_seq: int = Field(ge=1, le=2**62)


class Webhook(Response):
    """A subscription, how far it has got and how it is doing."""

    id: int
    url: str
    kinds: list[str]
    channel: str | None
    warehouse_id: str | None
    description: str | None
    state: WebhookState
    cursor: int
    """The last `seq` delivered (or passed over as not matching)."""
    head_seq: int
    """The newest `seq` of the event log when this was read."""
    lag: int
    """`head_seq - cursor`: events of the log not yet looked at."""
    failures: int
    """Failed attempts in a row (0 once one succeeds)."""
    last_error: str | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None
    created_at: datetime
    created_by: str


class WebhookCreated(Webhook):
    """The new subscription with its signing secret: shown this once, never again."""

    secret: str


class WebhookDelivery(Response):
    """One event delivered."""

    id: str
    """`<subscription>.<seq>`: the same on every retry, so a receiver can drop a repeat."""
    seq: int
    event: Event
    """The event as a sales channel or merchant sees it (no staff names, no addresses; phones
    only as the log keeps them, their last digits)."""


class WebhookBatch(Response):
    """The body of one request (POSTed as JSON): the deliveries waiting, oldest first; one
    while the endpoint keeps up, more while it catches up."""

    subscription_id: int
    deliveries: list[WebhookDelivery]


def event_prefixes(kinds: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(whole families as log prefixes like `order.`, single log kinds like `request.opened`)."""
    families: set[str] = set()
    single: set[str] = set()
    for kind in kinds:
        match = re.match(KIND_PATTERN, kind)
        if match is None:
            continue
        prefix = FAMILIES[match.group(1)]
        if match.group(2) == "*":
            families.add(prefix + ".")
        else:
            single.add(f"{prefix}.{match.group(2)}")
    return frozenset(families), frozenset(single)
