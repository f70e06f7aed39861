"""The archive's files: `<root>/<YYYY-MM-DD>/part-<n>/<table>.parquet`, a directory a day.

A file is written under a temporary name, flushed to the disk, then renamed into place (and the
directory flushed): a file under its final name is always whole. What a day's files must hold
is recorded in the ledger (`archive_days`) only after they are in place; a day's directory
without its ledger row is the leftover of a run stopped before that, and is discarded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import make_url

from backend.settings import Settings
from backend.tiers.tables import schema

Fault = Callable[[str], None] | None
"""Called at the points a crash is tested at (`backend/archive/faults.py`)."""
TEMP_SUFFIX = ".partial"
COMPRESSION = "zstd"


def archive_root(settings: Settings) -> Path:
    """The settings' archive directory; by default `archive/` beside the SQLite database, or
    in the user's data directory with PostgreSQL."""
    if settings.archive_dir:
        return Path(settings.archive_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database or "").resolve().parent / "archive"
    from platformdirs import user_data_dir

    return Path(user_data_dir("freshline", appauthor=False)) / "archive"


class PartitionStore:
    """Day partitions under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def day_dir(self, day: date) -> Path:
        return self.root / day.isoformat()

    def part_dir(self, day: date, part: int) -> Path:
        return self.day_dir(day) / f"part-{part}"

    def path(self, day: date, part: int, name: str) -> Path:
        return self.part_dir(day, part) / f"{name}.parquet"

    def parts_on_disk(self, day: date) -> list[int]:
        parts = []
        for entry in self.day_dir(day).glob("part-*"):
            try:
                parts.append(int(entry.name.removeprefix("part-")))
            except ValueError:
                continue
        return sorted(parts)

    def days_on_disk(self) -> list[date]:
        """Every day with a directory, whole or not."""
        if not self.root.is_dir():
            return []
        days = []
        for entry in self.root.iterdir():
            try:
                days.append(date.fromisoformat(entry.name))
            except ValueError:
                continue  # not ours
        return sorted(days)

    def write_part(
        self, day: date, part: int, tables: dict[str, pa.Table], *, fault: Fault = None
    ) -> dict[str, str]:
        """Write one part's files, each whole or not at all; their SHA-256 by table. Every
        file is flushed under its temporary name, then all are renamed and the directories
        flushed once (a rename is durable only once its directory is)."""
        folder = self.part_dir(day, part)
        folder.mkdir(parents=True, exist_ok=True)
        digests: dict[str, str] = {}
        for name, data in tables.items():
            temp = self.path(day, part, name).with_name(f"{name}.parquet{TEMP_SUFFIX}")
            pq.write_table(data, temp, compression=COMPRESSION)
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            digests[name] = checksum(temp)
        if fault is not None:
            fault("partial")
        for name in tables:
            final = self.path(day, part, name)
            os.replace(final.with_name(final.name + TEMP_SUFFIX), final)
        _fsync_dir(folder)
        _fsync_dir(folder.parent)
        _fsync_dir(self.root)
        return digests

    def read(
        self,
        day: date,
        part: int,
        name: str,
        *,
        filters: list[tuple[str, str, object]] | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """One table's rows of a day's part (those matching `filters`; only `columns` if
        given); none if absent."""
        path = self.path(day, part, name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            empty = schema(name).empty_table()
            return empty.select(columns) if columns is not None else empty
        # A rewrite (erasure, new key) or a drop replaces the file: a new key, never stale.
        key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size, repr(filters), repr(columns))
        cached = _READS.get(key)
        if cached is not None:
            _READS.move_to_end(key)
            return cached
        data = pq.read_table(path, columns=columns, filters=filters or None, schema=schema(name))
        _remember(key, data)
        return data

    def drop_part(self, day: date, part: int) -> None:
        """Delete the files of one move (a leftover of a run stopped before its ledger row)."""
        shutil.rmtree(self.part_dir(day, part), ignore_errors=True)
        _fsync_dir(self.day_dir(day))

    def discard_partials(self) -> int:
        """Delete half-written files of a run that stopped while writing."""
        removed = 0
        for day in self.days_on_disk():
            for partial in self.day_dir(day).glob(f"part-*/*{TEMP_SUFFIX}"):
                partial.unlink(missing_ok=True)
                removed += 1
        return removed

    def drop(self, day: date) -> None:
        """Delete a day's files."""
        shutil.rmtree(self.day_dir(day), ignore_errors=True)
        if self.root.is_dir():
            _fsync_dir(self.root)


_READS: OrderedDict[tuple[object, ...], pa.Table] = OrderedDict()
CACHE_ROWS = 500_000
"""Archived rows kept decoded in memory, newest reads first: a KPI screen asks for the same
90 days again and again, and archived files never change in place."""


def _remember(key: tuple[object, ...], data: pa.Table) -> None:
    _READS[key] = data
    held = sum(table.num_rows for table in _READS.values())
    while held > CACHE_ROWS and len(_READS) > 1:
        _key, oldest = _READS.popitem(last=False)
        held -= oldest.num_rows


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    # The rename itself is durable only once the directory is.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
