"""Moving closed orders and old rider fixes to the archive, a day at a time, and dropping
days past their retention.

One day's move (a "part" of that day: a run moves what became movable since the last):

1. read the day's rows (one snapshot): closed orders whose last change falls on the day, with
   every row hanging on them (`tables.ORDER_TABLES`), and the rider fixes of the day;
2. write each table's Parquet file (temporary name, fsync, rename: `store.py`);
3. record the part in the ledger as `written`, with its row counts and checksums;
4. in ONE transaction: check the rows are still as read, delete them, mark the part
   `archived`. A row changed since step 1 (an event appended to the order, a fix uploaded
   late) makes the whole deletion roll back; the part's files are dropped and the day is
   moved again by a later run.

A run first finishes what a stopped run left: half-written files are deleted, a part on disk
without its ledger row is dropped (its rows never left the database), a `written` part is
checked against its checksums and its deletion done. So every row is in exactly one tier,
whenever the process dies, and a rerun is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.alerts.models import AlertRow
from backend.archive.erasure import apply_pending
from backend.archive.faults import crash_at
from backend.archive.rewrite import settle_rewrites
from backend.db import Database
from backend.notifications.models import PENDING, NotificationRow
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend.returns.models import ReturnRequestRow
from backend.riders.models import RiderPositionRow
from backend.tiers.models import ArchiveDayRow
from backend.tiers.store import PartitionStore, checksum
from backend.tiers.tables import (
    FIXES,
    ORDER_TABLES,
    from_sqlite,
    raw_columns,
    to_arrow,
)

log = logging.getLogger(__name__)

CHUNK = 500
"""Ids per IN list: well under either database's limit on parameters."""


class StaleDay(Exception):
    """A day's rows changed between reading and deleting them: its move is undone."""


@dataclass(slots=True)
class DayMove:
    """What one day's move took (or, in a dry run, would take)."""

    day: date
    part: int
    counts: dict[str, int]
    resumed: bool = False


@dataclass(slots=True)
class RunReport:
    """What a run did."""

    moved: list[DayMove] = field(default_factory=list)
    dropped: list[date] = field(default_factory=list)
    discarded_parts: int = 0
    stale: list[date] = field(default_factory=list)
    erasures: int = 0
    """Customers' erasures applied to the archive."""

    @property
    def rows(self) -> int:
        return sum(sum(move.counts.values()) for move in self.moved)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def days_between(first: date, last: date) -> Iterator[date]:
    while first <= last:
        yield first
        first += timedelta(days=1)


