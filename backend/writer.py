"""Write transactions: every change to the database is a job that the database's writer runs.

A job is `async def job(session) -> T`: it changes things through the session, appends its
events to the log (`realtime/outbox.py`) and returns what its caller answers with. The writer
commits it and returns the result, or takes back everything the job did and raises what it
raised. A job touches nothing but its session: on SQLite it runs on another thread.

- **SQLite** has one write lock per file. One thread of the writer's own runs every job of this
  process, in arrival order, with statements run where they are awaited
  (`sqlite.InlineConnection`): never on the event loop that serves the stream, and never a hop
  to a worker thread per statement. What arrives while a batch runs becomes the next batch: one
  transaction (group commit) with a savepoint per job, so a job that refuses (409, 422) takes
  back its own changes and none of its neighbours'. Results are handed back only after the
  batch committed: nothing is acknowledged that was not committed. The event log's `seq` is
  handed out here, gap-free (a job rolled back gives its numbers back): the highest is read
  once per batch, under the write lock (one index lookup on the writer's thread).
- **PostgreSQL** takes writers side by side: each job is a transaction of its own on the
  caller's loop (a deadlock or serialisation failure runs it again, whole). Events are
  appended without a `seq`; the `Sequencer` numbers them after their commit.

Either way, `committed` listeners get the newly numbered events in `seq` order, before the jobs
that appended them return: on SQLite on the loop that opened the database, from the writer; on
PostgreSQL from the sequencer's round (the events this instance's round numbered, which may be
other instances' too; the feed reads what falls between from the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool

from backend.observability.context import current_request_id
from backend.sql import SQL, Query, SqliteSql, postgres_sql, sql_of
from backend.sqlite import WRITE, inline_connector, install_hooks
from backend_client import cancel_and_wait, within

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[AsyncSession], Awaitable[T]]
EventListener = Callable[[list[Any]], None]
BatchListener = Callable[[int], None]
"""Told the number of jobs of each committed write transaction (the metrics)."""

LEDGER = "freshline_ledger"
"""Where a write session keeps its `Ledger`."""
MAX_BATCH = 64
"""Jobs committed together at most: a bound on how long the first of a batch waits."""
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
TRANSIENT_RETRIES = 2
SEQUENCER_LOCK = 0x46524C02
"""Rounds of numbering, from every instance, take turns on this advisory lock."""
ROUND_LIMIT = 5_000
"""At most this many events numbered by one round (another follows at once)."""


@dataclass(slots=True)
class Ledger:
    """What one job appended to the event log, and the `seq` it may hand out next."""

    next_seq: int | None
    """SQLite: the next number to give; PostgreSQL: None (the sequencer numbers after commit)."""
    appended: list[Any] = field(default_factory=list)
    request_id: str | None = None
    """The HTTP request the job is part of, if any: its events carry it (`outbox.py`)."""


def ledger_of(session: AsyncSession) -> Ledger:
    """The ledger of a session the writer opened; appending elsewhere is a mistake."""
    try:
        return session.info[LEDGER]
    except KeyError:
        raise RuntimeError("events are appended only inside a job of Database.write") from None


SAVEPOINT, RELEASE, ROLLBACK_TO = (
    Query("SAVEPOINT part"),
    Query("RELEASE SAVEPOINT part"),
    Query("ROLLBACK TO SAVEPOINT part"),
)


@contextlib.asynccontextmanager
async def part(session: AsyncSession) -> AsyncIterator[None]:
    """A part of a job that may be refused on its own (one transition of a batch): on an
    exception what it did is taken back (its statements, the events it appended, what the ORM
    loaded) and the exception goes on; what the job did before it stands."""
    sql, ledger = sql_of(session), ledger_of(session)
    # The ORM's own transaction (a savepoint of the SQLite writer's batch; the transaction on
    # PostgreSQL) begins outside this savepoint, and what it holds unwritten is written before
    # it: rolling back to this savepoint must not take the ORM's footing with it.
    await session.connection()
    await session.flush()
    next_seq, appended = ledger.next_seq, len(ledger.appended)
    await sql.run(SAVEPOINT)
    try:
        yield
        await session.flush()
    except BaseException:
        await sql.run(ROLLBACK_TO)
        await sql.run(RELEASE)
        ledger.next_seq = next_seq
        del ledger.appended[appended:]
        session.expunge_all()  # what it loaded or made may no longer be so
        raise
    await sql.run(RELEASE)


def is_transient(exc: DBAPIError) -> bool:
    """PostgreSQL's "deadlock detected" or "could not serialize access"."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in TRANSIENT_SQLSTATES


