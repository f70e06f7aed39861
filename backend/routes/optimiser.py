"""A rider's stops in the order to ride them: OR-Tools' routing solver under a time limit,
with the earliest-promise order as the fallback. Pure: no I/O, no clock (times are seconds
from the problem's `now`).

The route starts at the rider and ends wherever the last stop is. A stop is one delivery: an
order already on board is a drop only; an order given to the rider but still at its warehouse
is a pick-up there, then the drop. What the rider carries between stops never exceeds the load
limit, the cold box or the parcel count; locked stops keep the place among the drops the
dispatcher gave them; a drop after its promise costs as much as riding `LATE_METRES_PER_S`
metres more for each second it is late (soft windows: a route with a late stop is still a
route, where VROOM's hard windows would drop the stop, see docs/routes.md).

Every answer, the solver's or the fallback's, goes through `check` before anyone sees it.
`solvers.plan_route` runs it off the event loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from backend.dispatch.insertion import HANDOVER_S, LATE_METRES_PER_S, SPEED_M_PER_S
from backend.dispatch.parcels import Limits
from backend_client.geo import LatLng, flat_metres


class Kind(StrEnum):
    """What the rider does at a visit."""

    PICKUP = "pickup"
    DROP = "drop"


class Source(StrEnum):
    """Who put the stops in order."""

    OPTIMISER = "optimiser"
    PROMISE = "promise"
    """The earliest promise first (the fallback: the solver failed, ran out of time, or its
    answer broke a limit; or there was nothing to optimise)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """One delivery on a rider's route."""

    order_id: int
    at: LatLng
    promise_s: float
    """Seconds from now to the promise (negative: already past)."""
    weight_g: int = 0
    cold_weight_g: int = 0
    pickup: LatLng | None = None
    """Where the goods wait (their warehouse); None: they are on board."""
    ready_s: float = 0.0
    """Seconds from now until the goods can be collected (still being picked)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One rider's route to plan."""

    start: LatLng
    stops: tuple[Stop, ...]
    limits: Limits
    capacity: int
    """Parcels the rider carries at once."""
    cold_box: bool
    """Whether the rider has a cold-chain box."""
    locked: dict[int, int] = field(default_factory=dict)
    """Order id -> its place among the drops, from 0, fixed by a dispatcher."""


@dataclass(frozen=True, slots=True)
class Visit:
    kind: Kind
    order_id: int
    eta_s: float
    """Seconds from now to the arrival there, at the nominal pace, handovers included."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The visits in order, and what they cost."""

    visits: tuple[Visit, ...]
    source: Source
    metres: float
    late_s: float
    """Seconds past the promise, summed over the drops."""
    cpu_ms: float = 0.0
    why: str = ""
    """Why the fallback, when it is one."""

    @property
    def drops(self) -> list[int]:
        return [v.order_id for v in self.visits if v.kind is Kind.DROP]


class Broken(ValueError):
    """A sequence breaks a limit, a lock, or leaves a stop out."""


def check(problem: Problem, visits: list[tuple[Kind, int]]) -> None:
    """Raise `Broken` unless `visits` picks up what is not on board before dropping it, drops
    every stop exactly once, keeps within the limits all along and keeps every lock."""
    stops = {s.order_id: s for s in problem.stops}
    board = {s.order_id for s in problem.stops if s.pickup is None}
    if any(s.cold_weight_g for s in problem.stops) and not problem.cold_box:
        raise Broken("cold-chain goods for a rider without a cold box")
    dropped: list[int] = []
    picked: set[int] = set()
    _within(problem, board)
    for kind, order_id in visits:
        stop = stops.get(order_id)
        if stop is None:
            raise Broken(f"order {order_id} is not one of the rider's stops")
        if kind is Kind.PICKUP:
            if stop.pickup is None or order_id in picked:
                raise Broken(f"order {order_id} picked up twice")
            picked.add(order_id)
            board.add(order_id)
            _within(problem, board)
        else:
            if order_id not in board:
                raise Broken(f"order {order_id} dropped before it is on board")
            board.remove(order_id)
            dropped.append(order_id)
    if sorted(dropped) != sorted(stops):
        raise Broken("every stop is dropped exactly once")
    for order_id, place in problem.locked.items():
        if order_id in stops and dropped.index(order_id) != min(place, len(dropped) - 1):
            raise Broken(f"order {order_id} is locked at stop {place + 1}")


