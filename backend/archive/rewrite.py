"""Rewriting an archived part's files in place (an erasure, a key rotation), crash-safe.

A changed table is written beside its file (`<table>.parquet.erasing`, flushed), the ledger's
checksum for it updated (one transaction), then the file renamed into place. After a stop,
`settle_rewrites` finishes what the ledger already vouches for and deletes the rest (the
rewrite is still owed, and is done again).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.tiers.models import ArchiveDayRow
from backend.tiers.store import COMPRESSION, PartitionStore, checksum

BESIDE = ".erasing"


async def rewrite_part(
    db: Database, store: PartitionStore, day: date, part: int, changed: dict[str, pa.Table]
) -> None:
    """Replace the files of `changed` tables of one part, the ledger kept in step."""
    if not changed:
        return
    digests = {name: _write_beside(store, day, part, name, data) for name, data in changed.items()}

    async def record(session: AsyncSession) -> None:
        # The ledger's checksums as they are now (an earlier rewrite in this very pass may
        # have changed them), with this rewrite's.
        row = await session.get(ArchiveDayRow, (day, part))
        assert row is not None  # parts are never deleted while their files exist
        row.checksums = {**row.checksums, **digests}

    await db.write(record)
    for name in digests:
        _settle(store, day, part, name)


def _write_beside(store: PartitionStore, day: date, part: int, name: str, data: pa.Table) -> str:
    """The rewritten file beside the current one, whole and flushed; its checksum."""
    final = store.path(day, part, name)
    beside = final.with_name(final.name + BESIDE)
    temp = beside.with_name(beside.name + ".tmp")
    pq.write_table(data, temp, compression=COMPRESSION)
    with open(temp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, beside)
    return checksum(beside)


def _settle(store: PartitionStore, day: date, part: int, name: str) -> None:
    final = store.path(day, part, name)
    os.replace(final.with_name(final.name + BESIDE), final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def settle_rewrites(store: PartitionStore, ledger: dict[tuple[date, int], Any]) -> int:
    """After a stop: a rewritten file the ledger already vouches for goes into place; one it
    does not is deleted (its rewrite is still owed and is done again). How many settled."""
    settled = 0
    for day in store.days_on_disk():
        for part in store.parts_on_disk(day):
            for beside in store.part_dir(day, part).glob(f"*{BESIDE}*"):
                name = beside.name.split(".parquet")[0]
                row = ledger.get((day, part))
                wanted = row.checksums.get(name) if row is not None else None
                if beside.name.endswith(BESIDE) and wanted == checksum(beside):
                    _settle(store, day, part, name)
                    settled += 1
                else:
                    beside.unlink(missing_ok=True)
    return settled