class WriterClosed(RuntimeError):
    """The database is closing: the write was not attempted."""


# --- SQLite ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Request:
    job: Job[Any]
    future: asyncio.Future[Any]
    request_id: str | None


class SqliteWriter:
    """The single writer of one SQLite file: a thread, its own loop, one connection."""

    def __init__(
        self, database: str, *, busy_timeout_ms: int, listeners: list[EventListener]
    ) -> None:
        self.database = database
        self.busy_timeout_ms = busy_timeout_ms
        self.listeners = listeners
        self._loop: asyncio.AbstractEventLoop | None = None
        self._home: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._waiting: deque[_Request | None] = deque()
        self._arrived: asyncio.Event | None = None
        self._closed = False
        self.batches = 0
        """Transactions committed so far (for tests and benchmarks: jobs per batch)."""
        self.jobs = 0
        self.on_batch: BatchListener | None = None
        """Called on the writer's thread after each committed batch (thread-safe callers only)."""

    async def run(self, job: Job[T]) -> T:
        if self._closed:
            raise WriterClosed("the database is closed")
        loop = self._start()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            # The request id is read here, on the caller's loop: the job runs on another thread.
            request = _Request(job, future, current_request_id())
            loop.call_soon_threadsafe(self._arrive, request)
        except RuntimeError:  # its loop ended: it stopped (see the log for why)
            raise WriterClosed("the database writer has stopped") from None
        return await future

    async def start(self) -> None:
        """Start the thread now rather than on the first write."""
        self._start()

    async def close(self) -> None:
        """Finish what was asked, then stop the thread."""
        self._closed = True
        if self._loop is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):  # already stopped: its loop is closed
            self._loop.call_soon_threadsafe(self._arrive, None)
        await asyncio.to_thread(self._thread.join)

    # --- on the writer's thread ---------------------------------------------------------

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._home = asyncio.get_running_loop()
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._thread_main, args=(self._loop,), name="sqlite-writer", daemon=True
            )
            self._thread.start()
        return self._loop

    def _thread_main(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    def _arrive(self, request: _Request | None) -> None:
        self._waiting.append(request)
        if self._arrived is not None:
            self._arrived.set()

    async def _serve(self) -> None:
        self._arrived = asyncio.Event()
        try:
            engine = create_async_engine(
                "sqlite+aiosqlite://",
                async_creator=inline_connector(
                    self.database, timeout_s=self.busy_timeout_ms / 1000
                ),
                poolclass=AsyncAdaptedQueuePool,
                pool_size=1,
                max_overflow=0,
                execution_options={WRITE: True},
            )
            install_hooks(engine.sync_engine, self.busy_timeout_ms)
        except BaseException:
            log.exception("the SQLite writer could not start")
            self._closed = True
            self._refuse(self._waiting)
            raise
        try:
            while True:
                if not self._waiting:
                    await self._arrived.wait()
                    self._arrived.clear()
                    continue
                batch: list[_Request] = []
                while self._waiting and len(batch) < MAX_BATCH:
                    request = self._waiting.popleft()
                    if request is None:  # closing: what came before is done
                        self._refuse(self._waiting)
                        await self._run_batch(engine, batch)
                        return
                    batch.append(request)
                await self._run_batch(engine, batch)
        finally:
            self._closed = True  # also when something unforeseen ends the loop
            self._refuse(self._waiting)
            await engine.dispose()

    def _refuse(self, waiting: deque[_Request | None]) -> None:
        for request in waiting:
            if request is not None:
                _settle(request.future, None, WriterClosed("the database is closed"))
        waiting.clear()

    async def _run_batch(self, engine: AsyncEngine, batch: list[_Request]) -> None:
        if not batch:
            return
        outcomes: list[Outcome] = []
        appended: list[Any] = []
        conn = await engine.connect()
        try:
            async with conn.begin():  # BEGIN IMMEDIATE ... COMMIT
                driver: Any = (await conn.get_raw_connection()).driver_connection
                raw = driver._conn  # sqlite3's
                sql = SqliteSql(raw)
                # Read under the write lock, so exact even if another process appended.
                (top,) = raw.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
                next_seq = top + 1
                # One session for the batch's jobs: most never touch the ORM, and making and
                # closing one per job cost more than their own statements.
                session = AsyncSession(
                    bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
                )
                session.info[SQL] = sql
                for request in batch:
                    ledger = Ledger(next_seq=next_seq, request_id=request.request_id)
                    session.info[LEDGER] = ledger
                    result, failure = await _run_job(session, sql, request.job)
                    if failure is None:
                        next_seq = ledger.next_seq
                        appended.extend(ledger.appended)
                    outcomes.append((request.future, result, failure))
                await session.close()
        except Exception as exc:  # the commit (or BEGIN) failed: nothing of the batch holds
            log.exception("SQLite write batch of %d job(s) failed", len(batch))
            outcomes = [(request.future, None, exc) for request in batch]
            appended = []
            # SQLite may keep a transaction open after a failed COMMIT: start afresh.
            await conn.invalidate()
        finally:
            await conn.close()
        self.batches += 1
        self.jobs += len(batch)
        if self.on_batch is not None:
            # Jobs that refused (a 409 in their savepoint) were not committed.
            committed = sum(1 for outcome in outcomes if outcome[2] is None)
            if committed:
                self.on_batch(committed)
        # One wake-up of each waiting loop per batch, not one per job: the news first, then
        # the answers (on the home loop the feed has the events before any answer goes out).
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        home = self._home
        if appended and home is not None and home not in by_loop:
            by_loop[home] = []
        for loop, settled in by_loop.items():
            news = appended if loop is home else []
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                loop.call_soon_threadsafe(_deliver, self.listeners, news, settled)


async def _run_job(
    session: AsyncSession, sql: SqliteSql, job: Job[Any]
) -> tuple[Any, BaseException | None]:
    """One job in a savepoint of the batch's transaction: its result, or what it raised.

    The savepoint is the driver's own (a statement, not SQLAlchemy's machinery): most jobs are
    written-out SQL and never touch the ORM. One that does gets a savepoint of SQLAlchemy's
    inside this one, begun on first use, and leaves no object behind for the next job.
    """
    raw = sql.connection
    raw.execute("SAVEPOINT job")
    try:
        result = await job(session)
        if session.in_transaction():
            await session.commit()  # the ORM's flush, and its savepoint released
        raw.execute("RELEASE job")
        return result, None
    except Exception as exc:
        if session.in_transaction():
            await session.rollback()
        raw.execute("ROLLBACK TO job")  # this job's changes only
        raw.execute("RELEASE job")
        return None, exc
    finally:
        if session.identity_map:
            session.expunge_all()


Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


def _settle(future: asyncio.Future[Any], result: Any, failure: BaseException | None) -> None:
    loop = future.get_loop()
    with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
        loop.call_soon_threadsafe(_resolve, future, result, failure)


def _deliver(listeners: list[EventListener], news: list[Any], settled: list[Outcome]) -> None:
    """On the waiting loop: the committed events to the listeners, then each job's answer."""
    if news:
        _tell(listeners, news)
    for future, result, failure in settled:
        _resolve(future, result, failure)


def _resolve(future: asyncio.Future[Any], result: Any, failure: BaseException | None) -> None:
    if future.done():  # the caller gave up waiting; the outcome stands all the same
        return
    if failure is None:
        future.set_result(result)
    else:
        future.set_exception(failure)


def _tell(listeners: list[EventListener], rows: list[Any]) -> None:
    for listener in listeners:
        try:
            listener(rows)
        except Exception:  # a listener's fault must not cost the others their news
            log.exception("a listener of committed events failed")


# --- PostgreSQL -----------------------------------------------------------------------------


class PostgresWriter:
    """Jobs in transactions of their own, side by side; their events numbered after commit."""

    def __init__(self, engine: AsyncEngine, *, numbered: list[EventListener]) -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.sequencer = Sequencer(engine, numbered=numbered)
        self.on_batch: BatchListener | None = None
        """Called after each committed job (one job, one transaction)."""

    async def run(self, job: Job[T]) -> T:
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                return await self._once(job)
            except DBAPIError as exc:
                # Deadlock or serialisation failure: the transaction was rolled back whole, so
                # running it again is safe; anything else is not ours to retry.
                if attempt == TRANSIENT_RETRIES or not is_transient(exc):
                    raise
        raise AssertionError("unreachable")

    async def _once(self, job: Job[T]) -> T:
        ledger = Ledger(next_seq=None, request_id=current_request_id())
        async with self.sessions() as session:
            session.info[LEDGER] = ledger
            async with session.begin():
                session.info[SQL] = await postgres_sql(session)
                result = await job(session)
        if self.on_batch is not None:
            self.on_batch(1)
        if ledger.appended:
            # Answered once numbered: what a client was told of is on the stream.
            await self.sequencer.after_commit()
        return result

    async def start(self) -> None:
        """Run the sequencer's rounds from now on: every second at least, so events another
        instance committed and could not number (it crashed) are numbered by this one."""
        self.sequencer.start()

    async def close(self) -> None:
        await self.sequencer.stop()


class Sequencer:
    """Gives committed events their `seq`, gap-free and in an order every reader agrees on.

    Appenders never wait for each other: each event row gets an `id` from a PostgreSQL
    sequence as it is inserted and no `seq`. After a commit, a round numbers every committed
    row still without one, in `id` order, from the highest `seq` on: one UPDATE in a short
    transaction, rounds of every instance taking turns on an advisory lock. Why this is safe:
    - a row is numbered only once committed, so a reader of `seq > N` never passes a number
      that a transaction still open could fill later (the trap of numbering at insert time);
    - rounds take turns and each commits its numbers at once, so the numbered rows are always
      a gap-free prefix, growing at the end;
    - an event that depends on another (the same order, changed after the first change
      committed) was inserted after it, so it has a higher `id` and is numbered after it, in
      the same round or a later one. Events of unrelated transactions are numbered in the
      order their commits were seen: a late commit gets a later `seq`, instead of holding back
      the stream behind a transaction still open.
    A round runs after every local commit that appended events, and every `poll_seconds`
    anyway, so a crash between a commit and its round (or another instance's) delays the
    numbering of its events by at most one poll, and never loses them.
    """

    def __init__(
        self, engine: AsyncEngine, *, numbered: list[EventListener], poll_seconds: float = 1.0
    ) -> None:
        self.engine = engine
        self.numbered = numbered
        """Told of the events each round numbered, in `seq` order."""
        self.poll_seconds = poll_seconds
        self._fairy: Any = None
        self._connection: Any = None
        self.started = 0
        """Rounds begun so far."""
        self.completed = 0
        """Rounds ended so far (with or without success)."""
        self._wake = asyncio.Event()
        self._ended = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def after_commit(self) -> None:
        """Return once a round that began after this call has ended: what the caller committed
        before calling is numbered (unless the database failed; then the next round retries)."""
        wanted = self.started + 1
        self._ensure_running()
        self._wake.set()
        async with self._ended:
            await self._ended.wait_for(lambda: self.completed >= wanted)

    def start(self) -> None:
        self._ensure_running()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="event-sequencer")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._fairy is not None:
            with contextlib.suppress(Exception):
                self._fairy.close()
            self._fairy = self._connection = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await within(self.poll_seconds, self._wake.wait())
            self._wake.clear()
            self.started += 1
            numbered = []
            try:
                numbered = await self.number()
            except Exception:  # the database may be restarting: the next round tries again
                log.exception("could not number the event log")
            self.completed = self.started
            async with self._ended:
                self._ended.notify_all()
            if numbered:
                _tell(self.numbered, numbered)
            if len(numbered) >= ROUND_LIMIT:
                self._wake.set()

    async def number(self) -> list[Any]:
        """One round, in one round trip (`number_events()`, migration 0009): the rows it
        numbered, in `seq` order."""
        # Imported here: the outbox imports this module.
        from backend.realtime.outbox import COLUMNS, LoggedEvent

        if self._connection is None:
            self._fairy = await self.engine.raw_connection()
            self._connection = self._fairy.dbapi_connection._connection  # asyncpg's own
        try:
            rows = await self._connection.fetch(
                f"SELECT seq, {COLUMNS} FROM number_events($1, $2)",
                SEQUENCER_LOCK,
                ROUND_LIMIT,
            )
        except BaseException:
            self._drop_connection()
            raise
        numbered = [LoggedEvent.of_row(row) for row in rows]
        numbered.sort(key=attrgetter("seq"))  # every one numbered
        return numbered

    def _drop_connection(self) -> None:
        if self._fairy is not None:
            with contextlib.suppress(Exception):
                self._fairy.invalidate()
        self._fairy = self._connection = None