def _can_start(problem: Problem) -> None:
    """Raise `Broken` when what the rider carries now already breaks a limit, or cold goods
    are theirs without a cold box."""
    if any(s.cold_weight_g for s in problem.stops) and not problem.cold_box:
        raise Broken("cold-chain goods for a rider without a cold box")
    _within(problem, {s.order_id for s in problem.stops if s.pickup is None})


def _within(problem: Problem, board: set[int]) -> None:
    stops = {s.order_id: s for s in problem.stops}
    weight = sum(stops[i].weight_g for i in board)
    cold = sum(stops[i].cold_weight_g for i in board)
    if weight > problem.limits.max_load_g:
        raise Broken(f"{weight / 1000:g} kg on board, over {problem.limits.max_load_g / 1000:g}")
    if cold > problem.limits.cold_box_g:
        raise Broken(f"{cold / 1000:g} kg cold, over {problem.limits.cold_box_g / 1000:g}")
    if len(board) > problem.capacity:
        raise Broken(f"{len(board)} parcels on board, over {problem.capacity}")


def cost(problem: Problem, visits: list[tuple[Kind, int]]) -> tuple[float, float, list[float]]:
    """Metres ridden, seconds late summed over the drops, and each visit's ETA in seconds."""
    stops = {s.order_id: s for s in problem.stops}
    here, clock, metres, late, etas = problem.start, 0.0, 0.0, 0.0, []
    for kind, order_id in visits:
        stop = stops[order_id]
        there = stop.at if kind is Kind.DROP else stop.pickup
        assert there is not None
        leg = flat_metres(here, there)
        metres += leg
        clock += leg / SPEED_M_PER_S
        if kind is Kind.PICKUP:
            clock = max(clock, stop.ready_s)  # waiting at the counter for the goods
        etas.append(clock)
        clock += HANDOVER_S
        if kind is Kind.DROP:
            late += max(0.0, etas[-1] - stop.promise_s)
        here = there
    return metres, late, etas


def promise_order(problem: Problem, why: str = "") -> Plan:
    """The earliest promise first, each pick-up just before its drop, locks kept; when that
    breaks a limit, what is on board first, then each remaining parcel fetched and dropped on
    its own (which keeps within any limits the parcels and the load on board keep)."""
    ranked = sorted(problem.stops, key=lambda s: (s.promise_s, s.order_id))
    drops = _with_locks(problem, [s.order_id for s in ranked])
    stops = {s.order_id: s for s in problem.stops}
    visits: list[tuple[Kind, int]] = []
    for order_id in drops:
        if stops[order_id].pickup is not None:
            visits.append((Kind.PICKUP, order_id))
        visits.append((Kind.DROP, order_id))
    try:
        check(problem, visits)
    except Broken:
        on_board = [i for i in drops if stops[i].pickup is None]
        visits = [(Kind.DROP, i) for i in on_board]
        for order_id in (i for i in drops if stops[i].pickup is not None):
            visits += [(Kind.PICKUP, order_id), (Kind.DROP, order_id)]
    return _plan(problem, visits, Source.PROMISE, why=why)


def _with_locks(problem: Problem, drops: list[int]) -> list[int]:
    locked = {i: p for i, p in problem.locked.items() if i in drops}
    free = [i for i in drops if i not in locked]
    out: list[int | None] = [None] * len(drops)
    for order_id, place in sorted(locked.items(), key=lambda kv: (kv[1], kv[0])):
        slot = min(place, len(drops) - 1)
        while out[slot] is not None:  # two locks on one place: the later one moves down
            slot = (slot + 1) % len(drops)
        out[slot] = order_id
    rest = iter(free)
    return [slot if slot is not None else next(rest) for slot in out]


