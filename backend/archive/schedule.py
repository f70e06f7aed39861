"""Running the archive: one run at a time (a lock beside the files, and on PostgreSQL an
advisory lock every instance sharing the database sees), by hand or on a schedule."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta

from sqlalchemy import select, text

from backend.archive.erasure import apply_pending
from backend.archive.mover import Archiver, RunReport
from backend.background import BackgroundLoop
from backend.clock import Clock
from backend.db import Database
from backend.settings import Settings
from backend.tiers.models import ArchiveErasureRow
from backend.tiers.reads import store_for

log = logging.getLogger(__name__)

ERASURE_TICK = 30.0
"""Seconds between looks for erasures the archive owes (one small query)."""
ARCHIVE_LOCK_KEY = 0x46524C19
"""Our PostgreSQL advisory lock for archive runs (backend/db.py's keys are 0x46524Cxx)."""


class ArchiveBusy(Exception):
    """Another run (this machine's or another instance's) holds the archive."""


def archiver_for(db: Database, settings: Settings) -> Archiver:
    return Archiver(
        db,
        store_for(settings),
        hot_window=timedelta(hours=settings.hot_window_hours),
        retention=timedelta(days=settings.archive_retention_days),
    )


@asynccontextmanager
async def archive_lease(db: Database, archiver: Archiver) -> AsyncIterator[None]:
    """Hold the archive for one run, or raise ArchiveBusy."""
    archiver.store.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(archiver.store.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveBusy("another archive run holds the archive's lock") from None
        if not db.is_postgres:
            yield
            return
        async with db.engine.connect() as conn:
            taken = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ARCHIVE_LOCK_KEY}
            )
            await conn.commit()
            if not taken:
                raise ArchiveBusy("another instance is archiving")
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ARCHIVE_LOCK_KEY})
                await conn.commit()
    finally:
        os.close(fd)  # releases the flock


async def archive_once(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    before: date | None = None,
    dry_run: bool = False,
) -> RunReport:
    """One run under the lease."""
    archiver = archiver_for(db, settings)
    async with archive_lease(db, archiver):
        return await archiver.run(now=clock.now(), before=before, dry_run=dry_run)


class ArchiveSchedule(BackgroundLoop):
    """Every `archive_seconds`: a run; between runs, every `ERASURE_TICK` seconds, the
    erasures the archive owes (a customer erased since). Skipped while another holds it."""

    name = "archive"

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        super().__init__()
        self.db, self.settings, self.clock = db, settings, clock

    async def _run(self) -> None:
        period = self.settings.archive_seconds
        tick = min(ERASURE_TICK, period)
        # A period first: a backend starting is busy enough, and a restart loop must not turn
        # into an archive loop.
        due = asyncio.get_running_loop().time() + period
        while True:
            await asyncio.sleep(tick)
            if asyncio.get_running_loop().time() < due:
                if await erasures_pending(self.db):
                    await erase_now(self.db, self.settings, self.clock)
                continue
            due = asyncio.get_running_loop().time() + period
            try:
                report = await archive_once(self.db, self.settings, self.clock)
                if report.moved or report.dropped:
                    log.info(
                        "archive: %d row(s) in %d day(s) moved, %d day(s) dropped",
                        report.rows,
                        len(report.moved),
                        len(report.dropped),
                    )
            except ArchiveBusy:
                log.debug("archive run skipped: another one is running")
            except asyncio.CancelledError:
                raise
            except Exception:  # logged, tried again next period: the rows stay where they are
                log.exception("archive run failed")


async def erasures_pending(db: Database) -> bool:
    async with db.read() as session:
        first = await session.scalar(
            select(ArchiveErasureRow.customer_id)
            .where(ArchiveErasureRow.done_at.is_(None))
            .limit(1)
        )
    return first is not None


async def erase_now(db: Database, settings: Settings, clock: Clock) -> bool:
    """Apply pending erasures to the archive now, unless a run holds it (that run applies
    them as it ends); never raises: what is not done stays pending for the next try."""
    archiver = archiver_for(db, settings)
    try:
        async with archive_lease(db, archiver):
            await apply_pending(db, archiver.store, now=clock.now())
        return True
    except ArchiveBusy:
        return False
    except Exception:  # logged; the erasure stays pending and is tried again
        log.exception("erasing in the archive failed; tried again later")
        return False
