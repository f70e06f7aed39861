"""Restock suggestions: what each SKU of a warehouse should be topped up by, and the
merchant's answer to it (`docs/restock.md`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from backend_client.models.common import ByValue, Request, Response

MAX_RESTOCK_UNITS = 100_000
"""The most units one decision may order (the same bound as one stock adjustment)."""


class RestockAction(StrEnum):
    """What a merchant does with a suggestion."""

    ACCEPT = "accept"
    """Order the suggested quantity."""
    ADJUST = "adjust"
    """Order another quantity (0: none this time)."""


class RestockDecisionState(StrEnum):
    ACCEPTED = "accepted"
    ADJUSTED = "adjusted"


class RestockDecision(Response):
    """A merchant's answer to one suggestion: ordered, and open until the goods are received."""

    id: int
    warehouse_id: str
    sku: str
    decision: RestockDecisionState
    suggested: int = Field(description="The quantity suggested when the merchant decided.")
    quantity: int = Field(description="The units ordered (the suggestion, or the adjustment).")
    decided_by: str
    decided_at: datetime
    received_at: datetime | None = Field(
        default=None, description="When the goods were put on the shelf (None: still on order)."
    )
    received_by: str | None = None


class RestockSuggestion(Response):
    """One SKU's suggestion and the figures it stands on."""

    sku: str
    name: str
    on_hand: int
    reserved: int
    on_order: int = Field(description="Units accepted earlier and not yet received.")
    forecast: float = Field(
        description="Units expected to be ordered over the lead time + review period."
    )
    safety_stock: float = Field(description="Units held against the forecast's error.")
    sigma: float = Field(description="The forecast error's standard deviation over the window.")
    suggested: int = Field(
        description="ceil(forecast + safety_stock - (on_hand - reserved + on_order)), at least 0."
    )
    version: str = Field(
        description="Names the stock position the suggestion was made on; send it back with "
        "the decision (a decision on a changed position is refused with 409)."
    )
    decision: RestockDecision | None = Field(
        default=None, description="The latest decision on this SKU still on order, if any."
    )


class RestockPlan(Response):
    """`GET /api/v1/warehouses/{id}/restock`: a suggestion per SKU of the warehouse."""

    warehouse_id: str
    computed_at: datetime
    lead_hours: float
    review_hours: float
    service_level: float
    z: float = Field(description="The service level's standard normal quantile.")
    weeks_requested: int
    weeks_used: int = Field(description="Whole weeks of history the weekday profile rests on.")
    history_hours: int = Field(description="Hours of history the forecast rests on.")
    history_start: datetime | None = None
    units_in_history: int
    suggestions: list[RestockSuggestion]


class RestockDecide(Request):
    """Body of `POST /api/v1/warehouses/{id}/restock/{sku}/decision`."""

    action: Annotated[RestockAction, ByValue]
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    suggested: Annotated[int, Field(ge=0, le=MAX_RESTOCK_UNITS)] = Field(
        description="The suggestion the merchant saw (the plan's `suggested`)."
    )
    quantity: Annotated[int, Field(ge=0, le=MAX_RESTOCK_UNITS)] | None = Field(
        default=None, description="For `adjust`: the units to order instead (required)."
    )