class Archiver:
    """Moves days older than the hot window to `store`, and drops those past retention."""

    def __init__(
        self,
        db: Database,
        store: PartitionStore,
        *,
        hot_window: timedelta,
        retention: timedelta,
    ) -> None:
        self.db, self.store = db, store
        self.hot_window, self.retention = hot_window, retention

    def last_movable_day(self, now: datetime, before: date | None = None) -> date:
        """The newest day wholly older than the hot window (and before `before`)."""
        last = (now - self.hot_window).astimezone(UTC).date() - timedelta(days=1)
        if before is not None:
            last = min(last, before - timedelta(days=1))
        return last

    async def run(
        self, *, now: datetime, before: date | None = None, dry_run: bool = False
    ) -> RunReport:
        """Finish what a stopped run left, move every movable day, drop expired days."""
        report = RunReport()
        if not dry_run:
            report.discarded_parts = await self.recover(now, report)
        last = self.last_movable_day(now, before)
        oldest_kept = (now - self.retention).astimezone(UTC).date()
        first = await self._first_day_with_rows(last)
        if first is not None:
            # Days already past retention are moved too (then dropped below): a database that
            # kept years before the archive existed is emptied of them all the same.
            for day in days_between(first, last):
                move = await self.move_day(day, now=now, dry_run=dry_run)
                if move is None:
                    continue
                if move.part < 0:
                    report.stale.append(day)
                    continue
                report.moved.append(move)
                crash_at("archived")
        report.dropped = await self.drop_expired(oldest_kept, now=now, dry_run=dry_run)
        if not dry_run:
            report.erasures = await apply_pending(self.db, self.store, now=now)
        return report

    # --- recovery ---------------------------------------------------------------------------

    async def recover(self, now: datetime, report: RunReport) -> int:
        """Discard half-written files and parts without a ledger row; finish `written` parts."""
        self.store.discard_partials()
        ledger = await self._ledger()
        settle_rewrites(self.store, ledger)
        discarded = 0
        for day in self.store.days_on_disk():
            for part in self.store.parts_on_disk(day):
                if (day, part) not in ledger:
                    # Stopped before step 3: the rows never left the database.
                    self.store.drop_part(day, part)
                    discarded += 1
        for (day, part), row in sorted(ledger.items()):
            if row.state != "written":
                continue
            if not self._files_intact(row):
                log.warning("archive part %s/%d fails its checksums: moved again", day, part)
                await self._forget(day, part)
                discarded += 1
                continue
            try:
                await self._delete_moved(row, now=now)
            except StaleDay:
                await self._forget(day, part)
                report.stale.append(day)
                continue
            report.moved.append(DayMove(day, part, dict(row.counts), resumed=True))
        return discarded

    def _files_intact(self, row: ArchiveDayRow) -> bool:
        for name, digest in row.checksums.items():
            path = self.store.path(row.day, row.part, name)
            if not path.exists() or checksum(path) != digest:
                return False
        return True

    async def _forget(self, day: date, part: int) -> None:
        """Undo a part whose rows are all still in the database: files and ledger row."""

        async def forget(session: AsyncSession) -> None:
            await session.execute(
                delete(ArchiveDayRow).where(ArchiveDayRow.day == day, ArchiveDayRow.part == part)
            )

        await self.db.write(forget)
        self.store.drop_part(day, part)

    async def _ledger(self) -> dict[tuple[date, int], ArchiveDayRow]:
        async with self.db.read() as session:
            rows = await session.scalars(select(ArchiveDayRow))
            return {(row.day, row.part): row for row in rows}

    # --- one day ----------------------------------------------------------------------------

    async def _first_day_with_rows(self, last: date) -> date | None:
        """The oldest day that may hold movable rows (closed orders, fixes)."""
        end = day_start(last + timedelta(days=1))
        async with self.db.read() as session:
            oldest_order = await session.scalar(
                select(func.min(OrderRow.updated_at)).where(
                    OrderRow.open_rank == 1, OrderRow.updated_at < end
                )
            )
            oldest_fix = await session.scalar(
                select(func.min(RiderPositionRow.at)).where(RiderPositionRow.at < end)
            )
        times = [t for t in (oldest_order, oldest_fix) if t is not None]
        return min(times).astimezone(UTC).date() if times else None

    async def move_day(self, day: date, *, now: datetime, dry_run: bool = False) -> DayMove | None:
        """Move what is movable of `day`: None if nothing is; a part of -1 if the rows changed
        while being moved (undone, to be moved again)."""
        data, versions = await self._read_day(day)
        counts = {name: table.num_rows for name, table in data.items()}
        if not counts["orders"] and not counts[FIXES.name]:
            return None
        ledger = await self._ledger()
        part = 1 + max((p for d, p in ledger if d == day), default=0)
        if dry_run:
            return DayMove(day, part, counts)
        checksums = self.store.write_part(day, part, data, fault=crash_at)
        crash_at("files")
        row = ArchiveDayRow(
            day=day,
            part=part,
            state="written",
            counts=counts,
            checksums=checksums,
            first_at=_earliest(data),
            last_at=_latest(data),
            min_order_id=_min(data["orders"], "id"),
            max_order_id=_max(data["orders"], "id"),
            max_seq=_max(data["events"], "seq"),
            written_at=now,
        )

        async def record(session: AsyncSession) -> None:
            session.add(row)

        await self.db.write(record)
        crash_at("ledger")
        try:
            await self._delete_moved(row, now=now, versions=versions)
        except StaleDay:
            log.info("archive day %s changed while moving: moved again later", day)
            await self._forget(day, part)
            return DayMove(day, -1, counts)
        log.info("archived %s part %d: %s", day, part, counts)
        return DayMove(day, part, counts)

    async def _read_day(self, day: date) -> tuple[dict[str, pa.Table], dict[int, int]]:
        """The day's movable rows per table, as one snapshot; and each order's version."""
        start, end = day_start(day), day_start(day + timedelta(days=1))
        o = OrderRow
        # An order still owed a decision (a return, a claim) or watched by a standing alert
        # stays where the people working on it look.
        pending = select(ReturnRequestRow.order_id).where(ReturnRequestRow.decided_at.is_(None))
        alerted = select(AlertRow.order_id).where(
            AlertRow.state != "resolved", AlertRow.order_id.is_not(None)
        )
        # A customer message still to send stays with the sender that sends it.
        untold = select(NotificationRow.order_id).where(NotificationRow.status == PENDING)
        # The order holding the newest event stays: the log's highest `seq` is what the next
        # event is numbered from (backend/writer.py), so that row never leaves the database.
        e = EventRow
        top = select(func.max(e.seq)).scalar_subquery()
        newest = select(e.order_id).where(e.seq == top, e.order_id.is_not(None))
        async with self.db.read() as session:
            if self.db.is_postgres:
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            orders = (
                await session.execute(
                    select(o.id, o.version)
                    .where(
                        o.open_rank == 1,
                        o.updated_at >= start,
                        o.updated_at < end,
                        o.id.not_in(pending),
                        o.id.not_in(alerted),
                        o.id.not_in(untold),
                        o.id.not_in(newest),
                    )
                    .order_by(o.id)
                )
            ).all()
            versions = {order_id: version for order_id, version in orders}
            ids = list(versions)
            if self.db.is_postgres:
                data = await _read_rows(session, ids, start, end)
            else:
                data = await _read_sqlite_rows(session, ids, start, end)
        return data, versions

    async def _delete_moved(
        self, row: ArchiveDayRow, *, now: datetime, versions: dict[int, int] | None = None
    ) -> None:
        """Step 4: delete the part's rows from the database and mark it archived, in one
        transaction, or raise StaleDay having changed nothing."""
        day, part = row.day, row.part
        orders = self.store.read(day, part, "orders").select(["id", "version"]).to_pylist()
        if versions is None:
            versions = {o["id"]: o["version"] for o in orders}
        ids = sorted(versions)
        counts = dict(row.counts)
        start, end = day_start(day), day_start(day + timedelta(days=1))

        async def remove(session: AsyncSession) -> None:
            o = OrderRow
            found = 0
            for chunk in _chunks(ids):
                rows = await session.execute(
                    select(o.id).where(
                        tuple_(o.id, o.version).in_([(i, versions[i]) for i in chunk])
                    )
                )
                found += len(rows.all())
            if found != len(ids):
                raise StaleDay(f"{len(ids) - found} order(s) of {day} changed")
            for moving in ORDER_TABLES:
                table = moving.table
                link = table.c[moving.link]
                deleted = 0
                for chunk in _chunks(ids):
                    result = await session.execute(delete(table).where(link.in_(chunk)))
                    deleted += result.rowcount  # type: ignore[attr-defined]
                if deleted != counts[moving.name]:
                    raise StaleDay(
                        f"{moving.name} of {day}: {deleted} rows now, {counts[moving.name]} moved"
                    )
            # Fixes by their day: one statement, however many; a fix uploaded late for the
            # day makes the count differ, and the move is done again with it.
            table = FIXES.table
            result = await session.execute(
                delete(table).where(table.c.at >= start, table.c.at < end)
            )
            deleted = result.rowcount  # type: ignore[attr-defined]
            if deleted != counts[FIXES.name]:
                raise StaleDay(f"fixes of {day}: {deleted} rows now, {counts[FIXES.name]} moved")
            await session.execute(
                update(ArchiveDayRow)
                .where(ArchiveDayRow.day == day, ArchiveDayRow.part == part)
                .values(state="archived", archived_at=now)
            )
            crash_at("delete")

        await self.db.write(remove)

    # --- retention --------------------------------------------------------------------------

    async def drop_expired(
        self, oldest_kept: date, *, now: datetime, dry_run: bool = False
    ) -> list[date]:
        """Delete the files of days older than `oldest_kept`; their ledger rows stay, marked
        `dropped`, as the record of what was there."""
        ledger = await self._ledger()
        expired = sorted(
            {d for (d, _p), row in ledger.items() if d < oldest_kept and row.state == "archived"}
        )
        if dry_run:
            return expired
        for day in expired:
            self.store.drop(day)

            async def mark(session: AsyncSession, day: date = day) -> None:
                await session.execute(
                    update(ArchiveDayRow)
                    .where(ArchiveDayRow.day == day, ArchiveDayRow.state == "archived")
                    .values(state="dropped", dropped_at=now)
                )

            await self.db.write(mark)
        return expired


