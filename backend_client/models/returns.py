"""Returns and claims, and their decisions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
)

from backend_client.models.common import ByValue, Code, Reason, Request, Response, Version
from backend_client.models.proof import Proof


class RequestKind(StrEnum):
    RETURN = "return"
    """The customer refused the goods: they go back to the warehouse."""
    CLAIM = "claim"
    """The goods arrived damaged: the customer is compensated, the goods written off."""
    EXCHANGE = "exchange"
    """After sale: the goods come back and the channel sends the same again (a new order)."""
    COMPLAINT = "complaint"
    """The customer is unhappy with the service: resolved by support with an apology, a
    voucher or a refund; the order's state does not change."""


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    """The order left EXCEPTION another way (resumed) before anyone decided."""
    RESOLVED = "resolved"
    """A complaint answered with an outcome (`ComplaintOutcome`)."""


class ComplaintCategory(StrEnum):
    """What a complaint is about: the figures the complaint KPI is broken down by."""

    QUALITY = "quality"
    """The goods were not fresh, spoiled, bruised or otherwise below standard."""
    LATE = "late"
    """The delivery came after the promised time (or not at all in the customer's eyes)."""
    RIDER_CONDUCT = "rider_conduct"
    """The rider was rude, careless or did not follow the customer's instructions."""
    WRONG_ITEM = "wrong_item"
    """Something other than what was ordered came, or something ordered was missing."""
    DAMAGED = "damaged"
    """The goods or their packaging arrived broken, crushed or leaking."""
    OTHER = "other"
    """Anything else the customer is unhappy about (prices, the app, the tracking)."""


class ComplaintOutcome(StrEnum):
    """How support answered a complaint."""

    APOLOGY = "apology"
    """An apology only: nothing paid."""
    VOUCHER = "voucher"
    """A voucher of `amount_cents` for a later order."""
    REFUND = "refund"
    """`amount_cents` paid back, no more than the order cost."""


class ClaimItem(Request):
    sku: Code
    quantity: int = Field(ge=1, le=999)


class ClaimLine(Response):
    """One line of a return or claim, as the server holds it."""

    sku: str
    quantity: int


class ReturnCreate(Request):
    """Open a return: the order (delivering, or already an exception) waits for a decision."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"version": 5, "reason": "customer refused: wilted"}]},
    )

    version: Version
    reason: Reason


class ClaimCreate(Request):
    """Open a claim for damaged goods: which items, and how much to pay back."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 5,
                    "reason": "box crushed, eggs broken",
                    "items": [{"sku": "EGG-DOZEN", "quantity": 1}],
                    "amount_cents": 1890,
                }
            ]
        },
    )

    version: Version
    reason: Reason
    items: list[ClaimItem] = Field(min_length=1, max_length=50)
    amount_cents: int = Field(ge=1, le=10_000_000, description="Compensation asked for.")


class ExchangeCreate(Request):
    """After sale: the customer wants these items replaced (they come back; the channel places
    the replacement order)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 7,
                    "reason": "wrong size of eggs",
                    "items": [{"sku": "EGG-DOZEN", "quantity": 1}],
                }
            ]
        },
    )

    version: Version
    reason: Reason
    items: list[ClaimItem] = Field(min_length=1, max_length=50)


class RequestDecision(Request):
    """Approve or reject a request; rejecting needs a reason."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"version": 1, "reason": "photo checked"}]}
    )

    version: Version = Field(description="The request version you last saw.")
    reason: Reason | None = None


class ComplaintCreate(Request):
    """Open a complaint: what it is about and what the customer says. It does not move the
    order (any state from out for delivery on; after signing, within `after_sale_hours`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"category": "late", "reason": "came 40 minutes after the promise"}]
        },
    )

    category: Annotated[ComplaintCategory, ByValue]
    reason: Reason = Field(description="What the customer says.")
    amount_cents: int = Field(
        default=0, ge=0, le=10_000_000, description="Money the customer asks back, if any."
    )


class ComplaintResolution(Request):
    """Resolve a complaint: an apology, a voucher or a refund (those two with an amount)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"version": 1, "outcome": "voucher", "amount_cents": 500, "note": "sorry"}]
        }
    )

    version: Version = Field(description="The request version you last saw.")
    outcome: Annotated[ComplaintOutcome, ByValue]
    amount_cents: int = Field(
        default=0, ge=0, le=10_000_000, description="The voucher's or refund's amount."
    )
    note: Reason | None = None


class ReturnRequest(Response):
    """A return, claim, exchange or complaint, and its decision (a complaint: its resolution)."""

    id: int
    kind: RequestKind
    state: RequestState
    order_id: int
    warehouse_id: str
    reason: str
    items: list[ClaimLine]
    amount_cents: int
    opened_by: str
    opened_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    version: int
    after_sale: bool = False
    """Opened after the order was signed (within `after_sale_hours`): approving moves the order
    on from SIGNED."""
    category: ComplaintCategory | None = None
    """A complaint's category (null for the other kinds)."""
    outcome: ComplaintOutcome | None = None
    """A resolved complaint's outcome."""
    outcome_cents: int = 0
    """A resolved complaint's voucher or refund amount."""
    proofs: list[Proof] = Field(default_factory=list)
    """The order's proofs of delivery, which the request cites (`GET /requests/{id}` only)."""
