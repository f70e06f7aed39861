"""The customer's PIN: minted with the order, kept encrypted, told to the customer (the
channel's receipt, the tracking page: `customer_pin`), checked when the rider types it.

Encrypted rather than hashed: the customer has to be shown it again, and a hash of one in a
million PINs is no secret anyway. Wrong tries are counted per order; at `pin_max_failures` the
PIN is refused for good, so guessing cannot walk the million.
"""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from backend.crypto.cipher import active
from backend.errors import Conflict, Unprocessable
from backend.sql import Query, sql_of

PIN_DIGITS = 6
LABEL = "order_pins.pin"

INSERT = Query("INSERT INTO order_pins (order_id, pin, failures) VALUES (:order_id, :pin, 0)")
READ = Query("SELECT pin, failures FROM order_pins WHERE order_id = :order_id")
READ_LOCKED = Query("SELECT pin, failures FROM order_pins WHERE order_id = :order_id FOR UPDATE")
"""Two riders typing at once count against one another (SQLite's single writer needs no lock,
and `Query` drops it there)."""
COUNT_FAILURE = Query(
    "UPDATE order_pins SET failures = failures + 1 WHERE order_id = :order_id RETURNING failures"
)


class WrongPin(Unprocessable):
    """The PIN typed is not the order's; `attempts_left` says how many tries remain."""


def new_pin() -> str:
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


async def mint_pin(session: AsyncSession, order_id: int) -> str:
    """Give a new order its PIN, in the transaction that creates it."""
    pin = new_pin()
    await sql_of(session).run(INSERT, {"order_id": order_id, "pin": active().encrypt(pin, LABEL)})
    return pin


async def customer_pin(session: AsyncSession, order_id: int) -> str | None:
    """The order's PIN, to show its customer (never to a rider or the desk); None for an order
    made before PINs were."""
    row = await sql_of(session).one(READ, {"order_id": order_id})
    return None if row is None else active().decrypt(row[0], LABEL)


async def check_pin(session: AsyncSession, order_id: int, typed: str, *, max_failures: int) -> None:
    """Pass if `typed` is the order's PIN; else `WrongPin` (count it with `count_failure`,
    in a transaction of its own, since this one is rolled back), or 409 once the PIN is spent."""
    sql = sql_of(session)
    row = await sql.one(READ_LOCKED, {"order_id": order_id})
    if row is None:
        raise Conflict(f"order {order_id} has no PIN: prove the delivery with a photo or signature")
    sealed, failures = row
    if failures >= max_failures:
        raise Conflict(
            f"the PIN of order {order_id} was typed wrong {failures} times and no longer counts: "
            "prove the delivery with a photo or signature"
        )
    if not hmac.compare_digest(active().decrypt(sealed, LABEL).encode(), typed.encode()):
        left = max_failures - failures - 1
        raise WrongPin(f"wrong PIN for order {order_id}; {left} tries left", attempts_left=left)


async def count_failure(session: AsyncSession, order_id: int) -> int:
    """One more wrong PIN for the order; the tries made so far."""
    row = await sql_of(session).one(COUNT_FAILURE, {"order_id": order_id})
    return 0 if row is None else int(row[0])
