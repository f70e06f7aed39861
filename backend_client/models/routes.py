"""Route plans: a rider's stops in the order the optimiser proposes, and the order and locks a
dispatcher sets on them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator

from backend_client.models.common import Request, Response

MAX_ROUTE_STOPS = 200
"""Stops one plan may name: far more than a rider carries (`capacity`)."""


class VisitKind(StrEnum):
    """What the rider does at a planned stop."""

    PICKUP = "pickup"
    DROP = "drop"


class PlanSource(StrEnum):
    """Who put the stops in order."""

    OPTIMISER = "optimiser"
    PROMISE = "promise"
    """The earliest promise first: the fallback when the optimiser failed, ran out of time or
    found nothing better (`why` says which), and for a route with nothing to optimise."""


class PlannedVisit(Response):
    """One visit of a planned route: collecting an order's goods, or handing them over."""

    kind: VisitKind
    order_id: int
    lat: float
    lng: float
    eta: datetime = Field(description="At the nominal pace from the rider's fix, with handovers.")
    promised_at: datetime
    predicted_late: bool = Field(description="A drop planned after its promise.")
    locked: bool = Field(description="A dispatcher fixed this drop's place.")
    weight_g: int
    cold_weight_g: int


class RoutePlan(Response):
    """A rider's route as the optimiser proposes it now, with the dispatcher's locks kept."""

    rider_id: int
    at: datetime
    version: int = Field(
        description="The dispatcher's order's version (0: never set); send it back to change it."
    )
    source: PlanSource
    why: str = Field("", description="Why the fallback, when it is one.")
    km: float = Field(description="Riding distance of the whole plan, as the crow flies.")
    late_minutes: float = Field(description="Minutes past the promise, summed over the drops.")
    promise_order_km: float = Field(
        description="The same stops in earliest-promise order: what the plan is measured against."
    )
    visits: list[PlannedVisit]


class RouteStopOrder(Request):
    """One of the rider's stops, in the dispatcher's order."""

    order_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    locked: bool = Field(False, description="Keep this drop at this place in the sequence.")


class RouteOrder(Request):
    """The dispatcher's order of a rider's stops: every stop the rider has now, each once;
    `version` is the plan's as read (a stale one answers 409)."""

    version: Annotated[int, Field(ge=0, le=2**31 - 1)]
    stops: Annotated[list[RouteStopOrder], Field(min_length=1, max_length=MAX_ROUTE_STOPS)]

    @field_validator("stops")
    @classmethod
    def _each_once(cls, stops: list[RouteStopOrder]) -> list[RouteStopOrder]:
        seen: set[int] = set()
        for stop in stops:
            if stop.order_id in seen:
                raise ValueError(f"order {stop.order_id} named twice")
            seen.add(stop.order_id)
        return stops


__all__ = [
    "MAX_ROUTE_STOPS",
    "PlanSource",
    "PlannedVisit",
    "RouteOrder",
    "RoutePlan",
    "RouteStopOrder",
    "VisitKind",
]
