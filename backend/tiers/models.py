"""The archive's ledger: one row per archived day, what it holds and whether it is done."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class ArchiveDayRow(Base):
    """One move of one day to the archive. `written`: its files are complete and checked, its
    rows may still be in the database (a run stopped there finishes the move); `archived`: the
    rows are gone from the database, the files hold them; `dropped`: retention removed the
    files."""

    __tablename__ = "archive_days"

    day: Mapped[date] = mapped_column(Date(), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Runs number a day's moves from 1: a straggler (an order held back, a late fix) closed
    on a day already archived goes in a part of its own."""
    state: Mapped[str] = mapped_column(String(10))
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    """Rows per table in the day's files."""
    checksums: Mapped[dict[str, str]] = mapped_column(JSON)
    """SHA-256 of each table's file, checked before the rows are deleted and when read."""
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The earliest and latest time any row of the day carries: which days a KPI window or a
    track range needs to read."""
    min_order_id: Mapped[int | None] = mapped_column(Integer)
    max_order_id: Mapped[int | None] = mapped_column(Integer)
    """The range of the part's order ids: where to look for one archived order."""
    max_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    """The highest stream `seq` among the day's events."""
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ArchiveErasureRow(Base):
    """A customer erased in the database whose archived orders still need the same (written
    in the erasure's own transaction; done once every archived part holding them is
    rewritten). A run stopped half way leaves it pending, and the next run finishes it."""

    __tablename__ = "archive_erasures"

    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
