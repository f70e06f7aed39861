"""Random action sequences against the real order service, checked against a simple model.

The model is written from DESIGN.md's lifecycle and README's returns and claims, independently
of `lifecycle.py`: which action leads where, who may take it, what happens to stock and riders,
and that returns and claims happen only by a request decided at the desk. After every step the
database must agree with the model: states, versions, rider loads, stock (never negative, never
oversold), and exactly one event per change with a gap-free `seq`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from backend.auth.passwords import Passwords
from backend.auth.principal import Principal
from backend.clock import ManualClock
from backend.db import Database
from backend.demo import seed_demo
from backend.errors import Conflict, Forbidden, IllegalTransition, NotFound, StaleVersion
from backend.inventory import service as stock_service
from backend.inventory.models import StockRow
from backend.orders import service
from backend.orders.models import OrderRow
from backend.realtime.models import EventRow
from backend.returns import service as returns_service
from backend.riders import service as rider_service
from backend.riders.models import RiderRow
from backend_client.models import (
    AssignRequest,
    ClaimCreate,
    ClaimItem,
    CustomerIn,
    OrderAction,
    OrderCreate,
    OrderItemIn,
    RequestDecision,
    ReturnCreate,
    RiderStatus,
    TransitionRequest,
)

pytestmark = pytest.mark.slow  # a long property test (short locally, full under CI)

WAREHOUSE = "WH-CY"
SKUS = ("VEG-BOKCHOY", "FRU-APPLE")
RIDERS = (1, 2)

# action: (from states, to state, roles besides admin) -- DESIGN.md's lifecycle.
SPEC: dict[str, tuple[set[str], str, set[str]]] = {
    "pay": ({"CREATED"}, "PAID", {"channel"}),
    "start_picking": ({"PAID"}, "PICKING", {"merchant", "dispatcher"}),
    "report_out_of_stock": ({"PAID", "PICKING"}, "OUT_OF_STOCK", {"merchant", "dispatcher"}),
    "restock": ({"OUT_OF_STOCK"}, "PICKING", {"merchant", "dispatcher"}),
    "dispatch": ({"PICKING"}, "DELIVERING", {"merchant", "rider", "dispatcher"}),
    "sign": ({"DELIVERING"}, "SIGNED", {"rider", "dispatcher"}),
    "report_exception": (
        {"DELIVERING"},
        "EXCEPTION",
        {"rider", "dispatcher", "supervisor", "support"},
    ),
    "resume": ({"EXCEPTION"}, "DELIVERING", {"dispatcher", "supervisor"}),
    "start_return": ({"EXCEPTION"}, "RETURNING", {"supervisor", "support"}),
    "complete_return": ({"RETURNING"}, "RETURNED", {"merchant", "supervisor", "support"}),
    "start_claim": ({"EXCEPTION"}, "CLAIMING", {"supervisor", "support"}),
    "settle_claim": ({"CLAIMING"}, "CLAIM_SETTLED", {"supervisor", "support"}),
    "cancel": (
        {"CREATED", "PAID", "OUT_OF_STOCK"},
        "CANCELLED",
        {"channel", "dispatcher", "supervisor", "support"},
    ),
}
# Taken only by approving a request (docs/orders.md), never as a transition.
BY_REQUEST = {"start_return", "start_claim"}
REQUESTERS = ("admin", "dispatcher", "supervisor", "support", "channel", "rider-1", "rider-2")
DECIDERS = ("admin", "supervisor", "support")
RIDER_DONE = {"SIGNED", "RETURNED", "CLAIMING", "CLAIM_SETTLED", "CANCELLED"}
ASSIGNABLE = {"PAID", "PICKING", "OUT_OF_STOCK", "DELIVERING", "EXCEPTION"}

PRINCIPALS = {
    "admin": Principal(1, "admin", "admin"),
    "dispatcher": Principal(2, "dispatcher", "dispatcher"),
    "supervisor": Principal(3, "supervisor", "supervisor"),
    "support": Principal(4, "support", "support"),
    "viewer": Principal(5, "viewer", "viewer"),
    "merchant": Principal(6, "merchant-wh-cy", "merchant", warehouse_id=WAREHOUSE),
    "channel": Principal(7, "channel-app", "channel", channel="app"),
    "rider-1": Principal(8, "rider-1", "rider", rider_id=1),
    "rider-2": Principal(9, "rider-2", "rider", rider_id=2),
}


@dataclass
class ModelOrder:
    id: int
    lines: dict[str, int]
    state: str = "CREATED"
    version: int = 1
    rider: int | None = None
    stock: str = "none"  # none / reserved / consumed / released / returned
    waiting: tuple[str, int, int] | None = None
    """The return or claim waiting for a decision: (kind, request id, request version)."""


@dataclass
class Model:
    on_hand: dict[str, int]
    reserved: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKUS, 0))
    capacity: dict[int, int] = field(default_factory=dict)
    orders: list[ModelOrder] = field(default_factory=list)
    events: int = 0

    def load(self, rider: int) -> int:
        return sum(1 for o in self.orders if o.rider == rider and o.state not in RIDER_DONE)

    def available(self, lines: dict[str, int]) -> bool:
        return all(self.on_hand[s] - self.reserved[s] >= q for s, q in lines.items())


class OrderLifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.folder = Path(tempfile.mkdtemp(prefix="freshline-stateful-"))
        shutil.copy(TEMPLATE["path"], self.folder / "f.db")
        self.db = Database(f"sqlite+aiosqlite:///{self.folder / 'f.db'}")
        self.clock = ManualClock()
        self.run(
            seed_demo(self.db, Passwords(time_cost=1, memory_cost_kib=64), now=self.clock.now())
        )
        self.model = Model(on_hand={s: self.run(self._db_stock(s))[0] for s in SKUS})
        for rider_id in RIDERS:
            self.run(self._in_tx(rider_service.set_status, rider_id, RiderStatus.ONLINE))
            self.model.events += 1
            self.model.capacity[rider_id] = self.run(self._capacity(rider_id))

    def run(self, coro):
        return self.runner.run(coro)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.runner.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _in_tx(self, fn, *args, who: str = "admin", **kwargs):
        async def _job(session):
            return await fn(session, *args, actor=PRINCIPALS[who], now=self.clock.now(), **kwargs)

        return await self.db.write(_job)

    async def _db_stock(self, sku: str) -> tuple[int, int]:
        async with self.db.read() as session:
            row = await session.get(StockRow, (WAREHOUSE, sku))
            return row.on_hand, row.reserved

    async def _capacity(self, rider_id: int) -> int:
        async with self.db.read() as session:
            return (await session.get(RiderRow, rider_id)).capacity

    # --- rules ------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model.orders) < 4)
    @rule(
        quantities=st.fixed_dictionaries({s: st.integers(0, 70) for s in SKUS}).filter(
            lambda q: any(q.values())
        )
    )
    def create(self, quantities: dict[str, int]) -> None:
        lines = {s: q for s, q in quantities.items() if q}
        request = OrderCreate(
            external_id=f"X{len(self.model.orders) + 1}",
            customer=CustomerIn(
                name="Li Lei", phone="13900001111", address="Gongti Rd", lat=39.93, lng=116.45
            ),
            items=[OrderItemIn(sku=s, quantity=q) for s, q in lines.items()],
            warehouse_id=WAREHOUSE,
        )

        async def go():
            async def _job(session):
                order = await service.create_order(
                    session,
                    request,
                    actor=PRINCIPALS["channel"],
                    now=self.clock.now(),
                    default_promise=timedelta(minutes=45),
                )
                return order.id

            return await self.db.write(_job)

        order_id = self.run(go())
        self.model.orders.append(ModelOrder(id=order_id, lines=lines))
        self.model.events += 1

    @precondition(lambda self: self.model.orders)
    @rule(
        index=st.integers(0, 1000),
        action=st.sampled_from(sorted(SPEC)),
        who=st.sampled_from(sorted(PRINCIPALS)),
    )
    def act(self, index: int, action: str, who: str) -> None:
        order = self.model.orders[index % len(self.model.orders)]
        expected = self._expect(order, action, who)
        request = TransitionRequest(
            action=OrderAction(action), version=order.version, reason="test"
        )

        async def go():
            async def _job(session):
                await service.transition(
                    session, order.id, request, actor=PRINCIPALS[who], now=self.clock.now()
                )

            await self.db.write(_job)

        if isinstance(expected, type):
            with pytest.raises(expected):
                self.run(go())
            return
        self.run(go())
        self._apply(order, action, who)

    @precondition(lambda self: self.model.orders)
    @rule(index=st.integers(0, 1000), data=st.data())
    def act_forward(self, index: int, data: st.DataObject) -> None:
        """An action the spec allows from the order's state, so orders travel deep paths."""
        order = self.model.orders[index % len(self.model.orders)]
        legal = sorted(
            a
            for a, (sources, _t, _r) in SPEC.items()
            if order.state in sources and a not in BY_REQUEST
        )
        if not legal:
            return
        action = data.draw(st.sampled_from(legal))
        if action in {"dispatch", "resume"} and order.rider is None:
            self.assign(index, data.draw(st.sampled_from(RIDERS)))
        roles = SPEC[action][2] | {"admin"}
        who = data.draw(
            st.sampled_from(sorted(w for w, p in PRINCIPALS.items() if p.role in roles))
        )
        self.act(index, action, who)

    @precondition(lambda self: self.model.orders)
    @rule(
        index=st.integers(0, 1000),
        kind=st.sampled_from(["return", "claim"]),
        who=st.sampled_from(REQUESTERS),
    )
    def open_request(self, index: int, kind: str, who: str) -> None:
        order = self.model.orders[index % len(self.model.orders)]
        principal = PRINCIPALS[who]
        body: ReturnCreate | ClaimCreate = ReturnCreate(version=order.version, reason="test")
        if kind == "claim":
            sku = next(iter(order.lines))
            item = ClaimItem(sku=sku, quantity=1)
            body = ClaimCreate(version=order.version, reason="test", items=[item], amount_cents=1)

        async def go():
            async def _job(session):
                row = await returns_service.open_request(
                    session, order.id, body, actor=principal, now=self.clock.now()
                )
                return row.id

            return await self.db.write(_job)

        expected: type[Exception] | None = None
        if principal.role == "rider" and order.rider != principal.rider_id:
            expected = NotFound
        elif order.state not in ("DELIVERING", "EXCEPTION") or order.waiting:
            expected = Conflict
        if expected is not None:
            with pytest.raises(expected):
                self.run(go())
            return
        request_id = self.run(go())
        if order.state == "DELIVERING":  # the request reports the exception with it
            order.state = "EXCEPTION"
            order.version += 1
            self.model.events += 1
        order.waiting = (kind, request_id, 1)
        self.model.events += 1

    @precondition(lambda self: any(o.waiting for o in self.model.orders))
    @rule(index=st.integers(0, 1000), approve=st.booleans(), who=st.sampled_from(DECIDERS))
    def decide(self, index: int, approve: bool, who: str) -> None:
        waiting = [o for o in self.model.orders if o.waiting]
        order = waiting[index % len(waiting)]
        assert order.waiting is not None
        kind, request_id, version = order.waiting
        body = RequestDecision(version=version, reason="checked")

        async def go():
            async def _job(session):
                await returns_service.decide_request(
                    session,
                    request_id,
                    body,
                    approve=approve,
                    actor=PRINCIPALS[who],
                    now=self.clock.now(),
                )

            await self.db.write(_job)

        if approve and order.state != "EXCEPTION":
            with pytest.raises(Conflict):
                self.run(go())
            return
        self.run(go())
        order.waiting = None
        self.model.events += 1
        if approve:
            order.state = "CLAIMING" if kind == "claim" else "RETURNING"
            order.version += 1
            self.model.events += 1

    @precondition(lambda self: self.model.orders)
    @rule(index=st.integers(0, 1000))
    def act_with_stale_version(self, index: int) -> None:
        order = self.model.orders[index % len(self.model.orders)]
        request = TransitionRequest(
            action=OrderAction.CANCEL, version=order.version + 1, reason="stale"
        )

        async def go():
            async def _job(session):
                await service.transition(
                    session, order.id, request, actor=PRINCIPALS["admin"], now=self.clock.now()
                )

            await self.db.write(_job)

        with pytest.raises(StaleVersion):
            self.run(go())

    @precondition(lambda self: self.model.orders)
    @rule(index=st.integers(0, 1000), rider=st.sampled_from(RIDERS))
    def assign(self, index: int, rider: int) -> None:
        order = self.model.orders[index % len(self.model.orders)]
        request = AssignRequest(rider_id=rider, version=order.version)

        async def go():
            async def _job(session):
                await service.assign_rider(
                    session, order.id, request, actor=PRINCIPALS["dispatcher"], now=self.clock.now()
                )

            await self.db.write(_job)

        ok = (
            order.state in ASSIGNABLE
            and order.rider != rider
            and self.model.load(rider) < self.model.capacity[rider]
        )
        if not ok:
            with pytest.raises(Conflict):
                self.run(go())
            return
        self.run(go())
        order.rider = rider
        order.version += 1
        self.model.events += 1

    @rule(sku=st.sampled_from(SKUS), delta=st.integers(1, 80))
    def restock_shelf(self, sku: str, delta: int) -> None:
        async def go():
            async def _job(session):
                await stock_service.adjust(
                    session,
                    WAREHOUSE,
                    sku,
                    delta,
                    "delivery from the central warehouse",
                    actor=PRINCIPALS["merchant"],
                    now=self.clock.now(),
                )

            await self.db.write(_job)

        self.run(go())
        self.model.on_hand[sku] += delta
        self.model.events += 1

    # --- the model --------------------------------------------------------------------------

    def _expect(self, order: ModelOrder, action: str, who: str) -> type[Exception] | None:
        principal = PRINCIPALS[who]
        if principal.role == "rider" and order.rider != principal.rider_id:
            return NotFound
        sources, _target, roles = SPEC[action]
        if order.state not in sources:
            return IllegalTransition
        if principal.role != "admin" and principal.role not in roles:
            return Forbidden
        if action in BY_REQUEST:
            return Forbidden
        if action in {"dispatch", "resume"} and order.rider is None:
            return Conflict
        if action == "restock" and not self.model.available(order.lines):
            return Conflict
        return None

    def _apply(self, order: ModelOrder, action: str, who: str) -> None:
        m = self.model
        _sources, target, _roles = SPEC[action]
        order.version += 1
        m.events += 1
        if action in {"pay", "restock"}:
            if m.available(order.lines):
                for s, q in order.lines.items():
                    m.reserved[s] += q
                order.stock = "reserved"
            else:
                # Paid, then the stock check moves it on to OUT_OF_STOCK: two changes.
                target = "OUT_OF_STOCK"
                order.version += 1
                m.events += 1
        if action in {"report_out_of_stock", "cancel"} and order.stock == "reserved":
            for s, q in order.lines.items():
                m.reserved[s] -= q
            order.stock = "released"
        if action == "dispatch" and order.stock == "reserved":
            for s, q in order.lines.items():
                m.reserved[s] -= q
                m.on_hand[s] -= q
            order.stock = "consumed"
        if action == "complete_return" and order.stock == "consumed":
            for s, q in order.lines.items():
                m.on_hand[s] += q
            order.stock = "returned"
        order.state = target

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def database_agrees_with_model(self) -> None:
        async def snapshot():
            async with self.db.read() as session:
                orders = {
                    o.id: (o.status, o.version, o.rider_id)
                    for o in (await session.scalars(select(OrderRow))).all()
                }
                stock = {
                    r.sku: (r.on_hand, r.reserved)
                    for r in (
                        await session.scalars(
                            select(StockRow).where(StockRow.warehouse_id == WAREHOUSE)
                        )
                    ).all()
                }
                loads = {
                    r.id: r.active_orders
                    for r in (
                        await session.scalars(select(RiderRow).where(RiderRow.id.in_(RIDERS)))
                    ).all()
                }
                seqs = (await session.scalars(select(EventRow.seq).order_by(EventRow.seq))).all()
                count = await session.scalar(select(func.count()).select_from(EventRow))
                return orders, stock, loads, list(seqs), count

        orders, stock, loads, seqs, count = self.run(snapshot())
        for o in self.model.orders:
            assert orders[o.id] == (o.state, o.version, o.rider), f"order {o.id}"
        for sku in SKUS:
            on_hand, reserved = stock[sku]
            assert 0 <= reserved <= on_hand
            assert (on_hand, reserved) == (self.model.on_hand[sku], self.model.reserved[sku])
        for rider_id in RIDERS:
            assert loads[rider_id] == self.model.load(rider_id)
            assert loads[rider_id] <= self.model.capacity[rider_id]
        assert count == self.model.events, "every change has exactly one event"
        assert seqs == list(range(1, len(seqs) + 1)), "seq is gap-free and increasing"


TEMPLATE: dict[str, Path] = {}


@pytest.fixture
def machine_template(sqlite_template: Path) -> None:
    TEMPLATE["path"] = sqlite_template


def test_order_lifecycle_against_model(machine_template: None) -> None:
    """30 runs of 45 steps under CI, a short run locally: the profile (tests/conftest.py)."""
    run_state_machine_as_test(OrderLifecycleMachine, settings=settings())
