"""Field keys and the archive: which keys archived values are under, and re-encrypting them
under the current one (what `keys reseal` does for the database), so an old key can retire."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date

import pyarrow as pa
from sqlalchemy import select

from backend.archive.rewrite import rewrite_part
from backend.crypto.cipher import PREFIX, active
from backend.db import Database
from backend.privacy.upkeep import SEALED_COLUMNS, SealedColumn
from backend.tiers.models import ArchiveDayRow
from backend.tiers.store import PartitionStore
from backend.tiers.tables import BY_NAME, schema

log = logging.getLogger(__name__)

ARCHIVED_SEALED: tuple[SealedColumn, ...] = tuple(c for c in SEALED_COLUMNS if c.table in BY_NAME)
"""The encrypted columns of the tables the archive holds."""


async def archived_parts_with_files(db: Database) -> list[tuple[date, int]]:
    async with db.read() as session:
        rows = await session.execute(
            select(ArchiveDayRow.day, ArchiveDayRow.part).where(
                ArchiveDayRow.state.in_(("written", "archived"))
            )
        )
        return [(day, part) for day, part in rows]


def _stored(column: SealedColumn, value: str | None) -> str | None:
    """The ciphertext a stored value holds (a JSON column keeps it as a JSON string)."""
    if value is None:
        return None
    if column.json:
        inner = json.loads(value)
        return inner if isinstance(inner, str) else None
    return value


async def archived_key_census(db: Database, store: PartitionStore) -> dict[str, Counter[str]]:
    """Per archived encrypted column, how many values each key id holds."""
    found: dict[str, Counter[str]] = {f"archive {c.label}": Counter() for c in ARCHIVED_SEALED}
    for day, part in await archived_parts_with_files(db):
        for column in ARCHIVED_SEALED:
            values = store.read(day, part, column.table, columns=[column.column])
            counts = found[f"archive {column.label}"]
            for value in values.column(column.column).to_pylist():
                stored = _stored(column, value)
                if stored is not None:
                    counts[stored.split(":")[1] if stored.startswith(PREFIX) else "plain"] += 1
    return found


async def reseal_archive(db: Database, store: PartitionStore) -> int:
    """Re-encrypt every archived value not under the current key; how many."""
    cipher = active()
    resealed = 0
    for day, part in await archived_parts_with_files(db):
        changed: dict[str, pa.Table] = {}
        for table in sorted({c.table for c in ARCHIVED_SEALED}):
            columns = [c for c in ARCHIVED_SEALED if c.table == table]
            rows = store.read(day, part, table).to_pylist()
            touched = 0
            for row in rows:
                for column in columns:
                    stored = _stored(column, row[column.column])
                    if stored is None or cipher.is_current(stored):
                        continue
                    fresh = cipher.encrypt(cipher.decrypt(stored, column.label), column.label)
                    row[column.column] = json.dumps(fresh) if column.json else fresh
                    touched += 1
            if touched:
                changed[table] = pa.Table.from_pylist(rows, schema=schema(table))
                resealed += touched
        await rewrite_part(db, store, day, part, changed)
    if resealed:
        log.info("re-encrypted %d archived value(s) under key %s", resealed, cipher.current)
    return resealed
