"""Tracking tokens: minted with the order, found by their keyed hash, dead some hours after the
order ends.

A token is 24 random bytes from `secrets` (192 bits), URL-safe base64: unguessable, and alone
in naming its order. The database keeps it encrypted (staff can be shown it again) and finds it
by its blind index, never by the plain value. An unknown token and one past its order's final
state plus `tracking_ttl_hours_after_final` get the same answer (`NotFound`, one message), so a
caller cannot tell one that once worked from one that never did.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, allowed
from backend.auth.principal import Principal
from backend.crypto.cipher import active
from backend.errors import NotFound
from backend.settings import Settings
from backend.sql import Query, sql_of, when
from backend_client.models import Order

TOKEN_BYTES = 24
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")
"""What `secrets.token_urlsafe(24)` gives: anything else is not worth a database look-up."""
NO_SUCH_LINK = "no such tracking link, or it has expired"
INDEX_KIND = "tracking-token"

INSERT = Query(
    "INSERT INTO tracking_links (order_id, token, token_index, created_at) "
    "VALUES (:order_id, :token, :token_index, :created_at)"
)
FIND = Query(
    "SELECT t.order_id, o.status, o.signed_at, o.returned_at, o.claim_settled_at, "
    "o.cancelled_at FROM tracking_links t JOIN orders o ON o.id = t.order_id "
    "WHERE t.token_index = :token_index"
)
TOKEN_OF = Query("SELECT token FROM tracking_links WHERE order_id = :order_id")
FINAL = frozenset({"SIGNED", "RETURNED", "CLAIM_SETTLED", "CANCELLED"})


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_index(token: str) -> str:
    return active().blind(INDEX_KIND, token)


async def mint(session: AsyncSession, order_id: int, *, now: datetime) -> str:
    """A new order's token, in the transaction that creates the order."""
    token = new_token()
    await sql_of(session).run(
        INSERT,
        {
            "order_id": order_id,
            "token": active().encrypt(token, "tracking_links.token"),
            "token_index": token_index(token),
            "created_at": now,
        },
    )
    return token


async def token_of(session: AsyncSession, order_id: int) -> str | None:
    """The order's token, decrypted (for staff and the channel's receipt); None for an order
    made before tracking links were."""
    row = await sql_of(session).one(TOKEN_OF, {"order_id": order_id})
    return None if row is None else active().decrypt(row[0], "tracking_links.token")


async def url_of(session: AsyncSession, order_id: int, base: str) -> str | None:
    """The order's tracking link for its customer (None without one): what a notification
    carries when it is sent."""
    token = await token_of(session, order_id)
    return None if token is None else tracking_url(base, token)


def tracking_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/t/{token}"


@dataclass(frozen=True, slots=True)
class Link:
    """A live link: the order it opens."""

    order_id: int
    status: str


async def open_link(session: AsyncSession, token: str, *, now: datetime, ttl: timedelta) -> Link:
    """The order a live token opens, or `NotFound` (unknown, malformed or expired alike)."""
    if not TOKEN_SHAPE.match(token):
        raise NotFound(NO_SUCH_LINK)
    row = await sql_of(session).one(FIND, {"token_index": token_index(token)})
    if row is None:
        raise NotFound(NO_SUCH_LINK)
    order_id, status, *ends = row
    if status in FINAL:
        ended = max((cast(datetime, when(e)) for e in ends if e is not None), default=None)
        if ended is None or now >= ended + ttl:
            raise NotFound(NO_SUCH_LINK)
    return Link(order_id, status)


def link_life(settings: Settings) -> timedelta:
    """How long a link outlives its order's final state (`tracking_ttl_hours_after_final`)."""
    return timedelta(hours=settings.tracking_ttl_hours_after_final)


async def show_link(
    session: AsyncSession,
    order: Order,
    principal: Principal,
    *,
    settings: Settings,
    now: datetime,
) -> Order:
    """`order` with its `tracking_url` filled in if `principal` may see it (`tracking:read`)
    and the link still opens (a link dead with its order is not shown: it would answer 404)."""
    if not allowed(str(principal.role), Permission.TRACKING_READ):
        return order
    token = await token_of(session, order.id)
    if token is None:
        return order
    try:
        await open_link(session, token, now=now, ttl=link_life(settings))
    except NotFound:
        return order
    order.tracking_url = tracking_url(settings.tracking_public_url, token)
    return order
