"""Planning routes off the event loop: `optimise` in solver processes, within its time limit,
with the promise order when the answer does not come back."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from backend.routes.optimiser import Plan, Problem, optimise, promise_order
from backend_client import within

# Routes are planned in worker processes, not threads: the solver holds the GIL for its whole
# search (measured: a 100 ms solve in a thread stalls the event loop for 160 ms). Two at a time
# at most: a burst of dispatches must not take every core from the requests. Spawned, not
# forked: the parent runs threads (the event loop's executor, database drivers).
_WORKERS = 2
# Starting a worker (a fresh interpreter importing OR-Tools) takes a second or two, once per
# process; it is waited for apart from the solver's time limit, up to this long.
START_WITHIN_S = 60.0
PARENT_CHECK_S = 1.0
"""How often a solver process looks whether the process that started it is still there."""
_pool: ProcessPoolExecutor | None = None
_started: list[Future[bool]] = []


def _solvers() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            _WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
        # Every worker busy at once with an import: they all start now, not on a burst.
        _started[:] = [_pool.submit(_ready) for _ in range(_WORKERS)]
    return _pool


def _watch_parent(parent: int) -> None:
    """In a solver process: end with the process that started it. A server killed outright
    (no atexit) would otherwise leave its solvers waiting for work for ever (seen in tests)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _ready() -> bool:
    from ortools.constraint_solver import pywrapcp  # noqa: F401  (the import is the work)

    return True


async def plan_route(
    problem: Problem, *, time_limit_ms: int, executor: Executor | None = None
) -> Plan:
    """`optimise` in a solver process (or `executor`); the promise order if the answer is not
    back well after the time limit (the solver is stuck, or both workers are busy) or a worker
    died."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        if executor is None:
            executor = _solvers()
            await within(
                START_WITHIN_S, asyncio.gather(*(asyncio.wrap_future(f) for f in _started))
            )
        job = loop.run_in_executor(
            executor, partial(optimise, problem, time_limit_ms=time_limit_ms)
        )
        return await within(answer_within_s(time_limit_ms), job)
    except TimeoutError:
        return promise_order(problem, why="the solver did not answer in time")
    except BrokenProcessPool:
        _pool = None  # a worker died (killed, out of memory): the next plan starts a new pool
        return promise_order(problem, why="the solver process died")


def answer_within_s(time_limit_ms: int) -> float:
    """How long a plan may take to come back: the solver's limit twice, and a second for a
    busy machine to schedule the worker."""
    return 2 * time_limit_ms / 1000 + 1.0