def _plan(
    problem: Problem, visits: list[tuple[Kind, int]], source: Source, *, why: str = ""
) -> Plan:
    metres, late, etas = cost(problem, visits)
    return Plan(
        visits=tuple(Visit(k, i, e) for (k, i), e in zip(visits, etas, strict=True)),
        source=source,
        metres=metres,
        late_s=late,
        why=why,
    )


def optimise(problem: Problem, *, time_limit_ms: int) -> Plan:
    """The best route the solver finds within `time_limit_ms`, or the promise order when it
    finds none, or one no better, or one that breaks a limit (`why` says which)."""
    started = time.process_time()
    try:
        _can_start(problem)
    except Broken as broken:  # no sequence can mend it: say so, ride by promise
        return _timed(promise_order(problem, why=str(broken)), started)
    baseline = promise_order(problem)
    hint: list[tuple[Kind, int]] | None = [(v.kind, v.order_id) for v in baseline.visits]
    try:
        check(problem, hint or [])
    except Broken as broken:
        hint, baseline = None, promise_order(problem, why=str(broken))
    if len(problem.stops) < 2 and not any(s.pickup for s in problem.stops):
        return _timed(baseline, started)
    try:
        visits = _solve(problem, time_limit_ms, hint)
    except Exception as error:  # the solver's own failure must not lose the rider's route
        return _timed(promise_order(problem, why=f"solver failed: {error}"), started)
    if visits is None:
        why = baseline.why or "the solver found no route within the limits in its time"
        return _timed(promise_order(problem, why=why), started)
    try:
        check(problem, visits)
    except Broken as broken:
        return _timed(promise_order(problem, why=f"solver's route refused: {broken}"), started)
    plan = _plan(problem, visits, Source.OPTIMISER)
    if hint is not None and _objective(plan) > _objective(baseline):
        return _timed(baseline, started)
    return _timed(plan, started)


def _objective(plan: Plan) -> float:
    return plan.metres + LATE_METRES_PER_S * plan.late_s


def _timed(plan: Plan, started: float) -> Plan:
    return Plan(
        plan.visits,
        plan.source,
        plan.metres,
        plan.late_s,
        cpu_ms=(time.process_time() - started) * 1000,
        why=plan.why,
    )


