"""The route optimiser on its own (no database): a route never breaks a load, cold-box or
parcel limit, locked stops stay where the dispatcher put them, the solver's time limit holds,
and a failure of any kind falls back to the promise order.

The limits are checked here by walking the route again with its own arithmetic, not through
`optimiser.check`, so a mistake there cannot hide one in the solver's model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.dispatch.parcels import Limits
from backend.routes import optimiser
from backend.routes.optimiser import Kind, Plan, Problem, Source, Stop, optimise
from backend.routes.solvers import plan_route

ROOT = Path(__file__).resolve().parents[2]
WAREHOUSE = (39.9334, 116.455)
LIMITS = Limits(max_load_g=20_000, cold_box_g=8_000)
# A short limit keeps a hundred cases cheap; the route is as valid at any limit.
LIMIT_MS = 15


def place(dx: float, dy: float) -> tuple[float, float]:
    """A point about dx, dy kilometres east and north of the warehouse."""
    return (WAREHOUSE[0] + dy / 111.0, WAREHOUSE[1] + dx / 85.0)


@st.composite
def problems(draw: st.DrawFn, *, with_pickups: bool, with_locks: bool) -> Problem:
    """A rider's route: 1..7 stops around the warehouse, each 0.2..12 kg (some of it cold),
    promised from 10 minutes ago to an hour ahead; what is on board fits the limits."""
    count = draw(st.integers(1, 7))
    stops, board, board_cold = [], 0, 0
    for order_id in range(1, count + 1):
        weight = draw(st.integers(200, 12_000))
        cold = draw(st.sampled_from([0, 0, min(weight, draw(st.integers(100, 8_000)))]))
        at = place(draw(st.floats(-4, 4)), draw(st.floats(-4, 4)))
        promise = draw(st.floats(-600, 3600))
        picked = with_pickups and draw(st.booleans())
        if not picked and (board + weight > LIMITS.max_load_g or board_cold + cold > 8_000):
            picked = with_pickups  # too much on board already: it waits at the warehouse
            if not picked:
                continue
        if not picked:
            board, board_cold = board + weight, board_cold + cold
        stops.append(Stop(order_id, at, promise, weight, cold, WAREHOUSE if picked else None))
    locked: dict[int, int] = {}
    if with_locks and stops:
        for stop in draw(st.lists(st.sampled_from(stops), max_size=2, unique=True)):
            locked[stop.order_id] = draw(st.integers(0, len(stops) - 1))
        if len(set(locked.values())) < len(locked):
            locked = dict(list(locked.items())[:1])
    start = place(draw(st.floats(-3, 3)), draw(st.floats(-3, 3)))
    return Problem(start, tuple(stops), LIMITS, capacity=8, cold_box=True, locked=locked)


def walk(problem: Problem, plan: Plan) -> list[int]:
    """Ride the plan: assert every limit at every visit; the drops in order."""
    stops = {s.order_id: s for s in problem.stops}
    on_board = {i for i, s in stops.items() if s.pickup is None}
    dropped: list[int] = []
    for visit in plan.visits:
        if visit.kind is Kind.PICKUP:
            assert stops[visit.order_id].pickup is not None
            assert visit.order_id not in on_board and visit.order_id not in dropped
            on_board.add(visit.order_id)
        else:
            assert visit.order_id in on_board, "dropped before it was collected"
            on_board.remove(visit.order_id)
            dropped.append(visit.order_id)
        assert sum(stops[i].weight_g for i in on_board) <= problem.limits.max_load_g
        assert sum(stops[i].cold_weight_g for i in on_board) <= problem.limits.cold_box_g
        assert len(on_board) <= problem.capacity
    assert sorted(dropped) == sorted(stops), "every stop dropped exactly once"
    return dropped


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(with_pickups=True, with_locks=False))
def test_a_route_never_breaks_a_load_or_cold_box_limit(problem: Problem) -> None:
    plan = optimise(problem, time_limit_ms=LIMIT_MS)
    walk(problem, plan)
    assert plan.source is Source.OPTIMISER or plan.why == "" or plan.visits


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(with_pickups=False, with_locks=True))
def test_locked_stops_stay_where_the_dispatcher_put_them(problem: Problem) -> None:
    # Everything on board and within the limits: any order keeps them, so every lock holds.
    plan = optimise(problem, time_limit_ms=LIMIT_MS)
    dropped = walk(problem, plan)
    for order_id, at in problem.locked.items():
        assert dropped.index(order_id) == at, (problem.locked, dropped, plan.why)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(with_pickups=True, with_locks=False))
def test_the_plan_is_never_worse_than_the_promise_order(problem: Problem) -> None:
    plan = optimise(problem, time_limit_ms=LIMIT_MS)
    baseline = optimiser.promise_order(problem)
    weight = optimiser.LATE_METRES_PER_S
    assert plan.metres + weight * plan.late_s <= baseline.metres + weight * baseline.late_s + 1


def test_the_optimiser_beats_a_zig_zag_in_promise_order() -> None:
    # Promise order rides north, south, north, south; the optimiser groups them, on time.
    stops = tuple(Stop(i, place(0, 3 if i % 2 else -3), 3600 + 60 * i, 1_000) for i in range(1, 5))
    problem = Problem(place(0, 0), stops, LIMITS, capacity=8, cold_box=True)
    plan = optimise(problem, time_limit_ms=200)
    assert plan.source is Source.OPTIMISER
    assert plan.metres < 0.6 * optimiser.promise_order(problem).metres
    assert plan.late_s == 0


def test_goods_fetched_in_two_trips_when_they_do_not_fit_together() -> None:
    # Two 15 kg parcels at the warehouse for a 20 kg rider: collect, drop, come back.
    stops = (
        Stop(1, place(1, 0), 1800, 15_000, 0, WAREHOUSE),
        Stop(2, place(-1, 0), 1800, 15_000, 0, WAREHOUSE),
    )
    problem = Problem(WAREHOUSE, stops, LIMITS, capacity=8, cold_box=True)
    plan = optimise(problem, time_limit_ms=100)
    walk(problem, plan)
    kinds = [v.kind for v in plan.visits]
    assert kinds == [Kind.PICKUP, Kind.DROP, Kind.PICKUP, Kind.DROP]


def test_cold_goods_for_a_rider_without_a_cold_box_fall_back_and_say_why() -> None:
    stops = (Stop(1, place(1, 0), 600, 1_000, 500), Stop(2, place(2, 0), 900, 1_000))
    problem = Problem(WAREHOUSE, stops, LIMITS, capacity=8, cold_box=False)
    plan = optimise(problem, time_limit_ms=50)
    assert plan.source is Source.PROMISE and "cold box" in plan.why
    assert plan.drops == [1, 2]


def test_the_solver_time_limit_holds_on_a_big_route() -> None:
    # Guided local search never stops by itself: without the limit this would run for ever.
    # The bound is loose on purpose (a loaded machine); what matters is that there is one.
    stops = tuple(
        Stop(i, place((i % 7) - 3, (i // 7) - 3), 300 * i, 500, 0, WAREHOUSE if i % 3 else None)
        for i in range(1, 31)
    )
    problem = Problem(place(0, 0), stops, LIMITS, capacity=40, cold_box=True)
    started = time.monotonic()
    plan = optimise(problem, time_limit_ms=50)
    assert time.monotonic() - started < 10
    walk(problem, plan)


def test_a_solver_failure_falls_back_to_the_promise_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stops = tuple(Stop(i, place(i, 0), 600 * (4 - i), 1_000) for i in range(1, 4))
    problem = Problem(WAREHOUSE, stops, LIMITS, capacity=8, cold_box=True)

    def broken(*_: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(optimiser, "_solve", broken)
    plan = optimise(problem, time_limit_ms=50)
    assert plan.source is Source.PROMISE and "out of memory" in plan.why
    assert plan.drops == [3, 2, 1]  # the earliest promise first
    # A solver that answers with a route breaking a limit is not believed either.
    monkeypatch.setattr(optimiser, "_solve", lambda *_: [(Kind.DROP, 1), (Kind.DROP, 1)])
    plan = optimise(problem, time_limit_ms=50)
    assert plan.source is Source.PROMISE and "refused" in plan.why
    monkeypatch.setattr(optimiser, "_solve", lambda *_: None)
    plan = optimise(problem, time_limit_ms=50)
    assert plan.source is Source.PROMISE and plan.drops == [3, 2, 1]


async def test_a_solver_that_does_not_answer_gives_the_promise_order() -> None:
    stops = tuple(Stop(i, place(i, 0), 600 * (4 - i), 1_000) for i in range(1, 4))
    problem = Problem(WAREHOUSE, stops, LIMITS, capacity=8, cold_box=True)
    stuck = threading.Event()
    with ThreadPoolExecutor(1) as busy:
        busy.submit(stuck.wait)  # the only worker is taken: the plan's job never starts
        try:
            plan = await plan_route(problem, time_limit_ms=5, executor=busy)
        finally:
            stuck.set()
    assert plan.source is Source.PROMISE and "in time" in plan.why
    assert plan.drops == [3, 2, 1]


async def test_a_plan_is_made_in_a_solver_process() -> None:
    stops = tuple(Stop(i, place(0, 3 if i % 2 else -3), 3600, 1_000) for i in range(1, 5))
    problem = Problem(place(0, 0), stops, LIMITS, capacity=8, cold_box=True)
    plan = await plan_route(problem, time_limit_ms=100)
    assert plan.source is Source.OPTIMISER, plan.why
    walk(problem, plan)


SERVER = """
import asyncio, multiprocessing, sys, time
from backend.dispatch.parcels import Limits
from backend.routes.optimiser import Problem, Stop
from backend.routes.solvers import plan_route

async def main():
    stops = (Stop(1, (39.94, 116.45), 600, 1000), Stop(2, (39.92, 116.45), 900, 1000))
    problem = Problem((39.93, 116.45), stops, Limits(20000, 8000), 8, True)
    await plan_route(problem, time_limit_ms=20)
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(600)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_solver_processes_end_with_a_server_killed_outright() -> None:
    # SIGKILL runs no atexit: without their watch on the parent the solvers would wait for
    # work for ever (a killed `freshline serve` left two behind before they had one).
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert server.stdout is not None
        solvers = [int(pid) for pid in server.stdout.readline().split()]
        assert solvers, "no solver process started"
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in solvers):
        assert time.monotonic() < deadline, f"solver processes {solvers} outlived the server"
        time.sleep(0.1)  # polling for the processes to be gone


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return " Z " not in Path(f"/proc/{pid}/stat").read_text()  # a zombie has ended
    except FileNotFoundError:
        return False