async def _read_rows(
    session: AsyncSession, ids: list[int], start: datetime, end: datetime
) -> dict[str, pa.Table]:
    """The orders' rows in every table, and the fixes of [start, end), through the ORM's
    column types (PostgreSQL: asyncpg hands over Python values already)."""
    data: dict[str, pa.Table] = {}
    for moving in ORDER_TABLES:
        rows: list[Any] = []
        columns = raw_columns(moving.name)
        link = next(c for c in columns if c.name == moving.link)
        for chunk in _chunks(ids):
            rows += (await session.execute(select(*columns).where(link.in_(chunk)))).all()
        data[moving.name] = to_arrow(moving.name, rows)
    columns = raw_columns(FIXES.name)
    at = next(c for c in columns if c.name == "at")
    fixes = (await session.execute(select(*columns).where(at >= start, at < end))).all()
    data[FIXES.name] = to_arrow(FIXES.name, list(fixes))
    return data


async def _read_sqlite_rows(
    session: AsyncSession, ids: list[int], start: datetime, end: datetime
) -> dict[str, pa.Table]:
    """The same as `_read_rows`, straight from the driver in the session's transaction (one
    snapshot), converted in Arrow."""
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")  # the snapshot begins here, if not already
    driver: Any = (await conn.get_raw_connection()).driver_connection
    data: dict[str, pa.Table] = {}
    for moving in (*ORDER_TABLES, FIXES):
        columns = ", ".join(c.name for c in moving.table.c)
        rows: list[Any] = []
        if moving is FIXES:
            # Times as SQLite stores them: naive UTC text, compared as text.
            bounds = [t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for t in (start, end)]
            sql = f"SELECT {columns} FROM {moving.name} WHERE at >= ? AND at < ?"
            rows = list(await driver.execute_fetchall(sql, bounds))
        else:
            for chunk in _chunks(ids):
                marks = ", ".join("?" for _ in chunk)
                sql = f"SELECT {columns} FROM {moving.name} WHERE {moving.link} IN ({marks})"
                rows += await driver.execute_fetchall(sql, chunk)
        data[moving.name] = from_sqlite(moving.name, rows)
    return data


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


