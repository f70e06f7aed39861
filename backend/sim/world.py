"""What the simulator knows of the city while it runs: each order's story and each rider."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime

from backend.sim.accounts import Actor
from backend.sim.city import LatLng
from backend.sim.demand import Doorstep, OrderPlan
from backend.sim.movement import Leg
from backend_client.models import Order, OrderState, PositionPoint, ReturnRequest, Rider


@dataclass(eq=False)
class Story:
    """One order the simulator placed, as far as it knows: its newest version and state, and
    the hand-offs between the people who move it along."""

    plan: OrderPlan
    order_id: int
    warehouse_id: str
    drop_off: LatLng
    promised_at: datetime
    version: int
    status: OrderState
    rider_id: int | None = None
    first_line: tuple[str, int] = ("", 0)
    """The first item's SKU and unit price: what a claim for damaged goods asks back."""
    delivery_pin: str | None = None
    """The PIN the channel's receipt gave its customer, read out to the rider at the door."""
    request: ReturnRequest | None = None
    """The return or claim the rider opened at the door, as last seen."""
    packed: asyncio.Event = field(default_factory=asyncio.Event)
    """The goods are picked and wait at the counter."""
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    """The desk let the rider go on after an accident, or gave the order to another rider:
    the rider who had the accident waits no longer."""
    left_on_road: bool = False
    """Given to another rider while out for delivery (or stopped by an accident): the goods
    wait where the rider before left the road, not at the warehouse."""
    had_accident: bool = False
    """The plan's accident happened (a rider taking the order over does not have it again)."""
    back_at_warehouse: asyncio.Event = field(default_factory=asyncio.Event)
    """Refused goods are back at the warehouse."""
    reports: asyncio.Queue[Doorstep | str] = field(default_factory=asyncio.Queue)
    """What the rider tells the desk: an accident, a refusal, damaged goods."""
    tracking_token: str | None = None
    """The customer's tracking link, if they open it (backend/sim/customers.py)."""
    customer_follows: bool = False
    """The customer keeps their page open and signs on it when the rider asks."""
    signature_asked: asyncio.Event = field(default_factory=asyncio.Event)
    """The rider at the door asked the customer to sign on their page."""
    customer_signed: asyncio.Event = field(default_factory=asyncio.Event)

    def absorb(self, order: Order) -> None:
        """Take what an answer says, unless we already know a newer version."""
        if order.version >= self.version:
            self.version, self.status, self.rider_id = order.version, order.status, order.rider_id


@dataclass(eq=False)
class RiderAgent:
    """One rider: the account they act with, where they are, what they carry, their phone."""

    rider: Rider
    actor: Actor
    own_account: bool
    home: LatLng
    leg: Leg
    speed_kmh: float
    rng: random.Random
    next_fix: datetime
    queue: dict[int, Story] = field(default_factory=dict)
    """Orders given to this rider and not yet picked up."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    buffer: list[PositionPoint] = field(default_factory=list)
    """Fixes the phone recorded and has not uploaded yet."""
    offline_until: datetime | None = None
    """The phone has no signal: it keeps fixes and uploads them together later."""
    silent_until: datetime | None = None
    """The phone records nothing at all (GPS lost, app killed)."""

    @property
    def id(self) -> int:
        return self.rider.id

    def position(self, at: datetime) -> LatLng:
        return self.leg.position(at)
