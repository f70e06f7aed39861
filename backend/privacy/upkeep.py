"""The upkeep of personal data at rest, run beside the requests like the other background
passes (`backend/background.py`):

- the key file is read again when it changes (`python -m backend keys rotate` wrote a new
  current key), and every value under an older key is re-encrypted under the current one, a
  batch per transaction, while requests go on: a value is rewritten only if it is still what
  was read (compare and set), so a change made meanwhile wins;
- stored answers (`Idempotency-Key` replays, channel order receipts) are pruned once older
  than `answer_retention_hours`.

At start, before any request, values still plain (written before revision 0012) are
encrypted and given their blind index (`seal_plain`): the customer upsert finds a customer
by that index only.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.crypto.cipher import PREFIX, FieldCipher, active
from backend.crypto.keys import KeySource
from backend.db import Database
from backend.sql import Query, sql_of

log = logging.getLogger(__name__)

BATCH = 500
"""Values re-encrypted per transaction: short transactions, so requests wait little."""
RESEAL_EVERY = 60
"""Upkeep passes between two scans for values under older keys when nothing changed."""


@dataclass(frozen=True)
class SealedColumn:
    """A column holding encrypted values; `json`: a JSON column holding them as a string."""

    table: str
    column: str
    json: bool = False

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def as_text(self) -> str:
        return f"CAST({self.column} AS TEXT)" if self.json else self.column

    def stored_head(self, head: str) -> str:
        """How a value under `head` starts as this column's text."""
        return f'"{head}' if self.json else head


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("customers", "name"),
    SealedColumn("customers", "phone"),
    SealedColumn("customers", "address"),
    SealedColumn("orders", "customer_name"),
    SealedColumn("orders", "customer_phone"),
    SealedColumn("orders", "address"),
    SealedColumn("riders", "phone"),
    SealedColumn("channel_orders", "response", json=True),
    SealedColumn("idempotency_keys", "response", json=True),
    SealedColumn("webhooks", "secret"),
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def reseal_batch(db: Database, column: SealedColumn, *, plain_only: bool = False) -> int:
    """Re-encrypt up to `BATCH` values of `column` not under the current key (or, with
    `plain_only`, not encrypted at all) in one transaction; how many were rewritten."""
    cipher = active()
    head = PREFIX if plain_only else f"{PREFIX}{cipher.current}:"
    pattern = _escape_like(column.stored_head(head)) + "%"
    value = column.as_text()
    pick = Query(
        f"SELECT id, {value} FROM {column.table} WHERE {value} NOT LIKE :pattern ESCAPE '\\' "
        + (f"AND {value} <> 'null' " if column.json else "")
        + f"ORDER BY id LIMIT {BATCH}"
    )
    put = Query(
        f"UPDATE {column.table} SET {column.column} = :new WHERE id = :id AND {value} = :old"
    )

    async def job(session: AsyncSession) -> int:
        sql = sql_of(session)
        done = 0
        for row_id, stored in await sql.all(pick, {"pattern": pattern}):
            new = _resealed(cipher, column, stored)
            done += await sql.run(put, {"id": row_id, "old": stored, "new": new})
        return done

    return await db.write(job)


def _resealed(cipher: FieldCipher, column: SealedColumn, stored: str) -> str:
    import orjson

    if not column.json:
        return cipher.encrypt(cipher.decrypt(stored, column.label), column.label)
    value = orjson.loads(stored)
    text = (
        cipher.decrypt(value, column.label)
        if isinstance(value, str) and value.startswith(PREFIX)
        else stored
    )
    return orjson.dumps(cipher.encrypt(text, column.label)).decode()


CUSTOMERS_UNINDEXED = Query(
    "SELECT id, phone FROM customers WHERE phone_index IS NULL AND erased_at IS NULL "
    f"ORDER BY id LIMIT {BATCH}"
)
ORDERS_UNTAGGED = Query(
    f"SELECT id, customer_name, customer_phone FROM orders WHERE search_tags IS NULL "
    f"ORDER BY id LIMIT {BATCH}"
)
SET_PHONE_INDEX = Query("UPDATE customers SET phone_index = :tag WHERE id = :id")
SET_SEARCH_TAGS = Query("UPDATE orders SET search_tags = :tags WHERE id = :id")


async def index_batch(db: Database) -> int:
    """Give up to `BATCH` customers and orders written before the blind index theirs."""
    cipher = active()

    async def job(session: AsyncSession) -> int:
        sql = sql_of(session)
        rows = await sql.all(CUSTOMERS_UNINDEXED)
        for row_id, phone in rows:
            plain = cipher.decrypt(phone, "customers.phone")
            await sql.run(SET_PHONE_INDEX, {"id": row_id, "tag": cipher.blind("phone", plain)})
        orders = await sql.all(ORDERS_UNTAGGED)
        for row_id, name, phone in orders:
            tags = cipher.search_tags(
                cipher.decrypt(name, "orders.customer_name"),
                cipher.decrypt(phone, "orders.customer_phone"),
            )
            await sql.run(SET_SEARCH_TAGS, {"id": row_id, "tags": tags})
        return len(rows) + len(orders)

    return await db.write(job)