def _solve(
    problem: Problem, time_limit_ms: int, hint: list[tuple[Kind, int]] | None
) -> list[tuple[Kind, int]] | None:
    """The routing model: node 0 the rider, 1 the open end, then a drop per stop and a pick-up
    per stop not on board. Arc cost in metres; dimensions: time (soft promises), weight, cold
    weight, parcels, and the drop count the locks pin."""
    # Imported here: half a second and 40 MB that only a solver process needs to pay.
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    stops = list(problem.stops)
    nodes: list[tuple[Kind | None, int, LatLng]] = [(None, -1, problem.start)] * 2
    drop_node: dict[int, int] = {}
    pickup_node: dict[int, int] = {}
    for stop in stops:
        drop_node[stop.order_id] = len(nodes)
        nodes.append((Kind.DROP, stop.order_id, stop.at))
        if stop.pickup is not None:
            pickup_node[stop.order_id] = len(nodes)
            nodes.append((Kind.PICKUP, stop.order_id, stop.pickup))
    by_id = {s.order_id: s for s in stops}
    size = len(nodes)
    metres = [[0] * size for _ in range(size)]
    for a in range(size):
        for b in range(size):
            if b != 1 and a != b:
                metres[a][b] = round(flat_metres(nodes[a][2], nodes[b][2]))
    manager = pywrapcp.RoutingIndexManager(size, 1, [0], [1])
    routing = pywrapcp.RoutingModel(manager)

    # Matrices, not Python callbacks: the solver reads them without taking the GIL back, so
    # the event loop's thread runs on while a route is planned.
    travel = [
        [(HANDOVER_S if a >= 2 else 0) + round(metres[a][b] / SPEED_M_PER_S) for b in range(size)]
        for a in range(size)
    ]
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(metres))
    horizon = 24 * 3600
    # Slack: a rider may wait at a pick-up for goods still being picked.
    routing.AddDimension(routing.RegisterTransitMatrix(travel), horizon, horizon, True, "time")
    clock = routing.GetDimensionOrDie("time")

    def amount(grams: dict[int, int]) -> list[int]:
        out = [0] * size
        for order_id, g in grams.items():
            out[drop_node[order_id]] = -g
            if order_id in pickup_node:
                out[pickup_node[order_id]] = g
        return out

    on_board = [s for s in stops if s.pickup is None]
    loads = (
        ("weight", amount({s.order_id: s.weight_g for s in stops}), problem.limits.max_load_g,
         sum(s.weight_g for s in on_board)),
        ("cold", amount({s.order_id: s.cold_weight_g for s in stops}), problem.limits.cold_box_g,
         sum(s.cold_weight_g for s in on_board)),
        ("parcels", amount({s.order_id: 1 for s in stops}), problem.capacity, len(on_board)),
    )  # fmt: skip
    for name, delta, limit, start in loads:
        callback = routing.RegisterUnaryTransitVector(delta)
        # Slack-free: the load after a visit is the load before plus what changed there.
        routing.AddDimension(callback, 0, limit, False, name)
        routing.GetDimensionOrDie(name).CumulVar(routing.Start(0)).SetValue(start)
    counted = [1 if nodes[n][0] is Kind.DROP else 0 for n in range(size)]
    routing.AddDimension(routing.RegisterUnaryTransitVector(counted), 0, size, True, "place")
    place = routing.GetDimensionOrDie("place")
    solver = routing.solver()
    for order_id, node in drop_node.items():
        index = manager.NodeToIndex(node)
        promise = max(0, round(by_id[order_id].promise_s))
        clock.SetCumulVarSoftUpperBound(index, promise, LATE_METRES_PER_S)
        if order_id in problem.locked:
            fixed = min(problem.locked[order_id], len(stops) - 1)
            place.CumulVar(index).SetValue(fixed)
        if order_id in pickup_node:
            before = manager.NodeToIndex(pickup_node[order_id])
            routing.AddPickupAndDelivery(before, index)
            clock.CumulVar(before).SetMin(max(0, round(by_id[order_id].ready_s)))
            solver.Add(routing.VehicleVar(before) == routing.VehicleVar(index))
            solver.Add(clock.CumulVar(before) <= clock.CumulVar(index))
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    )
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.time_limit.FromMilliseconds(max(1, time_limit_ms))
    routing.CloseModelWithParameters(parameters)
    # Start from the promise order when it keeps every limit: the search only improves on it,
    # and a first solution costs no part of the time limit.
    initial = None
    if hint is not None:
        visit_node = {(Kind.DROP, i): n for i, n in drop_node.items()}
        visit_node.update({(Kind.PICKUP, i): n for i, n in pickup_node.items()})
        route = [manager.NodeToIndex(visit_node[v]) for v in hint]
        initial = routing.ReadAssignmentFromRoutes([route], True)
    if initial is not None:
        solution = routing.SolveFromAssignmentWithParameters(initial, parameters)
    else:
        solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return None
    visits: list[tuple[Kind, int]] = []
    index = solution.Value(routing.NextVar(routing.Start(0)))
    while not routing.IsEnd(index):
        kind, order_id, _ = nodes[manager.IndexToNode(index)]
        assert kind is not None
        visits.append((kind, order_id))
        index = solution.Value(routing.NextVar(index))
    return visits
