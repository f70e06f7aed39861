"""The writer: on SQLite one thread commits jobs in batches with a savepoint each; on
PostgreSQL jobs run side by side and their events are numbered after commit."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from backend.auth.principal import system_principal
from backend.clock import ManualClock
from backend.db import Database
from backend.errors import Conflict
from backend.realtime.feed import EventFeed
from backend.realtime.models import EventRow
from backend.realtime.outbox import append_event
from backend.sql import Query, sql_of
from backend.writer import is_transient
from tests.support import eventually, one_turn


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def db_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE riders ...", {}, PgError(sqlstate))


@pytest.fixture
async def sqlite_db(sqlite_template: Path, tmp_path: Path):
    shutil.copy(sqlite_template, tmp_path / "w.db")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=200)

    async def create(session: AsyncSession) -> None:
        await session.execute(text("CREATE TABLE turn (n INTEGER NOT NULL)"))

    await db.write(create)
    yield db
    await db.dispose()


async def note(session: AsyncSession, n: int, *, refuse: bool = False) -> None:
    """Insert `n` into `turn` and append an event; then refuse, if told to."""
    await session.execute(text("INSERT INTO turn (n) VALUES (:n)"), {"n": n})
    await append_event(
        session, kind="test.noted", actor=system_principal(), at=ManualClock().now(),
        payload={"n": n},
    )  # fmt: skip
    if refuse:
        raise Conflict(f"{n} refused")


async def noted(db: Database) -> list[int]:
    """What `turn` holds, in the order inserted (SQLite) or by value (PostgreSQL)."""
    order = "n" if db.is_postgres else "rowid"
    async with db.read() as session:
        return list((await session.scalars(text(f"SELECT n FROM turn ORDER BY {order}"))).all())


async def seqs(db: Database) -> list[int]:
    async with db.read() as session:
        return list((await session.scalars(select(EventRow.seq).order_by(EventRow.seq))).all())


class Held:
    """A first job that keeps the writer busy until released, so the jobs sent meanwhile
    arrive together and make one batch."""

    def __init__(self, db: Database) -> None:
        self.db, self.entered, self.release = db, threading.Event(), threading.Event()

    async def __aenter__(self) -> Held:
        async def hold(_session: AsyncSession) -> None:
            self.entered.set()
            self.release.wait(10)  # blocks the writer's thread, not the test's loop

        self.task = asyncio.create_task(self.db.write(hold))
        await asyncio.to_thread(self.entered.wait, 10)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.release.set()
        await self.task


# --- SQLite ---------------------------------------------------------------------------------


async def test_jobs_commit_in_arrival_order_on_the_writers_thread(sqlite_db: Database) -> None:
    threads: set[int] = set()

    async def job(session: AsyncSession, n: int) -> int:
        threads.add(threading.get_ident())
        await note(session, n)
        return n

    results = await asyncio.gather(*(sqlite_db.write(lambda s, n=n: job(s, n)) for n in range(40)))
    assert results == list(range(40))
    assert await noted(sqlite_db) == list(range(40))
    assert threading.get_ident() not in threads, "a write ran on the event loop's thread"
    assert await seqs(sqlite_db) == list(range(1, 41))


async def test_jobs_that_arrive_together_commit_together_and_a_refusal_keeps_to_itself(
    sqlite_db: Database,
) -> None:
    heard: list[list[int | None]] = []
    sqlite_db.committed.append(lambda rows: heard.append([row.seq for row in rows]))
    before = sqlite_db.writer.batches
    async with Held(sqlite_db):
        jobs = [
            asyncio.create_task(sqlite_db.write(lambda s, n=n: note(s, n, refuse=n % 3 == 1)))
            for n in range(9)
        ]
        await one_turn()  # they are sent, and wait behind the held job
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    assert sqlite_db.writer.batches - before == 2, "the nine did not commit as one batch"
    refused = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, Conflict)]
    assert refused == [1, 4, 7]
    assert await noted(sqlite_db) == [0, 2, 3, 5, 6, 8]
    # The refused jobs' event numbers went to the next job: no gap.
    assert await seqs(sqlite_db) == [1, 2, 3, 4, 5, 6]
    assert heard == [[1, 2, 3, 4, 5, 6]]


async def test_a_batch_whose_commit_fails_acknowledges_none_of_its_jobs(
    sqlite_db: Database,
) -> None:
    async def prepare(session: AsyncSession) -> None:
        await session.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await session.execute(
            text(
                "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    await sqlite_db.write(prepare)

    async def orphan(session: AsyncSession) -> None:
        # Checked only at COMMIT: the job itself succeeds, the batch's commit fails.
        await session.execute(text("INSERT INTO child (parent_id) VALUES (99)"))

    async with Held(sqlite_db):
        good = asyncio.create_task(sqlite_db.write(lambda s: note(s, 1)))
        bad = asyncio.create_task(sqlite_db.write(orphan))
        await one_turn()
    outcomes = await asyncio.gather(good, bad, return_exceptions=True)
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes), outcomes
    assert await noted(sqlite_db) == []
    assert await seqs(sqlite_db) == []
    # The writer goes on.
    await sqlite_db.write(lambda s: note(s, 2))
    assert await noted(sqlite_db) == [2]
    assert await seqs(sqlite_db) == [1]


async def test_after_closing_a_write_is_refused_with_a_reason(sqlite_db: Database) -> None:
    await sqlite_db.write(lambda s: note(s, 1))
    await sqlite_db.writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        await sqlite_db.write(lambda s: note(s, 2))


# --- PostgreSQL -----------------------------------------------------------------------------


def test_deadlocks_and_serialisation_failures_are_transient() -> None:
    assert is_transient(db_error("40P01"))
    assert is_transient(db_error("40001"))
    assert not is_transient(db_error("23505"))  # unique violation: an answer, not a glitch
    assert not is_transient(DBAPIError("x", {}, Exception("no code")))


@pytest.fixture
async def pg_db(postgres_url: str):
    from tests.conftest import truncate_all

    await truncate_all(postgres_url)
    db = Database(postgres_url)

    async def create(session: AsyncSession) -> None:
        await session.execute(text("DROP TABLE IF EXISTS turn"))
        await session.execute(text("CREATE TABLE turn (n INTEGER NOT NULL)"))

    await db.write(create)
    yield db
    await db.dispose()


async def test_a_transient_failure_is_run_again_whole_and_acts_once(pg_db: Database) -> None:
    attempts: list[int] = []

    async def job(session: AsyncSession) -> str:
        await note(session, len(attempts))
        attempts.append(1)
        if len(attempts) == 1:
            raise db_error("40P01")
        return "done"

    assert await pg_db.write(job) == "done"
    assert len(attempts) == 2
    assert await noted(pg_db) == [1]
    assert await seqs(pg_db) == [1]


async def test_other_database_errors_are_not_run_again(pg_db: Database) -> None:
    attempts: list[int] = []

    async def job(_session: AsyncSession) -> None:
        attempts.append(1)
        raise ProgrammingError("SELECT", {}, PgError("42601"))

    with pytest.raises(ProgrammingError):
        await pg_db.write(job)
    assert len(attempts) == 1


async def test_appenders_do_not_wait_for_each_other_and_a_reader_misses_nothing(
    postgres_url: str, pg_db: Database
) -> None:
    """Transaction A appends and stays open; B, on another instance, appends and commits
    meanwhile. B is numbered at its commit (appenders never serialise, and a transaction left
    open does not hold back the stream); A gets the next number when it commits. A reader
    resuming from any point reads a gap-free run in `seq` order, and never a number that an
    open transaction could still fill. A transaction rolled back leaves no gap."""
    other = Database(postgres_url)  # a second backend instance on the same database
    reader = EventFeed(Database(postgres_url), ring_size=10, poll_seconds=60)
    a_appended, a_may_end = asyncio.Event(), asyncio.Event()

    async def a(session: AsyncSession, *, fail: bool) -> None:
        await note(session, 1)
        a_appended.set()
        await a_may_end.wait()  # the transaction stays open meanwhile
        if fail:
            raise Conflict("A changed its mind")

    try:
        for fail in (False, True):
            a_appended.clear()
            a_may_end.clear()
            start = max(await seqs(pg_db), default=0)
            a_task = asyncio.create_task(pg_db.write(lambda s, f=fail: a(s, fail=f)))
            await a_appended.wait()
            # B commits (and is numbered) while A is still open: nobody waits for A.
            await asyncio.wait_for(other.write(lambda s: note(s, 2)), 10)
            assert not a_task.done()
            after_b = await reader.read(start, 2**62, 100)
            assert [(i.seq, i.event["payload"]["n"]) for i in after_b] == [(start + 1, 2)]
            a_may_end.set()
            if fail:
                with pytest.raises(Conflict):
                    await a_task
            else:
                await a_task
            resumed = await reader.read(start, 2**62, 100)
            expected = [(start + 1, 2)] + ([] if fail else [(start + 2, 1)])
            assert [(i.seq, i.event["payload"]["n"]) for i in resumed] == expected
        # Every number from 1 on, once: the rolled-back A left no gap.
        assert await seqs(pg_db) == [1, 2, 3]
    finally:
        await other.dispose()
        await reader.db.dispose()


async def test_many_writers_on_two_instances_number_every_event_once(
    postgres_url: str, pg_db: Database
) -> None:
    other = Database(postgres_url)
    heard: list[int] = []
    pg_db.committed.append(lambda rows: heard.extend(row.seq for row in rows))
    other.committed.append(lambda rows: heard.extend(row.seq for row in rows))
    try:
        writes = [
            (pg_db if n % 2 else other).write(lambda s, n=n: note(s, n, refuse=n % 7 == 3))
            for n in range(60)
        ]
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        kept = [n for n, outcome in enumerate(outcomes) if not isinstance(outcome, Conflict)]
        numbered = await seqs(pg_db)
        assert numbered == list(range(1, len(kept) + 1))
        assert sorted(await noted(pg_db)) == kept
        # Each instance heard what its own rounds numbered; together, each number once.
        assert sorted(heard) == numbered
    finally:
        await other.dispose()


async def test_a_refused_part_of_a_job_takes_back_its_own_on_sqlite(sqlite_db: Database) -> None:
    await parts_of_a_job(sqlite_db)


async def test_a_refused_part_of_a_job_takes_back_its_own_on_postgresql(pg_db: Database) -> None:
    await parts_of_a_job(pg_db)


async def parts_of_a_job(any_db: Database) -> None:
    """`part`: one transition of a batch refused. What it wrote (by hand-written SQL and by the
    ORM), the events it appended and the numbers they took go; the parts before and after it
    and the job itself commit."""
    from backend.auth.models import UserRow
    from backend.writer import part

    async def job(session: AsyncSession) -> list[str]:
        outcomes = []
        for n, refuse in ((1, False), (2, True), (3, False)):
            try:
                async with part(session):
                    await note(session, n)
                    session.add(
                        UserRow(
                            username=f"part-{n}", password_hash="x", role="viewer",
                            created_at=ManualClock().now(),
                        )
                    )  # fmt: skip
                    await session.flush()
                    if refuse:
                        raise Conflict(f"{n} refused")
                outcomes.append("applied")
            except Conflict:
                outcomes.append("refused")
        return outcomes

    assert await any_db.write(job) == ["applied", "refused", "applied"]
    assert sorted(await noted(any_db)) == [1, 3]
    assert await seqs(any_db) == [1, 2]  # the refused part's number went to the next one
    async with any_db.read() as session:
        names = set((await session.scalars(select(UserRow.username))).all())
    assert {"part-1", "part-3"} <= names and "part-2" not in names


async def test_events_an_instance_committed_and_never_numbered_are_numbered_by_another(
    postgres_url: str, pg_db: Database
) -> None:
    """An instance killed between its commit and its round leaves events without a `seq`: any
    other running instance numbers them within a round of its own (one a second at least),
    though it writes nothing itself."""
    await pg_db.start()
    engine = create_async_engine(postgres_url)  # the instance that died: a bare connection
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO events (kind, actor, role, at, payload) "
                    "VALUES ('test.orphan', 'system', 'system', now(), '{}')"
                )
            )

        async def numbered() -> bool:
            return await seqs(pg_db) == [1]

        await eventually(numbered, "the orphan event numbered by the running instance")
    finally:
        await engine.dispose()


async def test_a_real_deadlock_in_our_own_statements_is_run_again_and_both_commit(
    pg_db: Database,
) -> None:
    """Two jobs lock the same two rows in opposite orders through the raw SQL layer (as a
    transition locking its order then its rider does beside a job locking the rider first):
    PostgreSQL kills one with "deadlock detected"; the writer runs it again, and both commit.
    The driver's own error must reach the writer as the one SQLAlchemy raises, or the retry
    never happens and the client gets a 500 (found by the peak-day benchmark)."""

    async def seed(session: AsyncSession) -> None:
        await session.execute(text("INSERT INTO turn (n) VALUES (1), (2)"))

    await pg_db.write(seed)
    holds = {1: asyncio.Event(), 2: asyncio.Event()}
    committed = {1: asyncio.Event(), 2: asyncio.Event()}
    attempts: list[int] = []
    lock = Query("SELECT n FROM turn WHERE n = :n FOR UPDATE")
    bump = Query("UPDATE turn SET n = n + 10 WHERE n = :n")

    def crosswise(first: int, second: int):
        async def job(session: AsyncSession) -> None:
            again = first in attempts
            attempts.append(first)
            sql = sql_of(session)
            if again:  # run again once the survivor committed: nothing left to deadlock with
                await committed[second].wait()
                await sql.one(lock, {"n": first})
                await sql.one(lock, {"n": second})
            else:
                await sql.one(lock, {"n": first})
                holds[first].set()
                await holds[second].wait()  # both hold one row: each now asks for the other's
                await sql.one(lock, {"n": second})
            await sql.run(bump, {"n": first})

        return job

    async def write(first: int, second: int) -> None:
        await pg_db.write(crosswise(first, second))
        committed[first].set()

    await asyncio.gather(write(1, 2), write(2, 1))
    assert len(attempts) == 3  # one of them twice
    assert sorted(await noted(pg_db)) == [11, 12]


async def duplicate_is_an_integrity_error(db: Database) -> None:
    """What the drivers raise becomes what SQLAlchemy raises for the ORM's statements, so the
    app answers it the same way (409 for a duplicate), never a 500."""

    async def unique(session: AsyncSession) -> None:
        await session.execute(text("CREATE UNIQUE INDEX turn_n ON turn (n)"))
        await session.execute(text("INSERT INTO turn (n) VALUES (7)"))

    await db.write(unique)

    async def duplicate(session: AsyncSession) -> None:
        await sql_of(session).run(Query("INSERT INTO turn (n) VALUES (:n)"), {"n": 7})

    with pytest.raises(IntegrityError):
        await db.write(duplicate)
    assert await noted(db) == [7]


async def test_a_duplicate_in_our_own_statements_is_an_integrity_error_on_sqlite(
    sqlite_db: Database,
) -> None:
    await duplicate_is_an_integrity_error(sqlite_db)


async def test_a_duplicate_in_our_own_statements_is_an_integrity_error_on_postgresql(
    pg_db: Database,
) -> None:
    await duplicate_is_an_integrity_error(pg_db)