async def reseal_all(db: Database, *, plain_only: bool = False) -> int:
    """Every value not under the current key (or not encrypted) re-encrypted, batch by batch,
    and every blind index filled in; how many values were rewritten."""
    total = 0
    for column in SEALED_COLUMNS:
        while done := await reseal_batch(db, column, plain_only=plain_only):
            total += done
    while await index_batch(db):
        pass
    return total


async def seal_plain(db: Database) -> None:
    """At start: values written before encryption encrypted, and their blind index made."""
    if done := await reseal_all(db, plain_only=True):
        log.info("encrypted %d personal value(s) written before field encryption", done)


async def key_census(db: Database) -> dict[str, Counter[str]]:
    """Per sealed column, how many values are under each key id (`plain`: not encrypted)."""
    found: dict[str, Counter[str]] = {}
    async with db.read() as session:
        sql = sql_of(session)
        for column in SEALED_COLUMNS:
            value = column.as_text()
            rows = await sql.all(
                Query(
                    f"SELECT {value} FROM {column.table}"
                    + (f" WHERE {value} <> 'null'" if column.json else "")
                )
            )
            counts: Counter[str] = Counter()
            for (stored,) in rows:
                text = stored[1:] if column.json else stored
                counts[text.split(":")[1] if text.startswith(PREFIX) else "plain"] += 1
            found[column.label] = counts
    return found


PRUNE_BATCH = 5000
"""Rows pruned per transaction: the first pass after a long pause does not hold the writer."""
PRUNE_IDEMPOTENCY = Query(
    "DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM idempotency_keys "
    f"WHERE created_at < :cutoff ORDER BY created_at LIMIT {PRUNE_BATCH})"
)
PRUNE_RECEIPTS = Query(
    "UPDATE channel_orders SET response = 'null' WHERE id IN (SELECT id FROM channel_orders "
    "WHERE received_at < :cutoff AND CAST(response AS TEXT) <> 'null' "
    f"ORDER BY received_at LIMIT {PRUNE_BATCH})"
)


async def prune_answers(db: Database, cutoff: datetime) -> tuple[int, int]:
    """Stored answers given before `cutoff` forgotten: (idempotency answers deleted, channel
    receipts emptied). A receipt's row stays (reconciliation counts it); its answer goes."""
    totals = [0, 0]
    for index, query in enumerate((PRUNE_IDEMPOTENCY, PRUNE_RECEIPTS)):

        async def job(session: AsyncSession, query: Query = query) -> int:
            return await sql_of(session).run(query, {"cutoff": cutoff})

        while done := await db.write(job):
            totals[index] += done
    return totals[0], totals[1]


class PrivacyUpkeep(BackgroundLoop):
    """Every `period` seconds: the key file read again if it changed, values re-encrypted
    under the current key, stored answers past `retention` pruned."""

    name = "privacy-upkeep"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        keys: KeySource,
        *,
        period: float,
        retention: timedelta,
    ) -> None:
        super().__init__()
        self.db, self.clock, self.keys = db, clock, keys
        self.period, self.retention = period, retention
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        if self.keys.path is None:
            return None
        try:
            stat = os.stat(self.keys.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload_keys(self) -> bool:
        """Read the key file again if it changed since; True if the current key changed."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        cipher = active()
        before = cipher.current
        cipher.adopt(self.keys.load())
        if cipher.current != before:
            log.info("field key %s is current (was %s): re-encrypting", cipher.current, before)
            return True
        return False

    async def run_once(self, *, reseal: bool = True) -> tuple[int, tuple[int, int]]:
        """One pass: (values re-encrypted, (answers deleted, receipts emptied)). `reseal`:
        look for values under older keys (a scan of every sealed column)."""
        self.reload_keys()
        resealed = await reseal_all(self.db) if reseal else 0
        if resealed:
            log.info("re-encrypted %d personal value(s) under key %s", resealed, active().current)
        pruned = await prune_answers(self.db, self.clock.now() - self.retention)
        if any(pruned):
            log.info(
                "pruned stored answers: %d idempotency answer(s), %d channel receipt(s)", *pruned
            )
        return resealed, pruned

    async def _run(self) -> None:
        # The sealed columns are scanned at start (a rotation may have been cut short), when
        # the current key changes (the key file, or a value under a key heard of late), and
        # every `RESEAL_EVERY` passes (a value an instance wrote under the old key after the
        # others had finished); the scans are full-table, the pruning uses indexes.
        done_under: str | None = None
        passes = 0
        while True:
            self.reload_keys()
            due = active().current != done_under or passes % RESEAL_EVERY == 0
            try:
                await self.run_once(reseal=due)
                if due:
                    done_under = active().current
            except Exception:  # an outage must not end the upkeep; the next pass retries
                log.exception("privacy upkeep pass failed")
            passes += 1
            await asyncio.sleep(self.period)
