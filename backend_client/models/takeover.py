"""Automatic handover (docs/auto-handover.md): a rider who had an accident, or went silent while
carrying orders, gets a proposal at once of which nearby rider takes which of their orders; a
dispatcher accepts, changes or dismisses it, or, after `auto_handover.minutes` with no
decision, the system carries it out. A carried-out handover can be undone."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field

from backend_client.models.common import DbId, Reason, Request, Response


class TakeoverTrigger(StrEnum):
    """What made the proposal."""

    ACCIDENT = "accident"
    """The rider reported an exception on the road (the order's `delivery_exception` alert)."""
    GPS_SILENT = "gps_silent"
    """The rider went silent while carrying orders (a critical `gps_silent` alert)."""


class TakeoverState(StrEnum):
    """Where a proposal stands."""

    PROPOSED = "proposed"
    """Waiting for a dispatcher, or for `due_at`."""
    CARRIED_OUT = "carried_out"
    """The orders moved (by the system at `due_at`, or by the dispatcher who accepted)."""
    DISMISSED = "dismissed"
    """A dispatcher decided the orders stay."""
    OVERTAKEN = "overtaken"
    """Someone else decided first (an order changed rider or state, the incident closed)."""
    FAILED = "failed"
    """Carrying it out was refused (a taker went offline or filled up): the desk decides."""
    UNDONE = "undone"
    """Carried out, then taken back: the orders went back to their rider."""


class TakeoverMove(Response):
    """One order of the proposal, and who takes it."""

    order_id: int
    version: int = Field(
        description="The order's version when proposed (after it moved: when it moved)."
    )
    status: str = Field(description="The order's state when proposed.")
    promised_at: datetime
    to_rider_id: int | None = Field(
        description="The rider who takes it; None: nobody near enough has room for it now."
    )
    to_rider_name: str | None = None
    eta: datetime | None = Field(
        None, description="Its arrival with that rider (pick-up, then drop-off), when proposed."
    )


class TakeoverProposal(Response):
    """A proposed (or carried out, or undone) handover of one rider's orders."""

    id: int
    rider_id: int
    rider_name: str
    trigger: TakeoverTrigger
    alert_id: int | None
    reason: str = Field(description="Why: the accident as reported, or the rider's silence.")
    state: TakeoverState
    moves: list[TakeoverMove]
    proposed_at: datetime
    due_at: datetime = Field(description="Carried out by the system then, unless decided before.")
    decided_at: datetime | None = None
    decided_by: str | None = None
    """`system` when carried out by itself; the dispatcher otherwise."""
    outcome: str | None = None
    """What happened, in words (who decided, why it failed or was overtaken)."""
    undone_at: datetime | None = None
    undone_by: str | None = None
    version: int


class TakeoverChange(Request):
    """One order of a proposal given to another rider than proposed."""

    order_id: DbId
    to_rider_id: DbId


class TakeoverDecision(Request):
    """Accept, dismiss or undo a proposal, as you last saw it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"version": 1}]})

    version: int = Field(ge=1, le=2**31 - 1, description="The proposal's version you last saw.")
    changes: list[TakeoverChange] = Field(
        default_factory=list,
        max_length=100,
        description="Accepting: orders given to another rider than proposed (each listed once).",
    )
    reason: Reason | None = None