TIMES = {
    "orders": ("created_at", "promised_at", "updated_at"),
    "events": ("at",),
    FIXES.name: ("at",),
}
"""The times that place a part's rows: what a KPI window or a track range may ask for."""


def _earliest(data: dict[str, pa.Table]) -> datetime | None:
    return _bound(data, pc.min, min)


def _latest(data: dict[str, pa.Table]) -> datetime | None:
    return _bound(data, pc.max, max)


def _bound(
    data: dict[str, pa.Table],
    per_column: Callable[[Any], Any],
    overall: Callable[[list[datetime]], datetime],
) -> datetime | None:
    """The earliest or latest of the part's placing times (`TIMES`), None for an empty part."""
    found = [
        per_column(data[name].column(column)).as_py()
        for name, columns in TIMES.items()
        for column in columns
        if data[name].num_rows
    ]
    times = [t for t in found if t is not None]
    return overall(times) if times else None


def _min(data: pa.Table, column: str) -> int | None:
    if not data.num_rows:
        return None
    value = pc.min(data.column(column)).as_py()
    return None if value is None else int(value)


def _max(data: pa.Table, column: str) -> int | None:
    if not data.num_rows:
        return None
    value = pc.max(data.column(column)).as_py()
    return None if value is None else int(value)


__all__ = ["Archiver", "DayMove", "RunReport", "StaleDay"]
